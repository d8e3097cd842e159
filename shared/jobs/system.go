package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/housekeeping"
)

// The service's own housekeeping jobs (purging idempotency records, audit
// retention, sweeping expired locks, reconciling windows) live in a reserved
// scope, so that they run through the same exactly-once claims as customers'
// jobs without belonging to any project. Project ids are lower-case letters,
// digits and hyphens, so no project can be called SystemProject.
const (
	SystemProject = "_system"
	SystemEnv     = "service"
)

// ActionHTTP is the only action a customer's job may take: a call to its
// environment's Scheduler. Every other executor is a built-in that works on
// the service's own tables across tenants, so it runs only in the system
// scope.
const ActionHTTP = "http"

// EnsureSystem creates each of defs in the system scope unless a job of that
// name is already there, so that an operator's later change (a schedule, a
// disabled job) survives restarts. Every instance calls it at start-up:
// creation is insert-if-absent, so they cannot both create one.
func (r *Runner) EnsureSystem(ctx context.Context, defs []Job) error {
	var errs []error
	for _, j := range defs {
		j.Project, j.Env = SystemProject, SystemEnv
		if j.TimeZone == "" {
			j.TimeZone = "UTC"
		}
		if j.Owner == "" {
			j.Owner = "service"
		}
		_, err := r.Put(ctx, j)
		if err != nil && !fault.Is(err, fault.Conflict) {
			errs = append(errs, fmt.Errorf("system job %s: %w", j.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Register adds housekeeping tasks: each task's action becomes an executor
// of the runner, and its definition one of SystemJobs. Modules declare their
// tasks (housekeeping.Task); the composition root registers them before the
// runner ticks.
func (r *Runner) Register(tasks ...housekeeping.Task) {
	if r.Executors == nil {
		r.Executors = map[string]Executor{}
	}
	for _, t := range tasks {
		run := t.Run
		r.Executors[t.Name] = func(ctx context.Context, _ Job, occ time.Time) error { return run(ctx, occ) }
		r.system = append(r.system, Job{Name: t.Name, Schedule: t.Schedule, Action: t.Name, Enabled: true, Timeout: t.Timeout, CatchUp: t.CatchUp})
	}
}

// SystemJobs are the registered housekeeping jobs' definitions, for
// EnsureSystem at start-up.
func (r *Runner) SystemJobs() []Job { return append([]Job(nil), r.system...) }
