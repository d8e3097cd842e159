package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/ncrontab"
	"github.com/studio-collab/collab/shared/store"
)

// Layout is the storage jobs need.
var Layout = store.Layout{Tables: []string{"jobs", "jobruns"}}

// Overlap and catch-up policies.
const (
	OverlapSkip  = "skip"  // an occurrence due while the previous run still runs is recorded as skipped
	OverlapAllow = "allow" // runs may overlap
	CatchUpNone  = "none"  // after downtime, missed occurrences are dropped
	CatchUpLast  = "last"  // only the latest missed occurrence runs
	CatchUpAll   = "all"   // every missed occurrence runs, up to CatchUpBound
)

// Job is one programmed job of an environment.
type Job struct {
	Project       string        `json:"project"`
	Env           string        `json:"env"`
	Name          string        `json:"name"`
	Schedule      string        `json:"schedule"`
	TimeZone      string        `json:"timeZone"`
	Enabled       bool          `json:"enabled"`
	Action        string        `json:"action"` // the executor's name: "http" or a built-in
	Target        string        `json:"target,omitempty"`
	Timeout       time.Duration `json:"timeout"`
	Retries       int           `json:"retries"`
	Backoff       time.Duration `json:"backoff"`
	Overlap       string        `json:"overlap"`
	CatchUp       string        `json:"catchUp"`
	CatchUpBound  int           `json:"catchUpBound"`
	DisableAfter  int           `json:"disableAfter"`
	Owner         string        `json:"owner"`
	Failures      int           `json:"consecutiveFailures"`
	LastScheduled time.Time     `json:"lastScheduled"`
	Created       time.Time     `json:"created"`
	ETag          string        `json:"-"`
}

// Run statuses.
const (
	StatusRunning   = "running"
	StatusRetrying  = "retrying"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
)

// Run is one occurrence of a job.
type Run struct {
	Occurrence  time.Time     `json:"occurrence"`
	Status      string        `json:"status"`
	Attempt     int           `json:"attempt"`
	Started     time.Time     `json:"started,omitzero"`
	Duration    time.Duration `json:"duration"`
	Error       string        `json:"error,omitempty"`
	Instance    string        `json:"instance"`
	LeaseUntil  time.Time     `json:"leaseUntil,omitzero"`
	NextAttempt time.Time     `json:"nextAttempt,omitzero"`
	RequestID   string        `json:"requestId,omitempty"` // the tick or request that performed the last attempt
	ETag        string        `json:"-"`
}

type requestIDKey struct{}

// WithRequestID tags the runs a tick or a request performs with its id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestID(ctx context.Context) string { id, _ := ctx.Value(requestIDKey{}).(string); return id }

// Executor performs a job's action; an error fails the attempt.
type Executor func(ctx context.Context, j Job, occurrence time.Time) error

// Table is what jobs need from a table; *store.Table has it.
type Table interface {
	Get(ctx context.Context, pk, rk string) (store.Entity, error)
	Insert(ctx context.Context, e store.Entity) (string, error)
	Update(ctx context.Context, e store.Entity, ifMatch string) (string, error)
	QueryAll(ctx context.Context, f store.Filter, limit int) ([]store.Entity, error)
}

// Notifier queues a notification; *mail.Outbox has it (insert-if-absent
// by ID, so the same notice twice is one e-mail).
type Notifier interface {
	Enqueue(ctx context.Context, n mail.Notification) error
}

// Runner ticks jobs. One per instance; many may run against one storage.
type Runner struct {
	JobTable, RunTable Table
	Notify             Notifier
	Executors          map[string]Executor
	Instance           string
	Now                func() time.Time
	Lease              time.Duration // how long a run is held before others may take it over (default: timeout + 30 s)
}

func jobKey(j Job) (string, string) {
	return store.EncodeKey(j.Project + "/" + j.Env), store.EncodeKey(j.Name)
}

func runPK(j Job) string { return store.EncodeKey(j.Project + "/" + j.Env + "/" + j.Name) }

// runRK orders runs newest first and is the claim key of an occurrence.
func runRK(t time.Time) string { return fmt.Sprintf("%019d", math.MaxInt64-t.UTC().Unix()) }

func entity(pk, rk string, v any) store.Entity {
	b, _ := json.Marshal(v)
	return store.Entity{PartitionKey: pk, RowKey: rk, Props: map[string]any{"Doc": string(b)}}
}

func decode[T any](e store.Entity, into *T) error {
	if err := json.Unmarshal([]byte(e.String("Doc")), into); err != nil {
		return fault.E("jobs.decode", fault.Internal, err)
	}
	return nil
}

// Caps of a job's free-text fields (documented in api/openapi.yaml): a job
// at every cap is a few KB, far under its row's limits, and its name fits
// the keys of its row and of its runs' partition.
const (
	MaxNameBytes     = 128
	MaxScheduleBytes = 256
	MaxTargetBytes   = 2048
)

// checkSizes refuses a field over its cap, naming it.
func (j Job) checkSizes() error {
	const op = "jobs.Put"
	switch {
	case len(j.Name) > MaxNameBytes:
		return fault.E(op, fault.Invalid, fmt.Sprintf("name is at most %d bytes", MaxNameBytes))
	case len(j.Schedule) > MaxScheduleBytes:
		return fault.E(op, fault.Invalid, fmt.Sprintf("schedule is at most %d bytes", MaxScheduleBytes))
	case len(j.Target) > MaxTargetBytes:
		return fault.E(op, fault.Invalid, fmt.Sprintf("target is at most %d bytes", MaxTargetBytes))
	}
	return nil
}

