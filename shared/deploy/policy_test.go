package deploy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
)

// TestPolicyValidation names the field of every refusal.
func TestPolicyValidation(t *testing.T) {
	ok := saturdayPolicy
	cases := []struct {
		name string
		edit func(p *deploy.Policy)
		want string
	}{
		{"no schedule", func(p *deploy.Policy) { p.Schedules = nil }, "schedules: 1 to 10"},
		{"a bad expression", func(p *deploy.Policy) { p.Schedules = []string{"0 0 25 * * *"} }, `schedules[0]: hour field: bad token "25"`},
		{"an impossible date", func(p *deploy.Policy) { p.Schedules = []string{"0 0 0 31 Feb *"} }, "never occurs"},
		{"an unknown zone", func(p *deploy.Policy) { p.TimeZone = "Mars/Olympus" }, "timeZone"},
		{"no zone", func(p *deploy.Policy) { p.TimeZone = "" }, "timeZone"},
		{"a zero duration", func(p *deploy.Policy) { p.DurationMinutes = 0 }, "durationMinutes"},
		{"a two-day duration", func(p *deploy.Policy) { p.DurationMinutes = 2 * 24 * 60 }, "durationMinutes"},
		{"a negative notice", func(p *deploy.Policy) { p.NoticeMinutes = -1 }, "noticeMinutes"},
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		p := ok
		p.Schedules = append([]string(nil), ok.Schedules...)
		c.edit(&p)
		if err := p.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// TestPolicyStart: the next window starts at the first policy time that
// leaves the whole notice period, read on the policy's wall clock (daylight
// saving included), the earliest of several schedules.
func TestPolicyStart(t *testing.T) {
	ny := deploy.Policy{Schedules: []string{"0 30 2 * * *"}, TimeZone: "America/New_York", DurationMinutes: 30, NoticeMinutes: 0}
	cases := []struct {
		name      string
		p         deploy.Policy
		now       time.Time
		notBefore time.Time
		want      time.Time
	}{
		{"Saturday 02:00 in Bogota is 07:00Z", saturdayPolicy, start, time.Time{}, sat},
		{"inside the notice period: the week after", saturdayPolicy, sat.Add(-30 * time.Minute), time.Time{}, sat.AddDate(0, 0, 7)},
		{"exactly the notice period before: this one", saturdayPolicy, sat.Add(-time.Hour), time.Time{}, sat},
		{"not before a cancelled window: the next one", saturdayPolicy, start, sat.Add(time.Second), sat.AddDate(0, 0, 7)},
		{"02:30 does not exist on 8 March 2026 in New York: 03:00 EDT", ny, time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC), time.Time{}, time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC)},
		{"the earliest of two schedules", deploy.Policy{Schedules: []string{"0 0 4 * * *", "0 0 1 * * *"}, TimeZone: "UTC", DurationMinutes: 10}, start, time.Time{}, time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		got, ok := c.p.StartFor(c.now, c.notBefore)
		if !ok || !got.Equal(c.want) {
			t.Errorf("%s: %v %v, want %v", c.name, got, ok, c.want)
		}
	}
}
