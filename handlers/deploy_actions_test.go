package handlers_test

import (
	"fmt"
	"testing"
	"time"
)

// actionsOf is the "actions" list of a window or a status as the API wrote
// it, "<missing>" when absent.
func actionsOf(m map[string]any) string {
	a, ok := m["actions"].([]any)
	if !ok {
		return "<missing>"
	}
	return fmt.Sprint(a)
}

// TestWindowActionsOverHTTP: the API tells which actions a window allows in
// each state it passes through (the console reads them instead of copying
// the state machine), on the window, in its list, and in the status, which
// also offers open-now while changes wait without a window.
func TestWindowActionsOverHTTP(t *testing.T) {
	t.Parallel()
	a, portal := deployFixture(t)
	a.Must(t, carol, "PUT", envBase+"/maintenance-policy", map[string]any{"schedules": []string{"0 0 2 * * Sat"}, "timeZone": "UTC", "durationMinutes": 30, "noticeMinutes": 60}, 200)
	devCommit(t, a, bob, "entities/application/Claim/attributes/amount")
	reconcile(t, a)
	check := func(id, state, actions string, maintenance, terminal bool) map[string]any {
		t.Helper()
		w := a.Must(t, bob, "GET", envBase+"/windows/"+id, nil, 200)
		if w["state"] != state || actionsOf(w) != actions || w["inMaintenance"] != maintenance || w["terminal"] != terminal {
			t.Fatalf("window %s: state %v, actions %s, inMaintenance %v, terminal %v; want %s, %s, %v, %v", id, w["state"], actionsOf(w), w["inMaintenance"], w["terminal"], state, actions, maintenance, terminal)
		}
		for _, x := range a.Must(t, bob, "GET", envBase+"/windows", nil, 200)["items"].([]any) {
			if x := x.(map[string]any); x["id"] == id && actionsOf(x) != actions {
				t.Fatalf("window %s in the list: actions %s, want %s", id, actionsOf(x), actions)
			}
		}
		return w
	}
	status := func(windowActions, actions string) map[string]any {
		t.Helper()
		st := a.Must(t, bob, "GET", envBase+"/status", nil, 200)
		win, _ := st["window"].(map[string]any)
		got := "<no window>"
		if win != nil {
			got = actionsOf(win)
		}
		if got != windowActions || actionsOf(st) != actions {
			t.Fatalf("status: window actions %s, actions %s; want %s, %s (%v)", got, actionsOf(st), windowActions, actions, st)
		}
		return st
	}

	st := status("[reschedule open-now cancel]", "[open-now]")
	first := st["window"].(map[string]any)["id"].(string)
	start, _ := time.Parse(time.RFC3339, st["window"].(map[string]any)["start"].(string))
	check(first, "scheduled", "[reschedule open-now cancel]", false, false)

	// Within the notice: announced, still movable.
	a.Clock.Store(int64(start.Add(-30 * time.Minute).Sub(time.Now())))
	a.ForgetTokens()
	reconcile(t, a)
	check(first, "announced", "[reschedule open-now cancel]", false, false)

	a.Must(t, carol, "POST", envBase+"/windows/"+first+"/cancel", nil, 200)
	check(first, "cancelled", "[]", false, true)
	st = status("[reschedule open-now cancel]", "[open-now]") // the change waits for the next one
	second := st["window"].(map[string]any)["id"].(string)
	next, _ := time.Parse(time.RFC3339, st["window"].(map[string]any)["start"].(string))

	// While the Work Portal restarts, the window allows nothing.
	var during map[string]any
	portal.OnRequest = func(prefix, action string) {
		if action == "restart" && during == nil {
			_, during = a.Call(t, bob, "GET", envBase+"/windows/"+second, nil, nil)
		}
	}
	a.Clock.Store(int64(next.Add(time.Second).Sub(time.Now())))
	a.ForgetTokens()
	reconcile(t, a)
	if during["state"] != "restarting" || actionsOf(during) != "[]" || during["inMaintenance"] != true || during["terminal"] != false {
		t.Fatalf("window while restarting: %v", during)
	}
	check(second, "completed", "[]", false, true)
	status("<no window>", "[]")
}
