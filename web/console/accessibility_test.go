package console_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp/kb"

	"github.com/studio-collab/collab/handlers/handlertest"
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
	a.Invite(t, alice, "demo", "erin@example.com")
	a.Must(t, alice, "POST", "/api/projects/claims/environments/development/jobs",
		map[string]any{"name": "nightly", "schedule": "0 30 2 * * *", "target": "/jobs/close"}, 201)

	// An entry of someone who is no longer a member: shown by name.
	a.Must(t, alice, "PUT", "/api/projects/claims/members/"+userID("erin@example.com"), map[string]any{"role": "developer"}, 201)
	a.Must(t, alice, "PUT", "/api/projects/claims/security/entries", map[string]any{"path": obj, "principal": "user:" + userID("erin@example.com"), "level": "deny"}, 200)
	a.Must(t, alice, "DELETE", "/api/projects/claims/members/"+userID("erin@example.com"), nil, 204)
	// A deep path, as real processes have: the entries table keeps it in its card.
	a.Must(t, alice, "PUT", "/api/projects/claims/security/entries", map[string]any{"path": obj + "/versions/12/forms/reimbursement-of-medical-expenses-main-form", "principal": "user:" + userID(bob), "level": "modify"}, 200)

	// A refusal, so that the Security screen has counts, a chart and an event.
	a.Must(t, "olga@example.com", "POST", "/api/subscriptions", map[string]any{"id": "other"}, 201)
	a.Must(t, "olga@example.com", "GET", "/api/projects/claims", nil, 404)

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
		"/subscriptions/:s/security":        {"/console/subscriptions/demo/security"},
		"/projects/:p/members":              {"/console/projects/claims/members"},
		"/projects/:p/teams":                {"/console/projects/claims/teams"},
		"/projects/:p/security":             {"/console/projects/claims/security?path=applications%2Fclaims"},
		"/projects/:p/catalog":              {"/console/projects/claims/catalog"},
		"/projects/:p/catalog/object":       {"/console/projects/claims/catalog/object?path=" + url.QueryEscape(obj)},
		"/projects/:p/catalog/commits/:seq": {fmt.Sprintf("/console/projects/claims/catalog/commits/%d", seq)},
		"/projects/:p/catalog/changes":      {"/console/projects/claims/catalog/changes"},
		"/projects/:p/catalog/locks":        {"/console/projects/claims/catalog/locks"},
		"/projects/:p/environments": {"/console/projects/claims/environments", "/console/projects/claims/environments?env=development&tab=deployments",
			"/console/projects/claims/environments?env=development&tab=policy", "/console/projects/claims/environments?env=development&tab=settings"},
		"/projects/:p/jobs":       {"/console/projects/claims/jobs?env=development&job=nightly"},
		"/projects/:p/parameters": {"/console/projects/claims/parameters"},
		"/projects/:p/connectors": {"/console/projects/claims/connectors"},
		"/projects/:p/email":      {"/console/projects/claims/email"},
		"/projects/:p/audit":      {"/console/projects/claims/audit"},
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
			tablesFit(t, tab, strings.TrimPrefix(at, "/console"))
		}
	}

	// Every link of the navigation has its own name (finding 9: two were
	// "Audit log").
	tab.Go("/console/projects/claims/members")
	tab.WaitJS(`document.querySelectorAll('#nav a').length > 5`)
	var names []string
	tab.Eval(`[...document.querySelectorAll('#nav a')].map((a) => a.textContent.trim())`, &names)
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("two navigation links are named %q: %q", n, names)
		}
		seen[n] = true
	}

	// The security entries name the people, members or not (finding 9).
	tab.Go("/console/projects/claims/security?path=applications%2Fclaims")
	tab.WaitText("Entries on applications/claims and below")
	if txt := tab.Text(); !strings.Contains(txt, "erin@example.com") || strings.Contains(txt, "user:u-") {
		t.Fatalf("the entries show:\n%s", txt)
	}
	// The grant's path is picked from the tree: the nodes above, this one
	// and those below it; nothing to type, never empty (findings 9 and 10).
	var options []string
	tab.Eval(`[...[...document.querySelectorAll('main form')].find((f) => f.querySelector('h3')?.textContent === 'Grant').querySelector('select[name=path]').options].map((o) => o.value)`, &options)
	if !slices.Contains(options, "applications") || !slices.Contains(options, "applications/claims") || !slices.Contains(options, "applications/claims/processes") || slices.Contains(options, "") {
		t.Fatalf("the grant's paths: %q", options)
	}
}

// tablesFit fails the test when a table of the screen, every detail
// opened, is wider than its card at the tab's width (1280 px: its cells
// would be cut off or scroll), or scrolls without being a focusable
// region (issue 19, findings 9 and 10).
func tablesFit(t *testing.T, tab *consoletest.Tab, where string) {
	t.Helper()
	tab.Eval(`document.querySelectorAll('main details').forEach((d) => { d.open = true; }), true`, new(bool))
	var over []string
	tab.EvalAwait(`new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(
  [...document.querySelectorAll('main .table-wrap')].flatMap((w) => {
    const card = w.closest('.card') || document.getElementById('main');
    const name = (w.querySelector('caption') || {}).textContent || 'a table';
    const out = [];
    if (w.getBoundingClientRect().right > card.getBoundingClientRect().right + 1) out.push(name + ': wider than its card');
    if (w.scrollWidth > w.clientWidth + 1) out.push(name + ': scrolls sideways (' + w.scrollWidth + ' > ' + w.clientWidth + ' px)' + (w.tabIndex === 0 ? '' : ', and the keyboard cannot reach it'));
    return out;
  })))))`, &over)
	tab.Eval(`document.querySelectorAll('main details').forEach((d) => { d.open = false; }), true`, new(bool))
	if len(over) > 0 {
		tab.Screenshot("wide-" + strings.NewReplacer("/", "-", "?", "-", "=", "-").Replace(strings.Trim(where, "/")))
		t.Errorf("%s at %s: %s", where, tab.Name, strings.Join(over, "; "))
	}
}

