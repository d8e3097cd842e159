// Package acl stores each project's Studio Security entries and settings
// and serves checks from a compiled, cached security.Index.
//
// Storage: one JSON document per project (blob acl/<project>.json in the
// "security" container), replaced with If-Match on its ETag. A change is one
// conditional write, so it is atomic, and two concurrent changes cannot both
// win. The ETag is the ACL version that clients send back in If-Match.
//
// Consistency: every check first reads the document's properties (one HEAD,
// a point call); when the ETag moved since the cached index was built, the
// document is read (one GET) and compiled again. So a check issued after a
// successful change sees it, on this instance and on any other sharing the
// storage. Cost of a check: 1 storage call; 2 after a change.
//
// Authorize is the one function other modules (catalog, deployments, jobs,
// parameters) call for every object operation.
package acl
