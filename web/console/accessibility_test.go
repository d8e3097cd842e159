package console_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/studio-collab/collab/web/console/consoletest"
)

// ready waits until a screen has settled: its heading is there and no part
// of it is still loading (no progress line in main).
func ready(tab *consoletest.Tab) {
	tab.WaitJS(`!!document.querySelector('main h1') && !document.querySelector('main .progress') && !document.querySelector('main .loading')`)
}

// TestEveryScreenPassesAxe runs axe-core (pinned in package.json) on every
// screen the console routes (screens.js: the test fails when a screen is
// added without a visit here), as an owner with data on each, and on the
// sign-in screen signed out: 0 violations (issue 19, finding 10).
func TestEveryScreenPassesAxe(t *testing.T) {
	a := demo(t, nil)
	const obj = "applications/claims/processes/intake"
	seq := a.Commit(t, alice, "claims", obj, "entities/application/Claim/attributes/amount")
	lock(t, a, bob, obj)
	inv := a.Must(t, alice, "POST", "/api/subscriptions/demo/users", map[string]any{"email": "dave@example.com"}, 201)
	a.Must(t, alice, "POST", "/api/projects/claims/environments/development/jobs",
		map[string]any{"name": "nightly", "schedule": "0 30 2 * * *", "target": "/jobs/close"}, 201)

	b := consoletest.New(t, a.URL)
	out := b.Laptop("signed-out")
	out.Go("/console/signin")
	out.WaitText("Demo users:")
	out.AssertAccessible("/signin")

	tab := b.Laptop("alice")
	tab.SignIn(alice)
	visits := map[string][]string{ // screen path -> console addresses that show it
		"/":                                 {"/console/"},
		"/signin":                           nil, // above, signed out
		"/auth":                             nil, // a redirect target that shows the sign-in screen's module: see TestEntraSignInWithPKCE
		"/invitations/:token":               {"/console/invitations/" + url.PathEscape(inv["token"].(string))},
		"/subscriptions/:s/users":           {"/console/subscriptions/demo/users"},
		"/subscriptions/:s/projects":        {"/console/subscriptions/demo/projects"},
		"/subscriptions/:s/audit":           {"/console/subscriptions/demo/audit"},
		"/projects/:p/members":              {"/console/projects/claims/members"},
		"/projects/:p/teams":                {"/console/projects/claims/teams"},
		"/projects/:p/security":             {"/console/projects/claims/security?path=applications%2Fclaims"},
		"/projects/:p/catalog":              {"/console/projects/claims/catalog"},
		"/projects/:p/catalog/object":       {"/console/projects/claims/catalog/object?path=" + url.QueryEscape(obj)},
		"/projects/:p/catalog/commits/:seq": {fmt.Sprintf("/console/projects/claims/catalog/commits/%d", seq)},
		"/projects/:p/catalog/changes":      {"/console/projects/claims/catalog/changes"},
		"/projects/:p/catalog/locks":        {"/console/projects/claims/catalog/locks"},
		"/projects/:p/environments":         {"/console/projects/claims/environments"},
		"/projects/:p/jobs":                 {"/console/projects/claims/jobs?env=development&job=nightly"},
		"/projects/:p/parameters":           {"/console/projects/claims/parameters"},
		"/projects/:p/connectors":           {"/console/projects/claims/connectors"},
		"/projects/:p/email":                {"/console/projects/claims/email"},
		"/projects/:p/audit":                {"/console/projects/claims/audit"},
	}
	tab.WaitJS(`!!document.querySelector('script[type=module]')`)
	var routed []string
	tab.EvalAwait(`import(document.querySelector('script[type=module]').src.replace('app.js', 'screens.js')).then((m) => m.screens.map((s) => s.path))`, &routed)
	for _, p := range routed {
		if _, ok := visits[p]; !ok {
			t.Errorf("screen %s is not visited by this test: add it", p)
		}
	}
	keys := make([]string, 0, len(visits))
	for k := range visits {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, at := range visits[k] {
			tab.Go(at)
			ready(tab)
			tab.AssertAccessible(strings.TrimPrefix(at, "/console"))
		}
	}
}
