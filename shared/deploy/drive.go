package deploy

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// stateOrder ranks the states along the machine, for Drive's limit.
var stateOrder = map[string]int{Scheduled: 0, Announced: 1, Open: 2, Applying: 3, Restarting: 4, Completed: 5, Failed: 5, Cancelled: 5}

// Drive takes a window as far as its times allow, up to the state limit
// (Completed: all the way; Open: stop before applying, for HTTP requests
// that must answer quickly). Every step is a conditional write of the window
// row, so any number of workers may drive the same window: each transition
// happens once, and a worker that loses a race re-reads and carries on from
// where the winner left it. A window in applying or restarting is held by a
// lease; its holder renews it while it works, and a worker that finds it
// expired (the holder died) takes the window over.
func (s *Service) Drive(ctx context.Context, project, env, id, limit string) error {
	token := s.token()
	for step := 0; step < 100; step++ {
		w, err := s.window(ctx, project, env, id)
		if fault.Is(err, fault.NotFound) {
			return s.ensureWindow(ctx, project, env, id)
		}
		if err != nil {
			return err
		}
		if w, err = s.settleNotices(ctx, w); err != nil {
			return err
		}
		if Terminal(w.State) {
			return s.finish(ctx, w)
		}
		if stateOrder[w.State] >= stateOrder[limit] {
			return nil
		}
		now := s.Now()
		switch w.State {
		case Scheduled:
			if now.Before(w.AnnounceAt) {
				return nil
			}
			_, err = s.move(ctx, w, Announced, "the notice period began", nil)
		case Announced:
			if now.Before(w.Start) {
				return nil
			}
			_, err = s.move(ctx, w, Open, "the window's start time came", nil)
			if err == nil {
				s.mirror(ctx, project, env)
			}
		case Open:
			if stateOrder[limit] <= stateOrder[Open] {
				return nil
			}
			err = s.freeze(ctx, w, token)
		case Applying, Restarting:
			if w.Holder != token {
				if now.Before(w.LeaseUntil) {
					return nil // held by a live worker
				}
				w, err = s.move(ctx, w, w.State, "", func(nw *Window) {
					nw.Holder, nw.LeaseUntil, nw.Attempt = token, now.Add(s.Lease), w.Attempt+1
				})
				if err != nil {
					break
				}
			}
			if w.State == Applying {
				err = s.apply(ctx, w)
			} else {
				err = s.restart(ctx, w)
			}
		}
		if err != nil && err != errLost {
			if ctx.Err() != nil {
				s.release(ctx, project, env, id, token)
			}
			return err
		}
	}
	return fault.E("deploy.Drive", fault.Internal, fmt.Sprintf("window %s did not settle", id))
}

// freeze is open -> applying: the window takes everything waiting now (the
// changes through the environment's cursor, the queued parameters) and this
// worker takes the lease. Restart changes classified later wait for the next
// window (finish plans it).
func (s *Service) freeze(ctx context.Context, w Window, token string) error {
	st, err := s.state(ctx, w.Project, w.Env)
	if err != nil {
		return err
	}
	now := s.Now()
	_, err = s.move(ctx, w, Applying, "applying the waiting changes", func(nw *Window) {
		nw.FromSeq, nw.TargetSeq, nw.Changes = st.DeployedSeq, st.Cursor, st.PendingRestart
		nw.Parameters, nw.ParamsThrough = append([]ParamChange(nil), st.Params...), st.ParamRev
		nw.Impacts = st.Impacts()
		nw.Components = nil
		for _, i := range nw.Impacts {
			if c := i.Component(); c != "" && !slices.Contains(nw.Components, c) {
				nw.Components = append(nw.Components, c)
			}
		}
		sort.Strings(nw.Components)
		nw.Holder, nw.LeaseUntil, nw.Attempt = token, now.Add(s.Lease), 1
	})
	return err
}

