package deploy_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
)

// TestHotChangeIsAppliedAtOnce: "Hot changes are applied at once": the
// request's message classifies a form change as hot, the Work Portal gets it,
// and the environment is on the new sequence with no window.
func TestHotChangeIsAppliedAtOnce(t *testing.T) {
	w := newWorld(t, 1)
	seq := w.commit(formPath)
	w.pump(0)
	for _, env := range []string{"test", "production"} {
		st := w.status(env)
		eq(t, env+" status", st.Status, "running")
		eq(t, env+" deployed", st.DeployedSeq, seq)
		eq(t, env+" pending", st.PendingHot+st.PendingRestart, 0)
		if st.Window != nil {
			t.Fatalf("%s has a window for a hot change: %+v", env, st.Window)
		}
		d := w.portal.Get(w.prefix(env, "portal")).Deployments
		if len(d) != 1 || d[0].Mode != "hot" || d[0].Seq != seq || d[0].Key != "claims/"+env+":1:hot" {
			t.Fatalf("%s deployments %+v", env, d)
		}
	}
	hist, _, err := w.svc().History(t.Context(), "claims", "test", "", 10)
	must(t, err)
	if len(hist) != 1 || hist[0].ID != "claims/test:1" || hist[0].Status != "deployed" || hist[0].Hot != 1 {
		t.Fatalf("history %+v", hist)
	}
	// The same request again (a duplicate message) is a no-op.
	must(t, w.svc().Request(t.Context(), "claims", seq))
	w.pump(0)
	if n := len(w.portal.Get(w.prefix("test", "portal")).Deployments); n != 1 {
		t.Fatalf("a duplicate request deployed again: %d deployments", n)
	}
}

