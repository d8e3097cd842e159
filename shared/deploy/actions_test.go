package deploy_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/studio-collab/collab/shared/deploy"
)

// TestWindowActionsFollowTheMachine: each window state allows exactly the
// administrator actions the service accepts in it, and the window's JSON
// (the API's body) lists them with the maintenance and terminal flags, so
// that the console copies nothing of the machine (issue 20).
func TestWindowActionsFollowTheMachine(t *testing.T) {
	all := []string{deploy.ActionReschedule, deploy.ActionOpenNow, deploy.ActionCancel}
	cases := []struct {
		state         string
		actions       []string
		inMaintenance bool
		terminal      bool
	}{
		{deploy.Scheduled, all, false, false},
		{deploy.Announced, all, false, false},
		{deploy.Open, []string{deploy.ActionCancel}, true, false},
		{deploy.Applying, []string{}, true, false},
		{deploy.Restarting, []string{}, true, false},
		{deploy.Completed, []string{}, false, true},
		{deploy.Failed, []string{}, false, true},
		{deploy.Cancelled, []string{}, false, true},
	}
	for _, c := range cases {
		t.Run(c.state, func(t *testing.T) {
			if got := deploy.Actions(c.state); !slices.Equal(got, c.actions) {
				t.Fatalf("Actions(%s) = %q, want %q", c.state, got, c.actions)
			}
			w := deploy.Window{ID: "w-1", State: c.state}
			for _, a := range all {
				if w.Allows(a) != slices.Contains(c.actions, a) {
					t.Errorf("%s allows %s: %v", c.state, a, w.Allows(a))
				}
			}
			b, err := json.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				ID            string   `json:"id"`
				State         string   `json:"state"`
				Actions       []string `json:"actions"`
				InMaintenance bool     `json:"inMaintenance"`
				Terminal      bool     `json:"terminal"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got.ID != "w-1" || got.State != c.state || got.Actions == nil || !slices.Equal(got.Actions, c.actions) ||
				got.InMaintenance != c.inMaintenance || got.Terminal != c.terminal {
				t.Fatalf("JSON of a %s window: %s", c.state, b)
			}
		})
	}
}
