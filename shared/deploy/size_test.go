package deploy_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestLongCommitKeepsItsHistory: a commit of 50 changes with paths of the
// longest length the catalog takes (501 bytes) is deployed and its history
// row is written, with every change in the sample. Before the fix the
// history row (one string property) went over 32,768 characters after the
// environment's state had moved on, and the Deployments screen never
// showed the commit.
func TestLongCommitKeepsItsHistory(t *testing.T) {
	w := newWorld(t, 1)
	base := formPath + "/"
	paths := make([]string, 50)
	for i := range paths {
		paths[i] = base + strings.Repeat("f", 501-len(base)-3) + fmt.Sprintf("%03d", i)
	}
	seq := w.commit(paths...)
	w.pump(0)
	eq(t, "deployed", w.status("test").DeployedSeq, seq)
	hist, _, err := w.svc().History(t.Context(), "claims", "test", "", 10)
	must(t, err)
	if len(hist) != 1 || hist[0].Seq != seq || hist[0].Hot != 50 || len(hist[0].Changes)+hist[0].More != 50 || hist[0].Changes[49].Path != paths[49] {
		t.Fatalf("history: %+v", hist)
	}
}

// TestManyPendingParametersFitTheState: 400 restart parameters with the
// longest names wait in one environment's state (before the fix, 214 of
// them made its row a string over 32,768 characters and every later
// change of the environment failed).
func TestManyPendingParametersFitTheState(t *testing.T) {
	w := newWorld(t, 1)
	_, err := w.svc().PutPolicy(t.Context(), "claims", "test", saturdayPolicy)
	must(t, err)
	for i := range 400 {
		name := fmt.Sprintf("parameter:%03d%s", i, strings.Repeat("p", 61))
		must(t, w.svc().QueueRestartChange(t.Context(), "claims", "test", name, "restart-portal"))
	}
	st := w.status("test")
	if st.Window == nil {
		t.Fatalf("no window for 400 pending parameters: %+v", st)
	}
}
