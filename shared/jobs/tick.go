package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/store"
)

func (r *Runner) lease(j Job) time.Duration {
	if r.Lease > 0 {
		return r.Lease
	}
	return j.Timeout + 30*time.Second
}

// Tick runs one round on this instance: due occurrences are claimed and
// run, expired and retrying runs are taken over. tick is the interval
// between rounds (an occurrence less than one tick old is not "missed").
func (r *Runner) Tick(ctx context.Context, tick time.Duration) error {
	es, err := r.JobTable.QueryAll(ctx, store.Filter{}, 0)
	if err != nil {
		return fault.E("jobs.Tick", err)
	}
	var errs []error
	for _, e := range es {
		var j Job
		if err := decode(e, &j); err != nil {
			errs = append(errs, err)
			continue
		}
		j.ETag = e.ETag
		if err := r.tickJob(ctx, j, tick); err != nil {
			errs = append(errs, fmt.Errorf("job %s/%s/%s: %w", j.Project, j.Env, j.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (r *Runner) tickJob(ctx context.Context, j Job, tick time.Duration) error {
	if !j.Enabled {
		return r.takeOver(ctx, j) // a queued manual run still runs
	}
	now := r.Now()
	occ, err := due(j, now, tick)
	if err != nil {
		return err
	}
	for _, t := range occ {
		if err := r.claimAndRun(ctx, j, t); err != nil {
			return err
		}
	}
	if len(occ) > 0 {
		// Advance the cursor; losing this race only means another instance did.
		j.LastScheduled = occ[len(occ)-1]
		if cur, err := r.Get(ctx, j.Project, j.Env, j.Name); err == nil && cur.LastScheduled.Before(j.LastScheduled) {
			cur.LastScheduled = j.LastScheduled
			_, _ = r.JobTable.Update(ctx, entity(runKeyJob(cur)), cur.ETag)
		}
	}
	return r.takeOver(ctx, j)
}

func runKeyJob(j Job) (string, string, any) {
	pk, rk := jobKey(j)
	return pk, rk, j
}

// claimAndRun claims occurrence t (insert-if-absent) and, if this instance
// won, runs it.
func (r *Runner) claimAndRun(ctx context.Context, j Job, t time.Time) error {
	now := r.Now()
	if j.Overlap == OverlapSkip {
		busy, err := r.busy(ctx, j, now)
		if err != nil {
			return err
		}
		if busy {
			_, err := r.RunTable.Insert(ctx, entity(runPK(j), runRK(t), Run{Occurrence: t, Status: StatusSkipped, Instance: r.Instance, Error: "the previous run was still running"}))
			if err != nil && !fault.Is(err, fault.Conflict) {
				return err
			}
			return nil
		}
	}
	run := Run{Occurrence: t, Status: StatusRunning, Attempt: 1, Started: now, Instance: r.Instance, LeaseUntil: now.Add(r.lease(j)), RequestID: requestID(ctx)}
	etag, err := r.RunTable.Insert(ctx, entity(runPK(j), runRK(t), run))
	if fault.Is(err, fault.Conflict) {
		return nil // another instance claimed it: at most once
	}
	if err != nil {
		return err
	}
	run.ETag = etag
	return r.execute(ctx, j, run)
}

// busy reports whether a run of j is still being held.
func (r *Runner) busy(ctx context.Context, j Job, now time.Time) (bool, error) {
	runs, err := r.Runs(ctx, j, 20)
	if err != nil {
		return false, err
	}
	for _, run := range runs {
		if run.Status == StatusRunning && now.Before(run.LeaseUntil) {
			return true, nil
		}
	}
	return false, nil
}

// takeOver retries runs whose holder died (lease expired) and runs whose
// retry time has come; the run row's ETag decides which instance does it.
func (r *Runner) takeOver(ctx context.Context, j Job) error {
	now := r.Now()
	runs, err := r.Runs(ctx, j, 50)
	if err != nil {
		return err
	}
	for _, run := range runs {
		expired := run.Status == StatusRunning && now.After(run.LeaseUntil)
		retry := run.Status == StatusRetrying && !now.Before(run.NextAttempt)
		if !expired && !retry {
			continue
		}
		run.Status, run.Attempt, run.Instance = StatusRunning, run.Attempt+1, r.Instance
		run.Started, run.LeaseUntil, run.NextAttempt, run.RequestID = now, now.Add(r.lease(j)), time.Time{}, requestID(ctx)
		etag, err := r.RunTable.Update(ctx, entity(runPK(j), runRK(run.Occurrence), run), run.ETag)
		if fault.Is(err, fault.PreconditionFailed) {
			continue // another instance took it
		}
		if err != nil {
			return err
		}
		run.ETag = etag
		if err := r.execute(ctx, j, run); err != nil {
			return err
		}
	}
	return nil
}

// execute runs one attempt and records its outcome.
func (r *Runner) execute(ctx context.Context, j Job, run Run) error {
	exec := r.Executors[j.Action]
	start := r.Now()
	actx, cancel := context.WithTimeout(ctx, j.Timeout)
	err := safeRun(actx, exec, j, run.Occurrence)
	cancel()
	run.Duration = r.Now().Sub(start)
	run.LeaseUntil = time.Time{}
	switch {
	case err == nil:
		run.Status, run.Error = StatusSucceeded, ""
	case run.Attempt <= j.Retries:
		run.Status, run.Error = StatusRetrying, err.Error()
		run.NextAttempt = r.Now().Add(j.Backoff * time.Duration(1<<uint(run.Attempt-1)))
	default:
		run.Status, run.Error = StatusFailed, err.Error()
	}
	if _, uerr := r.RunTable.Update(ctx, entity(runPK(j), runRK(run.Occurrence), run), run.ETag); uerr != nil {
		// Lost the run to a takeover (our lease ran out): that attempt is theirs now.
		if fault.Is(uerr, fault.PreconditionFailed) {
			return nil
		}
		return uerr
	}
	switch run.Status {
	case StatusSucceeded:
		return r.countFailure(ctx, j, false, "")
	case StatusFailed:
		return r.countFailure(ctx, j, true, run.Error)
	}
	return nil
}

func safeRun(ctx context.Context, exec Executor, j Job, t time.Time) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("the job panicked: %v", p)
		}
	}()
	return exec(ctx, j, t)
}

// countFailure keeps the consecutive-failure count and disables the job
// (and notifies its owner) when it reaches DisableAfter.
func (r *Runner) countFailure(ctx context.Context, j Job, failed bool, lastErr string) error {
	for attempt := 0; attempt < 10; attempt++ {
		cur, err := r.Get(ctx, j.Project, j.Env, j.Name)
		if err != nil {
			return err
		}
		disable := false
		if failed {
			cur.Failures++
			disable = cur.Enabled && cur.Failures >= cur.DisableAfter
			if disable {
				cur.Enabled = false
			}
		} else {
			if cur.Failures == 0 {
				return nil
			}
			cur.Failures = 0
		}
		pk, rk := jobKey(cur)
		_, err = r.JobTable.Update(ctx, entity(pk, rk, cur), cur.ETag)
		if fault.Is(err, fault.PreconditionFailed) {
			continue
		}
		if err != nil {
			return err
		}
		if disable && r.Notify != nil {
			// Deterministic id: one notice per disabling, however many instances see it.
			n := mail.Notification{ID: fmt.Sprintf("job-disabled:%s/%s/%s:%d", cur.Project, cur.Env, cur.Name, cur.Created.Unix()),
				Project: cur.Project, Kind: mail.KindJobFailing, To: []string{cur.Owner},
				Data: map[string]any{"env": cur.Env, "job": cur.Name, "failures": cur.Failures, "lastError": lastErr, "at": r.Now().UTC()}}
			if err := r.Notify.Enqueue(ctx, n); err != nil {
				return err
			}
		}
		return nil
	}
	return fault.E("jobs.countFailure", fault.Conflict, "the job is changing too fast")
}
