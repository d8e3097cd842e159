// Package catalog is the project's metadata catalog: objects (path, kind,
// version, content hash), atomic check-ins, one linear history per project,
// the change feed, per-path history, check-out locks, and the content blobs
// the objects point at (content-addressed by SHA-256, deduplicated per
// project).
//
// Invariants (docs/catalog.md gives the protocol and why each crash point is
// safe):
//
//   - Commit sequence numbers of a project are 1, 2, 3, ... with no gaps: a
//     commit claims head+1 with one conditional write on the project's head
//     row, and only when the previous commit is fully applied.
//   - A check-in is all or nothing: readers see exactly the commits at or
//     below the head's applied sequence, and every row a commit writes is
//     resolved against that head, so a half-applied commit is invisible.
//   - An acknowledged commit is never lost: it is acknowledged only after its
//     record (a blob) is stored, its sequence claimed and its rows applied;
//     a commit claimed by a process that died is rolled forward by the next
//     writer or reader once the claimant's lease has run out.
//   - No write goes backwards: feed, history and key rows are inserted only
//     if absent, and object rows change only by compare-and-swap, so an
//     object row's commit sequence only grows. A claimant frozen past its
//     lease can overwrite nothing when it wakes: the lease decides who
//     works, never what is true.
//   - An object's version is +1 per change; a change whose base version is
//     not the current one is a conflict, reported with every stale path.
//   - A check-in touching a path that another user has locked (the path, an
//     ancestor or a descendant) is refused; expired locks do not count. A
//     lock acknowledged before a check-in claims its sequence is seen by
//     that check-in: a grant moves the head on, and a claim is conditional
//     on the head it read before the locks.
//   - Content blobs are never deleted, so "this blob exists" may be cached.
//   - A sequence number is never given to two commits, even when a storage
//     failover lost the head's last updates but kept a commit's feed row:
//     the feed insert meets the other commit's row and the check-in is
//     refused (Internal), the claim left in place; and readers report feed
//     rows missing below the head instead of skipping a commit.
//
// The package knows nothing of HTTP or of Studio Security: callers authorize
// and pass a visibility function where a read must be filtered.
package catalog
