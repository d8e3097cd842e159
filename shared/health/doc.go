// Package health decides what the service's probes answer (DESIGN §5):
// liveness (the process answers) apart from readiness (storage is
// reachable), and readiness that tells the truth under load.
//
// Invariants:
//   - one storage check at a time per instance: concurrent probes share the
//     check in flight (singleflight) and its result for TTL, so probes never
//     add load to a busy instance;
//   - slow is not down: a check that times out while storage answered the
//     instance's other requests within Recent reports storage "busy" and
//     the instance ready; only a check that fails with an answer (or no
//     connection), or times out with no recent answer at all, reports
//     storage down;
//   - a probe that gives up does not cancel the shared check: it runs on its
//     own deadline, detached from any one probe's request.
package health
