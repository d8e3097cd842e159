package handlers_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/platform"
)

func grant(path, principal, level string) map[string]any {
	return map[string]any{"path": path, "principal": principal, "level": level}
}

func check(a *handlertest.API, t *testing.T, who, user, path, action string) map[string]any {
	t.Helper()
	body := map[string]any{"path": path, "action": action}
	if user != "" {
		body["user"] = user
	}
	return a.Must(t, who, "POST", "/api/projects/claims/security/check", body, 200)
}

// TestEntryChangeSeenByTheNextCheckOnAnotherInstance: two handler instances
// share one storage account; a change made through one is seen by the very
// next check through the other.
func TestEntryChangeSeenByTheNextCheckOnAnotherInstance(t *testing.T) {
	t.Parallel()
	a1 := fixture(t)
	a2 := handlertest.StartOn(t, a1.Prefix)
	bobU := "user:" + platform.UserID(bob)
	if r := check(a2, t, bob, "", "applications/claims/processes/intake", "modify"); r["allowed"] != true {
		t.Fatalf("before: %v", r)
	}
	for i := 0; i < 3; i++ { // several round trips, alternating instances
		a1.Must(t, dave, "PUT", "/api/projects/claims/security/entries", grant("applications/claims", bobU, "deny"), 200)
		if r := check(a2, t, bob, "", "applications/claims/processes/intake", "modify"); r["allowed"] != false || r["level"] != "deny" {
			t.Fatalf("round %d: instance 2 did not see instance 1's deny: %v", i, r)
		}
		a2.Must(t, dave, "DELETE", "/api/projects/claims/security/entries?path=applications/claims&principal="+bobU, nil, 204)
		if r := check(a1, t, bob, "", "applications/claims/processes/intake", "modify"); r["allowed"] != true {
			t.Fatalf("round %d: instance 1 did not see instance 2's revoke: %v", i, r)
		}
	}
}

