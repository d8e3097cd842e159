package deploy

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Policy returns an environment's maintenance policy and whether it is the
// default.
func (s *Service) Policy(ctx context.Context, project, env string) (Policy, bool, error) {
	st, err := s.state(ctx, project, env)
	return st.EffectivePolicy(), st.Policy == nil, err
}

// PutPolicy sets an environment's maintenance policy. A window that is
// planned but not yet announced moves to the new policy's next time; an
// announced one keeps the time users were given.
func (s *Service) PutPolicy(ctx context.Context, project, env string, p Policy) (Policy, error) {
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return s.putPolicy(ctx, project, env, p, nil)
}

// putPolicy writes a valid policy if check (nil: none) accepts the state
// it replaces.
func (s *Service) putPolicy(ctx context.Context, project, env string, p Policy, check func(*EnvState) error) (Policy, error) {
	st, _, err := s.updateState(ctx, project, env, func(st *EnvState) (bool, error) {
		if check != nil {
			if err := check(st); err != nil {
				return false, err
			}
		}
		st.Policy = &p
		return true, nil
	})
	if err != nil {
		return Policy{}, err
	}
	if st.WindowID != "" {
		w, err := s.window(ctx, project, env, st.WindowID)
		if err == nil && w.State == Scheduled {
			if start, ok := p.StartFor(s.Now(), st.NotBefore); ok && !start.Equal(w.Start) {
				if _, err := s.reschedule(ctx, w, start, "the maintenance policy changed"); err != nil && err != errLost {
					return p, err
				}
			}
		}
	}
	return p, nil
}

// Windows lists an environment's windows, newest first.
func (s *Service) Windows(ctx context.Context, project, env string) ([]Window, error) {
	out, err := (store.Doc[Window]{Name: "Doc", Binary: true}).Query(ctx, s.T.Windows, store.Eq("PartitionKey", envPK(project, env)), 0, func(w *Window, etag string) { w.ETag = etag })
	if err != nil {
		return nil, fault.E("deploy.Windows", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	st, err := s.state(ctx, project, env)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i] = withPending(out[i], st)
	}
	return out, nil
}

// withPending shows, on the environment's window that has not frozen its
// changes yet, what it will take if it started now.
func withPending(w Window, st EnvState) Window {
	if w.ID == st.WindowID && stateOrder[w.State] < stateOrder[Applying] {
		w.Impacts, w.Changes, w.Parameters = st.Impacts(), st.PendingRestart, st.Params
	}
	return w
}

// Window reads one window; NotFound names it.
func (s *Service) Window(ctx context.Context, project, env, id string) (Window, error) {
	w, err := s.named(ctx, project, env, id)
	if err != nil {
		return w, err
	}
	st, err := s.state(ctx, project, env)
	return withPending(w, st), err
}

// named reads a window as stored; NotFound names it.
func (s *Service) named(ctx context.Context, project, env, id string) (Window, error) {
	w, err := s.window(ctx, project, env, id)
	if fault.Is(err, fault.NotFound) {
		return w, fault.E("deploy.Window", fault.NotFound, "window "+id+" not found")
	}
	return w, err
}

// Reschedule moves a window that has not opened yet to start at start
// (admins and owners decide; the handler checks). An announced window goes
// back to scheduled and is announced again for its new time. ifMatch, when
// given, must be the window's ETag; by (who asked) goes into the history.
func (s *Service) Reschedule(ctx context.Context, project, env, id string, start time.Time, ifMatch, by string) (Window, error) {
	const op = "deploy.Reschedule"
	now := s.Now()
	if !start.After(now) {
		return Window{}, fault.E(op, fault.Invalid, "start must be in the future")
	}
	if start.After(now.AddDate(1, 0, 0)) {
		return Window{}, fault.E(op, fault.Invalid, "start must be within a year")
	}
	for attempt := 0; attempt < 20; attempt++ {
		w, err := s.named(ctx, project, env, id)
		if err != nil {
			return w, err
		}
		if ifMatch != "" && ifMatch != w.ETag {
			return w, fault.E(op, fault.PreconditionFailed, "the window changed since you read it")
		}
		if !w.Allows(ActionReschedule) {
			return w, fault.E(op, fault.Conflict, fmt.Sprintf("window %s is %s; only a scheduled or announced window can be moved", id, w.State))
		}
		nw, err := s.reschedule(ctx, w, start, "rescheduled by "+by)
		if err == errLost {
			if ifMatch != "" {
				return w, fault.E(op, fault.PreconditionFailed, "the window changed since you read it")
			}
			continue
		}
		if err != nil {
			return nw, err
		}
		return nw, s.Drive(ctx, project, env, id, Open)
	}
	return Window{}, fault.E(op, fault.Unavailable, "the window is changing too fast; retry")
}

