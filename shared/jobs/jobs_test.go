package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

var prefixSeq atomic.Int64

// clock is a fake clock shared by the instances of a test.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newClock(t time.Time) *clock { c := &clock{}; c.ns.Store(t.UnixNano()); return c }

// instances returns n runners sharing one storage and one clock.
func instances(t *testing.T, n int, c *clock, exec map[string]Executor) []*Runner {
	t.Helper()
	prefix := fmt.Sprintf("j%x%d", time.Now().UnixNano()&0xffffff, prefixSeq.Add(1))
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	// The outbox of this test: mail's tables under the prefix, and a queue of its own.
	queue := strings.ToLower(prefix) + "-outbox"
	if err := acct.Bootstrap(context.Background(), Layout, store.Layout{Tables: mail.Layout.Tables, Queues: []string{queue}}); err != nil {
		t.Fatal(err)
	}
	outbox := &mail.Outbox{Table: acct.Table("notifications"), Queue: acct.Queue(queue), Now: c.now}
	var out []*Runner
	for i := 0; i < n; i++ {
		out = append(out, &Runner{JobTable: acct.Table("jobs"), RunTable: acct.Table("jobruns"), OpenTable: acct.Table("jobopen"), Notify: outbox,
			Executors: exec, Instance: fmt.Sprintf("i%d", i), Now: c.now})
	}
	return out
}

