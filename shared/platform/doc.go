// Package platform holds the tenancy of DESIGN §4.1 and §4.8: subscriptions
// (customers), their users (the Customer Portal), projects, project members
// with one role each, Collaboration Teams and environments. Every operation
// takes the Caller and decides, here and not in the handlers, whether the
// caller may see and do it.
//
// Invariants:
//   - a caller never sees another subscription's or a non-member project's
//     data: such lookups are NotFound, never Forbidden;
//   - Subscription Owners are owners of every project of their subscription;
//   - a project always keeps at least one member with role owner;
//   - a disabled user is refused on their next request (Admit), whatever
//     their token;
//   - one identity per address: an address is bound to the (issuer,
//     subject) that first used it (first sign-in of an active user,
//     invitation acceptance, subscription creation); another identity
//     asserting it is refused (Forbidden) unless a Subscription Owner of
//     every subscription the user belongs to linked it (audited); the first
//     binding's row key is fixed, so two identities racing cannot both bind;
//   - every change is audited with before and after;
//   - updates are conditional (ETag) so concurrent edits never lose one.
//
// User ids are derived from the lower-cased e-mail ("u-" + 16 hex digits of
// its SHA-256), because the Customer Portal invites people by e-mail before
// any identity provider has told us their object id.
package platform
