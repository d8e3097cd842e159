package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/store"
)

// crashTable is a table of an instance that dies at a given write: the
// writes before it reach storage, that one and every later one fail (a
// dead process records nothing more). Reads still work until then.
type crashTable struct {
	store.Table               // reads (Query) pass through
	left        *atomic.Int64 // writes that still succeed
}

var errDied = errors.New("the process died")

func (c crashTable) write() error {
	if c.left.Add(-1) < 0 {
		return errDied
	}
	return nil
}

func (c crashTable) Get(ctx context.Context, pk, rk string) (store.Entity, error) {
	return c.Table.Get(ctx, pk, rk)
}
func (c crashTable) QueryAll(ctx context.Context, f store.Filter, limit int) ([]store.Entity, error) {
	return c.Table.QueryAll(ctx, f, limit)
}
func (c crashTable) Insert(ctx context.Context, e store.Entity) (string, error) {
	if err := c.write(); err != nil {
		return "", err
	}
	return c.Table.Insert(ctx, e)
}
func (c crashTable) Update(ctx context.Context, e store.Entity, ifMatch string) (string, error) {
	if err := c.write(); err != nil {
		return "", err
	}
	return c.Table.Update(ctx, e, ifMatch)
}
func (c crashTable) Delete(ctx context.Context, pk, rk, ifMatch string) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Table.Delete(ctx, pk, rk, ifMatch)
}
func (c crashTable) Upsert(ctx context.Context, e store.Entity) (string, error) {
	if err := c.write(); err != nil {
		return "", err
	}
	return c.Table.Upsert(ctx, e)
}
func (c crashTable) Merge(ctx context.Context, e store.Entity, ifMatch string) (string, error) {
	if err := c.write(); err != nil {
		return "", err
	}
	return c.Table.Merge(ctx, e, ifMatch)
}
func (c crashTable) Batch(ctx context.Context, ops []store.BatchOp) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Table.Batch(ctx, ops)
}

// dying makes r an instance whose run and index writes fail from the
// (n+1)th on.
func dying(r *Runner, n int64) *atomic.Int64 {
	left := &atomic.Int64{}
	left.Store(n)
	r.RunTable = crashTable{Table: r.RunTable, left: left}
	r.OpenTable = crashTable{Table: r.OpenTable, left: left}
	return left
}

