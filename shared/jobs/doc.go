// Package jobs runs an environment's programmed jobs (DESIGN §4.6): NCRONTAB
// schedules in a time zone, retries with exponential backoff, overlap and
// catch-up policies, run history, and auto-disable after repeated failures.
//
// Exactly-once protocol (docs/jobs.md):
//  1. every instance ticks; for each enabled job it computes the occurrences
//     due by now (catch-up policy);
//  2. it claims an occurrence by inserting the run row keyed by (job,
//     occurrence time) with insert-if-absent: one instance wins, the others
//     get Conflict and move on. So an occurrence runs at most once;
//  3. the winner holds the run with a lease (leaseUntil) while it runs and
//     records the outcome with a conditional update (ETag);
//  4. a run whose lease expired (its instance died) or that failed with
//     retries left is taken over by a conditional update of the run row
//     (the ETag decides who), attempt+1. So an occurrence runs at least once
//     while the job is enabled and some instance is up;
//  5. a run is open (running or retrying) only while its occurrence has a
//     row in the open-runs index: the row is inserted before the run row
//     and deleted after the run is closed. Takeovers read that index, before
//     any new claim of the round, so no orphan is missed however long the
//     history grows; an index row without a run (a crash between the two
//     inserts) is claimed by the takeover once it is older than a lease;
//  6. a round starts a bounded number of attempts (MaxPerJob, Budget) and
//     every step is durable on its own, so a round cut short keeps its
//     progress.
//
// Calls are at least once: every attempt of an occurrence sends the same
// Idempotency-Key (IdempotencyKey), repeated only after a retry or a
// takeover, and the Scheduler de-duplicates by it.
//
// The job row's cursor (lastScheduled) only saves work: a stale cursor makes
// an instance try claims that fail, never run twice.
package jobs
