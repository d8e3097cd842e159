package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/store"
)

func (r *Runner) lease(j Job) time.Duration {
	if r.Lease > 0 {
		return r.Lease
	}
	grace := r.LeaseGrace
	if grace <= 0 {
		grace = 30 * time.Second
	}
	return j.Timeout + grace
}

// openScan bounds the open-runs index rows one tick reads per job (oldest
// first): the rest wait for the next tick.
const openScan = 1000

// openRK orders a job's open runs oldest first.
func openRK(t time.Time) string { return fmt.Sprintf("%019d", t.UTC().Unix()) }

// openOccurrence reads the occurrence an index row stands for.
func openOccurrence(row store.Entity) time.Time {
	n, _ := strconv.ParseInt(row.RowKey, 10, 64)
	return time.Unix(n, 0).UTC()
}

func openEntity(j Job, occurrence, now time.Time) store.Entity {
	return store.Entity{PartitionKey: runPK(j), RowKey: openRK(occurrence),
		Props: map[string]any{"Occurrence": occurrence.UTC(), "Created": now.UTC()}}
}

// round is one tick's allowance: how many attempts each job may still
// start and until when.
type round struct {
	until   time.Time
	started map[string]int
	max     int
}

func (rd *round) more(r *Runner, j Job) bool {
	return rd.started[runPK(j)] < rd.max && r.Now().Before(rd.until)
}

// Tick runs one round on this instance: first every job's open runs whose
// lease expired or whose retry time came are taken over (found through the
// open-runs index, so none is missed), then due occurrences are claimed and
// run. tick is the interval between rounds (an occurrence less than one tick
// old is not "missed"). A round starts at most MaxPerJob attempts per job and
// none after its Budget; each step is durable on its own, so a round that
// stops early or dies leaves its progress for the next.
func (r *Runner) Tick(ctx context.Context, tick time.Duration) error {
	es, err := r.JobTable.QueryAll(ctx, store.Filter{}, 0)
	if err != nil {
		return fault.E("jobs.Tick", err)
	}
	budget := r.Budget
	if budget <= 0 {
		budget = tick
	}
	rd := &round{until: r.Now().Add(budget), started: map[string]int{}, max: r.MaxPerJob}
	if rd.max <= 0 {
		rd.max = 100
	}
	var errs []error
	list := make([]Job, 0, len(es))
	for _, e := range es {
		var j Job
		if err := decode(e, &j); err != nil {
			errs = append(errs, err)
			continue
		}
		j.ETag = e.ETag
		list = append(list, j)
	}
	// A different order each round, so that no job always gets the budget's leftovers.
	rand.Shuffle(len(list), func(a, b int) { list[a], list[b] = list[b], list[a] })
	for _, j := range list { // takeovers before claims: an orphan never waits behind a backlog
		if err := r.takeOver(ctx, j, rd); err != nil {
			errs = append(errs, fmt.Errorf("job %s/%s/%s: takeover: %w", j.Project, j.Env, j.Name, err))
		}
	}
	for _, j := range list {
		if !j.Enabled {
			continue // a queued manual run of a disabled job still ran above
		}
		if err := r.claimDue(ctx, j, tick, rd); err != nil {
			errs = append(errs, fmt.Errorf("job %s/%s/%s: %w", j.Project, j.Env, j.Name, err))
		}
	}
	return errors.Join(errs...)
}

// claimDue claims and runs j's due occurrences, oldest first, while the
// round allows, and advances the cursor past the ones it dealt with.
func (r *Runner) claimDue(ctx context.Context, j Job, tick time.Duration, rd *round) error {
	occ, err := due(j, r.Now(), tick)
	if err != nil {
		return err
	}
	var done time.Time
	defer func() { r.advance(ctx, j, done) }()
	for i, t := range occ {
		if !rd.more(r, j) {
			return nil // the rest stays behind the cursor for the next round
		}
		if err := r.claimAndRun(ctx, j, t, rd); err != nil {
			return err
		}
		done = t
		if (i+1)%10 == 0 {
			r.advance(ctx, j, done) // a round that dies later keeps this much
		}
	}
	return nil
}

