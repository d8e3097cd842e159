// Package security is Studio Security (DESIGN §4.2, §4.3): Deny, Modify and
// Full Control on a project's object tree, for users and teams, inherited
// down the tree unless a nearer node says otherwise, with every decision
// explained. It is pure domain: no storage, no HTTP.
//
// Invariants:
//   - Project Owners and Subscription Owners have Full Control everywhere;
//     entries naming them have no effect;
//   - the nearest node on the path (the object itself, then its parents)
//     that carries any entry for the user or one of their teams decides; on
//     that node the user's own entry beats team entries, and among team
//     entries Deny wins, else the highest level;
//   - with no entry anywhere on the path the role decides: admin Full,
//     developer Modify (or Deny when the project lowers the default); on
//     security/* non-owners have no default: only a grant lets them in;
//   - main nodes (applications, entities, rules) accept only Deny;
//   - a non-owner grants or revokes only where they have Full Control
//     (that node and below, never above);
//   - an Index is immutable once built, safe for concurrent use, and a check
//     allocates nothing.
package security