// Put creates or replaces a job definition (validated).
func (r *Runner) Put(ctx context.Context, j Job) (Job, error) {
	if err := j.checkSizes(); err != nil {
		return Job{}, err
	}
	if _, err := ncrontab.Parse(j.Schedule); err != nil {
		return Job{}, err
	}
	if _, err := time.LoadLocation(j.TimeZone); err != nil {
		return Job{}, fault.E("jobs.Put", fault.Invalid, fmt.Sprintf("time zone %q is not an IANA zone", j.TimeZone))
	}
	if _, ok := r.Executors[j.Action]; !ok {
		return Job{}, fault.E("jobs.Put", fault.Invalid, fmt.Sprintf("unknown action %q", j.Action))
	}
	if j.Overlap == "" {
		j.Overlap = OverlapSkip
	}
	if j.CatchUp == "" {
		j.CatchUp = CatchUpLast
	}
	if j.CatchUpBound == 0 {
		j.CatchUpBound = 10
	}
	if j.DisableAfter == 0 {
		j.DisableAfter = 5
	}
	if j.Timeout == 0 {
		j.Timeout = time.Minute
	}
	if j.Created.IsZero() {
		j.Created = r.Now().UTC()
	}
	if j.LastScheduled.IsZero() {
		j.LastScheduled = j.Created
	}
	pk, rk := jobKey(j)
	e := entity(pk, rk, j)
	var etag string
	var err error
	if j.ETag == "" {
		etag, err = r.JobTable.Insert(ctx, e)
	} else {
		etag, err = r.JobTable.Update(ctx, e, j.ETag)
	}
	if err != nil {
		return Job{}, fault.E("jobs.Put", err)
	}
	j.ETag = etag
	return j, nil
}

// Get reads a job.
func (r *Runner) Get(ctx context.Context, project, env, name string) (Job, error) {
	var j Job
	e, err := r.JobTable.Get(ctx, store.EncodeKey(project+"/"+env), store.EncodeKey(name))
	if err != nil {
		return j, fault.E("jobs.Get", err)
	}
	if err := decode(e, &j); err != nil {
		return j, err
	}
	j.ETag = e.ETag
	return j, nil
}

// Runs lists a job's runs, newest first.
func (r *Runner) Runs(ctx context.Context, j Job, limit int) ([]Run, error) {
	es, err := r.RunTable.QueryAll(ctx, store.Eq("PartitionKey", runPK(j)), limit)
	if err != nil {
		return nil, fault.E("jobs.Runs", err)
	}
	out := make([]Run, 0, len(es))
	for _, e := range es {
		var run Run
		if err := decode(e, &run); err != nil {
			return nil, err
		}
		run.ETag = e.ETag
		out = append(out, run)
	}
	return out, nil
}

// due lists the occurrences of j after its cursor and up to now, by its
// catch-up policy. An occurrence within one tick of now is never "missed".
func due(j Job, now time.Time, tick time.Duration) ([]time.Time, error) {
	s, err := ncrontab.Parse(j.Schedule)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(j.TimeZone)
	if err != nil {
		return nil, err
	}
	var all []time.Time
	for t, ok := s.Next(j.LastScheduled.In(loc)); ok && !t.After(now); t, ok = s.Next(t) {
		all = append(all, t.UTC())
		if len(all) > 100000 {
			break
		}
	}
	var fresh, missed []time.Time
	for _, t := range all {
		if now.Sub(t) <= tick {
			fresh = append(fresh, t)
		} else {
			missed = append(missed, t)
		}
	}
	switch j.CatchUp {
	case CatchUpNone:
		missed = nil
	case CatchUpLast:
		if len(missed) > 1 {
			missed = missed[len(missed)-1:]
		}
	case CatchUpAll:
		if len(missed) > j.CatchUpBound {
			missed = missed[len(missed)-j.CatchUpBound:]
		}
	}
	return append(missed, fresh...), nil
}

// Delete removes a job definition (its run history stays for the record).
func (r *Runner) Delete(ctx context.Context, j Job) error {
	pk, rk := jobKey(j)
	if d, ok := r.JobTable.(interface {
		Delete(ctx context.Context, pk, rk, ifMatch string) error
	}); ok {
		return d.Delete(ctx, pk, rk, j.ETag)
	}
	return fault.E("jobs.Delete", fault.Internal, "the job table cannot delete")
}

// List returns the jobs of an environment.
func (r *Runner) List(ctx context.Context, project, env string) ([]Job, error) {
	es, err := r.JobTable.QueryAll(ctx, store.Eq("PartitionKey", store.EncodeKey(project+"/"+env)), 0)
	if err != nil {
		return nil, fault.E("jobs.List", err)
	}
	out := make([]Job, 0, len(es))
	for _, e := range es {
		var j Job
		if err := decode(e, &j); err != nil {
			return nil, err
		}
		j.ETag = e.ETag
		out = append(out, j)
	}
	return out, nil
}

// RunNow queues an immediate run of j: a run row due now, which the next
// tick on any instance takes over (so it survives this request's instance).
func (r *Runner) RunNow(ctx context.Context, j Job) (Run, error) {
	now := r.Now().UTC().Truncate(time.Second)
	run := Run{Occurrence: now, Status: StatusRetrying, Attempt: 0, NextAttempt: now, Instance: r.Instance, RequestID: requestID(ctx)}
	etag, err := r.RunTable.Insert(ctx, entity(runPK(j), runRK(now), run))
	if fault.Is(err, fault.Conflict) {
		return Run{}, fault.E("jobs.RunNow", fault.Conflict, "a run of this job is already due this second")
	}
	if err != nil {
		return Run{}, fault.E("jobs.RunNow", err)
	}
	run.ETag = etag
	return run, nil
}