// advance moves j's cursor to t; losing this race only means another
// instance did, and the cursor only saves work.
func (r *Runner) advance(ctx context.Context, j Job, t time.Time) {
	if t.IsZero() {
		return
	}
	if cur, err := r.Get(ctx, j.Project, j.Env, j.Name); err == nil && cur.LastScheduled.Before(t) {
		cur.LastScheduled = t
		pk, rk := jobKey(cur)
		_, _ = r.JobTable.Update(ctx, entity(pk, rk, cur), cur.ETag)
	}
}

// claimAndRun claims occurrence t and, if this instance won, runs it. The
// occurrence enters the open-runs index first (insert-if-absent), then its
// run row is inserted (insert-if-absent: the claim). A crash between the two
// leaves an index row without a run, which a takeover claims once it is
// older than a lease.
func (r *Runner) claimAndRun(ctx context.Context, j Job, t time.Time, rd *round) error {
	now := r.Now()
	if j.Overlap == OverlapSkip {
		busy, err := r.busy(ctx, j, t, now)
		if err != nil {
			return err
		}
		if busy {
			_, err := r.RunTable.Insert(ctx, entity(runPK(j), runRK(t), Run{Occurrence: t, Status: StatusSkipped, Instance: r.Instance,
				Error: "the previous run was still running", IdempotencyKey: IdempotencyKey(j, t)}))
			if err != nil && !fault.Is(err, fault.Conflict) {
				return err
			}
			return nil
		}
	}
	idx, err := r.OpenTable.Insert(ctx, openEntity(j, t, now))
	if fault.Is(err, fault.Conflict) {
		return nil // open already (being claimed, running or retrying): the takeover step owns it
	}
	if err != nil {
		return err
	}
	run := Run{Occurrence: t, Status: StatusRunning, Attempt: 1, Started: now, Instance: r.Instance, LeaseUntil: now.Add(r.lease(j)),
		RequestID: requestID(ctx), IdempotencyKey: IdempotencyKey(j, t)}
	etag, err := r.RunTable.Insert(ctx, entity(runPK(j), runRK(t), run))
	if fault.Is(err, fault.Conflict) {
		// Claimed and closed before our index row went in (an open run
		// keeps its row, so ours could not have been inserted): at most once.
		_ = r.OpenTable.Delete(ctx, runPK(j), openRK(t), idx)
		return nil
	}
	if err != nil {
		return err // the index row stays: a takeover finds the occurrence
	}
	run.ETag = etag
	rd.started[runPK(j)]++
	return r.execute(ctx, j, run)
}

// open is one row of the open-runs index with the run it points at (nil:
// not inserted yet).
type open struct {
	row store.Entity
	run *Run
}

// openRuns reads j's open-runs index, oldest first, and each run it points at.
func (r *Runner) openRuns(ctx context.Context, j Job) ([]open, error) {
	rows, err := r.OpenTable.QueryAll(ctx, store.Eq("PartitionKey", runPK(j)), openScan)
	if err != nil {
		return nil, err
	}
	out := make([]open, 0, len(rows))
	for _, row := range rows {
		e, err := r.RunTable.Get(ctx, runPK(j), runRK(openOccurrence(row)))
		if fault.Is(err, fault.NotFound) {
			out = append(out, open{row: row})
			continue
		}
		if err != nil {
			return nil, err
		}
		var run Run
		if err := decode(e, &run); err != nil {
			return nil, err
		}
		run.ETag = e.ETag
		out = append(out, open{row: row, run: &run})
	}
	return out, nil
}