// roleOf is who's role in claims, as the API lists it.
func roleOf(t *testing.T, a *handlertest.API, who string) any {
	t.Helper()
	for _, m := range a.Must(t, alice, "GET", "/api/projects/claims/members", nil, 200)["items"].([]any) {
		if m := m.(map[string]any); m["email"] == who {
			return m["role"]
		}
	}
	return nil
}

// focusOn moves the keyboard focus to the element selector names.
func focusOn(tab *consoletest.Tab, selector string) {
	tab.WaitJS(fmt.Sprintf(`!!document.querySelector(%q)`, selector))
	tab.Eval(fmt.Sprintf(`document.querySelector(%q).focus(), document.activeElement === document.querySelector(%q)`, selector, selector), new(bool))
}

// TestChoicesWaitForAnExplicitAction (issue 19, finding 10; WCAG 3.2.2):
// an arrow key in a member's Role select, the sidebar's project picker or
// an environment picker changes nothing but the select; the choice takes
// effect on its button, and the focus stays where it was. The skip link
// moves the focus to the content without rendering the screen again.
func TestChoicesWaitForAnExplicitAction(t *testing.T) {
	a := demo(t, nil)
	a.Must(t, alice, "POST", "/api/subscriptions/demo/projects", map[string]any{"id": "intake", "name": "Intake"}, 201)
	b := consoletest.New(t, a.URL)
	tab := b.Laptop("keyboard")
	tab.SignIn(alice)
	tab.Go("/console/projects/claims/members")
	tab.WaitText("Members of Claims")

	// The Role select: ArrowDown moves the choice, nothing is sent.
	const role = `select[aria-label="Role of carol@example.com"]`
	focusOn(tab, role)
	tab.Key(kb.ArrowDown)
	tab.WaitJS(`document.querySelector('` + role + `').value === 'owner'`)
	var state string
	tab.Eval(`[document.activeElement.getAttribute('aria-label'), document.querySelector('button[aria-label="Save role of carol@example.com"]')?.disabled].join(' ')`, &state)
	if state != "Role of carol@example.com false" {
		t.Fatalf("after ArrowDown on the Role select: focus and Save disabled: %q", state)
	}
	if r := roleOf(t, a, carol); r != "admin" {
		t.Fatalf("an arrow key changed the role to %v", r)
	}
	tab.Key("\t") // to Save
	tab.Key("\r")
	tab.WaitAnnounced("carol@example.com is now owner.")
	tab.WaitJS(`document.activeElement.matches('` + role + `, button[aria-label="Save role of carol@example.com"]')`)
	if r := roleOf(t, a, carol); r != "owner" {
		t.Fatalf("Save made the role %v", r)
	}

	// The sidebar's project picker: an arrow key does not navigate; Open does.
	focusOn(tab, `#nav select`)
	tab.Key(kb.ArrowDown)
	tab.WaitJS(`document.querySelector('#nav select').selectedIndex === 1`)
	var where string
	tab.Eval(`location.pathname + ' ' + document.activeElement.tagName`, &where)
	if where != "/console/projects/claims/members SELECT" {
		t.Fatalf("after ArrowDown on the project picker: %q", where)
	}
	tab.Click("Open project")
	tab.WaitText("Members of Intake")

	// An environment picker: the same.
	tab.Go("/console/projects/claims/jobs")
	tab.WaitText("Environment")
	focusOn(tab, `main form.chooser select`)
	tab.Key(kb.ArrowDown)
	tab.WaitJS(`document.querySelector('main form.chooser select').value === 'test'`)
	tab.Eval(`location.pathname + location.search + ' ' + document.activeElement.tagName`, &where)
	if where != "/console/projects/claims/jobs SELECT" {
		t.Fatalf("after ArrowDown on the environment picker: %q", where)
	}
	tab.Click("Show environment")
	tab.WaitJS(`location.search === '?env=test'`)

	// The skip link: the focus moves to main, the screen stays as it was
	// (no new render, no API call).
	tab.Go("/console/projects/claims/members")
	tab.WaitText("Members of Claims")
	ready(tab)
	tab.Eval(`(() => {
  window.__hash = false;
  addEventListener('hashchange', () => { window.__hash = true; }, { once: true });
  document.querySelector('main h1').dataset.mark = 'before';
  window.__calls = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/')).length;
  document.querySelector('a.skip').focus();
  return true;
})()`, new(bool))
	tab.Key("\r")
	tab.WaitJS(`window.__hash === true && document.activeElement.id === 'main'`)
	var kept string
	tab.Eval(`(document.querySelector('main h1') || {dataset: {}}).dataset.mark + ' ' + (performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/')).length - window.__calls)`, &kept)
	if kept != "before 0" {
		t.Fatalf("the skip link rendered the screen again (heading mark, new API calls): %q", kept)
	}
}
