// Package deploy brings an environment up to the catalog's latest commit
// (DESIGN §4.5): each commit yields a deployment request per environment;
// its changes are classified by a declarative rule table (impact-rules.yaml:
// hot, restart-portal, restart-scheduler; anything unmatched restarts the
// Work Portal); hot changes are deployed at once; restart changes coalesce
// into the environment's next maintenance window, which its maintenance
// policy (NCRONTAB start times in a time zone, a duration, a notice period)
// places and which moves
//
//	scheduled -> announced -> open -> applying -> restarting -> completed
//	                                         \-> failed      \-> failed
//	scheduled | announced | open -> cancelled
//
// Invariants (docs/deployments.md gives each step's write and why each crash
// point is safe):
//   - every write is a single-entity conditional write (insert-if-absent or
//     If-Match an ETag); no batch is relied upon;
//   - a window transition is one write of the window row that also appends
//     to its history and records the notice it owes, so each transition and
//     each notice happens once however many workers drive the window;
//   - a request "<project>/<env>:<seq>" is recorded before its message is
//     sent, and processing it again is a no-op; the minute reconciler
//     processes recorded requests and drives every window, so a lost message
//     delays nothing by more than a minute;
//   - a window in applying or restarting is held by a short, renewed lease; a
//     worker that dies leaves it to be taken over after the lease;
//   - an environment's DeployedSeq (its last good sequence) only moves
//     forward, and only past restart changes once a window that took them
//     has completed; a failed window leaves it where it was;
//   - the rule table is data compiled into the binary, so every instance
//     classifies alike.
//
// The package knows no HTTP and no Azure SDK: the catalog (ChangeSource), the
// platform (Directory), the e-mail outbox (Notifier), the queue (Queue) and
// the environments' runtime (Runtime) are interfaces; adapters live in the
// sub-packages messaging and portal, and in handlers.
package deploy