// busy reports whether a run of j earlier than occurrence t is still being
// held, or about to start (an index row whose run is not inserted yet). An
// index row of t itself is another instance claiming t: not a reason to
// skip t.
func (r *Runner) busy(ctx context.Context, j Job, t, now time.Time) (bool, error) {
	runs, err := r.openRuns(ctx, j)
	if err != nil {
		return false, err
	}
	for _, o := range runs {
		if !openOccurrence(o.row).Before(t) {
			continue
		}
		if o.run == nil || (o.run.Status == StatusRunning && now.Before(o.run.LeaseUntil)) {
			return true, nil
		}
	}
	return false, nil
}

func closed(status string) bool {
	return status == StatusSucceeded || status == StatusFailed || status == StatusSkipped
}

// takeOver works through j's open-runs index, oldest first: it retries runs
// whose holder died (lease expired) and runs whose retry time has come,
// claims occurrences whose claimer died between the index row and the run
// row, and removes index rows of closed runs. The run row's ETag (or its
// insert-if-absent) decides which instance does each.
func (r *Runner) takeOver(ctx context.Context, j Job, rd *round) error {
	now := r.Now()
	runs, err := r.openRuns(ctx, j)
	if err != nil {
		return err
	}
	for _, o := range runs {
		if o.run == nil {
			created := o.row.Time("Created")
			if now.Before(created.Add(r.lease(j))) {
				continue // a claim in flight
			}
			if !rd.more(r, j) {
				return nil
			}
			t := openOccurrence(o.row)
			run := Run{Occurrence: t, Status: StatusRunning, Attempt: 1, Started: now, Instance: r.Instance, LeaseUntil: now.Add(r.lease(j)),
				RequestID: requestID(ctx), IdempotencyKey: IdempotencyKey(j, t), Takeovers: 1}
			etag, err := r.RunTable.Insert(ctx, entity(runPK(j), runRK(t), run))
			if err := r.begin(ctx, j, run, etag, err, rd); err != nil {
				return err
			}
			continue
		}
		run := *o.run
		if closed(run.Status) {
			// Left by a crash after the outcome was recorded; a closed run never reopens.
			_ = r.OpenTable.Delete(ctx, o.row.PartitionKey, o.row.RowKey, o.row.ETag)
			continue
		}
		expired := run.Status == StatusRunning && now.After(run.LeaseUntil)
		retry := run.Status == StatusRetrying && !now.Before(run.NextAttempt)
		if !expired && !retry {
			continue
		}
		if !rd.more(r, j) {
			return nil
		}
		if expired {
			run.Takeovers++
		}
		if run.IdempotencyKey == "" {
			run.IdempotencyKey = IdempotencyKey(j, run.Occurrence)
		}
		run.Status, run.Attempt, run.Instance = StatusRunning, run.Attempt+1, r.Instance
		run.Started, run.LeaseUntil, run.NextAttempt, run.RequestID = now, now.Add(r.lease(j)), time.Time{}, requestID(ctx)
		etag, err := r.RunTable.Update(ctx, entity(runPK(j), runRK(run.Occurrence), run), run.ETag)
		if err := r.begin(ctx, j, run, etag, err, rd); err != nil {
			return err
		}
	}
	return nil
}

// begin performs the attempt a takeover just wrote (etag, err: that write's
// answer). A Conflict or PreconditionFailed means another instance got
// there first: the attempt is theirs.
func (r *Runner) begin(ctx context.Context, j Job, run Run, etag string, err error, rd *round) error {
	if fault.Is(err, fault.Conflict) || fault.Is(err, fault.PreconditionFailed) {
		return nil
	}
	if err != nil {
		return err
	}
	run.ETag = etag
	rd.started[runPK(j)]++
	return r.execute(ctx, j, run)
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
	if closed(run.Status) {
		// The run is closed for good; a row left by a crash here is removed by the next takeover.
		_ = r.OpenTable.Delete(ctx, runPK(j), openRK(run.Occurrence), store.AnyETag)
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
