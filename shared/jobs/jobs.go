package jobs

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/ncrontab"
	"github.com/studio-collab/collab/shared/store"
)

// Layout is the storage jobs need: the job definitions, their runs, and the
// index of open runs (jobopen: one row per run that may still need work, so
// that a takeover finds every orphan however long the history grows).
var Layout = store.Layout{Tables: []string{"jobs", "jobruns", "jobopen"}}

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
	// Takeovers counts the attempts started because the previous holder's
	// lease ran out (its instance died or stalled): only then may the
	// Scheduler see the occurrence's Idempotency-Key twice.
	Takeovers int `json:"takeovers,omitempty"`
	// IdempotencyKey is what every attempt of this occurrence sends as its
	// Idempotency-Key (IdempotencyKey(job, occurrence)).
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	ETag           string `json:"-"`
}

// IdempotencyKey names one occurrence of a job for the Scheduler: every
// attempt of the occurrence (a retry, a takeover) sends the same key, so a
// Scheduler that remembers keys performs it once.
func IdempotencyKey(j Job, occurrence time.Time) string {
	return fmt.Sprintf("%s/%s/%s/%d", j.Project, j.Env, j.Name, occurrence.UTC().Unix())
}

type requestIDKey struct{}

// WithRequestID tags the runs a tick or a request performs with its id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestID(ctx context.Context) string { id, _ := ctx.Value(requestIDKey{}).(string); return id }

// Executor performs a job's action; an error fails the attempt.
type Executor func(ctx context.Context, j Job, occurrence time.Time) error

// Notifier queues a notification; *mail.Outbox has it (insert-if-absent
// by ID, so the same notice twice is one e-mail).
type Notifier interface {
	Enqueue(ctx context.Context, n mail.Notification) error
}

// Runner ticks jobs. One per instance; many may run against one storage.
type Runner struct {
	JobTable, RunTable store.Table
	// OpenTable is the open-runs index (table jobopen).
	OpenTable store.Table
	Notify    Notifier
	Executors map[string]Executor
	Instance  string
	Now       func() time.Time
	Lease     time.Duration // how long a run is held before others may take it over (default: timeout + LeaseGrace)
	// LeaseGrace is added to a job's timeout to make its lease (default
	// 30 s): the time an attempt has, past its timeout, to record its
	// outcome before another instance may take the run over.
	LeaseGrace time.Duration
	// MaxPerJob bounds the attempts one tick starts for one job (default
	// 100), and Budget the time after which a tick starts no more attempts
	// (default: the tick interval). What is left stays in the open-runs
	// index and behind the job's cursor for the next tick.
	MaxPerJob int
	Budget    time.Duration

	system []Job // the registered housekeeping jobs (Register)
}

func jobKey(j Job) (string, string) {
	return store.EncodeKey(j.Project + "/" + j.Env), store.EncodeKey(j.Name)
}

func runPK(j Job) string { return store.EncodeKey(j.Project + "/" + j.Env + "/" + j.Name) }

// runRK orders runs newest first and is the claim key of an occurrence.
func runRK(t time.Time) string { return fmt.Sprintf("%019d", math.MaxInt64-t.UTC().Unix()) }

// entity is a job's or a run's row; the caps below keep its document far
// under a row's limits (were it over, the write would be refused).
func entity(pk, rk string, v any) store.Entity {
	props := map[string]any{}
	_ = (store.Doc[any]{Name: "Doc"}).Set(props, v)
	return store.Entity{PartitionKey: pk, RowKey: rk, Props: props}
}

