package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/jobs"
	"github.com/studio-collab/collab/shared/ncrontab"
	"github.com/studio-collab/collab/shared/platform"
)

// Jobs serves programmed jobs of an environment and the schedule preview.
type Jobs struct {
	Platform *platform.Service
	Runner   *jobs.Runner
}

// JobsTickInterval is the JobsTick timer's period (functions/JobsTick).
const JobsTickInterval = 15 * time.Second

func registerJobs(rt *httpapi.Router, j Jobs) {
	rt.Handle("POST /api/schedules/preview", j.preview)
	rt.Handle("GET /api/projects/{p}/environments/{env}/jobs", j.list)
	rt.Handle("POST /api/projects/{p}/environments/{env}/jobs", j.create)
	rt.Handle("GET /api/projects/{p}/environments/{env}/jobs/{job}", j.get)
	rt.Handle("PATCH /api/projects/{p}/environments/{env}/jobs/{job}", j.patch)
	rt.Handle("DELETE /api/projects/{p}/environments/{env}/jobs/{job}", j.delete)
	rt.Handle("POST /api/projects/{p}/environments/{env}/jobs/{job}/run", j.run)
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

func (req jobRequest) apply(jb *jobs.Job) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&jb.Schedule, req.Schedule)
	set(&jb.TimeZone, req.TimeZone)
	set(&jb.Action, req.Action)
	set(&jb.Target, req.Target)
	set(&jb.Overlap, req.Overlap)
	set(&jb.CatchUp, req.CatchUp)
	if req.Enabled != nil {
		jb.Enabled = *req.Enabled
		if jb.Enabled {
			jb.Failures = 0
		}
	}
	for _, p := range []struct {
		v   *int
		dst *int
	}{{req.Retries, &jb.Retries}, {req.CatchUpBound, &jb.CatchUpBound}, {req.DisableAfter, &jb.DisableAfter}} {
		if p.v != nil {
			if *p.v < 0 || *p.v > 1000 {
				return fault.E("handlers.jobs", fault.Invalid, "retries, catchUpBound and disableAfter are 0..1000")
			}
			*p.dst = *p.v
		}
	}
	if req.TimeoutSec != nil {
		if *req.TimeoutSec < 1 || *req.TimeoutSec > 3600 {
			return fault.E("handlers.jobs", fault.Invalid, "timeoutSeconds is 1..3600")
		}
		jb.Timeout = time.Duration(*req.TimeoutSec) * time.Second
	}
	if req.BackoffSec != nil {
		if *req.BackoffSec < 0 || *req.BackoffSec > 86400 {
			return fault.E("handlers.jobs", fault.Invalid, "backoffSeconds is 0..86400")
		}
		jb.Backoff = time.Duration(*req.BackoffSec) * time.Second
	}
	if jb.Action != jobs.ActionHTTP {
		return fault.E("handlers.jobs", fault.Invalid, "action must be http (a call to the environment's Scheduler); the built-in jobs are the service's own")
	}
	switch jb.Overlap {
	case "", jobs.OverlapSkip, jobs.OverlapAllow:
	default:
		return fault.E("handlers.jobs", fault.Invalid, "overlap is skip or allow")
	}
	switch jb.CatchUp {
	case "", jobs.CatchUpNone, jobs.CatchUpLast, jobs.CatchUpAll:
	default:
		return fault.E("handlers.jobs", fault.Invalid, "catchUp is none, last or all")
	}
	return nil
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
	if req.Name == nil || !validJobName(*req.Name) {
		return fault.E("handlers.jobs", fault.Invalid, "name is 2-40 lower-case letters, digits and inner hyphens")
	}
	jb := jobs.Job{Project: r.PathValue("p"), Env: r.PathValue("env"), Name: *req.Name, TimeZone: "UTC", Enabled: true, Action: "http", Owner: c.Email}
	if err := req.apply(&jb); err != nil {
		return err
	}
	jb, err = j.Runner.Put(ctx, jb)
	if fault.Is(err, fault.Conflict) {
		return fault.E("handlers.jobs", fault.Conflict, "a job with this name exists")
	}
	if err != nil {
		return err
	}
	withETag(w, jb.ETag)
	httpapi.JSON(w, http.StatusCreated, jb)
	return nil
}

