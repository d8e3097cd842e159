package jobs

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestEnsureSystem: every instance ensures the housekeeping jobs at start-up
// at the same time; each job exists once, runs once per occurrence, and an
// operator's change to it survives the next start-up.
func TestEnsureSystem(t *testing.T) {
	c := newClock(time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC))
	var purges atomic.Int64
	rs := instances(t, 3, c, map[string]Executor{"purge": func(context.Context, Job, time.Time) error { purges.Add(1); return nil }})
	ctx := context.Background()
	defs := []Job{{Name: "purge", Schedule: "0 */5 * * * *", Action: "purge", Enabled: true}}
	var wg sync.WaitGroup
	errs := make([]error, len(rs))
	for i, r := range rs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = r.EnsureSystem(ctx, defs) }()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	list, err := rs[0].List(ctx, SystemProject, SystemEnv)
	if err != nil || len(list) != 1 || list[0].Owner != "service" || list[0].TimeZone != "UTC" {
		t.Fatalf("system jobs: %+v %v", list, err)
	}
	// Three instances tick for 20 minutes: four occurrences, four runs.
	for i := 0; i < 80; i++ {
		c.advance(15 * time.Second)
		var tw sync.WaitGroup
		for _, r := range rs {
			tw.Add(1)
			go func() { defer tw.Done(); _ = r.Tick(ctx, 15*time.Second) }()
		}
		tw.Wait()
	}
	if purges.Load() != 4 {
		t.Fatalf("%d purges in 20 minutes of a 5-minute schedule, want 4", purges.Load())
	}
	// An operator disables it; the next start-up leaves it disabled.
	j := list[0]
	j, _ = rs[0].Get(ctx, SystemProject, SystemEnv, "purge")
	j.Enabled = false
	if _, err := rs[0].Put(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := rs[1].EnsureSystem(ctx, defs); err != nil {
		t.Fatal(err)
	}
	if j, _ := rs[2].Get(ctx, SystemProject, SystemEnv, "purge"); j.Enabled {
		t.Fatal("start-up re-enabled a job the operator disabled")
	}
	// A definition that does not validate is reported, not ignored.
	if err := rs[0].EnsureSystem(ctx, []Job{{Name: "bad", Schedule: "nope", Action: "purge"}}); err == nil {
		t.Fatal("an invalid system job was accepted")
	}
}
