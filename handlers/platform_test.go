package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

// testAPI is the whole HTTP stack as main wires it, on Azurite, with the dev
// issuer served by the same server so tokens go through discovery over HTTP.
type testAPI struct {
	srv    *httptest.Server
	issuer *identity.DevIssuer
	clock  *atomic.Int64 // offset added to time.Now, in nanoseconds
	tokens map[string]string
}

func (a *testAPI) now() time.Time { return time.Now().Add(time.Duration(a.clock.Load())) }

var apiSeq atomic.Int64

func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	acct, err := store.Open(store.Config{ConnectionString: azuritetest.Server(t).ConnectionString(),
		TablePrefix: fmt.Sprintf("t%d", apiSeq.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(context.Background(), StorageLayouts()...); err != nil {
		t.Fatal(err)
	}
	a := &testAPI{clock: &atomic.Int64{}, tokens: map[string]string{}}
	a.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + a.srv.Listener.Addr().String()
	a.issuer, err = identity.NewDevIssuer(base+"/api/dev", "api://test", filepath.Join(t.TempDir(), "k.pem"), false, a.now)
	if err != nil {
		t.Fatal(err)
	}
	auth := identity.NewAuthenticator([]identity.IssuerConfig{a.issuer.Config()}, identity.WithClock(a.now), identity.WithDiscoveryRetry(0))
	log := audit.New(acct.Table("audit"), a.now)
	svc := platform.New(platform.OpenTables(acct), log, a.now)
	svc.CanCreateSubscriptions = func(platform.Caller) bool { return true }
	auth.SetGate(Gate{Svc: svc})
	rt := httpapi.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)), auth, 0)
	Register(rt, Deps{DevAuth: DevAuth{Issuer: a.issuer}, Platform: Platform{Svc: svc, Audit: log, Idem: idempotency.New(acct.Table("idempotency"))}})
	a.srv.Config.Handler = rt
	a.srv.Start()
	t.Cleanup(a.srv.Close)
	return a
}

func (a *testAPI) token(t *testing.T, email string) string {
	t.Helper()
	if tok, ok := a.tokens[email]; ok {
		return tok
	}
	resp, body := a.call(t, "", "POST", "/api/dev/token", map[string]string{"email": email}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("token for %s: %d %v", email, resp.StatusCode, body)
	}
	a.tokens[email] = body["access_token"].(string)
	return a.tokens[email]
}

// call sends a request; who is an e-mail (a dev token is fetched), a raw
// "Bearer ..." header, or "" for anonymous.
func (a *testAPI) call(t *testing.T, who, method, path string, body any, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, a.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case strings.HasPrefix(who, "Bearer "):
		req.Header.Set("Authorization", who)
	case who != "":
		req.Header.Set("Authorization", "Bearer "+a.token(t, who))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{"_raw": string(raw)}
	}
	return resp, m
}

func (a *testAPI) must(t *testing.T, who, method, path string, body any, want int) map[string]any {
	t.Helper()
	resp, m := a.call(t, who, method, path, body, nil)
	if resp.StatusCode != want {
		t.Fatalf("%s %s as %s: %d, want %d: %v", method, path, who, resp.StatusCode, want, m)
	}
	return m
}

// invite invites email to sub as owner and has that person accept.
func (a *testAPI) invite(t *testing.T, owner, sub, email string) {
	t.Helper()
	inv := a.must(t, owner, "POST", "/api/subscriptions/"+sub+"/users", map[string]any{"email": email}, 201)
	a.must(t, email, "POST", "/api/invitations/"+inv["token"].(string)+"/accept", nil, 200)
}

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
func fixture(t *testing.T) *testAPI {
	a := newTestAPI(t)
	a.must(t, alice, "POST", "/api/subscriptions", map[string]any{"id": "acme", "name": "Acme"}, 201)
	a.must(t, olga, "POST", "/api/subscriptions", map[string]any{"id": "other"}, 201)
	for _, u := range []string{bob, carol, dave, erin, mallory, zed} {
		a.invite(t, alice, "acme", u)
	}
	a.must(t, alice, "POST", "/api/subscriptions/acme/projects", map[string]any{"id": "claims", "name": "Claims"}, 201)
	for u, role := range map[string]string{dave: "owner", bob: "developer", carol: "admin", mallory: "developer"} {
		a.must(t, alice, "PUT", "/api/projects/claims/members/"+platform.UserID(u), map[string]any{"role": role}, 201)
	}
	a.must(t, alice, "POST", "/api/projects/claims/teams", map[string]any{"id": "finance"}, 201)
	a.must(t, alice, "PUT", "/api/projects/claims/teams/finance/members/"+platform.UserID(bob), nil, 200)
	a.must(t, alice, "POST", "/api/projects/claims/environments", map[string]any{"name": "development", "kind": "development"}, 201)
	a.token(t, mallory) // a token issued before she is disabled
	a.must(t, alice, "PATCH", "/api/subscriptions/acme/users/"+platform.UserID(mallory), map[string]any{"disabled": true}, 200)
	return a
}

type row struct {
	method, path string
	body         any
	setup        func(t *testing.T, a *testAPI, n int) // n makes ids unique per row
	want         map[string]int                        // by caller; missing = def
	def          int
}

func TestAuthorizationMatrix(t *testing.T) {
	a := fixture(t)
	zedID := platform.UserID(zed)
	expired, _ := a.issuer.IssueRaw(map[string]any{"email": bob}, identity.DevSubject(bob), "api://test", time.Now().Add(-3*time.Hour), time.Hour)
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
	ensureZed := func(t *testing.T, a *testAPI, n int) {
		resp, m := a.call(t, alice, "PUT", "/api/projects/claims/members/"+zedID, map[string]any{"role": "developer"}, nil)
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
		{method: "DELETE", path: "/api/projects/claims/teams/finance/members/" + zedID, setup: func(t *testing.T, a *testAPI, n int) {
			ensureZed(t, a, n)
			a.must(t, alice, "PUT", "/api/projects/claims/teams/finance/members/"+zedID, nil, 200)
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
					a.must(t, alice, "POST", "/api/subscriptions/acme/projects", map[string]any{"id": fmt.Sprintf("tmp-%d", n)}, 201)
					for u, role := range map[string]string{dave: "owner", bob: "developer", carol: "admin"} {
						a.must(t, alice, "PUT", fmt.Sprintf("/api/projects/tmp-%d/members/%s", n, platform.UserID(u)), map[string]any{"role": role}, 201)
					}
				}
				if strings.Contains(r.path, "{team}") {
					a.must(t, alice, "POST", "/api/projects/claims/teams", map[string]any{"id": fmt.Sprintf("tmp-%d", n)}, 201)
					path = strings.ReplaceAll(path, "{team}", fmt.Sprintf("tmp-%d", n))
				}
				if strings.Contains(r.path, "{token}") {
					inv := a.must(t, alice, "POST", "/api/subscriptions/acme/users", map[string]any{"email": fmt.Sprintf("newbie-%d@example.com", n)}, 201)
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
				resp, m := a.call(t, c.who, r.method, path, body, nil)
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
