package deploy_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
)

// TestLostRequestMessage: "a deployment message lost before delivery is
// recovered by the reconcile timer within one minute": the request is
// recorded before its message is sent, so the next round processes it.
func TestLostRequestMessage(t *testing.T) {
	w := newWorld(t, 1)
	w.queue.lose.Store(true)
	seq := w.commit(formPath)
	w.pump(0)
	eq(t, "applied before the round", w.status("test").AppliedSeq, int64(0))
	w.clock.advance(time.Minute)
	w.tick(0)
	for _, env := range []string{"test", "production"} {
		st := w.status(env)
		eq(t, env+" deployed after one round", st.DeployedSeq, seq)
	}
	if w.queue.sent.Load() == 0 {
		t.Fatal("no message was even sent")
	}
}

// TestLostWindowMessages: with every scheduled message lost, each of the
// window's times is still met by the first round after it: never more than
// a minute late.
func TestLostWindowMessages(t *testing.T) {
	w := newWorld(t, 1)
	_, err := w.svc().PutPolicy(t.Context(), "claims", "test", saturdayPolicy)
	must(t, err)
	w.queue.lose.Store(true)
	w.commit(entityPath)
	w.clock.advance(time.Minute)
	w.tick(0)
	win := w.window("test", "w000001")
	// Rounds every minute, 37 seconds off the due times.
	w.clock.set(win.AnnounceAt.Add(-23 * time.Second))
	for w.clock.now().Before(win.Start.Add(3 * time.Minute)) {
		w.tick(0)
		w.clock.advance(time.Minute)
	}
	final := w.window("test", win.ID)
	eq(t, "state", final.State, deploy.Completed)
	due := map[string]time.Time{deploy.Announced: win.AnnounceAt, deploy.Open: win.Start}
	for _, h := range final.History {
		if at, ok := due[h.To]; ok {
			if late := h.At.Sub(at); late < 0 || late > time.Minute {
				t.Fatalf("%s happened %v after its time", h.To, late)
			}
		}
	}
}

// killer wraps the runtime and kills the worker goroutine (runtime.Goexit:
// nothing after that point runs, as when the process dies) the first time it
// reaches the named call.
type killer struct {
	deploy.Runtime
	at   string
	once sync.Once
}

func (k *killer) maybeDie(call string) {
	if call == k.at {
		die := false
		k.once.Do(func() { die = true })
		if die {
			runtime.Goexit()
		}
	}
}

func (k *killer) Deploy(ctx context.Context, t deploy.Target, d deploy.Deployment) error {
	if d.Mode == deploy.ModeWindow {
		k.maybeDie("deploy")
	}
	return k.Runtime.Deploy(ctx, t, d)
}

func (k *killer) Restart(ctx context.Context, t deploy.Target, c string) error {
	k.maybeDie("restart")
	return k.Runtime.Restart(ctx, t, c)
}

func (k *killer) Healthy(ctx context.Context, t deploy.Target, c string) error {
	k.maybeDie("health")
	return k.Runtime.Healthy(ctx, t, c)
}

// TestWorkerKilledMidWindow: "a worker killed mid-window is recovered by
// the reconcile timer within one minute": the dead worker's lease runs out
// and the next round on another instance takes the window over and finishes
// it, without restarting again what was already restarted.
func TestWorkerKilledMidWindow(t *testing.T) {
	cases := []struct {
		at          string
		diedIn      string
		restarts    int
		attempt     int
		healthAfter bool
	}{
		{"deploy", deploy.Applying, 1, 2, false},
		{"restart", deploy.Restarting, 1, 2, false},
		{"health", deploy.Restarting, 1, 2, true},
	}
	for _, c := range cases {
		t.Run("killed in "+c.at, func(t *testing.T) {
			w := newWorld(t, 2)
			w.portal.RestartDelay = 0
			w.svcs[0].Runtime = &killer{Runtime: w.svcs[0].Runtime, at: c.at}
			_, err := w.svc().PutPolicy(t.Context(), "claims", "test", saturdayPolicy)
			must(t, err)
			w.commit(entityPath)
			w.pump(1)
			win := w.window("test", "w000001")
			w.clock.set(win.Start)
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = w.svcs[0].Drive(context.Background(), "claims", "test", win.ID, deploy.Completed)
			}()
			<-done
			killedAt := w.clock.now()
			dead := w.window("test", win.ID)
			eq(t, "state the dead worker left", dead.State, c.diedIn)
			// Another instance's rounds, one a minute.
			for w.window("test", win.ID).State == c.diedIn {
				w.clock.advance(time.Minute)
				w.tick(1)
				if w.clock.now().Sub(killedAt) > time.Minute {
					t.Fatalf("still %s a minute after the worker died", c.diedIn)
				}
			}
			final := w.window("test", win.ID)
			eq(t, "state", final.State, deploy.Completed)
			eq(t, "attempt", final.Attempt, c.attempt)
			eqList(t, "states", states(final), []string{"scheduled", "announced", "open", "applying", "restarting", "completed"})
			eq(t, "restarts", w.portal.Get(w.prefix("test", "portal")).Restarts, c.restarts)
			eq(t, "status", w.status("test").Status, "running")
		})
	}
}

