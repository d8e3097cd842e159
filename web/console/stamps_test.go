package console_test

import (
	"testing"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/web/console/consoletest"
)

// TestConsoleFollowsTheHomeStamp (issue 22): the console loaded from a
// stamp that is not the customer's home works unchanged. A link to a
// project homed in stamp A, opened on stamp B, gets B's 421, re-targets the
// API to A (a cross-origin call: CORS and the CSP allow the other stamps)
// and shows A's data; a change made on the screen lands in A; signing out
// goes back to the page's own stamp.
func TestConsoleFollowsTheHomeStamp(t *testing.T) {
	stamps := handlertest.StartStamps(t, nil, nil, "a", "b")
	a, b := stamps["a"], stamps["b"]
	a.Must(t, alice, "POST", "/api/subscriptions", map[string]any{"id": "northwind", "name": "Northwind"}, 201)
	a.Invite(t, alice, "northwind", bob)
	a.Must(t, alice, "POST", "/api/subscriptions/northwind/projects", map[string]any{"id": "orders", "name": "Orders"}, 201)
	a.Must(t, alice, "PUT", "/api/projects/orders/members/"+userID(bob), map[string]any{"role": "developer"}, 201)
	if resp, _ := b.Call(t, alice, "GET", "/api/projects/orders/members", nil, nil); resp.StatusCode != 421 {
		t.Fatalf("B answers the project with %d, want 421", resp.StatusCode)
	}

	br := consoletest.New(t, b.URL)
	tab := br.Laptop("away")
	tab.SignIn(alice) // at B, which holds nothing of alice's
	tab.Go("/console/projects/orders/members")
	tab.WaitText(bob)
	var base string
	tab.Eval(`sessionStorage.getItem('collab.apiBase') || ''`, &base)
	if base != a.URL {
		t.Fatalf("the console's API base is %q, want stamp A %q", base, a.URL)
	}
	// The navigation now lists the home's project, and a write goes to A.
	tab.Go("/console/projects/orders/teams")
	tab.Fill("New team", "Id", "north")
	tab.Fill("New team", "Name", "North")
	tab.ClickIn("New team", "Create team")
	tab.WaitText("north")
	teams := a.Must(t, alice, "GET", "/api/projects/orders/teams", nil, 200)
	if items, _ := teams["items"].([]any); len(items) != 1 {
		t.Fatalf("teams at A: %v", teams)
	}
	if resp, m := b.Call(t, alice, "GET", "/api/projects/orders/teams", nil, nil); resp.StatusCode != 421 {
		t.Fatalf("B: %d %v", resp.StatusCode, m)
	}
	// Signing out forgets the home.
	tab.ClickIn("#who", "Sign out")
	tab.WaitText("Sign in")
	tab.Eval(`sessionStorage.getItem('collab.apiBase') || ''`, &base)
	if base != "" {
		t.Fatalf("after sign-out the API base is %q", base)
	}
}
