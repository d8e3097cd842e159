package handlers_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/studio-collab/collab/handlers/handlertest"
)

// snapshot reads what a refused request could have written: the users,
// projects, teams, environments and both audit logs.
func snapshot(t *testing.T, a *handlertest.API) string {
	t.Helper()
	var b strings.Builder
	for _, path := range []string{"/api/subscriptions/acme/users", "/api/subscriptions/acme/audit", "/api/subscriptions/acme/projects",
		"/api/projects/claims/audit", "/api/projects/claims/teams", "/api/projects/claims/environments", "/api/projects/claims"} {
		_, m := a.Call(t, alice, "GET", path, nil, nil)
		raw, _ := json.Marshal(m)
		b.WriteString(path + " " + string(raw) + "\n")
	}
	return b.String()
}

// TestRefusedRequestWritesNothing (issue 19, finding 1): "Bad input:
// problem+json with the right status and a detail; nothing stored." Each row
// is a request that is refused with 400; afterwards every list it could have
// written to reads as before (the audit logs included). The invitation row
// failed before the fix: erin was stored as invited, with the CRLF name,
// and the audit had user.invite.
func TestRefusedRequestWritesNothing(t *testing.T) {
	a := fixture(t)
	rows := []struct {
		name, method, path string
		body               any
		detail             string
	}{
		{"an invitation whose name smuggles a header", "POST", "/api/subscriptions/acme/users",
			map[string]any{"email": "newbie@example.com", "name": "Newbie\r\nBcc: injected@evil.test"}, ""},
		{"an invitation whose name holds NUL", "POST", "/api/subscriptions/acme/users",
			map[string]any{"email": "newbie@example.com", "name": "New\x00bie"}, "control characters"},
		{"a project name with CRLF", "POST", "/api/subscriptions/acme/projects",
			map[string]any{"id": "crlf", "name": "Claims\r\nX-Injected: 1"}, "control characters"},
		{"a project description with NUL", "POST", "/api/subscriptions/acme/projects",
			map[string]any{"id": "nul", "description": "a\x00b"}, "control characters"},
		{"a rename with CRLF", "PATCH", "/api/projects/claims", map[string]any{"name": "x\r\ny"}, "control characters"},
		{"a description with CR", "PATCH", "/api/projects/claims", map[string]any{"description": "x\ry"}, "control characters"},
		{"a team name with LF", "POST", "/api/projects/claims/teams", map[string]any{"id": "qa", "name": "Q\nA"}, "control characters"},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			before := snapshot(t, a)
			resp, m := a.Call(t, alice, row.method, row.path, row.body, nil)
			if resp.StatusCode != 400 || !strings.Contains(m["detail"].(string), row.detail) {
				t.Fatalf("%s %s: %d %v, want 400 with %q", row.method, row.path, resp.StatusCode, m, row.detail)
			}
			if after := snapshot(t, a); after != before {
				t.Errorf("a refused request wrote:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestIDsAreTwoToFortyCharacters (issue 19, finding 9): the rule says "2–40
// characters"; before the fix a team id "qa" was refused with it while "q"
// was accepted.
func TestIDsAreTwoToFortyCharacters(t *testing.T) {
	a := fixture(t)
	forty := strings.Repeat("a", 39) + "z"
	for _, row := range []struct {
		id   string
		want int
	}{{"qa", 201}, {"q", 400}, {forty, 201}, {forty + "x", 400}, {"-qa", 400}, {"qa-", 400}, {"q-a", 201}} {
		resp, m := a.Call(t, alice, "POST", "/api/projects/claims/teams", map[string]any{"id": row.id}, nil)
		if resp.StatusCode != row.want {
			t.Errorf("team id %q: %d %v, want %d", row.id, resp.StatusCode, m, row.want)
		}
	}
}