// TestWindowLifecycle walks one window through every state of the happy
// path on a fake clock: a restart change waits for the policy's next time,
// is announced a notice period before, opens (status: maintenance with the
// expected end), is applied, restarts the Work Portal, waits for health, and
// completes; the environment is then running on the new sequence.
func TestWindowLifecycle(t *testing.T) {
	w := newWorld(t, 1)
	_, err := w.svc().PutPolicy(t.Context(), "claims", "test", saturdayPolicy)
	must(t, err)
	form1 := w.commit(formPath)
	entity := w.commit(entityPath)
	form2 := w.commit(formPath + "2")
	w.pump(0)

	st := w.status("test")
	eq(t, "deployed (stays before the waiting entity)", st.DeployedSeq, entity-1)
	eq(t, "applied (the later form is live)", st.AppliedSeq, form2)
	eq(t, "pending restart", st.PendingRestart, 1)
	eqList(t, "impacts", st.Impacts, []deploy.Impact{deploy.RestartPortal})
	if st.Window == nil || st.Window.State != deploy.Scheduled {
		t.Fatalf("no scheduled window: %+v", st)
	}
	sat := time.Date(2026, 11, 28, 7, 0, 0, 0, time.UTC) // 02:00 in Bogota
	win := w.window("test", st.Window.ID)
	eq(t, "start", win.Start, sat)
	eq(t, "end", win.End, sat.Add(30*time.Minute))
	eq(t, "announce", win.AnnounceAt, sat.Add(-time.Hour))
	_ = form1

	// A second restart change before the window joins it (coalescing).
	w.commit(entityPath + "2")
	w.pump(0)
	if ws := w.windows("test"); len(ws) != 1 {
		t.Fatalf("%d windows; pending changes must coalesce into one", len(ws))
	}

	// Nothing happens until the notice period begins.
	for w.clock.now().Add(6 * time.Hour).Before(sat.Add(-2 * time.Hour)) {
		w.clock.advance(6 * time.Hour)
		w.tick(0)
		eq(t, "state days before", w.window("test", win.ID).State, deploy.Scheduled)
	}
	w.minutes(sat.Add(-time.Hour - time.Minute))
	eq(t, "state before notice", w.window("test", win.ID).State, deploy.Scheduled)
	w.minutes(sat.Add(-time.Hour))
	eq(t, "state at notice", w.window("test", win.ID).State, deploy.Announced)
	eqList(t, "notices after announcing", w.noticeIDs("test"), []string{"window-announced:claims:test:w000001"})

	// During the window the status says maintenance, with the expected end.
	var during []deploy.Status
	w.svc().Sleep = func(ctx context.Context, d time.Duration) error {
		during = append(during, w.status("test"))
		return w.clock.sleep(ctx, d)
	}
	w.minutes(sat)
	final := w.window("test", win.ID)
	eq(t, "final state", final.State, deploy.Completed)
	eqList(t, "states", states(final), []string{"scheduled", "announced", "open", "applying", "restarting", "completed"})
	if len(during) == 0 || during[0].Status != "maintenance" || during[0].ExpectedEnd == nil || !during[0].ExpectedEnd.Equal(sat.Add(30*time.Minute)) {
		t.Fatalf("status during the window: %+v", during)
	}
	portalState := w.portal.Get(w.prefix("test", "portal"))
	eq(t, "work portal restarts", portalState.Restarts, 1)
	eq(t, "scheduler restarts", w.portal.Get(w.prefix("test", "scheduler")).Restarts, 0)
	last := portalState.Deployments[len(portalState.Deployments)-1]
	if last.Mode != "window" || last.Seq != 4 || last.Changes != 2 {
		t.Fatalf("window deployment %+v", last)
	}

	st = w.status("test")
	eq(t, "status after", st.Status, "running")
	eq(t, "deployed after", st.DeployedSeq, int64(4))
	eq(t, "pending after", st.PendingRestart, 0)
	if st.Window != nil {
		t.Fatalf("a window after completion: %+v", st.Window)
	}
	eqList(t, "platform status", w.dir.history("test"), []string{"maintenance", "running"})
	var notices []noticeRow
	for _, n := range w.noticeList() {
		if n.Data["env"] == "test" {
			notices = append(notices, n)
		}
	}
	eqList(t, "notices", w.noticeIDs("test"), []string{"window-announced:claims:test:w000001", "window-ended:claims:test:w000001", "window-opened:claims:test:w000001"})
	for _, n := range notices {
		eqList(t, n.ID+" recipients", n.To, []string{"alice@example.com", "bob@example.com", "carol@example.com"})
	}
	// Replaying every message and more reconcile rounds changes nothing.
	for _, m := range []deploy.Message{deploy.RequestMessage("claims", "test", 4), deploy.WindowMessage("claims", "test", win.ID, "start", sat)} {
		must(t, w.svc().Handle(t.Context(), m.Body))
	}
	w.minutes(sat.Add(10 * time.Minute))
	eq(t, "restarts after replay", w.portal.Get(w.prefix("test", "portal")).Restarts, 1)
	eq(t, "notices after replay", len(w.noticeIDs("test")), 3)
	eqList(t, "states after replay", states(w.window("test", win.ID)), []string{"scheduled", "announced", "open", "applying", "restarting", "completed"})
}

// TestStateMachine lists every pair of states and whether the machine
// allows it, as docs/deployments.md draws it.
func TestStateMachine(t *testing.T) {
	all := []string{deploy.Scheduled, deploy.Announced, deploy.Open, deploy.Applying, deploy.Restarting, deploy.Completed, deploy.Failed, deploy.Cancelled}
	allowed := map[string]bool{
		"scheduled>announced": true, "scheduled>cancelled": true,
		"announced>open": true, "announced>cancelled": true, "announced>scheduled": true,
		"open>applying": true, "open>cancelled": true,
		"applying>restarting": true, "applying>failed": true,
		"restarting>completed": true, "restarting>failed": true,
	}
	for _, from := range all {
		for _, to := range all {
			want := from == to || allowed[from+">"+to]
			if got := deploy.CanMove(from, to); got != want {
				t.Errorf("%s -> %s: allowed = %v, want %v", from, to, got, want)
			}
		}
		if deploy.Terminal(from) != (from == deploy.Completed || from == deploy.Failed || from == deploy.Cancelled) {
			t.Errorf("terminal(%s)", from)
		}
		if deploy.InMaintenance(from) != strings.Contains("open applying restarting", from) {
			t.Errorf("in maintenance(%s)", from)
		}
	}
}
