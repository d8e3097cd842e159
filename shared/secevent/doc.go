// Package secevent is the security center's record: one append-only event
// per refusal that matters (DESIGN §4.10) — a sign-in refused, a probe of
// another tenant's resource, a Studio Security denial on a write, a refused
// inbound e-mail, a refused outbound call, a wrong webhook secret, a caller
// whose requests keep being rejected (413/400) — the counts per kind, and
// the threshold alerts raised on them.
//
// Invariants:
//   - an event is written once and never updated; only the retention job
//     deletes it (after RetentionDefault unless configured);
//   - an event never holds a secret, a token or a body: Record keeps the
//     fields of Event only, each cut to a fixed length;
//   - an event is readable in the scope it concerns: a project's events are
//     in the project's log and in its subscription's log; an event that
//     concerns no tenant the service can vouch for (an unverifiable token,
//     a wrong webhook secret) is in the operator's log only, so a forged
//     claim can never put events into a customer's log;
//   - a recording failure never changes the refusal the caller gets: Record
//     logs it and returns;
//   - an alert is raised at most once per rule, scope, principal and window
//     (an insert-if-absent row keyed by them), and its e-mail has that row's
//     id as its notification id, so however many instances evaluate, each
//     window sends one e-mail.
package secevent
