package handlers_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/platform"
)

const (
	alice   = "alice@example.com"   // Subscription Owner of acme
	bob     = "bob@example.com"     // developer in claims
	carol   = "carol@example.com"   // admin in claims
	dave    = "dave@example.com"    // Project Owner of claims (not a Subscription Owner)
	erin    = "erin@example.com"    // user of acme, member of no project
	mallory = "mallory@example.com" // disabled in acme
	olga    = "olga@example.com"    // owner of another subscription
	zed     = "zed@example.com"     // acme user that rows add and remove
)

// fixture builds the demo-like world the matrix runs against.
func fixture(t *testing.T) *handlertest.API {
	a := handlertest.Start(t)
	a.Must(t, alice, "POST", "/api/subscriptions", map[string]any{"id": "acme", "name": "Acme"}, 201)
	a.Must(t, olga, "POST", "/api/subscriptions", map[string]any{"id": "other"}, 201)
	for _, u := range []string{bob, carol, dave, erin, mallory, zed} {
		a.Invite(t, alice, "acme", u)
	}
	a.Must(t, alice, "POST", "/api/subscriptions/acme/projects", map[string]any{"id": "claims", "name": "Claims"}, 201)
	for u, role := range map[string]string{dave: "owner", bob: "developer", carol: "admin", mallory: "developer"} {
		a.Must(t, alice, "PUT", "/api/projects/claims/members/"+platform.UserID(u), map[string]any{"role": role}, 201)
	}
	a.Must(t, alice, "POST", "/api/projects/claims/teams", map[string]any{"id": "finance"}, 201)
	a.Must(t, alice, "PUT", "/api/projects/claims/teams/finance/members/"+platform.UserID(bob), nil, 200)
	a.Must(t, alice, "POST", "/api/projects/claims/environments", map[string]any{"name": "development", "kind": "development"}, 201)
	a.Token(t, mallory) // a token issued before she is disabled
	a.Must(t, alice, "PATCH", "/api/subscriptions/acme/users/"+platform.UserID(mallory), map[string]any{"disabled": true}, 200)
	return a
}

