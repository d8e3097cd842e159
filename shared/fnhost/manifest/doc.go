// Package manifest reads what the Azure Functions host reads: host.json,
// functions/<Name>/function.json and local.settings.json, and matches HTTP
// requests against function route templates the way the host does.
//
// It serves two readers: cmd/devhost, which stands in for the host locally,
// and the tests that check every route of the handler is reachable through
// some function.json (a route the host does not know is a route that does
// not exist in Azure).
//
// Invariants: a manifest that the real host would refuse (an unknown route
// constraint, a trigger without its required property, an encrypted
// local.settings.json) is refused here too, at load time, with the file named.
package manifest
