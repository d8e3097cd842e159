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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// TestPolicyAndRuntimeTakeIfMatch (issue 19, finding 5): two admins read the
// maintenance policy (or the runtime settings), both change it; the second
// one's write, based on what the first replaced, is refused with 412 and
// a detail instead of silently overwriting it. GET and PUT answer an
// ETag; a PUT without If-Match still works (If-Match is optional on every
// route). Before the fix neither route answered an ETag and both writes
// succeeded.
func TestPolicyAndRuntimeTakeIfMatch(t *testing.T) {
	t.Parallel()
	a, _ := deployFixture(t)
	for _, row := range []struct {
		path        string
		first, next any
	}{
		{envBase + "/maintenance-policy",
			map[string]any{"schedules": []string{"0 0 2 * * Sat"}, "timeZone": "UTC", "durationMinutes": 30},
			map[string]any{"schedules": []string{"0 0 3 * * Sun"}, "timeZone": "UTC", "durationMinutes": 45}},
		{envBase + "/runtime",
			map[string]any{"portal": map[string]any{"healthUrl": "https://portal.example.com/health"}},
			map[string]any{"portal": map[string]any{"healthUrl": "https://portal.example.com/ready"}}},
	} {
		resp, _ := a.Call(t, carol, "GET", row.path, nil, nil)
		read := resp.Header.Get("ETag")
		if resp.StatusCode != 200 || read == "" {
			t.Fatalf("GET %s: %d, ETag %q", row.path, resp.StatusCode, read)
		}
		resp, m := a.Call(t, carol, "PUT", row.path, row.first, map[string]string{"If-Match": read})
		if resp.StatusCode != 200 || resp.Header.Get("ETag") == "" || resp.Header.Get("ETag") == read {
			t.Fatalf("carol's PUT %s: %d %v, ETag %q", row.path, resp.StatusCode, m, resp.Header.Get("ETag"))
		}
		written := resp.Header.Get("ETag")
		if again, _ := a.Call(t, dave, "GET", row.path, nil, nil); again.Header.Get("ETag") != written {
			t.Fatalf("GET %s after the PUT: ETag %q, the PUT answered %q", row.path, again.Header.Get("ETag"), written)
		}
		resp, m = a.Call(t, dave, "PUT", row.path, row.next, map[string]string{"If-Match": read})
		if resp.StatusCode != 412 || !strings.Contains(fmt.Sprint(m["detail"]), "changed since you read it") {
			t.Fatalf("dave's stale PUT %s: %d %v, want 412", row.path, resp.StatusCode, m)
		}
		if got, _ := a.Call(t, dave, "GET", row.path, nil, nil); got.Header.Get("ETag") != written {
			t.Fatalf("the stale PUT %s wrote", row.path)
		}
		if resp, m := a.Call(t, dave, "PUT", row.path, row.next, map[string]string{"If-Match": written}); resp.StatusCode != 200 {
			t.Fatalf("dave's PUT %s with the current ETag: %d %v", row.path, resp.StatusCode, m)
		}
		a.Must(t, dave, "PUT", row.path, row.first, 200) // no If-Match: unconditional
	}
}

// TestEveryPostHonoursIdempotencyKey (issue 19, finding 4): README says POSTs
// take an Idempotency-Key. Each row posts twice with one key (the second
// answer is the first, replayed, and nothing runs twice) and once more with
// the same key and another body (422). Before the fix a job created again
// with its key answered 409 "exists", another body 409 too; the run-now,
// e-mail task, open-now and cancel POSTs ignored the key.
func TestEveryPostHonoursIdempotencyKey(t *testing.T) {
	t.Parallel()
	a, _ := deployFixture(t)
	jobs := envBase + "/jobs"
	a.Must(t, carol, "POST", jobs, map[string]any{"name": "base", "schedule": "0 0 2 * * *", "target": "/jobs/base"}, 201)
	rows := []struct {
		name, path  string
		body, other any
		setup       func(t *testing.T)
	}{
		{"create a job", jobs, map[string]any{"name": "nightly", "schedule": "0 0 2 * * *", "target": "/jobs/close"},
			map[string]any{"name": "nightly", "schedule": "0 0 3 * * *", "target": "/jobs/close"}, nil},
		{"run a job now", jobs + "/base/run", map[string]any{}, map[string]any{"x": 1}, nil},
		{"register an e-mail task", envBase + "/email-tasks", taskSpec("idem-1", "https://portal.example.com/tasks/idem-1"),
			taskSpec("idem-1", "https://portal.example.com/tasks/other"), nil},
		{"cancel a window", envBase + "/windows/w000001/cancel", map[string]any{}, map[string]any{"x": 1}, func(t *testing.T) {
			devCommit(t, a, bob, "entities/application/Claim")
			reconcile(t, a)
		}},
		{"open a window now", envBase + "/windows/open-now", map[string]any{}, map[string]any{"x": 1}, func(t *testing.T) {
			devCommit(t, a, bob, "rules/functions/restart-me")
			a.ApplyPending(t, "claims", "development")
		}},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			if row.setup != nil {
				row.setup(t)
			}
			key := map[string]string{"Idempotency-Key": fmt.Sprintf("idem-key-%d", i)}
			first, m1 := a.Call(t, carol, "POST", row.path, row.body, key)
			if first.StatusCode >= 300 {
				t.Fatalf("first: %d %v", first.StatusCode, m1)
			}
			again, m2 := a.Call(t, carol, "POST", row.path, row.body, key)
			j1, _ := json.Marshal(m1)
			j2, _ := json.Marshal(m2)
			if again.StatusCode != first.StatusCode || string(j1) != string(j2) || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("replay: %d %s, first %d %s", again.StatusCode, j2, first.StatusCode, j1)
			}
			other, m3 := a.Call(t, carol, "POST", row.path, row.other, key)
			if other.StatusCode != 422 {
				t.Fatalf("another body with the key: %d %v", other.StatusCode, m3)
			}
		})
	}
}

