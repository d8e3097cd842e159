package handlers_test

import (
	"encoding/json"
	"fmt"
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

// TestUnknownETagIsPreconditionFailed (issue 19, finding 6): a well-formed
// ETag that is not the current one answers 412 with a detail, as on every
// other route; before the fix the project and environment PATCH (and the
// project DELETE) passed it to storage and answered 400 without a detail.
func TestUnknownETagIsPreconditionFailed(t *testing.T) {
	a := fixture(t)
	for _, tag := range []string{`W/"datetime'2020-01-01T00%3A00%3A00.0000000Z'"`, `"0x8DC0000000000000"`, `"nonsense"`} {
		for _, row := range []struct {
			method, path string
			body         any
		}{
			{"PATCH", "/api/projects/claims", map[string]any{"name": "Renamed"}},
			{"PATCH", "/api/projects/claims/environments/development", map[string]any{"workPortalUrl": "https://portal.example.com"}},
			{"DELETE", "/api/projects/claims", nil},
		} {
			before := snapshot(t, a)
			resp, m := a.Call(t, alice, row.method, row.path, row.body, map[string]string{"If-Match": tag})
			if resp.StatusCode != 412 || !strings.Contains(fmt.Sprint(m["detail"]), "changed since you read it") {
				t.Errorf("%s %s If-Match %s: %d %v, want 412 with a detail", row.method, row.path, tag, resp.StatusCode, m)
			}
			if after := snapshot(t, a); after != before {
				t.Errorf("%s %s with a stale If-Match wrote", row.method, row.path)
			}
		}
	}
	// The current tag still works.
	resp, _ := a.Call(t, alice, "GET", "/api/projects/claims", nil, nil)
	if resp, m := a.Call(t, alice, "PATCH", "/api/projects/claims", map[string]any{"name": "Renamed"}, map[string]string{"If-Match": resp.Header.Get("ETag")}); resp.StatusCode != 200 {
		t.Fatalf("PATCH with the current ETag: %d %v", resp.StatusCode, m)
	}
}
