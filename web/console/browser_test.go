package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/studio-collab/collab/handlers"
	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/web/console/consoletest"
)

// TestMain installs Chromium when it is missing and shares one Azurite.
func TestMain(m *testing.M) { consoletest.Main(m) }

const (
	alice = "alice@example.com" // Subscription Owner, owner of claims
	bob   = "bob@example.com"   // developer, team finance
	carol = "carol@example.com" // admin
)

// demo runs the whole API with the console mounted as the handler mounts
// it, seeded like `make run`: subscription demo, project claims with
// environments development and test, alice owner, bob developer in team
// finance, carol admin. configure (may be nil) changes the console's
// configuration.
func demo(t *testing.T, cfg *handlers.ConsoleConfig) *handlertest.API {
	t.Helper()
	if cfg == nil {
		cfg = &handlers.ConsoleConfig{DevAuth: true, DemoUsers: []string{alice, bob, carol}}
	}
	a := handlertest.StartWith(t, func(d *handlers.Deps) {
		c, err := handlers.NewConsole(*cfg)
		if err != nil {
			t.Fatal(err)
		}
		d.Console = c
	})
	a.Must(t, alice, "POST", "/api/subscriptions", map[string]any{"id": "demo", "name": "Demo subscription"}, 201)
	a.Invite(t, alice, "demo", bob)
	a.Invite(t, alice, "demo", carol)
	a.Must(t, alice, "POST", "/api/subscriptions/demo/projects", map[string]any{"id": "claims", "name": "Claims"}, 201)
	for email, role := range map[string]string{alice: "owner", bob: "developer", carol: "admin"} {
		a.Must(t, alice, "PUT", "/api/projects/claims/members/"+userID(email), map[string]any{"role": role}, 201)
	}
	for _, env := range []string{"development", "test"} {
		a.Must(t, alice, "POST", "/api/projects/claims/environments", map[string]any{"name": env, "kind": env}, 201)
	}
	a.Must(t, alice, "POST", "/api/projects/claims/teams", map[string]any{"id": "finance", "name": "Finance"}, 201)
	a.Must(t, alice, "PUT", "/api/projects/claims/teams/finance/members/"+userID(bob), nil, 200)
	return a
}

func userID(email string) string { return platform.UserID(email) }

// TestSignInAsEachDemoUser: each demo user signs in with one click and
// sees their own subscriptions, projects, roles and navigation.
func TestSignInAsEachDemoUser(t *testing.T) {
	a := demo(t, nil)
	b := consoletest.New(t, a.URL)
	cases := []struct {
		email, role   string
		seesUsersLink bool
	}{
		{alice, "owner", true},
		{bob, "developer", false},
		{carol, "admin", false},
	}
	for i, c := range cases {
		tab := b.Laptop(c.email)
		tab.Go("/")
		tab.WaitText("Demo users:")
		if i == 0 {
			tab.Screenshot("signin")
		}
		tab.Click("Sign in as " + c.email)
		tab.WaitText("Your projects")
		tab.WaitText("Claims")
		text := tab.Text()
		if !strings.Contains(text, "Welcome, "+strings.Split(c.email, "@")[0]) || !strings.Contains(text, c.role) || !strings.Contains(text, "Demo subscription") {
			t.Fatalf("%s's overview:\n%s", c.email, text)
		}
		var nav, who string
		tab.Eval(`document.getElementById('nav').innerText`, &nav)
		tab.Eval(`document.getElementById('who').innerText`, &who)
		if !strings.Contains(who, c.email) {
			t.Fatalf("%s: the bar shows %q", c.email, who)
		}
		if strings.Contains(nav, "Users") != c.seesUsersLink || !strings.Contains(nav, "Security") {
			t.Fatalf("%s's navigation:\n%s", c.email, nav)
		}
		tab.Screenshot("overview-" + strings.Split(c.email, "@")[0])
	}

	// Any address through the form; a bad one is refused next to the field.
	tab := b.Laptop("form")
	tab.Go("/console/signin")
	tab.Fill("Any e-mail address", "E-mail", "not-an-address")
	tab.ClickIn("Any e-mail address", "Sign in")
	tab.WaitText("is not an e-mail address")
	if got := tab.FieldError("Any e-mail address", "E-mail"); !strings.HasPrefix(got, "invalid: ") || !strings.Contains(got, `"not-an-address" is not an e-mail address`) {
		t.Fatalf("field error %q", got)
	}
	tab.Screenshot("signin-field-error")
	tab.SignIn("newcomer@example.com")
	tab.WaitText("You belong to no subscription yet")
}

// TestPagesCarryTheirHeaders: the page is revalidated, assets are immutable
// under their version, and both carry the CSP and the other headers.
func TestPagesCarryTheirHeaders(t *testing.T) {
	a := handlertest.Start(t)
	resp, err := http.Get(a.URL + "/console/projects/x/members")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if resp.StatusCode != 200 || h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("page: %d %v", resp.StatusCode, h)
	}
	req, _ := http.NewRequest("GET", a.URL+"/", nil)
	req.Header.Set("If-None-Match", h.Get("ETag"))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation: %v %v", resp, err)
	}
	cfg := a.Must(t, "", "GET", "/api/console/config", nil, 200)
	version := cfg["version"].(string)
	for path, want := range map[string]int{
		"/console/assets/" + version + "/js/app.js":      200,
		"/console/assets/" + version + "/console.css":    200,
		"/console/assets/v-000000000000/js/app.js":       404, // another version
		"/console/assets/" + version + "/index.html":     404, // the page is not an asset
		"/console/assets/" + version + "/js/missing.js":  404,
		"/console/assets/" + version + "/../console.css": 404,
	} {
		resp, err := http.Get(a.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
		if want == 200 && (!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("Content-Security-Policy") == "") {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
	}
}