func (s *Service) reschedule(ctx context.Context, w Window, start time.Time, why string) (Window, error) {
	st, err := s.state(ctx, w.Project, w.Env)
	if err != nil {
		return w, err
	}
	p := st.EffectivePolicy()
	to := w.State
	if w.State == Announced {
		to = Scheduled
	}
	now := s.Now()
	nw, err := s.move(ctx, w, to, why, func(nw *Window) {
		nw.Start, nw.End = start.UTC(), start.Add(p.Duration()).UTC()
		nw.AnnounceAt = start.Add(-p.Notice()).UTC()
		if nw.AnnounceAt.Before(now) {
			nw.AnnounceAt = now.UTC()
		}
		if w.State == Announced {
			nw.Revision++
		}
	})
	if err != nil {
		return nw, err
	}
	_ = s.schedule(ctx, nw) // the reconciler covers a lost message
	return nw, nil
}

// Cancel cancels a window that has not started applying. Its changes keep
// waiting, for the policy's next time after the cancelled one; by (who
// asked) goes into the history.
func (s *Service) Cancel(ctx context.Context, project, env, id, by string) (Window, error) {
	const op = "deploy.Cancel"
	for attempt := 0; attempt < 20; attempt++ {
		w, err := s.named(ctx, project, env, id)
		if err != nil {
			return w, err
		}
		if w.State == Cancelled {
			return w, s.Drive(ctx, project, env, id, Open) // idempotent: settle what a crash left
		}
		if !w.Allows(ActionCancel) {
			return w, fault.E(op, fault.Conflict, fmt.Sprintf("window %s is %s and can no longer be cancelled", id, w.State))
		}
		nw, err := s.move(ctx, w, Cancelled, "cancelled by "+by, nil)
		if err == errLost {
			continue
		}
		if err != nil {
			return nw, err
		}
		if err := s.Drive(ctx, project, env, id, Open); err != nil {
			return nw, err
		}
		return s.Window(ctx, project, env, id)
	}
	return Window{}, fault.E(op, fault.Unavailable, "the window is changing too fast; retry")
}

// OpenNow opens the environment's next window at once (planning one if
// changes wait without a window): it is announced and opened here, and a
// message wakes a worker to apply and restart (the reconciler does it within
// a minute if that message is lost). by (who asked) is recorded on the
// window. Commits the worker has not classified yet are classified here
// first, so that open-now right after a push finds the push's changes.
func (s *Service) OpenNow(ctx context.Context, project, env, by string) (Window, error) {
	const op = "deploy.OpenNow"
	classified := false
	for attempt := 0; attempt < 20; attempt++ {
		st, err := s.state(ctx, project, env)
		if err != nil {
			return Window{}, err
		}
		if st.WindowID == "" {
			if !st.HasPendingRestart() && !classified {
				// Every commit visible in the feed, whether or not its request reached a worker yet.
				if err := s.classifyThrough(ctx, project, env, math.MaxInt64); err != nil {
					return Window{}, err
				}
				classified = true
				continue
			}
			if !st.HasPendingRestart() {
				return Window{}, fault.E(op, fault.Conflict, "nothing is waiting for a maintenance window")
			}
			if err := s.plan(ctx, project, env); err != nil {
				return Window{}, err
			}
			continue
		}
		w, err := s.window(ctx, project, env, st.WindowID)
		if fault.Is(err, fault.NotFound) {
			if err := s.ensureWindow(ctx, project, env, st.WindowID); err != nil {
				return w, err
			}
			continue
		}
		if err != nil {
			return w, err
		}
		if w.State == Scheduled || w.State == Announced {
			now := s.Now()
			_, err = s.move(ctx, w, w.State, "", func(nw *Window) {
				nw.Start, nw.End, nw.OpenedNowBy = now.UTC(), now.Add(w.End.Sub(w.Start)).UTC(), by
				if nw.AnnounceAt.After(now) {
					nw.AnnounceAt = now.UTC()
				}
			})
			if err == errLost {
				continue
			}
			if err != nil {
				return w, err
			}
		}
		if err := s.Drive(ctx, project, env, w.ID, Open); err != nil {
			return w, err
		}
		if s.Queue != nil {
			_ = s.Queue.Send(ctx, WindowMessage(project, env, w.ID, "open-now", s.Now()))
		}
		return s.Window(ctx, project, env, w.ID)
	}
	return Window{}, fault.E(op, fault.Unavailable, "the environment is changing too fast; retry")
}

