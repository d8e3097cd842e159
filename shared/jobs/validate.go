package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/ncrontab"
)

// The limits of a customer's job (docs/jobs.md).
const (
	MaxCount   = 1000           // retries, catchUpBound and disableAfter are 0..MaxCount
	MaxTimeout = time.Hour      // a run's timeout is 1 s..MaxTimeout
	MaxBackoff = 24 * time.Hour // the pause between retries is 0..MaxBackoff
	minTimeout = 1 * time.Second
)

// Validate checks a job a customer defines, before Runner.Put (which checks
// what every job needs: schedule, zone, sizes, a known action): a name of
// 2-40 lower-case letters, digits and inner hyphens; the only customer
// action, http (the built-in actions are the service's own); counts,
// timeout and backoff within their limits; known overlap and catch-up
// policies (empty takes the default).
func (j Job) Validate() error {
	const op = "jobs.Validate"
	invalid := func(msg string) error { return fault.E(op, fault.Invalid, msg) }
	switch {
	case !ValidName(j.Name):
		return invalid("name is 2-40 lower-case letters, digits and inner hyphens")
	case outside(j.Retries, 0, MaxCount) || outside(j.CatchUpBound, 0, MaxCount) || outside(j.DisableAfter, 0, MaxCount):
		return invalid(fmt.Sprintf("retries, catchUpBound and disableAfter are 0..%d", MaxCount))
	case j.Timeout < minTimeout || j.Timeout > MaxTimeout:
		return invalid("timeoutSeconds is 1..3600")
	case j.Backoff < 0 || j.Backoff > MaxBackoff:
		return invalid("backoffSeconds is 0..86400")
	case j.Action != ActionHTTP:
		return invalid("action must be http (a call to the environment's Scheduler); the built-in jobs are the service's own")
	}
	switch j.Overlap {
	case "", OverlapSkip, OverlapAllow:
	default:
		return invalid("overlap is skip or allow")
	}
	switch j.CatchUp {
	case "", CatchUpNone, CatchUpLast, CatchUpAll:
	default:
		return invalid("catchUp is none, last or all")
	}
	return nil
}

func outside(n, lo, hi int) bool { return n < lo || n > hi }

// ValidName reports whether s is a customer job's name: 2-40 lower-case
// letters, digits and inner hyphens.
func ValidName(s string) bool {
	if len(s) < 2 || len(s) > 40 {
		return false
	}
	for i, c := range s {
		ok := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0 && i < len(s)-1)
		if !ok {
			return false
		}
	}
	return true
}

// NewJob is a customer's new job in an environment with the defaults a
// request may change: UTC, enabled, the http action, a one-minute timeout.
func NewJob(project, env, name, owner string) Job {
	return Job{Project: project, Env: env, Name: name, TimeZone: "UTC", Enabled: true, Action: ActionHTTP, Timeout: time.Minute, Owner: owner}
}

// Preview is a schedule's next occurrences in its zone.
type Preview struct {
	Schedule    string   `json:"schedule"`
	TimeZone    string   `json:"timeZone"`
	Occurrences []string `json:"occurrences"`
}

// PreviewSchedule lists the next count occurrences (1..1000; 0 = 5) of an
// NCRONTAB schedule in an IANA zone ("" = UTC) after from (RFC 3339; "" =
// now), daylight-saving changes included.
func PreviewSchedule(schedule, zone, from string, count int, now time.Time) (Preview, error) {
	const op = "jobs.Preview"
	s, err := ncrontab.Parse(schedule)
	if err != nil {
		return Preview{}, err
	}
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return Preview{}, fault.E(op, fault.Invalid, "timeZone is not an IANA zone")
	}
	start := now
	if from != "" {
		if start, err = time.Parse(time.RFC3339, from); err != nil {
			return Preview{}, fault.E(op, fault.Invalid, "from is not an RFC 3339 time")
		}
	}
	if count == 0 {
		count = 5
	}
	if count < 1 || count > 1000 {
		return Preview{}, fault.E(op, fault.Invalid, "count is 1..1000")
	}
	out := Preview{Schedule: s.String(), TimeZone: zone, Occurrences: []string{}}
	for _, t := range s.NextN(start.In(loc), count) {
		out.Occurrences = append(out.Occurrences, t.Format(time.RFC3339))
	}
	return out, nil
}

// Save stores a customer's job: Validate, then Put; a new job (no ETag)
// whose name is taken is a Conflict saying so.
func (r *Runner) Save(ctx context.Context, j Job) (Job, error) {
	if err := j.Validate(); err != nil {
		return Job{}, err
	}
	out, err := r.Put(ctx, j)
	if j.ETag == "" && fault.Is(err, fault.Conflict) {
		return out, fault.E("jobs.Save", fault.Conflict, "a job with this name exists")
	}
	return out, err
}