type row struct {
	method, path string
	body         any
	setup        func(t *testing.T, a *handlertest.API, n int) // n makes ids unique per row
	want         map[string]int                                // by caller; missing = def
	def          int
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	zedID := platform.UserID(zed)
	expired, _ := a.Issuer.IssueRaw(map[string]any{"email": bob}, identity.DevSubject(bob), handlertest.Audience, time.Now().Add(-3*time.Hour), time.Hour)
	callers := []struct{ name, who string }{
		{"anonymous", ""}, {"bad token", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln"}, {"expired token", "Bearer " + expired},
		{"disabled user", mallory}, {"non-member", erin}, {"developer", bob}, {"admin", carol},
		{"project owner", dave}, {"subscription owner", alice}, {"other subscription's owner", olga},
	}
	subUsers := func(ok int) map[string]int {
		return map[string]int{erin: ok, bob: ok, carol: ok, dave: ok, alice: ok, olga: 404}
	}
	subOwnerOnly := func(ok int) map[string]int {
		return map[string]int{erin: 403, bob: 403, carol: 403, dave: 403, alice: ok, olga: 404}
	}
	project := func(dev, adm, own int) map[string]int {
		return map[string]int{erin: 404, bob: dev, carol: adm, dave: own, alice: own, olga: 404}
	}
	ensureZed := func(t *testing.T, a *handlertest.API, n int) {
		resp, m := a.Call(t, alice, "PUT", "/api/projects/claims/members/"+zedID, map[string]any{"role": "developer"}, nil)
		if resp.StatusCode != 200 && resp.StatusCode != 201 {
			t.Fatalf("setup: %d %v", resp.StatusCode, m)
		}
	}
	rows := []row{
		{method: "GET", path: "/api/me", def: 200},
		{method: "POST", path: "/api/subscriptions", body: "sub", def: 201},
		{method: "GET", path: "/api/subscriptions/acme", want: subUsers(200)},
		{method: "GET", path: "/api/subscriptions/acme/users", want: subOwnerOnly(200)},
		{method: "POST", path: "/api/subscriptions/acme/users", body: "invite", want: subOwnerOnly(201)},
		{method: "PATCH", path: "/api/subscriptions/acme/users/" + zedID, body: map[string]any{"disabled": false}, want: subOwnerOnly(200)},
		{method: "POST", path: "/api/invitations/{token}/accept", def: 404}, // someone else's invitation
		{method: "GET", path: "/api/subscriptions/acme/projects", want: subUsers(200)},
		{method: "POST", path: "/api/subscriptions/acme/projects", body: "project", want: subOwnerOnly(201)},
		{method: "GET", path: "/api/subscriptions/acme/audit", want: subOwnerOnly(200)},
		{method: "GET", path: "/api/projects/claims", want: project(200, 200, 200)},
		{method: "PATCH", path: "/api/projects/claims", body: map[string]any{"description": "claims handling"}, want: project(403, 403, 200)},
		{method: "DELETE", path: "/api/projects/{tmp}", want: project(403, 403, 204)},
		{method: "GET", path: "/api/projects/claims/members", want: project(200, 200, 200)},
		{method: "PUT", path: "/api/projects/claims/members/" + zedID, body: map[string]any{"role": "developer"}, setup: ensureZed, want: project(403, 403, 200)},
		{method: "DELETE", path: "/api/projects/claims/members/" + zedID, setup: ensureZed, want: project(403, 403, 204)},
		{method: "GET", path: "/api/projects/claims/teams", want: project(200, 200, 200)},
		{method: "POST", path: "/api/projects/claims/teams", body: "team", want: project(403, 403, 201)},
		{method: "DELETE", path: "/api/projects/claims/teams/{team}", want: project(403, 403, 204)},
		{method: "PUT", path: "/api/projects/claims/teams/finance/members/" + zedID, setup: ensureZed, want: project(403, 403, 200)},
		{method: "DELETE", path: "/api/projects/claims/teams/finance/members/" + zedID, setup: func(t *testing.T, a *handlertest.API, n int) {
			ensureZed(t, a, n)
			a.Must(t, alice, "PUT", "/api/projects/claims/teams/finance/members/"+zedID, nil, 200)
		}, want: project(403, 403, 204)},
		{method: "GET", path: "/api/projects/claims/environments", want: project(200, 200, 200)},
		{method: "POST", path: "/api/projects/claims/environments", body: "environment", want: project(403, 201, 201)},
		{method: "GET", path: "/api/projects/claims/environments/development", want: project(200, 200, 200)},
		{method: "PATCH", path: "/api/projects/claims/environments/development", body: map[string]any{"status": "running"}, want: project(403, 200, 200)},
		{method: "GET", path: "/api/projects/claims/audit", want: project(403, 403, 200)},
	}
	n := 0
	total := 0
	for _, r := range rows {
		for _, c := range callers {
			n++
			want := r.def
			if w, ok := r.want[c.who]; ok {
				want = w
			}
			switch c.name {
			case "anonymous", "bad token", "expired token", "disabled user":
				want = 401
			}
			name := fmt.Sprintf("%s %s as %s", r.method, r.path, c.name)
			t.Run(name, func(t *testing.T) {
				if r.setup != nil {
					r.setup(t, a, n)
				}
				path := r.path
				path = strings.ReplaceAll(path, "{tmp}", fmt.Sprintf("tmp-%d", n))
				if strings.Contains(r.path, "{tmp}") {
					a.Must(t, alice, "POST", "/api/subscriptions/acme/projects", map[string]any{"id": fmt.Sprintf("tmp-%d", n)}, 201)
					for u, role := range map[string]string{dave: "owner", bob: "developer", carol: "admin"} {
						a.Must(t, alice, "PUT", fmt.Sprintf("/api/projects/tmp-%d/members/%s", n, platform.UserID(u)), map[string]any{"role": role}, 201)
					}
				}
				if strings.Contains(r.path, "{team}") {
					a.Must(t, alice, "POST", "/api/projects/claims/teams", map[string]any{"id": fmt.Sprintf("tmp-%d", n)}, 201)
					path = strings.ReplaceAll(path, "{team}", fmt.Sprintf("tmp-%d", n))
				}
				if strings.Contains(r.path, "{token}") {
					inv := a.Must(t, alice, "POST", "/api/subscriptions/acme/users", map[string]any{"email": fmt.Sprintf("newbie-%d@example.com", n)}, 201)
					path = strings.ReplaceAll(path, "{token}", inv["token"].(string))
				}
				var body any = r.body
				switch r.body {
				case "sub":
					body = map[string]any{"id": fmt.Sprintf("sub-%d", n)}
				case "invite":
					body = map[string]any{"email": fmt.Sprintf("invitee-%d@example.com", n)}
				case "project":
					body = map[string]any{"id": fmt.Sprintf("proj-%d", n)}
				case "team":
					body = map[string]any{"id": fmt.Sprintf("team-%d", n)}
				case "environment":
					body = map[string]any{"name": fmt.Sprintf("env-%d", n), "kind": "test"}
				}
				resp, m := a.Call(t, c.who, r.method, path, body, nil)
				if resp.StatusCode != want {
					t.Fatalf("status %d, want %d: %v", resp.StatusCode, want, m)
				}
				if want >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("error answer is not problem+json: %q", resp.Header.Get("Content-Type"))
				}
				if want == 401 && resp.Header.Get("WWW-Authenticate") != "Bearer" {
					t.Fatal("401 without WWW-Authenticate: Bearer")
				}
			})
			total++
		}
	}
	t.Logf("authorization matrix: %d endpoints x %d callers = %d rows", len(rows), len(callers), total)
}
