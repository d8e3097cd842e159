package deploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/deploy/standin"
)

var sat = time.Date(2026, 11, 28, 7, 0, 0, 0, time.UTC)

type applierFunc func(ctx context.Context, project, env string) error

func (f applierFunc) ApplyPending(ctx context.Context, project, env string) error {
	return f(ctx, project, env)
}

// TestWindowFailures: every way a window fails. The window ends failed with
// the step and the reason, the environment stays on its last good sequence
// (degraded when a restart did not come back), every user is told, and the
// waiting changes get the policy's next window.
func TestWindowFailures(t *testing.T) {
	cases := []struct {
		name         string
		path         string
		setup        func(w *world)
		failedIn     string
		errHas       string
		status       string
		restarts     map[string]int
		healedStatus string // after the component recovers, at the next round
	}{
		{name: "the Work Portal refuses the deployment: failed while applying, nothing restarted", path: entityPath,
			setup: func(w *world) {
				w.portal.Set(w.prefix("test", "portal"), func(c *standin.Component) { c.FailDeploy = true })
			},
			failedIn: deploy.Applying, errHas: "answered 500", status: "running", restarts: map[string]int{"portal": 0}},
		{name: "a parameter applier fails: failed while applying", path: entityPath,
			setup: func(w *world) {
				w.svc().Appliers = []deploy.Applier{applierFunc(func(context.Context, string, string) error { return errors.New("the parameter store is down") })}
			},
			failedIn: deploy.Applying, errHas: "the parameter store is down", status: "running", restarts: map[string]int{"portal": 0}},
		// A refused restart leaves the old Work Portal up: the next round's
		// health probe finds it healthy, so it is not degraded for long.
		{name: "the restart is refused: failed while restarting; still healthy, so running", path: entityPath,
			setup: func(w *world) {
				w.portal.Set(w.prefix("test", "portal"), func(c *standin.Component) { c.FailRestart = true })
			},
			failedIn: deploy.Restarting, errHas: "restarting the Work Portal", status: "running", restarts: map[string]int{"portal": 0}},
		{name: "a restart that never becomes healthy: failed at the health deadline, degraded until it is healthy again", path: entityPath,
			setup: func(w *world) {
				w.portal.Set(w.prefix("test", "portal"), func(c *standin.Component) { c.Broken = true })
			},
			failedIn: deploy.Restarting, errHas: "did not become healthy within 5m0s", status: "degraded", restarts: map[string]int{"portal": 1}, healedStatus: "running"},
		{name: "the Scheduler never becomes healthy after a timer change", path: timerPath,
			setup: func(w *world) {
				w.portal.Set(w.prefix("test", "scheduler"), func(c *standin.Component) { c.Broken = true })
			},
			failedIn: deploy.Restarting, errHas: "the Scheduler did not become healthy", status: "degraded", restarts: map[string]int{"portal": 0, "scheduler": 1}, healedStatus: "running"},
		{name: "a restart through Azure Resource Manager where none is configured", path: entityPath,
			setup: func(w *world) {
				_, err := w.svc().PutRuntimeConfig(w.t.Context(), "claims", "test", deploy.RuntimeConfig{Portal: deploy.Endpoint{
					ARMResourceID: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-claims/providers/Microsoft.Web/sites/claims-test"}})
				must(w.t, err)
			},
			failedIn: deploy.Restarting, errHas: "Azure Resource Manager are not configured", status: "running", restarts: map[string]int{"portal": 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, 1)
			_, err := w.svc().PutPolicy(t.Context(), "claims", "test", saturdayPolicy)
			must(t, err)
			good := w.commit(formPath)
			w.commit(c.path)
			w.pump(0)
			c.setup(w)
			w.minutes(sat.Add(10 * time.Minute))

			win := w.window("test", "w000001")
			eq(t, "state", win.State, deploy.Failed)
			eq(t, "failed in", win.FailedIn, c.failedIn)
			if !strings.Contains(win.Error, c.errHas) {
				t.Fatalf("error %q lacks %q", win.Error, c.errHas)
			}
			want := []string{"scheduled", "announced", "open", "applying", "failed"}
			if c.failedIn == deploy.Restarting {
				want = []string{"scheduled", "announced", "open", "applying", "restarting", "failed"}
			}
			eqList(t, "states", states(win), want)
			for comp, n := range c.restarts {
				eq(t, comp+" restarts", w.portal.Get(w.prefix("test", comp)).Restarts, n)
			}
			st := w.status("test")
			eq(t, "status", st.Status, c.status)
			eq(t, "deployed (the last good sequence)", st.DeployedSeq, good)
			eq(t, "still waiting", st.PendingRestart, 1)
			if c.status == "degraded" && !strings.Contains(st.Degraded, "w000001 failed") {
				t.Fatalf("degraded reason %q", st.Degraded)
			}
			var failed *noticeRow
			for _, n := range w.noticeList() {
				if n.ID == "window-failed:claims:test:w000001" {
					failed = &n
				}
			}
			if failed == nil || failed.Data["failedIn"] != c.failedIn || !strings.Contains(failed.Data["error"].(string), c.errHas) || len(failed.To) != 3 {
				t.Fatalf("failure notice %+v", failed)
			}
			// The waiting change gets the policy's next window.
			if st.Window == nil || st.Window.ID != "w000002" || !st.Window.Start.Equal(sat.AddDate(0, 0, 7)) {
				t.Fatalf("next window %+v", st.Window)
			}
			if c.healedStatus != "" {
				for _, comp := range []string{"portal", "scheduler"} {
					w.portal.Set(w.prefix("test", comp), func(c *standin.Component) { c.Broken, c.FailRestart = false, false })
				}
				w.clock.advance(time.Minute)
				w.tick(0)
				eq(t, "status once healthy", w.status("test").Status, c.healedStatus)
			}
		})
	}
}

// TestHotDeploymentFailing: a Work Portal that refuses hot deployments is
// retried each minute; after three failures the environment is degraded and
// its owners (only) are told once; when it recovers, the changes are applied
// and the environment runs again.
func TestHotDeploymentFailing(t *testing.T) {
	w := newWorld(t, 1)
	w.portal.Set(w.prefix("test", "portal"), func(c *standin.Component) { c.FailDeploy = true })
	seq := w.commit(formPath)
	w.pump(0)
	st := w.status("test")
	eq(t, "classified", st.ClassifiedSeq, seq)
	eq(t, "applied", st.AppliedSeq, int64(0))
	eq(t, "pending hot", st.PendingHot, 1)
	eq(t, "status after one failure", st.Status, "running")
	for i := 0; i < 4; i++ {
		w.clock.advance(time.Minute)
		w.tick(0)
	}
	st = w.status("test")
	eq(t, "status after failures", st.Status, "degraded")
	var notes []noticeRow
	for _, n := range w.noticeList() {
		if n.Kind == deploy.KindDeploymentFailed {
			notes = append(notes, n)
		}
	}
	if len(notes) != 1 || notes[0].Data["env"] != "test" || len(notes[0].To) != 1 || notes[0].To[0] != "alice@example.com" {
		t.Fatalf("deployment-failed notices %+v", notes)
	}
	w.portal.Set(w.prefix("test", "portal"), func(c *standin.Component) { c.FailDeploy = false })
	w.clock.advance(time.Minute)
	w.tick(0)
	st = w.status("test")
	eq(t, "status after recovery", st.Status, "running")
	eq(t, "deployed after recovery", st.DeployedSeq, seq)
	eq(t, "pending hot after recovery", st.PendingHot, 0)
	eqList(t, "platform status", w.dir.history("test"), []string{"degraded", "running"})
}

// TestAdministratorActions: cancel, reschedule and open-now, and what each
// refuses.
func TestAdministratorActions(t *testing.T) {
	setup := func(t *testing.T) (*world, deploy.Window) {
		w := newWorld(t, 1)
		_, err := w.svc().PutPolicy(t.Context(), "claims", "test", saturdayPolicy)
		must(t, err)
		w.commit(entityPath)
		w.pump(0)
		return w, w.window("test", "w000001")
	}
	t.Run("cancelling a scheduled window tells nobody; the changes wait for the policy's time after it", func(t *testing.T) {
		w, win := setup(t)
		got, err := w.svc().Cancel(t.Context(), "claims", "test", win.ID, "carol@example.com")
		must(t, err)
		eq(t, "state", got.State, deploy.Cancelled)
		eqList(t, "notices", w.noticeIDs("test"), nil)
		st := w.status("test")
		if st.Window == nil || st.Window.ID != "w000002" || !st.Window.Start.Equal(sat.AddDate(0, 0, 7)) {
			t.Fatalf("next window %+v", st.Window)
		}
		// Cancelling again answers the same; an unknown window is not found.
		again, err := w.svc().Cancel(t.Context(), "claims", "test", win.ID, "carol@example.com")
		must(t, err)
		eq(t, "again", again.State, deploy.Cancelled)
		if _, err := w.svc().Cancel(t.Context(), "claims", "test", "w999999", "carol@example.com"); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("unknown window: %v", err)
		}
	})
	t.Run("cancelling an announced window tells the users it is off", func(t *testing.T) {
		w, win := setup(t)
		w.minutes(win.AnnounceAt)
		_, err := w.svc().Cancel(t.Context(), "claims", "test", win.ID, "carol@example.com")
		must(t, err)
		eqList(t, "notices", w.noticeIDs("test"), []string{"window-announced:claims:test:w000001", "window-ended:claims:test:w000001"})
	})
	t.Run("cancelling an open window ends the maintenance", func(t *testing.T) {
		w, win := setup(t)
		w.minutes(win.AnnounceAt)
		w.clock.set(win.Start)
		must(t, w.svc().Drive(t.Context(), "claims", "test", win.ID, deploy.Open))
		eq(t, "status when open", w.status("test").Status, "maintenance")
		_, err := w.svc().Cancel(t.Context(), "claims", "test", win.ID, "carol@example.com")
		must(t, err)
		eq(t, "status after", w.status("test").Status, "running")
		eqList(t, "platform status", w.dir.history("test"), []string{"maintenance", "running"})
	})
	t.Run("a window applying or finished cannot be cancelled", func(t *testing.T) {
		w, win := setup(t)
		w.minutes(win.Start.Add(5 * time.Minute))
		eq(t, "state", w.window("test", win.ID).State, deploy.Completed)
		if _, err := w.svc().Cancel(t.Context(), "claims", "test", win.ID, "carol@example.com"); err == nil || !strings.Contains(err.Error(), "can no longer be cancelled") {
			t.Fatalf("cancelling a completed window: %v", err)
		}
	})
	t.Run("rescheduling a scheduled window moves it", func(t *testing.T) {
		w, win := setup(t)
		to := start.Add(3 * time.Hour)
		got, err := w.svc().Reschedule(t.Context(), "claims", "test", win.ID, to, "", "carol@example.com")
		must(t, err)
		eq(t, "start", got.Start, to)
		eq(t, "end", got.End, to.Add(30*time.Minute))
		eq(t, "announce", got.AnnounceAt, to.Add(-time.Hour))
		if _, err := w.svc().Reschedule(t.Context(), "claims", "test", win.ID, to, "stale-etag", "carol@example.com"); err == nil || !strings.Contains(err.Error(), "changed since you read it") {
			t.Fatalf("stale If-Match: %v", err)
		}
		if _, err := w.svc().Reschedule(t.Context(), "claims", "test", win.ID, start.Add(-time.Minute), "", "carol@example.com"); err == nil || !strings.Contains(err.Error(), "future") {
			t.Fatalf("a past start: %v", err)
		}
		w.minutes(to.Add(5 * time.Minute))
		eq(t, "state", w.window("test", win.ID).State, deploy.Completed)
	})
	t.Run("rescheduling an announced window announces it again for its new time", func(t *testing.T) {
		w, win := setup(t)
		w.minutes(win.AnnounceAt)
		got, err := w.svc().Reschedule(t.Context(), "claims", "test", win.ID, sat.AddDate(0, 0, 1), "", "carol@example.com")
		must(t, err)
		eq(t, "state", got.State, deploy.Scheduled)
		eq(t, "revision", got.Revision, 1)
		w.minutes(sat.AddDate(0, 0, 1).Add(-time.Hour))
		eqList(t, "notices", w.noticeIDs("test"), []string{"window-announced:claims:test:w000001", "window-announced:claims:test:w000001.r1"})
	})
	t.Run("open now announces and opens at once; the message completes it", func(t *testing.T) {
		w, win := setup(t)
		got, err := w.svc().OpenNow(t.Context(), "claims", "test", "carol@example.com")
		must(t, err)
		eq(t, "id", got.ID, win.ID)
		eq(t, "state", got.State, deploy.Open)
		eq(t, "status", w.status("test").Status, "maintenance")
		w.pump(0)
		eq(t, "state after the message", w.window("test", win.ID).State, deploy.Completed)
		eq(t, "status after", w.status("test").Status, "running")
		if _, err := w.svc().OpenNow(t.Context(), "claims", "test", "carol@example.com"); err == nil || !strings.Contains(err.Error(), "nothing is waiting") {
			t.Fatalf("open now with nothing waiting: %v", err)
		}
	})
	t.Run("a policy change moves a window not yet announced", func(t *testing.T) {
		w, win := setup(t)
		p := saturdayPolicy
		p.Schedules = []string{"0 30 23 * * Wed"} // Wednesday 23:30 in Bogota = Thursday 04:30Z
		_, err := w.svc().PutPolicy(t.Context(), "claims", "test", p)
		must(t, err)
		eq(t, "start", w.window("test", win.ID).Start, time.Date(2026, 11, 26, 4, 30, 0, 0, time.UTC))
	})
}
