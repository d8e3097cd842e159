// Package stamp keeps every customer's data in one home. A deployment has
// one or more stamps (a region's Function App with its own Storage, Service
// Bus and Key Vault); a small global directory, readable by every stamp,
// records each customer subscription's home stamp and each project's
// subscription. A stamp serves a subscription or project only when it is
// its home; otherwise it answers Misdirected (421) naming the home, which
// the CLI and the console follow.
//
// Invariants:
//   - a directory row is written once (insert, never update): a
//     subscription's home and a project's subscription never change under a
//     running stamp, so no two stamps ever both believe they are the home;
//   - the home check runs before any read or write of the customer's data:
//     it needs only the subscription or project id from the path and the
//     directory, never this stamp's own storage;
//   - a dedicated stamp serves its one subscription and refuses every other
//     (404, without looking the other up: its existence is not disclosed);
//   - a subscription or project id has one owner across all stamps (the
//     directory insert is the global uniqueness check);
//   - rows never change, so each is read once per process and then served
//     from memory: a running stamp keeps routing the customers it has seen
//     while the directory is unreachable; an unknown id then answers 503,
//     never "served here".
package stamp