// TestExactlyOnceAcrossInstances: three instances tick concurrently for 200
// occurrences; every occurrence runs exactly once and is recorded once.
func TestExactlyOnceAcrossInstances(t *testing.T) {
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	c := newClock(start)
	var mu sync.Mutex
	ran := map[time.Time]int{}
	exec := map[string]Executor{"count": func(ctx context.Context, j Job, occ time.Time) error {
		mu.Lock()
		ran[occ]++
		mu.Unlock()
		return nil
	}}
	rs := instances(t, 3, c, exec)
	ctx := context.Background()
	if _, err := rs[0].Put(ctx, Job{Project: "claims", Env: "test", Name: "every-15s", Schedule: "*/15 * * * * *", TimeZone: "UTC",
		Enabled: true, Action: "count", CatchUp: CatchUpAll, CatchUpBound: 1000, Owner: "alice"}); err != nil {
		t.Fatal(err)
	}
	const occurrences = 200
	for tick := 0; tick < occurrences; tick++ {
		c.advance(15 * time.Second)
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.Tick(WithRequestID(ctx, fmt.Sprintf("tick-%s-%d", r.Instance, tick)), 15*time.Second); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	if len(ran) != occurrences {
		t.Fatalf("%d occurrences ran, want %d", len(ran), occurrences)
	}
	for occ, n := range ran {
		if n != 1 {
			t.Fatalf("occurrence %v ran %d times", occ, n)
		}
	}
	j, _ := rs[1].Get(ctx, "claims", "test", "every-15s")
	runs, err := rs[2].Runs(ctx, j, 0)
	if err != nil {
		t.Fatal(err)
	}
	instancesUsed := map[string]int{}
	for _, run := range runs {
		if run.Status != StatusSucceeded || run.Attempt != 1 || !strings.HasPrefix(run.RequestID, "tick-"+run.Instance+"-") {
			t.Fatalf("run %+v", run)
		}
		instancesUsed[run.Instance]++
	}
	if len(runs) != occurrences {
		t.Fatalf("%d run rows", len(runs))
	}
	t.Logf("%d occurrences, 3 instances, each run exactly once; runs per instance %v", occurrences, instancesUsed)
}

// TestKilledInstanceDoesNotLoseTheOccurrence: an instance claims an
// occurrence and dies mid-run; once its lease expires another instance takes
// the run over (attempt 2) and it succeeds.
func TestKilledInstanceDoesNotLoseTheOccurrence(t *testing.T) {
	c := newClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	var runs atomic.Int64
	block := make(chan struct{})
	started := make(chan struct{})
	exec := map[string]Executor{"work": func(ctx context.Context, j Job, occ time.Time) error {
		if runs.Add(1) == 1 {
			close(started)
			<-ctx.Done() // the first attempt hangs until its instance "dies"
			return ctx.Err()
		}
		return nil
	}}
	rs := instances(t, 2, c, exec)
	ctx := context.Background()
	j, err := rs[0].Put(ctx, Job{Project: "p", Env: "e", Name: "nightly", Schedule: "0 0 * * * *", TimeZone: "UTC", Enabled: true, Action: "work", Timeout: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	c.advance(time.Hour)
	dying, kill := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = rs[0].Tick(dying, time.Minute); close(done) }()
	select { // the first instance holds the run
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the first instance never started the run")
	}
	// The instance dies: its context ends, and so does its ability to write.
	rs[0].RunTable = deadTable{}
	kill()
	<-done
	close(block)
	// Before the lease expires nobody takes it over; after, the other does.
	c.advance(5 * time.Minute)
	if err := rs[1].Tick(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if runs.Load() != 1 {
		t.Fatal("the run was taken over while its lease still held")
	}
	c.advance(10 * time.Minute)
	if err := rs[1].Tick(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	history, _ := rs[1].Runs(ctx, j, 0)
	if len(history) != 1 || history[0].Status != StatusSucceeded || history[0].Attempt != 2 || history[0].Instance != "i1" {
		t.Fatalf("history %+v", history)
	}
}

// deadTable refuses every write: a process that died cannot record anything.
type deadTable struct{ store.Table }

func (deadTable) Update(context.Context, store.Entity, string) (string, error) {
	return "", errors.New("process died")
}

// TestRetriesThenAutoDisable: a failing job is retried with backoff; after
// DisableAfter consecutive failed occurrences it is disabled and its owner
// notified, once.
func TestRetriesThenAutoDisable(t *testing.T) {
	c := newClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	var attempts atomic.Int64
	exec := map[string]Executor{"fail": func(ctx context.Context, j Job, occ time.Time) error {
		attempts.Add(1)
		return errors.New("work portal answered 500")
	}}
	rs := instances(t, 2, c, exec)
	ctx := context.Background()
	j, err := rs[0].Put(ctx, Job{Project: "p", Env: "e", Name: "sync", Schedule: "0 * * * * *", TimeZone: "UTC", Enabled: true, Action: "fail",
		Retries: 2, Backoff: 10 * time.Second, DisableAfter: 3, Owner: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ { // 40 ticks of 10 s: enough for 3 occurrences x 3 attempts
		c.advance(10 * time.Second)
		for _, r := range rs {
			if err := r.Tick(ctx, 10*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
	cur, _ := rs[0].Get(ctx, "p", "e", "sync")
	if cur.Enabled || cur.Failures != 3 {
		t.Fatalf("job after failures: enabled %v failures %d", cur.Enabled, cur.Failures)
	}
	if attempts.Load() != 9 {
		t.Fatalf("%d attempts, want 3 occurrences x (1 + 2 retries)", attempts.Load())
	}
	runs, _ := rs[0].Runs(ctx, j, 0)
	for _, run := range runs {
		if run.Status != StatusFailed || run.Attempt != 3 || run.Error == "" {
			t.Fatalf("run %+v", run)
		}
	}
	outbox := rs[0].Notify.(*mail.Outbox)
	notes, err := outbox.List(ctx, "p", "", 10, "")
	if err != nil || len(notes.Items) != 1 {
		t.Fatalf("%d notifications, %v", len(notes.Items), err)
	}
	if n := notes.Items[0]; n.Kind != mail.KindJobFailing || len(n.To) != 1 || n.To[0] != "<bob@example.com>" || n.Data["job"] != "sync" || n.Status != mail.StatusQueued {
		t.Fatalf("notification %+v", n)
	}
	if queued, _ := outbox.Queue.(*azure.Queue).Length(ctx); queued != 1 {
		t.Fatalf("%d outbox messages, want one", queued)
	}
	// Disabled: no more runs.
	before := attempts.Load()
	c.advance(5 * time.Minute)
	_ = rs[0].Tick(ctx, 10*time.Second)
	if attempts.Load() != before {
		t.Fatal("a disabled job ran")
	}
}

// TestCatchUpAfterDowntime: the service was down for 10 minutes of an
// every-minute job; the policies decide what runs when it is back.
func TestCatchUpAfterDowntime(t *testing.T) {
	cases := []struct {
		policy string
		bound  int
		want   int
	}{
		{CatchUpNone, 0, 1},   // only the occurrence that is due now
		{CatchUpLast, 0, 2},   // the latest missed one, and the one due now
		{CatchUpAll, 3, 4},    // the 3 latest missed ones (bound), and the one due now
		{CatchUpAll, 100, 10}, // all ten (00:01 ... 00:10, the last one due now)
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s-%d", tc.policy, tc.bound), func(t *testing.T) {
			c := newClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
			var n atomic.Int64
			rs := instances(t, 1, c, map[string]Executor{"x": func(context.Context, Job, time.Time) error { n.Add(1); return nil }})
			ctx := context.Background()
			if _, err := rs[0].Put(ctx, Job{Project: "p", Env: "e", Name: "minutely", Schedule: "0 * * * * *", TimeZone: "UTC", Enabled: true, Action: "x", CatchUp: tc.policy, CatchUpBound: tc.bound}); err != nil {
				t.Fatal(err)
			}
			c.advance(10*time.Minute + 5*time.Second) // down for 10 minutes
			if err := rs[0].Tick(ctx, 15*time.Second); err != nil {
				t.Fatal(err)
			}
			if n.Load() != int64(tc.want) {
				t.Fatalf("%d runs, want %d", n.Load(), tc.want)
			}
		})
	}
}

func TestPutValidates(t *testing.T) {
	c := newClock(time.Now())
	rs := instances(t, 1, c, map[string]Executor{"x": nil})
	ctx := context.Background()
	for _, j := range []Job{
		{Project: "p", Env: "e", Name: "a", Schedule: "* * *", TimeZone: "UTC", Action: "x"},
		{Project: "p", Env: "e", Name: "b", Schedule: "* * * * *", TimeZone: "Mars/Base", Action: "x"},
		{Project: "p", Env: "e", Name: "c", Schedule: "* * * * *", TimeZone: "UTC", Action: "nope"},
	} {
		if _, err := rs[0].Put(ctx, j); err == nil {
			t.Errorf("%s accepted", j.Name)
		}
	}
}
