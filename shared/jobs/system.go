package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/studio-collab/collab/shared/fault"
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
