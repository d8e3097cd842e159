package deploy

import (
	"fmt"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/ncrontab"
)

// Policy is an environment's maintenance policy: the times a window may
// start (NCRONTAB, read on the wall clock of TimeZone), how long it lasts,
// and how long before its start users are told.
type Policy struct {
	Schedules       []string `json:"schedules"`
	TimeZone        string   `json:"timeZone"`
	DurationMinutes int      `json:"durationMinutes"`
	NoticeMinutes   int      `json:"noticeMinutes"`
}

// DefaultPolicy applies to an environment nobody has set a policy for:
// nightly at 02:00 UTC, 30 minutes, announced an hour before. Restart
// changes then never wait forever for an administrator to act.
func DefaultPolicy() Policy {
	return Policy{Schedules: []string{"0 0 2 * * *"}, TimeZone: "UTC", DurationMinutes: 30, NoticeMinutes: 60}
}

// Limits of a policy.
const (
	MaxSchedules      = 10
	MaxDurationMinute = 24 * 60
	MaxNoticeMinutes  = 14 * 24 * 60
)

// MaxScheduleBytes caps one NCRONTAB expression of a policy.
const MaxScheduleBytes = 256

// Validate checks the policy; its errors name the field.
func (p Policy) Validate() error {
	const op = "deploy.Policy"
	if len(p.Schedules) == 0 || len(p.Schedules) > MaxSchedules {
		return fault.E(op, fault.Invalid, fmt.Sprintf("schedules: 1 to %d NCRONTAB expressions", MaxSchedules))
	}
	for i, expr := range p.Schedules {
		if len(expr) > MaxScheduleBytes {
			return fault.E(op, fault.Invalid, fmt.Sprintf("schedules[%d]: at most %d bytes", i, MaxScheduleBytes))
		}
		s, err := ncrontab.Parse(expr)
		if err != nil {
			return fault.E(op, fault.Invalid, fmt.Sprintf("schedules[%d]: %s", i, fault.DetailOf(err)), err)
		}
		if _, ok := s.Next(time.Now()); !ok {
			return fault.E(op, fault.Invalid, fmt.Sprintf("schedules[%d]: %q never occurs", i, expr))
		}
	}
	if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "" || p.TimeZone == "Local" {
		return fault.E(op, fault.Invalid, fmt.Sprintf("timeZone: %q is not an IANA time zone", p.TimeZone))
	}
	if p.DurationMinutes < 1 || p.DurationMinutes > MaxDurationMinute {
		return fault.E(op, fault.Invalid, fmt.Sprintf("durationMinutes: 1 to %d", MaxDurationMinute))
	}
	if p.NoticeMinutes < 0 || p.NoticeMinutes > MaxNoticeMinutes {
		return fault.E(op, fault.Invalid, fmt.Sprintf("noticeMinutes: 0 to %d", MaxNoticeMinutes))
	}
	return nil
}

// Duration is the window length.
func (p Policy) Duration() time.Duration { return time.Duration(p.DurationMinutes) * time.Minute }

// Notice is the notice period.
func (p Policy) Notice() time.Duration { return time.Duration(p.NoticeMinutes) * time.Minute }

// NextStart is the earliest start time of any schedule strictly after
// after, in UTC; ok is false when no schedule ever occurs again.
func (p Policy) NextStart(after time.Time) (time.Time, bool) {
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return time.Time{}, false
	}
	var best time.Time
	for _, expr := range p.Schedules {
		s, err := ncrontab.Parse(expr)
		if err != nil {
			continue
		}
		if t, ok := s.Next(after.In(loc)); ok && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	return best.UTC(), !best.IsZero()
}

// StartFor is the start of the next window planned at now: the first policy
// time that leaves users the whole notice period and is not before
// notBefore.
func (p Policy) StartFor(now, notBefore time.Time) (time.Time, bool) {
	after := now.Add(p.Notice())
	if notBefore.After(after) {
		after = notBefore
	}
	// NextStart is strictly after its argument; a start exactly at the end
	// of the notice period is fine.
	return p.NextStart(after.Add(-time.Nanosecond))
}
