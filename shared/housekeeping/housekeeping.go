// Package housekeeping lets each module declare the service's own periodic
// jobs (DESIGN §4.6) where they belong: a Task holds the schedule, the
// policy and the action together, so no string key links a schedule written
// in one place to an action written in another. The composition root hands
// every module's tasks to the job runner (jobs.Runner.Register), which runs
// them in the system scope like any other job, with the same exactly-once
// claims. A leaf package, so that any module, even one the job runner itself
// depends on (audit), can declare its tasks.
package housekeeping

import (
	"context"
	"time"

	"github.com/studio-collab/collab/shared/store"
)

// Catch-up policies a task may take (the job runner's names).
const (
	CatchUpNone = "none" // missed occurrences are dropped: the next one does the work
	CatchUpLast = "last" // only the latest missed occurrence runs
)

// Task is one housekeeping job: its name (also its action), its NCRONTAB
// schedule (UTC), its timeout and catch-up policy, and what it does at an
// occurrence.
type Task struct {
	Name     string
	Schedule string
	Timeout  time.Duration
	CatchUp  string
	Run      func(ctx context.Context, occurrence time.Time) error
}

// Purger is a table the clean-up tasks delete from.
type Purger interface {
	QueryAll(ctx context.Context, f store.Filter, limit int) ([]store.Entity, error)
	Delete(ctx context.Context, pk, rk, ifMatch string) error
}

// PurgeOlder deletes the rows of t whose property prop is before cutoff
// (at most limit per run, so a run stays within its timeout).
func PurgeOlder(ctx context.Context, t Purger, prop string, cutoff time.Time, limit int) (int, error) {
	es, err := t.QueryAll(ctx, store.Lt(prop, cutoff), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range es {
		if err := t.Delete(ctx, e.PartitionKey, e.RowKey, e.ETag); err == nil {
			n++
		}
	}
	return n, nil
}

// Purge is a task deleting, every run, the rows of t older than keep by
// property prop (up to 5000 a run).
func Purge(name, schedule string, t Purger, prop string, keep time.Duration) Task {
	return Task{Name: name, Schedule: schedule, Timeout: 5 * time.Minute, CatchUp: CatchUpLast,
		Run: func(ctx context.Context, occ time.Time) error {
			_, err := PurgeOlder(ctx, t, prop, occ.Add(-keep), 5000)
			return err
		}}
}
