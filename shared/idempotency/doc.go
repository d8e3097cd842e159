// Package idempotency makes non-idempotent POSTs safe to retry: a request
// with an Idempotency-Key header is performed once per (caller, route, key),
// and every retry gets the first answer back.
//
// Protocol (one row per key, single-entity conditional writes only):
//  1. insert-if-absent a "pending" row holding the hash of the body;
//  2. the winner runs the handler, captures its answer and replaces the row
//     with "done" + the answer (status, content type, body);
//  3. a loser reads the row: another body hash -> 422; done -> replay;
//     pending -> poll until done (bounded), then replay.
//
// Crash safety: a handler that fails with a 5xx (or a process that dies)
// leaves a pending row; it expires after PendingTTL so the key can be used
// again, and the operation behind it must itself be safe to retry (the
// catalog's commit protocol is). 4xx answers are recorded and replayed,
// because retrying them cannot succeed. Records are kept 24 h (a job purges).
package idempotency
