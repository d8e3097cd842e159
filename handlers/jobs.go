package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/jobs"
	"github.com/studio-collab/collab/shared/platform"
)

// Jobs serves programmed jobs of an environment and the schedule preview.
type Jobs struct {
	Platform *platform.Service
	Runner   *jobs.Runner
	Idem     *idempotency.Keeper // Idempotency-Key on the POSTs (nil: ignored)
}

// JobsTickInterval is the JobsTick timer's period (functions/JobsTick).
const JobsTickInterval = 15 * time.Second

func registerJobs(rt *httpapi.Router, j Jobs) {
	rt.Handle("POST /api/schedules/preview", j.preview)
	rt.Handle("GET /api/projects/{p}/environments/{env}/jobs", j.list)
	rt.Handle("POST /api/projects/{p}/environments/{env}/jobs", keyed(j.Idem, j.create))
	rt.Handle("GET /api/projects/{p}/environments/{env}/jobs/{job}", j.get)
	rt.Handle("PATCH /api/projects/{p}/environments/{env}/jobs/{job}", j.patch)
	rt.Handle("DELETE /api/projects/{p}/environments/{env}/jobs/{job}", j.delete)
	rt.Handle("POST /api/projects/{p}/environments/{env}/jobs/{job}/run", keyed(j.Idem, j.run))
	rt.Handle("GET /api/projects/{p}/environments/{env}/jobs/{job}/runs", j.runs)
}

// tick is the JobsTick timer function.
func (j Jobs) tick(ctx context.Context, inv *fnhost.Invocation) (map[string]any, any, error) {
	return nil, nil, j.Runner.Tick(jobs.WithRequestID(ctx, "tick:"+inv.Sys().RandGuid), JobsTickInterval)
}

// access checks the environment exists for a member, and for writes that
// the caller is an admin or owner.
func (j Jobs) access(r *http.Request, write bool) (context.Context, error) {
	ctx, _, err := envAccess(r, j.Platform, write, "change or run jobs")
	return ctx, err
}

type jobRequest struct {
	Name         *string `json:"name"`
	Schedule     *string `json:"schedule"`
	TimeZone     *string `json:"timeZone"`
	Enabled      *bool   `json:"enabled"`
	Action       *string `json:"action"`
	Target       *string `json:"target"`
	TimeoutSec   *int    `json:"timeoutSeconds"`
	Retries      *int    `json:"retries"`
	BackoffSec   *int    `json:"backoffSeconds"`
	Overlap      *string `json:"overlap"`
	CatchUp      *string `json:"catchUp"`
	CatchUpBound *int    `json:"catchUpBound"`
	DisableAfter *int    `json:"disableAfter"`
}

// apply sets the fields the request names (the rules are jobs.Job.Validate).
func (req jobRequest) apply(jb *jobs.Job) {
	set(&jb.Schedule, req.Schedule)
	set(&jb.TimeZone, req.TimeZone)
	set(&jb.Action, req.Action)
	set(&jb.Target, req.Target)
	set(&jb.Overlap, req.Overlap)
	set(&jb.CatchUp, req.CatchUp)
	set(&jb.Retries, req.Retries)
	set(&jb.CatchUpBound, req.CatchUpBound)
	set(&jb.DisableAfter, req.DisableAfter)
	if req.Enabled != nil {
		jb.Enabled = *req.Enabled
		if jb.Enabled {
			jb.Failures = 0
		}
	}
	if req.TimeoutSec != nil {
		jb.Timeout = seconds(*req.TimeoutSec)
	}
	if req.BackoffSec != nil {
		jb.Backoff = seconds(*req.BackoffSec)
	}
}

// set copies a field the request names (v not nil) into dst.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// seconds converts a count of seconds; one too large for a duration is
// negative, which every limit refuses.
func seconds(n int) time.Duration {
	if n > 1<<32 {
		return -1
	}
	return time.Duration(n) * time.Second
}

func (j Jobs) list(w http.ResponseWriter, r *http.Request) error {
	ctx, err := j.access(r, false)
	if err != nil {
		return err
	}
	list, err := j.Runner.List(ctx, r.PathValue("p"), r.PathValue("env"))
	return writeList(w, r, list, err, func(x jobs.Job) string { return x.Name })
}

func (j Jobs) create(w http.ResponseWriter, r *http.Request) error {
	var req jobRequest
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, err := j.access(r, true)
	if err != nil {
		return err
	}
	_, c := CallerOf(r)
	name := ""
	if req.Name != nil {
		name = *req.Name
	}
	jb := jobs.NewJob(r.PathValue("p"), r.PathValue("env"), name, c.Email)
	req.apply(&jb)
	jb, err = j.Runner.Save(ctx, jb)
	return replyTagged(w, http.StatusCreated, jb, jb.ETag, err)
}

// job is the request's job {job} after access (write: an admin or owner).
func (j Jobs) job(r *http.Request, write bool) (context.Context, jobs.Job, error) {
	ctx, err := j.access(r, write)
	if err != nil {
		return ctx, jobs.Job{}, err
	}
	jb, err := j.Runner.Get(ctx, r.PathValue("p"), r.PathValue("env"), r.PathValue("job"))
	if fault.Is(err, fault.NotFound) {
		return ctx, jb, fault.E("handlers.jobs", fault.NotFound, "job "+r.PathValue("job")+" not found")
	}
	return ctx, jb, err
}

func (j Jobs) get(w http.ResponseWriter, r *http.Request) error {
	_, jb, err := j.job(r, false)
	return replyTagged(w, http.StatusOK, jb, jb.ETag, err)
}

func (j Jobs) patch(w http.ResponseWriter, r *http.Request) error {
	var req jobRequest
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, jb, err := j.job(r, true)
	if err != nil {
		return err
	}
	if m := r.Header.Get("If-Match"); m != "" && m != jb.ETag {
		return fault.E("handlers.jobs", fault.PreconditionFailed, "the job changed since you read it")
	}
	if req.Name != nil && *req.Name != jb.Name {
		return fault.E("handlers.jobs", fault.Invalid, "a job cannot be renamed")
	}
	req.apply(&jb)
	jb, err = j.Runner.Save(ctx, jb)
	return replyTagged(w, http.StatusOK, jb, jb.ETag, err)
}

func (j Jobs) delete(w http.ResponseWriter, r *http.Request) error {
	ctx, jb, err := j.job(r, true)
	if err == nil {
		err = j.Runner.Delete(ctx, jb)
	}
	return noContent(w, err)
}

func (j Jobs) run(w http.ResponseWriter, r *http.Request) error {
	ctx, jb, err := j.job(r, true)
	if err != nil {
		return err
	}
	run, err := j.Runner.RunNow(jobs.WithRequestID(ctx, httpapi.RequestID(r.Context())), jb)
	return reply(w, http.StatusAccepted, run, err)
}

func (j Jobs) runs(w http.ResponseWriter, r *http.Request) error {
	ctx, jb, err := j.job(r, false)
	if err != nil {
		return err
	}
	runs, err := j.Runner.Runs(ctx, jb, 5000)
	return writeList(w, r, runs, err, func(x jobs.Run) string { return x.Occurrence.Format(time.RFC3339) })
}

// preview lists a schedule's next occurrences in its zone (DST included).
func (j Jobs) preview(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Schedule string `json:"schedule"`
		TimeZone string `json:"timeZone"`
		From     string `json:"from"`
		Count    int    `json:"count"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	p, err := jobs.PreviewSchedule(req.Schedule, req.TimeZone, req.From, req.Count, time.Now())
	return reply(w, http.StatusOK, p, err)
}