// TestChangesDuringAWindow: a restart change that arrives while a window
// applies waits for the next window; a hot change is applied at once even
// then. Parameters queued by another module coalesce by source and are
// applied by the Appliers in the window's applying step.
func TestChangesDuringAWindow(t *testing.T) {
	w := newWorld(t, 1)
	w.portal.RestartDelay = 0
	_, err := w.svc().PutPolicy(t.Context(), "claims", "test", saturdayPolicy)
	must(t, err)
	var applied []string
	w.svc().Appliers = []deploy.Applier{applierFunc(func(_ context.Context, p, env string) error {
		if env == "test" {
			applied = append(applied, p+"/"+env)
		}
		return nil
	})}
	must(t, w.svc().QueueRestartChange(t.Context(), "claims", "test", "parameter:SmtpHost", "restart-portal"))
	must(t, w.svc().QueueRestartChange(t.Context(), "claims", "test", "parameter:SmtpHost", "restart-portal"))
	must(t, w.svc().QueueRestartChange(t.Context(), "claims", "test", "parameter:JobThreads", "restart-scheduler"))
	if err := w.svc().QueueRestartChange(t.Context(), "claims", "test", "parameter:X", "hot"); err == nil {
		t.Fatal("a hot parameter change was queued for a window")
	}
	w.commit(entityPath)
	w.pump(0)
	st := w.status("test")
	eq(t, "pending parameters (coalesced by source)", st.PendingParameters, 2)
	eqList(t, "impacts", st.Impacts, []deploy.Impact{deploy.RestartPortal, deploy.RestartScheduler})
	eq(t, "windows", len(w.windows("test")), 1)

	// While the window applies, someone checks in an entity and a form, and
	// a parameter changes again (in the Work Portal's request, so it happens
	// exactly then; the results come back on a channel).
	type result struct {
		entity, form int64
		err          error
	}
	came := make(chan result, 1)
	var fired atomic.Bool
	w.portal.OnRequest = func(prefix, action string) {
		if action != "deployments" || prefix != w.prefix("test", "portal") || !fired.CompareAndSwap(false, true) {
			return
		}
		func() {
			var r result
			defer func() { came <- r }()
			ctx := context.Background()
			for _, p := range []string{entityPath + "2", formPath} {
				seq, err := w.feed.Append(ctx, "claims", "bob@example.com", []deploy.Change{{Path: p}})
				if err != nil {
					r.err = err
					return
				}
				if r.entity == 0 {
					r.entity = seq
				} else {
					r.form = seq
				}
				if r.err = w.svcs[0].CatchUp(ctx, "claims", "test", seq); r.err != nil {
					return
				}
			}
			r.err = w.svc().QueueRestartChange(ctx, "claims", "test", "parameter:SmtpHost", "restart-portal")
		}()
	}
	w.minutes(sat.Add(2 * time.Minute))
	var during result
	select {
	case during = <-came:
		must(t, during.err)
	case <-time.After(time.Minute):
		t.Fatal("the window never deployed to the Work Portal")
	}
	win := w.window("test", "w000001")
	eq(t, "state", win.State, deploy.Completed)
	eqList(t, "components", win.Components, []string{"portal", "scheduler"})
	eq(t, "frozen parameters", len(win.Parameters), 2)
	eqList(t, "appliers called", applied, []string{"claims/test"})
	eq(t, "portal restarts", w.portal.Get(w.prefix("test", "portal")).Restarts, 1)
	eq(t, "scheduler restarts", w.portal.Get(w.prefix("test", "scheduler")).Restarts, 1)
	st = w.status("test")
	eq(t, "deployed: up to the entity that came during the window", st.DeployedSeq, during.entity-1)
	eq(t, "applied: the form that came during the window", st.AppliedSeq, during.form)
	eq(t, "pending restart", st.PendingRestart, 1)
	eq(t, "pending parameters", st.PendingParameters, 1)
	if st.Window == nil || st.Window.ID != "w000002" || !st.Window.Start.Equal(sat.AddDate(0, 0, 7)) {
		t.Fatalf("next window %+v", st.Window)
	}
}