// TestUnsafeTargetsAreRefusedWhenSaved (issue 19, finding 7): metadata
// addresses in a saved URL (in any spelling), control characters in a job's
// target and an allow-list whose union opens everything are refused with
// 400 when saved, and nothing is stored; before the fix each was accepted
// (the URLs were refused only when dialled).
func TestUnsafeTargetsAreRefusedWhenSaved(t *testing.T) {
	t.Parallel()
	a, _ := deployFixture(t)
	rows := []struct {
		name, method, path string
		body               any
		detail             string
	}{
		{"schedulerUrl on the metadata endpoint", "PATCH", envBase, map[string]any{"schedulerUrl": "http://169.254.169.254/latest"}, "cloud metadata"},
		{"workPortalUrl on mapped metadata", "PATCH", envBase, map[string]any{"workPortalUrl": "http://[::ffff:169.254.169.254]/"}, "cloud metadata"},
		{"healthUrl on IPv6 metadata", "PUT", envBase + "/runtime", map[string]any{"portal": map[string]any{"healthUrl": "http://[fd00:ec2::254]/health"}}, "cloud metadata"},
		{"restartUrl on the Azure platform endpoint", "PUT", envBase + "/runtime", map[string]any{"scheduler": map[string]any{"restartUrl": "http://168.63.129.16/restart"}}, "Azure platform endpoint"},
		{"callbackUrl on IPv4-compatible metadata", "POST", envBase + "/email-tasks", taskSpec("meta-1", "http://[::169.254.169.254]/cb"), "cloud metadata"},
		{"job target with CRLF", "POST", envBase + "/jobs", map[string]any{"name": "smuggle", "schedule": "0 0 2 * * *", "target": "/jobs/a HTTP/1.1\r\nX-Injected: 1"}, "control characters"},
		{"job target with NUL", "POST", envBase + "/jobs", map[string]any{"name": "nul", "schedule": "0 0 2 * * *", "target": "/jobs/a\x00b"}, "control characters"},
		{"allowNetworks halves of IPv4", "PUT", envBase + "/connector-settings", map[string]any{"allowNetworks": []string{"0.0.0.0/1", "128.0.0.0/1"}}, "cover every address"},
		{"allowNetworks halves of IPv6", "PUT", envBase + "/connector-settings", map[string]any{"allowNetworks": []string{"::/1", "8000::/1"}}, "cover every address"},
	}
	state := func() string {
		var b strings.Builder
		for _, p := range []string{envBase, envBase + "/runtime", envBase + "/jobs", envBase + "/connector-settings", "/api/projects/claims/audit"} {
			_, m := a.Call(t, alice, "GET", p, nil, nil)
			raw, _ := json.Marshal(m)
			b.WriteString(p + " " + string(raw) + "\n")
		}
		return b.String()
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			before := state()
			resp, m := a.Call(t, carol, row.method, row.path, row.body, nil)
			if resp.StatusCode != 400 || !strings.Contains(fmt.Sprint(m["detail"]), row.detail) {
				t.Fatalf("%s %s: %d %v, want 400 with %q", row.method, row.path, resp.StatusCode, m, row.detail)
			}
			if after := state(); after != before {
				t.Errorf("the refused request wrote:\n%s\n%s", before, after)
			}
		})
	}
}