// apply is applying -> restarting (or failed): the Work Portal is handed the
// restart changes the window froze, then every Applier applies its pending
// changes. Both are idempotent, so a worker that takes over repeats them.
func (s *Service) apply(ctx context.Context, w Window) error {
	st, err := s.state(ctx, w.Project, w.Env)
	if err != nil {
		return err
	}
	fail := func(cause error) error {
		_, err := s.move(ctx, w, Failed, "applying failed", func(nw *Window) {
			nw.FailedIn, nw.Error, nw.LeaseUntil = Applying, describe(cause), time.Time{}
		})
		return err
	}
	t, err := s.target(ctx, st)
	if err != nil {
		return err
	}
	changes, err := s.restartChanges(ctx, w.Project, w.FromSeq, w.TargetSeq)
	if err != nil {
		return err // the feed is unavailable: keep the lease, retry
	}
	if len(changes) > 0 || len(w.Parameters) > 0 {
		if err := s.Runtime.Deploy(ctx, t, Deployment{FromSeq: w.FromSeq, Seq: w.TargetSeq, Mode: ModeWindow, Changes: changes, Params: w.Parameters}); err != nil {
			return fail(err)
		}
	}
	for _, a := range s.Appliers {
		if err := a.ApplyPending(ctx, w.Project, w.Env); err != nil {
			return fail(err)
		}
	}
	now := s.Now()
	_, err = s.move(ctx, w, Restarting, "changes applied; restarting", func(nw *Window) {
		nw.HealthDeadline, nw.LeaseUntil = now.Add(s.HealthTimeout), now.Add(s.Lease)
	})
	return err
}

// restartChanges are the restart-impact changes in (from, to].
func (s *Service) restartChanges(ctx context.Context, project string, from, to int64) ([]Classified, error) {
	var out []Classified
	for from < to {
		page, err := s.readPage(ctx, project, from)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break
		}
		for _, c := range s.classify(page) {
			if c.Seq > to {
				return out, nil
			}
			if c.Impact.Restart() {
				out = append(out, c)
			}
		}
		from = page[len(page)-1].Seq
	}
	return out, nil
}