func decode[T any](e store.Entity, into *T) error {
	v, err := (store.Doc[T]{Name: "Doc"}).Get(e)
	if err != nil {
		return fault.E("jobs.decode", err)
	}
	*into = v
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
	case strings.IndexFunc(j.Target, unicode.IsControl) >= 0:
		// The target becomes the path of an HTTP request line: a CR/LF or
		// a NUL there is request smuggling, never a path.
		return fault.E(op, fault.Invalid, "target must not contain control characters (NUL, CR, LF, …)")
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
	out, err := (store.Doc[Run]{Name: "Doc"}).Query(ctx, r.RunTable, store.Eq("PartitionKey", runPK(j)), limit, func(run *Run, etag string) { run.ETag = etag })
	if err != nil {
		return nil, fault.E("jobs.Runs", err)
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
// A deleted job is never ticked again, so its open runs are closed here: a
// run waiting for a retry, or orphaned by a dead instance, is recorded as
// failed; a run still held (live lease) is closed by its holder.
func (r *Runner) Delete(ctx context.Context, j Job) error {
	pk, rk := jobKey(j)
	d, ok := r.JobTable.(interface {
		Delete(ctx context.Context, pk, rk, ifMatch string) error
	})
	if !ok {
		return fault.E("jobs.Delete", fault.Internal, "the job table cannot delete")
	}
	if err := d.Delete(ctx, pk, rk, j.ETag); err != nil {
		return err
	}
	if err := r.closeOpen(ctx, j, "the job was deleted"); err != nil {
		return fault.E("jobs.Delete", fmt.Errorf("closing its open runs (the job is deleted): %w", err))
	}
	return nil
}

// closeOpen records j's open runs that nobody holds as failed (why) and
// removes their index rows.
func (r *Runner) closeOpen(ctx context.Context, j Job, why string) error {
	now := r.Now()
	runs, err := r.openRuns(ctx, j)
	if err != nil {
		return err
	}
	for _, o := range runs {
		switch {
		case o.run == nil:
			if now.Before(o.row.Time("Created").Add(r.lease(j))) {
				continue // a claim in flight: its claimer runs and closes it
			}
		case closed(o.run.Status):
		case o.run.Status == StatusRunning && now.Before(o.run.LeaseUntil):
			continue // held: its holder closes it
		default:
			run := *o.run
			run.Status, run.Error, run.LeaseUntil, run.NextAttempt = StatusFailed, why, time.Time{}, time.Time{}
			if _, err := r.RunTable.Update(ctx, entity(runPK(j), runRK(run.Occurrence), run), run.ETag); err != nil {
				if fault.Is(err, fault.PreconditionFailed) {
					continue // taken over meanwhile: that instance closes it
				}
				return err
			}
		}
		_ = r.OpenTable.Delete(ctx, o.row.PartitionKey, o.row.RowKey, o.row.ETag)
	}
	return nil
}

// List returns the jobs of an environment.
func (r *Runner) List(ctx context.Context, project, env string) ([]Job, error) {
	out, err := (store.Doc[Job]{Name: "Doc"}).Query(ctx, r.JobTable, store.Eq("PartitionKey", store.EncodeKey(project+"/"+env)), 0, func(j *Job, etag string) { j.ETag = etag })
	if err != nil {
		return nil, fault.E("jobs.List", err)
	}
	return out, nil
}

// RunNow queues an immediate run of j: a run row due now, which the next
// tick on any instance takes over (so it survives this request's instance).
// Like a claim, it enters the open-runs index before the run row exists.
func (r *Runner) RunNow(ctx context.Context, j Job) (Run, error) {
	const op = "jobs.RunNow"
	now := r.Now().UTC().Truncate(time.Second)
	busy := fault.E(op, fault.Conflict, "a run of this job is already due this second")
	idx, err := r.OpenTable.Insert(ctx, openEntity(j, now, r.Now()))
	if fault.Is(err, fault.Conflict) {
		return Run{}, busy
	}
	if err != nil {
		return Run{}, fault.E(op, err)
	}
	run := Run{Occurrence: now, Status: StatusRetrying, Attempt: 0, NextAttempt: now, Instance: r.Instance, RequestID: requestID(ctx),
		IdempotencyKey: IdempotencyKey(j, now)}
	etag, err := r.RunTable.Insert(ctx, entity(runPK(j), runRK(now), run))
	if fault.Is(err, fault.Conflict) {
		_ = r.OpenTable.Delete(ctx, runPK(j), openRK(now), idx) // the run exists and is closed (its index row was gone)
		return Run{}, busy
	}
	if err != nil {
		return Run{}, fault.E(op, err)
	}
	run.ETag = etag
	return run, nil
}
