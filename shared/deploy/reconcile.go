package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/housekeeping"
	"github.com/studio-collab/collab/shared/store"
)

// Environment statuses (the platform's).
const (
	StatusRunning     = "running"
	StatusMaintenance = "maintenance"
	StatusDegraded    = "degraded"
)

// reconcileParallel bounds how many environments one round works on at once,
// so one slow restart never holds up the others.
const reconcileParallel = 8

// Reconcile is the WindowsReconcile timer's round (every minute, on every
// instance): it processes recorded requests whose message never came,
// retries hot deployments that failed, plans windows for waiting changes,
// drives every window whose time has come (taking over those whose holder
// died), probes degraded environments, and puts each environment's status on
// the platform. Everything it does is a conditional write, so any number of
// instances may run it at once.
func (s *Service) Reconcile(ctx context.Context) error {
	if s.ReconcileBudget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.ReconcileBudget)
		defer cancel()
	}
	type envRef struct {
		project, env string
		seq          int64
	}
	work := map[string]*envRef{}
	rows, err := s.T.Pending.QueryAll(ctx, store.Filter{}, 10000)
	if err != nil {
		return fault.E("deploy.Reconcile", err)
	}
	for _, r := range rows {
		ref := work[r.PartitionKey]
		if ref == nil {
			ref = &envRef{project: r.String("Project"), env: r.String("Env")}
			work[r.PartitionKey] = ref
		}
		ref.seq = max(ref.seq, r.Int64("Seq"))
	}
	states, err := s.T.States.QueryAll(ctx, store.Filter{}, 0)
	if err != nil {
		return fault.E("deploy.Reconcile", err)
	}
	for _, e := range states {
		var st EnvState
		if err := decodeDoc(e, &st); err != nil {
			return err
		}
		if work[envPK(st.Project, st.Env)] == nil {
			work[envPK(st.Project, st.Env)] = &envRef{project: st.Project, env: st.Env}
		}
	}
	keys := make([]string, 0, len(work))
	for k := range work {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var mu sync.Mutex
	var errs []error
	sem := make(chan struct{}, reconcileParallel)
	var wg sync.WaitGroup
	for _, k := range keys {
		ref := work[k]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.reconcileEnv(ctx, ref.project, ref.env, ref.seq); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", EnvKey(ref.project, ref.env), err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		// The round's budget ran out: work cut short continues at the next
		// round (under a released or expiring lease); that is not a failure.
		kept := errs[:0]
		for _, err := range errs {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				kept = append(kept, err)
			}
		}
		errs = kept
	}
	return errors.Join(errs...)
}