// TestRaceTwoInstances: two instances receive every message (a duplicate
// delivery each time) and reconcile concurrently, minute after minute, for
// two environments with hot and restart changes. Each transition happens
// once, each notice is recorded once, each window restarts once, and both
// environments end on the latest sequence.
func TestRaceTwoInstances(t *testing.T) {
	w := newWorld(t, 2)
	w.portal.RestartDelay = 10 * time.Second
	for _, env := range []string{"test", "production"} {
		_, err := w.svc().PutPolicy(t.Context(), "claims", env, saturdayPolicy)
		must(t, err)
	}
	var last int64
	for i := 0; i < 6; i++ {
		last = w.commit(fmt.Sprintf("%s%d", formPath, i))
		if i%2 == 0 {
			last = w.commit(fmt.Sprintf("%s%d", entityPath, i))
		}
	}
	var mu sync.Mutex
	var errs []error
	round := func() {
		ms := w.queue.due(w.clock.now())
		var wg sync.WaitGroup
		for i := range w.svcs {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for _, m := range ms {
					if err := w.svcs[i].Handle(t.Context(), m.Body); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			}()
			go func() {
				defer wg.Done()
				if err := w.svcs[i].Reconcile(t.Context()); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	round()
	for _, at := range []time.Time{sat.Add(-time.Hour), sat} {
		w.clock.set(at.Add(-2 * time.Minute))
		for w.clock.now().Before(at.Add(5 * time.Minute)) {
			w.clock.advance(time.Minute)
			round()
		}
	}
	for _, err := range errs {
		t.Error(err)
	}
	for _, env := range []string{"test", "production"} {
		ws := w.windows(env)
		if len(ws) != 1 {
			t.Fatalf("%s: %d windows", env, len(ws))
		}
		eqList(t, env+" states", states(ws[0]), []string{"scheduled", "announced", "open", "applying", "restarting", "completed"})
		eq(t, env+" restarts", w.portal.Get(w.prefix(env, "portal")).Restarts, 1)
		eqList(t, env+" notices", w.noticeIDs(env), []string{
			"window-announced:claims:" + env + ":w000001", "window-ended:claims:" + env + ":w000001", "window-opened:claims:" + env + ":w000001"})
		st := w.status(env)
		eq(t, env+" deployed", st.DeployedSeq, last)
		eq(t, env+" status", st.Status, "running")
	}
}

// TestReconcileBudget: a round that runs out of its budget while a restarted
// Work Portal is still coming up is not a failure; it releases the window,
// and the next round (another instance) takes it over at once and finishes
// it without restarting again.
func TestReconcileBudget(t *testing.T) {
	w := newWorld(t, 2)
	w.portal.RestartDelay = 4 * time.Minute
	_, err := w.svc().PutPolicy(t.Context(), "claims", "test", saturdayPolicy)
	must(t, err)
	w.commit(entityPath)
	w.pump(0)
	w.clock.set(sat.Add(-30 * time.Second))
	w.tick(0) // announced; the other environment's work is done too
	w.clock.set(sat)
	slow := w.svcs[0]
	slow.ReconcileBudget = 600 * time.Millisecond
	slow.Sleep = func(ctx context.Context, d time.Duration) error {
		w.clock.advance(d)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond): // a real pause, so the budget runs out
			return nil
		}
	}
	if err := slow.Reconcile(t.Context()); err != nil {
		t.Fatalf("a round cut by its budget failed: %v", err)
	}
	cut := w.window("test", "w000001")
	eq(t, "state after the cut", cut.State, deploy.Restarting)
	if cut.LeaseUntil.After(w.clock.now()) {
		t.Fatalf("the lease was kept until %v (now %v)", cut.LeaseUntil, w.clock.now())
	}
	w.tick(1)
	final := w.window("test", "w000001")
	eq(t, "state", final.State, deploy.Completed)
	eq(t, "attempt", final.Attempt, 2)
	eq(t, "restarts", w.portal.Get(w.prefix("test", "portal")).Restarts, 1)
}
