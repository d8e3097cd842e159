// Package idempotency makes non-idempotent POSTs safe to retry: a request
// with an Idempotency-Key header is performed once per (caller, route, key),
// and every retry gets the first answer back.
//
// Protocol (one row per key, single-entity conditional writes only):
//  1. insert-if-absent a "pending" row holding the hash of the body;
//  2. the winner runs the handler, captures its answer and replaces the row
//     with "done" + the answer (status, content type, body);
//  3. a loser reads the row: another body hash -> 422; done -> replay;
//     pending -> poll until done, at most MaxWait, then 503 with a
//     Retry-After (never 409: that status means a conflict a retry cannot
//     solve).
//
// Crash safety: a pending row carries a lease (PendingLease) that the
// running request renews with conditional writes; a handler that fails
// with a 5xx deletes its row, and a process that dies leaves one whose
// lease runs out PendingLease later, when a retry deletes it (conditional
// on its ETag) and takes the key over. The operation behind a key must
// itself be safe to run again (the catalog's commit protocol finds its
// commit by key). Rows written before leases expire PendingTTL after
// Created. 4xx answers are recorded and replayed,
// because retrying them cannot succeed. Records are kept 24 h (a job purges).
package idempotency