// reconcileEnv does one environment's round; a failing step does not stop
// the later ones (a feed outage must not hold up a due window).
func (s *Service) reconcileEnv(ctx context.Context, project, env string, seq int64) error {
	var errs []error
	if seq > 0 {
		errs = append(errs, s.CatchUp(ctx, project, env, seq))
	}
	st, err := s.state(ctx, project, env)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	// A request lost before it was recorded (the process died between the
	// commit and its Committed hook) shows as a feed head past the cursor.
	if s.Changes != nil {
		if _, head, err := s.Changes.Changes(ctx, project, st.Cursor, 1); err != nil {
			errs = append(errs, fault.E("deploy.reconcile", fault.Unavailable, "reading the feed's head", err))
		} else if head > st.Cursor {
			errs = append(errs, s.CatchUp(ctx, project, env, head))
			if st, err = s.state(ctx, project, env); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
	}
	if st.AppliedSeq < st.Cursor {
		errs = append(errs, s.applyHot(ctx, project, env))
	}
	if st.WindowID == "" && st.HasPendingRestart() {
		errs = append(errs, s.plan(ctx, project, env))
		if st, err = s.state(ctx, project, env); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	if st.WindowID != "" {
		errs = append(errs, s.Drive(ctx, project, env, st.WindowID, Completed))
	}
	if st.DegradedKind == DegradedWindow {
		s.probe(ctx, st)
	}
	s.mirror(ctx, project, env)
	return errors.Join(errs...)
}

// plan gives waiting changes a window when none is planned.
func (s *Service) plan(ctx context.Context, project, env string) error {
	st, changed, err := s.updateState(ctx, project, env, func(st *EnvState) (bool, error) {
		if st.WindowID != "" || !st.HasPendingRestart() {
			return false, nil
		}
		return true, st.allocateWindow(s.Now())
	})
	if err != nil || !changed {
		return err
	}
	return s.createWindow(ctx, st)
}

// probe clears a degraded state left by a failed restart once every
// component answers healthy again.
func (s *Service) probe(ctx context.Context, st EnvState) {
	t, err := s.target(ctx, st)
	if err != nil {
		return
	}
	for _, c := range []string{ComponentPortal, ComponentScheduler} {
		ep := t.Endpoint(c)
		if ep.BaseURL == "" && ep.HealthURL == "" {
			continue
		}
		if s.Runtime.Healthy(ctx, t, c) != nil {
			return
		}
	}
	_, _, _ = s.updateState(ctx, st.Project, st.Env, func(cur *EnvState) (bool, error) {
		if cur.DegradedKind != DegradedWindow {
			return false, nil
		}
		cur.Degraded, cur.DegradedKind = "", ""
		return true, nil
	})
}

// mirror puts the environment's status on the platform's record when it
// differs. Best effort: the next round repeats it.
func (s *Service) mirror(ctx context.Context, project, env string) {
	if s.Directory == nil {
		return
	}
	st, err := s.Status(ctx, project, env)
	if err != nil {
		return
	}
	info, err := s.Directory.Environment(ctx, project, env)
	if err != nil || info.Status == st.Status {
		return
	}
	_ = s.Directory.SetStatus(ctx, project, env, st.Status)
}

// WindowSummary is the window a status shows.
type WindowSummary struct {
	ID    string    `json:"id"`
	State string    `json:"state"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Actions are what the window's state allows (Actions).
	Actions []string `json:"actions"`
}

// Status is an environment's deployment status: what the Work Portal polls
// to show its maintenance banner.
type Status struct {
	Project           string         `json:"project"`
	Env               string         `json:"env"`
	Status            string         `json:"status"` // running | maintenance | degraded
	Window            *WindowSummary `json:"window,omitempty"`
	ExpectedEnd       *time.Time     `json:"expectedEnd,omitempty"`
	DeployedSeq       int64          `json:"deployedSeq"`
	AppliedSeq        int64          `json:"appliedSeq"`
	ClassifiedSeq     int64          `json:"classifiedSeq"`
	PendingHot        int            `json:"pendingHot"`
	PendingRestart    int            `json:"pendingRestart"`
	PendingParameters int            `json:"pendingParameters"`
	Impacts           []Impact       `json:"impacts"`
	Degraded          string         `json:"degraded,omitempty"`
	LastError         string         `json:"lastError,omitempty"`
	// Actions are what an administrator may ask of the environment now:
	// open-now when its window allows it, or when changes wait without a
	// window (one is planned and opened at once).
	Actions []string `json:"actions"`
}

// Status reads an environment's status.
func (s *Service) Status(ctx context.Context, project, env string) (Status, error) {
	st, err := s.state(ctx, project, env)
	if err != nil {
		return Status{}, err
	}
	out := Status{Project: project, Env: env, Status: StatusRunning, DeployedSeq: st.DeployedSeq, AppliedSeq: st.AppliedSeq,
		ClassifiedSeq: st.Cursor, PendingHot: st.PendingHot, PendingRestart: st.PendingRestart, PendingParameters: len(st.Params),
		Impacts: st.Impacts(), Degraded: st.Degraded, LastError: st.LastError}
	if st.WindowID != "" {
		w, err := s.window(ctx, project, env, st.WindowID)
		if err != nil && !fault.Is(err, fault.NotFound) {
			return out, err
		}
		if err == nil && !Terminal(w.State) {
			out.Window = &WindowSummary{ID: w.ID, State: w.State, Start: w.Start, End: w.End, Actions: Actions(w.State)}
			if InMaintenance(w.State) {
				out.Status = StatusMaintenance
				end := w.End
				out.ExpectedEnd = &end
			}
		}
	}
	if out.Status == StatusRunning && st.Degraded != "" {
		out.Status = StatusDegraded
	}
	out.Actions = []string{}
	if (out.Window != nil && slices.Contains(out.Window.Actions, ActionOpenNow)) || (out.Window == nil && st.HasPendingRestart()) {
		out.Actions = append(out.Actions, ActionOpenNow)
	}
	return out, nil
}

// Housekeeping is the deployments' periodic job: every minute, reconcile
// (open, close and catch up windows; a missed minute needs no catching up,
// the next round does the work).
func (s *Service) Housekeeping() []housekeeping.Task {
	return []housekeeping.Task{{Name: "reconcile-windows", Schedule: "30 * * * * *", Timeout: time.Minute, CatchUp: housekeeping.CatchUpNone,
		Run: func(ctx context.Context, _ time.Time) error { return s.Reconcile(ctx) }}}
}