func validJobName(s string) bool {
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

func (j Jobs) load(ctx context.Context, r *http.Request) (jobs.Job, error) {
	jb, err := j.Runner.Get(ctx, r.PathValue("p"), r.PathValue("env"), r.PathValue("job"))
	if fault.Is(err, fault.NotFound) {
		return jb, fault.E("handlers.jobs", fault.NotFound, "job "+r.PathValue("job")+" not found")
	}
	return jb, err
}

func (j Jobs) get(w http.ResponseWriter, r *http.Request) error {
	ctx, err := j.access(r, false)
	if err != nil {
		return err
	}
	jb, err := j.load(ctx, r)
	if err != nil {
		return err
	}
	withETag(w, jb.ETag)
	httpapi.JSON(w, http.StatusOK, jb)
	return nil
}

func (j Jobs) patch(w http.ResponseWriter, r *http.Request) error {
	var req jobRequest
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, err := j.access(r, true)
	if err != nil {
		return err
	}
	jb, err := j.load(ctx, r)
	if err != nil {
		return err
	}
	if m := r.Header.Get("If-Match"); m != "" && m != jb.ETag {
		return fault.E("handlers.jobs", fault.PreconditionFailed, "the job changed since you read it")
	}
	if req.Name != nil && *req.Name != jb.Name {
		return fault.E("handlers.jobs", fault.Invalid, "a job cannot be renamed")
	}
	if err := req.apply(&jb); err != nil {
		return err
	}
	jb, err = j.Runner.Put(ctx, jb)
	if err != nil {
		return err
	}
	withETag(w, jb.ETag)
	httpapi.JSON(w, http.StatusOK, jb)
	return nil
}

func (j Jobs) delete(w http.ResponseWriter, r *http.Request) error {
	ctx, err := j.access(r, true)
	if err != nil {
		return err
	}
	jb, err := j.load(ctx, r)
	if err != nil {
		return err
	}
	if err := j.Runner.Delete(ctx, jb); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (j Jobs) run(w http.ResponseWriter, r *http.Request) error {
	ctx, err := j.access(r, true)
	if err != nil {
		return err
	}
	jb, err := j.load(ctx, r)
	if err != nil {
		return err
	}
	run, err := j.Runner.RunNow(jobs.WithRequestID(ctx, httpapi.RequestID(r.Context())), jb)
	if err != nil {
		return err
	}
	httpapi.JSON(w, http.StatusAccepted, run)
	return nil
}

func (j Jobs) runs(w http.ResponseWriter, r *http.Request) error {
	ctx, err := j.access(r, false)
	if err != nil {
		return err
	}
	jb, err := j.load(ctx, r)
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
	s, err := ncrontab.Parse(req.Schedule)
	if err != nil {
		return err
	}
	if req.TimeZone == "" {
		req.TimeZone = "UTC"
	}
	loc, err := time.LoadLocation(req.TimeZone)
	if err != nil {
		return fault.E("handlers.preview", fault.Invalid, "timeZone is not an IANA zone")
	}
	from := time.Now()
	if req.From != "" {
		if from, err = time.Parse(time.RFC3339, req.From); err != nil {
			return fault.E("handlers.preview", fault.Invalid, "from is not an RFC 3339 time")
		}
	}
	if req.Count == 0 {
		req.Count = 5
	}
	if req.Count < 1 || req.Count > 1000 {
		return fault.E("handlers.preview", fault.Invalid, "count is 1..1000")
	}
	out := []string{}
	for _, t := range s.NextN(from.In(loc), req.Count) {
		out = append(out, t.Format(time.RFC3339))
	}
	httpapi.JSON(w, http.StatusOK, map[string]any{"schedule": s.String(), "timeZone": req.TimeZone, "occurrences": out})
	return nil
}