// QueueRestartChange queues a change from another module (source, e.g.
// "parameter:SmtpHost") that needs a restart (impact restart-portal or
// restart-scheduler) for the environment's next window. Changes from one
// source coalesce; the window's applying step calls every Applier.
func (s *Service) QueueRestartChange(ctx context.Context, project, env, source, impact string) error {
	const op = "deploy.QueueRestartChange"
	im := Impact(impact)
	if !im.Restart() {
		return fault.E(op, fault.Invalid, "impact must be restart-portal or restart-scheduler")
	}
	if strings.TrimSpace(source) == "" || len(source) > 200 {
		return fault.E(op, fault.Invalid, "source must be 1 to 200 characters")
	}
	var planned bool
	st, _, err := s.updateState(ctx, project, env, func(st *EnvState) (bool, error) {
		st.ParamRev++
		st.Params = slices.DeleteFunc(st.Params, func(p ParamChange) bool { return p.Source == source })
		st.Params = append(st.Params, ParamChange{N: st.ParamRev, Source: source, Impact: im, At: s.Now().UTC()})
		planned = false
		if st.WindowID == "" {
			if err := st.allocateWindow(s.Now()); err != nil {
				return false, err
			}
			planned = true
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if planned {
		return s.createWindow(ctx, st)
	}
	return nil
}

// RuntimeConfig returns an environment's runtime settings.
func (s *Service) RuntimeConfig(ctx context.Context, project, env string) (RuntimeConfig, error) {
	st, err := s.state(ctx, project, env)
	return st.Runtime, err
}

// PutRuntimeConfig sets how an environment's components are restarted and
// probed. A problem names the component's field ("scheduler.restartUrl …"),
// so that a form can show it next to the right input.
func (s *Service) PutRuntimeConfig(ctx context.Context, project, env string, rc RuntimeConfig) (RuntimeConfig, error) {
	return s.putRuntime(ctx, project, env, rc, nil)
}

// putRuntime validates and writes rc if check (nil: none) accepts the
// state it replaces.
func (s *Service) putRuntime(ctx context.Context, project, env string, rc RuntimeConfig, check func(*EnvState) error) (RuntimeConfig, error) {
	for _, c := range []struct {
		name string
		ep   Endpoint
	}{{ComponentPortal, rc.Portal}, {ComponentScheduler, rc.Scheduler}} {
		if err := c.ep.Validate(); err != nil {
			return RuntimeConfig{}, fault.E("deploy.PutRuntimeConfig", fault.Invalid, c.name+"."+fault.DetailOf(err), err)
		}
	}
	rc.Portal.BaseURL, rc.Scheduler.BaseURL = "", ""
	_, _, err := s.updateState(ctx, project, env, func(st *EnvState) (bool, error) {
		if check != nil {
			if err := check(st); err != nil {
				return false, err
			}
		}
		st.Runtime = rc
		return true, nil
	})
	if err != nil {
		return RuntimeConfig{}, err
	}
	return rc, nil
}

// History lists one page of an environment's deployments, newest first,
// each with its status derived from the environment's counters.
func (s *Service) History(ctx context.Context, project, env, cursor string, limit int) ([]HistoryEntry, string, error) {
	st, err := s.state(ctx, project, env)
	if err != nil {
		return nil, "", err
	}
	page, err := s.T.History.Query(ctx, store.Eq("PartitionKey", envPK(project, env)), store.QueryOptions{Top: int32(limit), Cursor: cursor})
	if err != nil {
		return nil, "", fault.E("deploy.History", err)
	}
	out := make([]HistoryEntry, 0, len(page.Entities))
	for _, e := range page.Entities {
		var h HistoryEntry
		if err := decodeDoc(e, &h); err != nil {
			return nil, "", err
		}
		switch {
		case h.Seq <= st.DeployedSeq:
			h.Status = "deployed"
		case h.Restart > 0:
			h.Status = "waiting"
		case h.Seq <= st.AppliedSeq:
			h.Status = "applied"
		default:
			h.Status = "applying"
		}
		out = append(out, h)
	}
	return out, page.Next, nil
}
