// Package envconfig is the Management Console's model of an environment's
// parameters (DESIGN §4.8): typed values (string, int, bool, url, secret),
// each with a description, a default, validation rules and a restart impact
// (hot, restart-portal, restart-scheduler).
//
// Invariants:
//   - a secret's clear value exists only in the request that sets it and in
//     the call that resolves it (Resolve, for connectors); what is stored is
//     a reference sealed by a Secrets implementation (AES-GCM locally, a Key
//     Vault secret version in Azure), and every rendering of a parameter
//     (API answers, audit entries, errors, logs) masks it;
//   - a change of a hot parameter is active at once; a change of a
//     restart-needing parameter is stored as the parameter's pending state and
//     handed to the RestartQueue, and the active state stays until a
//     maintenance window calls ApplyPending. The pending state is written
//     before the restart is queued, so a window opened for it always sees it;
//   - every write is a single-entity conditional write (ETag or
//     insert-if-absent), so concurrent edits and concurrent windows never
//     lose or double-apply a change; ApplyPending is idempotent;
//   - every change (put, delete, apply) is audited with the values before
//     and after, secrets masked.
//
// docs/envconfig.md describes the pending-change protocol and its crash
// points.
package envconfig
