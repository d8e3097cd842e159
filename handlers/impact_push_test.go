package handlers_test

import (
	"fmt"
	"testing"

	"github.com/studio-collab/collab/shared/deploy"
)

// TestEveryImpactRuleThroughAPush: for each rule of the restart-impact
// table, an object that rule decides is checked into the catalog over HTTP
// (a real push), the deployment worker runs, and the environment's
// deployment history shows the change classified by that very rule. A rule
// added without a row here fails the test, and so does a rule the object
// tree the catalog accepts cannot reach.
func TestEveryImpactRuleThroughAPush(t *testing.T) {
	t.Parallel()
	byPattern := map[string]struct {
		path   string
		impact deploy.Impact
	}{
		"applications/*/processes/*/versions/*/timers/**": {"applications/claims/processes/intake/versions/1/timers/reminder", deploy.RestartScheduler},
		"applications/*/processes/*/versions/*/forms/**":  {"applications/claims/processes/intake/versions/1/forms/main", deploy.Hot},
		"applications/*/processes/*/versions/**":          {"applications/claims/processes/intake/versions/2", deploy.Hot},
		"applications/*/processes/*":                      {"applications/claims/processes/intake", deploy.Hot},
		"applications/*/forms/**":                         {"applications/claims/forms/search", deploy.Hot},
		"applications/**":                                 {"applications/claims", deploy.Hot},
		"entities/**":                                     {"entities/application/Claim", deploy.RestartPortal},
		"rules/application/**":                            {"rules/application/approve", deploy.Hot},
		"rules/functions/**":                              {"rules/functions/round2", deploy.RestartPortal},
		"rules/expressions/**":                            {"rules/expressions/isWeekend", deploy.RestartPortal},
		"security/**":                                     {"security/authentication", deploy.RestartPortal},
	}
	a, _ := deployFixture(t)
	for i, r := range deploy.DefaultRules().List() {
		t.Run(fmt.Sprintf("rule %d %s", i+1, r.Pattern), func(t *testing.T) {
			row, ok := byPattern[r.Pattern]
			if !ok {
				t.Fatalf("no push reaches rule %d (%s): add a row", i+1, r.Pattern)
			}
			seq := devCommit(t, a, dave, row.path) // an owner: security elements too
			reconcile(t, a)
			var entry map[string]any
			for _, it := range a.Must(t, dave, "GET", envBase+"/deployments", nil, 200)["items"].([]any) {
				if m := it.(map[string]any); m["seq"] == float64(seq) {
					entry = m
				}
			}
			if entry == nil {
				t.Fatalf("commit %d is not in the deployments", seq)
			}
			changes := entry["changes"].([]any)
			if len(changes) != 1 {
				t.Fatalf("changes %v", changes)
			}
			c := changes[0].(map[string]any)
			if c["path"] != row.path || c["rule"] != float64(i+1) || c["impact"] != string(row.impact) || c["impact"] != string(r.Impact) {
				t.Fatalf("%s classified %v (rule %v), want rule %d %s", row.path, c["impact"], c["rule"], i+1, r.Impact)
			}
		})
	}
}

// TestOpenNowRightAfterAPush: an administrator opens a window the moment a
// restart-needing change is pushed, before any worker took its deployment
// request: open-now classifies the visible commits itself and opens the
// window (it answered 409 "nothing is waiting" until issue 26).
func TestOpenNowRightAfterAPush(t *testing.T) {
	t.Parallel()
	a, portal := deployFixture(t)
	seq := devCommit(t, a, bob, "entities/application/Claim/attributes/amount")
	w := a.Must(t, carol, "POST", envBase+"/windows/open-now", nil, 200)
	if w["state"] == "scheduled" || w["state"] == "announced" || w["state"] == "cancelled" {
		t.Fatalf("window after open-now: %v", w)
	}
	reconcile(t, a)
	st := a.Must(t, bob, "GET", envBase+"/status", nil, 200)
	if st["status"] != "running" || st["deployedSeq"] != float64(seq) || st["pendingRestart"] != float64(0) {
		t.Fatalf("after the window: %v", st)
	}
	if n := portal.Get("/claims/development/portal").Restarts; n != 1 {
		t.Fatalf("work portal restarts: %d", n)
	}
	// Nothing waits now: open-now says so.
	if resp, m := a.Call(t, carol, "POST", envBase+"/windows/open-now", nil, nil); resp.StatusCode != 409 {
		t.Fatalf("open-now with nothing waiting: %d %v", resp.StatusCode, m)
	}
}