func TestSecurityOverHTTP(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	bobU, carolU := "user:"+platform.UserID(bob), "user:"+platform.UserID(carol)
	// Grants: the owner may; a developer may not, and is told why.
	resp, m := a.Call(t, dave, "PUT", "/api/projects/claims/security/entries", grant("applications/claims/processes/payouts", bobU, "deny"), nil)
	version := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || version == "" {
		t.Fatalf("owner grant: %d %v", resp.StatusCode, m)
	}
	resp, m = a.Call(t, bob, "PUT", "/api/projects/claims/security/entries", grant("applications/claims", carolU, "deny"), nil)
	if resp.StatusCode != 403 || !strings.Contains(m["detail"].(string), "Full Control on applications/claims") {
		t.Fatalf("developer grant: %d %v", resp.StatusCode, m)
	}
	// Main nodes take only deny (400); a stale If-Match is 412; bad levels 400.
	if resp, _ := a.Call(t, dave, "PUT", "/api/projects/claims/security/entries", grant("entities", bobU, "full"), nil); resp.StatusCode != 400 {
		t.Fatalf("full on a main node: %d", resp.StatusCode)
	}
	a.Must(t, dave, "PUT", "/api/projects/claims/security/entries", grant("rules", "team:finance", "deny"), 200)
	if resp, _ := a.Call(t, dave, "PUT", "/api/projects/claims/security/entries", grant("entities/master/customer", bobU, "deny"), map[string]string{"If-Match": version}); resp.StatusCode != 412 {
		t.Fatalf("stale If-Match: %d", resp.StatusCode)
	}
	if resp, _ := a.Call(t, dave, "PUT", "/api/projects/claims/security/entries", grant("entities/master/customer", bobU, "admin"), nil); resp.StatusCode != 400 {
		t.Fatalf("bad level: %d", resp.StatusCode)
	}
	// Admins (full by default) grant below the main nodes; the grant shows in checks.
	a.Must(t, carol, "PUT", "/api/projects/claims/security/entries", grant("entities/master/customer", bobU, "deny"), 200)
	r := check(a, t, bob, "", "entities/master/customer", "view")
	if r["allowed"] != true || r["level"] != "deny" {
		t.Fatalf("deny on an entity keeps it visible: %v", r)
	}
	dec, _ := json.Marshal(r["decidedBy"])
	if !strings.Contains(string(dec), `"path":"entities/master/customer"`) || !strings.Contains(string(dec), bobU) {
		t.Fatalf("decidedBy: %s", dec)
	}
	if r := check(a, t, bob, "", "rules/functions/round", "modify"); r["allowed"] != false {
		t.Fatalf("team deny on rules: %v", r)
	}
	if r := check(a, t, bob, "", "applications/claims/processes/payouts/forms/f", "view"); r["allowed"] != false {
		t.Fatalf("deny on a process hides its forms: %v", r)
	}
	// Batch checks, and checking others (owners and admins only).
	batch := a.Must(t, carol, "POST", "/api/projects/claims/security/check", map[string]any{"checks": []map[string]any{
		{"user": platform.UserID(bob), "path": "applications/claims", "action": "modify"},
		{"user": platform.UserID(dave), "path": "security/ldap", "action": "manage"},
		{"path": "security/ldap", "action": "view"},
	}}, 200)
	res := batch["results"].([]any)
	want := []bool{true, true, false}
	for i, w := range want {
		if res[i].(map[string]any)["allowed"] != w {
			t.Fatalf("batch result %d: %v", i, res[i])
		}
	}
	if resp, _ := a.Call(t, bob, "POST", "/api/projects/claims/security/check", map[string]any{"user": platform.UserID(carol), "path": "applications/claims", "action": "view"}, nil); resp.StatusCode != 403 {
		t.Fatalf("developer checking another user: %d", resp.StatusCode)
	}
	many := make([]map[string]any, 1001)
	for i := range many {
		many[i] = map[string]any{"path": "applications/claims", "action": "view"}
	}
	if resp, _ := a.Call(t, carol, "POST", "/api/projects/claims/security/check", map[string]any{"checks": many}, nil); resp.StatusCode != 400 {
		t.Fatalf("1,001 checks: %d", resp.StatusCode)
	}
	// Entries listing and effective levels.
	if resp, _ := a.Call(t, bob, "GET", "/api/projects/claims/security/entries", nil, nil); resp.StatusCode != 403 {
		t.Fatalf("developer listing every entry: %d", resp.StatusCode)
	}
	list := a.Must(t, carol, "GET", "/api/projects/claims/security/entries?path=entities&subtree=true", nil, 200)
	if n := len(list["entries"].([]any)); n != 1 {
		t.Fatalf("entries under entities: %d", n)
	}
	eff := a.Must(t, carol, "GET", "/api/projects/claims/security/effective?user="+platform.UserID(bob)+"&prefix=applications", nil, 200)
	b, _ := json.Marshal(eff)
	if !strings.Contains(string(b), `"level":"deny","path":"applications/claims/processes/payouts"`) {
		t.Fatalf("effective: %s", b)
	}
	// Settings: owners only; lowering the developer default takes effect.
	if resp, _ := a.Call(t, carol, "PUT", "/api/projects/claims/security/settings", map[string]any{"developerDefault": "deny"}, nil); resp.StatusCode != 403 {
		t.Fatalf("admin changing settings: %d", resp.StatusCode)
	}
	a.Must(t, dave, "PUT", "/api/projects/claims/security/settings", map[string]any{"developerDefault": "deny"}, 200)
	if r := check(a, t, bob, "", "applications/claims", "view"); r["allowed"] != false {
		t.Fatalf("developer default lowered: %v", r)
	}
	// Outsiders see nothing; every change is audited with old and new level.
	if resp, _ := a.Call(t, erin, "POST", "/api/projects/claims/security/check", map[string]any{"path": "applications", "action": "view"}, nil); resp.StatusCode != 404 {
		t.Fatalf("non-member: %d", resp.StatusCode)
	}
	a.Must(t, dave, "PUT", "/api/projects/claims/security/entries", grant("entities/master/customer", bobU, "modify"), 200)
	audit := a.Must(t, dave, "GET", "/api/projects/claims/audit?limit=5", nil, 200)
	top := audit["items"].([]any)[0].(map[string]any)
	if top["action"] != "security.grant" || fmt.Sprint(top["before"]) == "<nil>" || !strings.Contains(fmt.Sprint(top["before"]), "deny") || !strings.Contains(fmt.Sprint(top["after"]), "modify") {
		t.Fatalf("audit of a changed entry: %v", top)
	}
	// Revoking what is not there is a 404; a developer cannot revoke.
	if resp, _ := a.Call(t, dave, "DELETE", "/api/projects/claims/security/entries?path=applications/x&principal="+bobU, nil, nil); resp.StatusCode != 404 {
		t.Fatalf("revoke of nothing: %d", resp.StatusCode)
	}
	if resp, _ := a.Call(t, bob, "DELETE", "/api/projects/claims/security/entries?path=entities/master/customer&principal="+bobU, nil, nil); resp.StatusCode != 403 {
		t.Fatalf("developer revoke: %d", resp.StatusCode)
	}
}