// restart is restarting -> completed (or failed): each component not yet
// restarted is restarted (and marked, so a takeover does not restart it
// again), then every component is probed until all are healthy or the
// health deadline passes. The lease is renewed while probing.
func (s *Service) restart(ctx context.Context, w Window) error {
	st, err := s.state(ctx, w.Project, w.Env)
	if err != nil {
		return err
	}
	t, err := s.target(ctx, st)
	if err != nil {
		return err
	}
	for _, c := range w.Components {
		if slices.Contains(w.Restarted, c) {
			continue
		}
		if err := s.Runtime.Restart(ctx, t, c); err != nil {
			_, err := s.move(ctx, w, Failed, "the restart was refused", func(nw *Window) {
				nw.FailedIn, nw.Error, nw.LeaseUntil = Restarting, fmt.Sprintf("restarting the %s: %s", componentName(c), describe(err)), time.Time{}
			})
			return err
		}
		now := s.Now()
		if w, err = s.move(ctx, w, Restarting, "", func(nw *Window) {
			nw.Restarted = append(nw.Restarted, c)
			nw.LeaseUntil = now.Add(s.Lease)
		}); err != nil {
			return err
		}
	}
	for {
		var sick []string
		var last error
		for _, c := range w.Components {
			if err := s.Runtime.Healthy(ctx, t, c); err != nil {
				sick, last = append(sick, c), err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		now := s.Now()
		if len(sick) == 0 {
			_, err := s.move(ctx, w, Completed, "healthy after the restart", func(nw *Window) { nw.LeaseUntil = time.Time{} })
			return err
		}
		if !now.Before(w.HealthDeadline) {
			_, err := s.move(ctx, w, Failed, "not healthy by the deadline", func(nw *Window) {
				nw.FailedIn, nw.LeaseUntil = Restarting, time.Time{}
				nw.Error = fmt.Sprintf("the %s did not become healthy within %s: %s", componentName(sick[0]), s.HealthTimeout, describe(last))
			})
			return err
		}
		if err := s.Sleep(ctx, s.HealthInterval); err != nil {
			return err
		}
		if now = s.Now(); w.LeaseUntil.Sub(now) < s.Lease/2 {
			if w, err = s.move(ctx, w, Restarting, "", func(nw *Window) { nw.LeaseUntil = now.Add(s.Lease) }); err != nil {
				return err // errLost: someone took it over
			}
		}
	}
}

// release gives up this drive's lease when its context ended (a reconcile
// round's budget), so the next round takes the window over at once instead
// of after the lease. Best effort: the lease expires anyway.
func (s *Service) release(ctx context.Context, project, env, id, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	w, err := s.window(ctx, project, env, id)
	if err != nil || w.Holder != token || (w.State != Applying && w.State != Restarting) {
		return
	}
	now := s.Now()
	_, _ = s.move(ctx, w, w.State, "", func(nw *Window) { nw.LeaseUntil = now })
}

func componentName(c string) string {
	if c == ComponentScheduler {
		return "Scheduler"
	}
	return "Work Portal"
}

func describe(err error) string {
	if d := fault.DetailOf(err); d != "" {
		return d
	}
	return err.Error()
}

// finish settles the environment after its window ended (idempotent: it
// does nothing once the environment no longer points at the window).
// Completed: the frozen changes are deployed, the last good sequence moves
// on, and whatever arrived after the freeze is counted again. Failed: the
// environment stays on its last good sequence (degraded if the restart never
// became healthy). In every case the next window is planned if anything
// still waits.
func (s *Service) finish(ctx context.Context, w Window) error {
	var planned bool
	st, changed, err := s.updateState(ctx, w.Project, w.Env, func(st *EnvState) (bool, error) {
		if st.WindowID != w.ID {
			return false, nil
		}
		now := s.Now()
		switch w.State {
		case Completed:
			var rescan []Classified
			if st.LastRestartSeq > w.TargetSeq {
				// Restart changes arrived after the freeze: count them again.
				var err error
				if rescan, err = s.restartChanges(ctx, w.Project, w.TargetSeq, st.Cursor); err != nil {
					return false, err
				}
			}
			settleRestart(st, w, rescan)
			if st.DegradedKind == DegradedWindow {
				st.Degraded, st.DegradedKind = "", ""
			}
			st.DeployedSeq = st.deployedFrom()
			st.NotBefore = time.Time{}
		case Failed:
			if w.FailedIn == Restarting {
				st.Degraded, st.DegradedKind = "maintenance window "+w.ID+" failed: "+w.Error, DegradedWindow
			}
			st.NotBefore = now
		case Cancelled:
			st.NotBefore = w.Start.Add(time.Second) // the next window is the policy's next time after this one
		}
		st.WindowID, st.NextStart = "", time.Time{}
		planned = false
		if st.HasPendingRestart() {
			if err := st.allocateWindow(now); err != nil {
				return false, err
			}
			planned = true
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if changed {
		s.mirror(ctx, w.Project, w.Env)
	}
	if planned && changed {
		return s.createWindow(ctx, st)
	}
	return nil
}

// settleRestart removes from st what a completed window deployed.
func settleRestart(st *EnvState, w Window, rescan []Classified) {
	if st.LastRestartSeq <= w.TargetSeq {
		st.PendingRestart, st.FirstRestartSeq, st.LastRestartSeq, st.RestartImpacts = 0, 0, 0, nil
	} else {
		st.PendingRestart, st.FirstRestartSeq, st.RestartImpacts = len(rescan), 0, nil
		for _, c := range rescan {
			if st.FirstRestartSeq == 0 {
				st.FirstRestartSeq = c.Seq
			}
			if !slices.Contains(st.RestartImpacts, c.Impact) {
				st.RestartImpacts = append(st.RestartImpacts, c.Impact)
			}
		}
		if len(rescan) == 0 {
			st.LastRestartSeq = 0
		}
	}
	kept := st.Params[:0:0]
	for _, p := range st.Params {
		if p.N > w.ParamsThrough {
			kept = append(kept, p)
		}
	}
	st.Params = kept
}

// ensureWindow inserts the window an environment planned if its row is
// missing (the planner died between its two writes).
func (s *Service) ensureWindow(ctx context.Context, project, env, id string) error {
	st, err := s.state(ctx, project, env)
	if err != nil {
		return err
	}
	if st.WindowID != id || st.NextStart.IsZero() {
		return nil // not planned (any more): nothing to drive
	}
	return s.createWindow(ctx, st)
}