func openRows(t *testing.T, r *Runner, j Job) int {
	t.Helper()
	rows, err := r.OpenTable.QueryAll(context.Background(), store.Eq("PartitionKey", runPK(j)), 0)
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

// TestCrashAtEveryWrite: an instance dies at each write of a claim in turn
// (the index row, the run row, the outcome, the index row's removal);
// another instance, once the lease has run out, finishes the occurrence.
// The Scheduler sees it twice only when the first attempt ran and its
// outcome was lost, and then the run says it was taken over.
func TestCrashAtEveryWrite(t *testing.T) {
	cases := []struct {
		name       string
		writes     int64 // writes that reach storage before the crash
		executions int64
		attempt    int
		takeovers  int
	}{
		{"before the index row: nothing written, the occurrence is claimed as usual", 0, 1, 1, 0},
		{"between the index row and the run row: the takeover claims the occurrence", 1, 1, 1, 1},
		{"after the call, before its outcome: taken over and called again with the same key", 2, 2, 2, 1},
		{"after the outcome, before the index row's removal: the row is removed, nothing runs again", 3, 1, 1, 0},
		{"after everything: nothing left to do", 4, 1, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
			keys := map[string]int64{}
			var calls atomic.Int64
			exec := map[string]Executor{"call": func(ctx context.Context, j Job, occ time.Time) error {
				calls.Add(1)
				keys[IdempotencyKey(j, occ)]++
				return nil
			}}
			rs := instances(t, 2, c, exec)
			ctx := context.Background()
			j, err := rs[0].Put(ctx, Job{Project: "p", Env: "e", Name: "hourly", Schedule: "0 0 * * * *", TimeZone: "UTC", Enabled: true,
				Action: "call", Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			dying(rs[0], tc.writes)
			c.advance(time.Hour)
			_ = rs[0].Tick(ctx, time.Minute) // dies somewhere (or not at all)
			c.advance(2 * time.Minute)       // past the lease (1 min + 30 s)
			if err := rs[1].Tick(ctx, time.Minute); err != nil {
				t.Fatal(err)
			}
			runs, err := rs[1].Runs(ctx, j, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != 1 || runs[0].Status != StatusSucceeded || runs[0].Attempt != tc.attempt || runs[0].Takeovers != tc.takeovers ||
				runs[0].IdempotencyKey != "p/e/hourly/"+fmt.Sprint(c.now().Truncate(time.Hour).Unix()) {
				t.Fatalf("runs %+v", runs)
			}
			if calls.Load() != tc.executions || len(keys) != 1 {
				t.Fatalf("%d calls with %d keys, want %d calls of one key", calls.Load(), len(keys), tc.executions)
			}
			if n := openRows(t, rs[1], j); n != 0 {
				t.Fatalf("%d open-run index rows left", n)
			}
			// Later rounds do nothing more for that occurrence.
			c.advance(10 * time.Minute)
			if err := rs[1].Tick(ctx, time.Minute); err != nil {
				t.Fatal(err)
			}
			if calls.Load() != tc.executions {
				t.Fatal("the occurrence ran again")
			}
		})
	}
}

// TestOrphansBelowRank50AreTakenOver is the defect the chaos run found: three
// runs of a catch-up-all job were orphaned by a crash, then an outage left
// more than 50 occurrences to catch up. The runs that the backlog's claims
// push below rank 50 of the history must still be taken over: the takeover
// finds them through the open-runs index, and does so before any new claim.
// With a small MaxPerJob the catch-up takes several rounds, but the orphans
// go first.
func TestOrphansBelowRank50AreTakenOver(t *testing.T) {
	for _, maxPerJob := range []int{0, 20} {
		t.Run(fmt.Sprintf("max-per-job-%d", maxPerJob), func(t *testing.T) {
			c := newClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
			var calls atomic.Int64
			exec := map[string]Executor{"call": func(context.Context, Job, time.Time) error { calls.Add(1); return nil }}
			rs := instances(t, 4, c, exec)
			ctx := context.Background()
			j, err := rs[0].Put(ctx, Job{Project: "p", Env: "e", Name: "minutely", Schedule: "0 * * * * *", TimeZone: "UTC", Enabled: true,
				Action: "call", Timeout: 10 * time.Minute, Overlap: OverlapAllow, CatchUp: CatchUpAll, CatchUpBound: 100})
			if err != nil {
				t.Fatal(err)
			}
			// Three instances each claim an occurrence, call the Scheduler and die before recording it.
			var orphans []time.Time
			for i := 0; i < 3; i++ {
				c.advance(time.Minute)
				// It writes until its call is made, nothing after.
				left := dying(rs[i], 1000)
				rs[i].Executors = map[string]Executor{"call": func(context.Context, Job, time.Time) error {
					calls.Add(1)
					left.Store(0)
					return nil
				}}
				if err := rs[i].Tick(ctx, time.Minute); !errors.Is(err, errDied) {
					t.Fatalf("instance %d: %v", i, err)
				}
				orphans = append(orphans, c.now())
			}
			// An outage of 70 minutes: 70 occurrences to catch up, on top of the orphans.
			c.advance(70 * time.Minute)
			healthy := rs[3]
			healthy.MaxPerJob = maxPerJob
			if err := healthy.Tick(ctx, time.Minute); err != nil {
				t.Fatal(err)
			}
			for _, o := range orphans {
				e, err := healthy.RunTable.Get(ctx, runPK(j), runRK(o))
				if err != nil {
					t.Fatal(err)
				}
				var run Run
				_ = decode(e, &run)
				if run.Status != StatusSucceeded || run.Attempt != 2 || run.Takeovers != 1 || run.Instance != "i3" {
					t.Fatalf("orphan %v after the first round: %+v", o, run)
				}
			}
			for round := 0; round < 10; round++ {
				if err := healthy.Tick(ctx, time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			runs, err := healthy.Runs(ctx, j, 0)
			if err != nil {
				t.Fatal(err)
			}
			rank := map[time.Time]int{}
			for i, run := range runs {
				if run.Status != StatusSucceeded {
					t.Fatalf("run %d %+v", i, run)
				}
				rank[run.Occurrence] = i
			}
			if len(runs) != 73 || calls.Load() != 73+3 {
				t.Fatalf("%d runs, %d calls; want 73 runs and 76 calls (3 repeated after takeover)", len(runs), calls.Load())
			}
			for _, o := range orphans {
				if rank[o] < 50 {
					t.Fatalf("orphan %v at rank %d: the test must put it below rank 50", o, rank[o])
				}
			}
			if n := openRows(t, healthy, j); n != 0 {
				t.Fatalf("%d open-run index rows left", n)
			}
		})
	}
}

// TestRoundIsBounded: a round starts at most MaxPerJob attempts of a job
// and leaves the rest, with its cursor, for the next round; nothing is
// lost or run twice.
func TestRoundIsBounded(t *testing.T) {
	c := newClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	var calls atomic.Int64
	rs := instances(t, 1, c, map[string]Executor{"call": func(context.Context, Job, time.Time) error { calls.Add(1); return nil }})
	r := rs[0]
	r.MaxPerJob = 5
	ctx := context.Background()
	j, err := r.Put(ctx, Job{Project: "p", Env: "e", Name: "minutely", Schedule: "0 * * * * *", TimeZone: "UTC", Enabled: true,
		Action: "call", CatchUp: CatchUpAll, CatchUpBound: 100})
	if err != nil {
		t.Fatal(err)
	}
	c.advance(12*time.Minute + 30*time.Second)
	for round, want := range []int64{5, 10, 12, 12} {
		if err := r.Tick(ctx, time.Minute); err != nil {
			t.Fatal(err)
		}
		if calls.Load() != want {
			t.Fatalf("after round %d: %d calls, want %d", round+1, calls.Load(), want)
		}
	}
	cur, _ := r.Get(ctx, "p", "e", "minutely")
	if want := j.Created.Add(12 * time.Minute); !cur.LastScheduled.Equal(want) {
		t.Fatalf("cursor %v, want %v", cur.LastScheduled, want)
	}
}

// TestDeleteClosesOpenRuns: a deleted job is never ticked again, so its run
// waiting for a retry is recorded as failed and leaves the open-runs index,
// rather than staying open for good.
func TestDeleteClosesOpenRuns(t *testing.T) {
	c := newClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	rs := instances(t, 1, c, map[string]Executor{"fail": func(context.Context, Job, time.Time) error { return errors.New("scheduler down") }})
	r := rs[0]
	ctx := context.Background()
	j, err := r.Put(ctx, Job{Project: "p", Env: "e", Name: "hourly", Schedule: "0 0 * * * *", TimeZone: "UTC", Enabled: true,
		Action: "fail", Retries: 3, Backoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c.advance(time.Hour)
	if err := r.Tick(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if runs, _ := r.Runs(ctx, j, 0); len(runs) != 1 || runs[0].Status != StatusRetrying {
		t.Fatalf("before the delete: %+v", runs)
	}
	j, _ = r.Get(ctx, "p", "e", "hourly")
	if err := r.Delete(ctx, j); err != nil {
		t.Fatal(err)
	}
	runs, _ := r.Runs(ctx, j, 0)
	if len(runs) != 1 || runs[0].Status != StatusFailed || runs[0].Error != "the job was deleted" {
		t.Fatalf("after the delete: %+v", runs)
	}
	if n := openRows(t, r, j); n != 0 {
		t.Fatalf("%d open-run index rows left", n)
	}
}
