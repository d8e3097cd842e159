package ncrontab

import (
	"testing"
	"time"
)

// TestDaylightSaving checks the rule of docs/schedules.md: a wall time in a
// spring-forward gap runs once at the first instant after the gap; a wall
// time in a fall-back overlap runs once, at its first occurrence.
func TestDaylightSaving(t *testing.T) {
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ny, berlin, lordHowe, kolkata := zone("America/New_York"), zone("Europe/Berlin"), zone("Australia/Lord_Howe"), zone("Asia/Kolkata")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name  string
		expr  string
		after time.Time
		want  []string // UTC instants, in order
	}{
		{"New York spring forward: 02:30 does not exist, runs at 03:00 EDT, then daily",
			"0 30 2 * * *", time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{"New York spring forward: every 15 minutes, the gap collapses into one run at 03:00",
			"0 */15 * * * *", time.Date(2026, 3, 8, 1, 40, 0, 0, ny),
			[]string{"2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z"}},
		{"New York fall back: 01:30 happens twice, runs once at the first (EDT)",
			"0 30 1 * * *", time.Date(2026, 10, 31, 12, 0, 0, 0, ny),
			[]string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"New York fall back: every 30 minutes, the repeated hour adds no runs",
			"0 */30 * * * *", time.Date(2026, 11, 1, 0, 45, 0, 0, ny),
			[]string{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z"}},
		{"New York fall back: from inside the second pass, the next run is after the overlap",
			"0 */30 * * * *", utc("2026-11-01T06:10:00Z").In(ny),
			[]string{"2026-11-01T07:00:00Z"}},
		{"Berlin spring forward: 02:30 does not exist, runs at 03:00 CEST",
			"0 30 2 * * *", time.Date(2026, 3, 28, 12, 0, 0, 0, berlin),
			[]string{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		{"Berlin fall back: 02:30 happens twice, runs once at the first (CEST)",
			"0 30 2 * * *", time.Date(2026, 10, 24, 12, 0, 0, 0, berlin),
			[]string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"Berlin: a weekly job keeps its wall time across the change",
			"0 0 9 * * Mon", time.Date(2026, 10, 20, 0, 0, 0, 0, berlin),
			[]string{"2026-10-26T08:00:00Z", "2026-11-02T08:00:00Z"}},
		{"Lord Howe (30-minute shift) spring forward: 02:15 does not exist, runs at 02:30 (+11)",
			"0 15 2 * * *", time.Date(2026, 10, 3, 12, 0, 0, 0, lordHowe),
			[]string{"2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}},
		{"Lord Howe fall back: 01:45 happens twice, runs at the first (+11)",
			"0 45 1 * * *", time.Date(2026, 4, 4, 12, 0, 0, 0, lordHowe),
			[]string{"2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"}},
		{"Kolkata (+05:30, no DST): 09:00 local is 03:30 UTC",
			"0 0 9 * * *", time.Date(2026, 11, 24, 10, 0, 0, 0, kolkata),
			[]string{"2026-11-25T03:30:00Z", "2026-11-26T03:30:00Z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse(c.expr)
			if err != nil {
				t.Fatal(err)
			}
			got := s.NextN(c.after, len(c.want))
			for i, w := range c.want {
				if i >= len(got) || !got[i].Equal(utc(w)) {
					t.Fatalf("occurrence %d: got %v, want %s (all: %v)", i, got, w, got)
				}
				if got[i].Location() != c.after.Location() {
					t.Fatalf("occurrence in %v, want the schedule's zone", got[i].Location())
				}
			}
		})
	}
}
