package jobs

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/housekeeping"
)

// TestValidate: a customer's job within every limit passes; each limit,
// broken alone, is a 400 naming it.
func TestValidate(t *testing.T) {
	ok := NewJob("p", "e", "nightly-close", "bob@example.com")
	ok.Schedule = "0 0 2 * * *"
	if err := ok.Validate(); err != nil {
		t.Fatalf("a valid job: %v", err)
	}
	for _, c := range []struct {
		name   string
		change func(*Job)
		want   string
	}{
		{"short name", func(j *Job) { j.Name = "a" }, "name is 2-40"},
		{"upper-case name", func(j *Job) { j.Name = "Nightly" }, "name is 2-40"},
		{"trailing hyphen", func(j *Job) { j.Name = "nightly-" }, "name is 2-40"},
		{"negative retries", func(j *Job) { j.Retries = -1 }, "retries, catchUpBound and disableAfter"},
		{"catch-up bound over", func(j *Job) { j.CatchUpBound = MaxCount + 1 }, "retries, catchUpBound and disableAfter"},
		{"disable after over", func(j *Job) { j.DisableAfter = MaxCount + 1 }, "retries, catchUpBound and disableAfter"},
		{"zero timeout", func(j *Job) { j.Timeout = 0 }, "timeoutSeconds is 1..3600"},
		{"timeout over", func(j *Job) { j.Timeout = MaxTimeout + time.Second }, "timeoutSeconds is 1..3600"},
		{"negative backoff", func(j *Job) { j.Backoff = -time.Second }, "backoffSeconds is 0..86400"},
		{"built-in action", func(j *Job) { j.Action = "purge-idempotency" }, "action must be http"},
		{"unknown overlap", func(j *Job) { j.Overlap = "queue" }, "overlap is skip or allow"},
		{"unknown catch-up", func(j *Job) { j.CatchUp = "some" }, "catchUp is none, last or all"},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := ok
			c.change(&j)
			err := j.Validate()
			if !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want Invalid %q", err, c.want)
			}
		})
	}
	// The limits themselves are allowed.
	edge := ok
	edge.Retries, edge.CatchUpBound, edge.DisableAfter, edge.Timeout, edge.Backoff = MaxCount, MaxCount, 0, MaxTimeout, MaxBackoff
	if err := edge.Validate(); err != nil {
		t.Fatalf("the limits: %v", err)
	}
}

// TestPreviewSchedule: occurrences in the zone, DST included; bad input is
// a 400 naming the field.
func TestPreviewSchedule(t *testing.T) {
	p, err := PreviewSchedule("0 30 2 * * *", "Europe/Paris", "2026-03-28T12:00:00Z", 2, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// 29 March 2026: clocks go from 02:00 to 03:00 in Paris; the missing
	// 02:30 runs at the transition (ncrontab's rule), the next at 02:30 CEST.
	if p.TimeZone != "Europe/Paris" || len(p.Occurrences) != 2 || p.Occurrences[0] != "2026-03-29T03:00:00+02:00" || p.Occurrences[1] != "2026-03-30T02:30:00+02:00" {
		t.Fatalf("preview: %+v", p)
	}
	for _, c := range []struct {
		schedule, zone, from string
		count                int
		want                 string
	}{
		{"0 0 * * * *", "Mars/Base", "", 1, "timeZone"},
		{"0 0 * * * *", "", "yesterday", 1, "from"},
		{"0 0 * * * *", "", "", 1001, "count"},
	} {
		if _, err := PreviewSchedule(c.schedule, c.zone, c.from, c.count, time.Now()); !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestRegisterHousekeeping: a registered task is a system job whose action
// runs the task, with its own schedule and policy.
func TestRegisterHousekeeping(t *testing.T) {
	var ran time.Time
	r := &Runner{}
	r.Register(housekeeping.Task{Name: "sweep", Schedule: "0 */5 * * * *", Timeout: time.Minute, CatchUp: housekeeping.CatchUpNone,
		Run: func(_ context.Context, occ time.Time) error { ran = occ; return nil }})
	defs := r.SystemJobs()
	if len(defs) != 1 || defs[0].Name != "sweep" || defs[0].Action != "sweep" || defs[0].Schedule != "0 */5 * * * *" ||
		defs[0].Timeout != time.Minute || defs[0].CatchUp != CatchUpNone || !defs[0].Enabled {
		t.Fatalf("system jobs: %+v", defs)
	}
	occ := time.Date(2026, 12, 6, 10, 5, 0, 0, time.UTC)
	if err := r.Executors["sweep"](context.Background(), defs[0], occ); err != nil || !ran.Equal(occ) {
		t.Fatalf("executor: %v, ran at %v", err, ran)
	}
}
