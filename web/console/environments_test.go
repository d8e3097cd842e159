package console_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/deploy/standin"
	"github.com/studio-collab/collab/web/console/consoletest"
)

const (
	devEnv  = "/api/projects/claims/environments/development"
	testEnv = "/api/projects/claims/environments/test"
	envPage = "/console/projects/claims/environments"
)

// reconcile runs the WindowsReconcile timer function once, as the host
// would each minute.
func reconcile(t *testing.T, a *handlertest.API) {
	t.Helper()
	if code, resp := a.InvokeFunction(t, "WindowsReconcile", map[string]any{"timer": map[string]any{"IsPastDue": false}}); code != 200 {
		t.Fatalf("WindowsReconcile: %d %v", code, resp.Logs)
	}
}

// withWorkPortal points development at a Work Portal stand-in (served by
// httptest; hook runs before it answers each request) and test at a Work
// Portal that refuses every deployment with an XSS attempt as its answer.
// Health is probed every 20 ms.
func withWorkPortal(t *testing.T, a *handlertest.API, hook func(prefix, action string)) *standin.Server {
	t.Helper()
	portal := standin.New(0, nil)
	portal.OnRequest = hook
	srv := httptest.NewServer(portal)
	t.Cleanup(srv.Close)
	a.Must(t, carol, "PATCH", devEnv, map[string]any{"workPortalUrl": srv.URL + "/claims/development/portal", "schedulerUrl": srv.URL + "/claims/development/scheduler"}, 200)
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, xss)
	}))
	t.Cleanup(refusing.Close)
	a.Must(t, carol, "PATCH", testEnv, map[string]any{"workPortalUrl": refusing.URL}, 200)
	svc := a.Services().Deploy
	svc.HealthInterval, svc.HealthTimeout = 20*time.Millisecond, 2*time.Second
	return portal
}

// refusedByField submits the form titled scope with its button submit and
// checks that the problem shows next to the field labelled label (marked
// invalid) and says want.
func refusedByField(t *testing.T, tab *consoletest.Tab, scope, label, submit, want string) {
	t.Helper()
	tab.ClickIn(scope, submit)
	tab.WaitText(want)
	if got := tab.FieldError(scope, label); !strings.HasPrefix(got, "invalid: ") || !strings.Contains(got, want) {
		t.Fatalf("%s: the field %s shows %q, want %q", scope, label, got, want)
	}
}

// noSideways fails the test when the page is wider than the tab (on a
// phone, the page would scroll sideways), naming the widest elements.
func noSideways(t *testing.T, tab *consoletest.Tab) {
	t.Helper()
	var over string
	tab.Eval(`(() => {
  const w = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= w) return '';
  return [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > w + 1)
    .slice(-5).map((e) => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).replace(/ /g, '.') : '') + ' ' + Math.round(e.getBoundingClientRect().right) + 'px: ' + (e.textContent || '').slice(0, 60)).join('\n');
})()`, &over)
	if over != "" {
		t.Fatalf("%s: the page is wider than the screen:\n%s", tab.Name, over)
	}
}

// openings are the instants the policy preview lists (its <time> elements).
func openings(t *testing.T, tab *consoletest.Tab) []time.Time {
	t.Helper()
	var raw []string
	tab.Eval(`[...document.querySelectorAll('ol.openings time')].map((x) => x.getAttribute('datetime'))`, &raw)
	var out []time.Time
	for _, s := range raw {
		at, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatalf("opening %q: %v", s, err)
		}
		out = append(out, at)
	}
	return out
}

// TestEnvironmentsMaintenanceWindow is the flow of the Environments screen
// against a Work Portal stand-in, with changes pushed through the catalog:
// an entity change waits for a window; carol (an admin, in Bogota)
// reschedules it (a time in the past refused by its field; the time she
// picked reaches the API in UTC) and cancels it; she edits the maintenance
// policy (a bad NCRONTAB line and a bad zone shown by their fields, the
// next openings previewed) and the runtime settings (a bad URL by its
// field); she opens the next window now and sees the maintenance banner
// with its expected end and the window's progress while the Work Portal
// restarts (held by the stand-in), and so does bob, a developer, on every
// screen (the shell's line) and on this one, with no admin control (the
// API refuses him when forced); then the status is running at the new
// sequence. A degraded environment shows its reason, where the Work
// Portal's answer is an XSS attempt, as text. Carol, demoted while her
// page is open, sees the API's refusal.
func TestEnvironmentsMaintenanceWindow(t *testing.T) {
	a := demo(t, nil)
	var hold atomic.Bool
	release := make(chan struct{})
	var released sync.Once
	free := func() { released.Do(func() { close(release) }) }
	portal := withWorkPortal(t, a, func(prefix, action string) {
		if action == "restart" && hold.Load() {
			<-release
		}
	})
	t.Cleanup(free) // after (so before, at cleanup) the servers' Close: a failure while the restart is held must not hang it
	form := a.Commit(t, bob, "claims", "applications/claims/processes/intake/versions/1/forms/main")
	entity := a.Commit(t, bob, "claims", "entities/application/Claim/attributes/amount")
	for i := 0; i < 6; i++ { // three refused hot deployments make test degraded
		reconcile(t, a)
		if a.Must(t, alice, "GET", testEnv+"/status", nil, 200)["status"] == "degraded" {
			break
		}
	}
	st := a.Must(t, carol, "GET", devEnv+"/status", nil, 200)
	if st["status"] != "running" || st["deployedSeq"] != float64(form) || st["pendingRestart"] != float64(1) {
		t.Fatalf("before the window: %v", st)
	}

	b := consoletest.New(t, a.URL)
	ca := b.Laptop("carol")
	ca.TimeZone("America/Bogota")
	ca.SignIn(carol)
	ca.Nav("Environments")
	ca.WaitText("Status of development")
	ca.WaitText("1 need a restart")
	ca.WaitText(fmt.Sprintf("#%d", form))
	ca.WaitText("w000001")
	ca.Screenshot("environments")

	// Reschedule: the past is refused by the field; the picked time (Bogota)
	// reaches the API as the same instant.
	ca.Click("Reschedule w000001")
	ca.WaitText("Your time zone: America/Bogota")
	ca.SetValue("Reschedule w000001", "New start", "2020-01-01T10:00")
	refusedByField(t, ca, "Reschedule w000001", "New start", "Move the window", "start must be in the future")
	bogota, _ := time.LoadLocation("America/Bogota")
	day := a.Now().In(bogota).AddDate(0, 0, 3)
	target := time.Date(day.Year(), day.Month(), day.Day(), 10, 30, 0, 0, bogota)
	ca.SetValue("Reschedule w000001", "New start", target.Format("2006-01-02T15:04"))
	ca.Screenshot("environments-reschedule")
	ca.ClickIn("Reschedule w000001", "Move the window")
	ca.WaitAnnounced("Window w000001 moved to")
	w := a.Must(t, carol, "GET", devEnv+"/windows/w000001", nil, 200)
	if start, _ := time.Parse(time.RFC3339, w["start"].(string)); !start.Equal(target) || w["state"] != "scheduled" {
		t.Fatalf("rescheduled window: start %v (want %v), %v", w["start"], target.UTC(), w["state"])
	}

	// Cancel: the changes wait for the next window.
	ca.Confirm("Cancel w000001")
	ca.WaitAnnounced("Window w000001 cancelled. The changes wait for the next window (w000002")
	if w := a.Must(t, carol, "GET", devEnv+"/windows/w000001", nil, 200); w["state"] != "cancelled" {
		t.Fatalf("cancelled window: %v", w["state"])
	}
	ca.WaitText("cancelled")

	// The maintenance policy: a bad line by the field (the preview's
	// problem, then the API's), a bad zone by its field, the preview.
	const times = "Start times (NCRONTAB, one a line)"
	ca.Click("Maintenance policy")
	ca.WaitText("This is the default policy")
	ca.Fill("Change the policy", times, "0 0 2 * * Sat\n0 0 25 * * *")
	refusedByField(t, ca, "Change the policy", times, "Preview the next openings", `Line 2 ("0 0 25 * * *"): hour field`)
	refusedByField(t, ca, "Change the policy", times, "Save the policy", `Line 2 ("0 0 25 * * *"): hour field`) // the API's
	ca.Fill("Change the policy", times, "0 0 2 * * Sat\n0 30 22 * * Wed")
	ca.Fill("Change the policy", "Time zone (IANA)", "Mars/Base")
	refusedByField(t, ca, "Change the policy", "Time zone (IANA)", "Save the policy", `timeZone: "Mars/Base" is not an IANA time zone`)
	ca.Fill("Change the policy", "Time zone (IANA)", "America/Bogota")
	ca.ClickIn("Change the policy", "Preview the next openings")
	ca.WaitText("The next openings in America/Bogota (a window planned now needs 60 minutes' notice):")
	got := openings(t, ca)
	if len(got) != 5 {
		t.Fatalf("%d openings previewed", len(got))
	}
	for i, at := range got {
		local := at.In(bogota)
		sat := local.Weekday() == time.Saturday && local.Hour() == 2 && local.Minute() == 0
		wed := local.Weekday() == time.Wednesday && local.Hour() == 22 && local.Minute() == 30
		if !(sat || wed) || (i > 0 && !at.After(got[i-1])) || at.Before(time.Now().Add(59*time.Minute)) {
			t.Fatalf("opening %d: %v (%v)", i, local, got)
		}
	}
	ca.Screenshot("environments-policy")
	ca.ClickIn("Change the policy", "Save the policy")
	ca.WaitAnnounced("Maintenance policy saved.")
	pol := a.Must(t, bob, "GET", devEnv+"/maintenance-policy", nil, 200)
	if pol["timeZone"] != "America/Bogota" || fmt.Sprint(pol["schedules"]) != "[0 0 2 * * Sat 0 30 22 * * Wed]" || pol["default"] != false {
		t.Fatalf("policy %v", pol)
	}

	// Runtime settings: a bad URL by its field.
	ca.Click("Settings")
	ca.Fill("How the components restart", "Scheduler restart URL", "ftp://scheduler.example.com/restart")
	refusedByField(t, ca, "How the components restart", "Scheduler restart URL", "Save runtime settings", "scheduler.restartUrl must be an http(s) URL")
	ca.Fill("How the components restart", "Scheduler restart URL", "https://scheduler.example.com/restart")
	ca.ClickIn("How the components restart", "Save runtime settings")
	ca.WaitAnnounced("Runtime settings saved.")
	if rc := a.Must(t, carol, "GET", devEnv+"/runtime", nil, 200); fmt.Sprint(rc["scheduler"]) != "map[restartUrl:https://scheduler.example.com/restart]" {
		t.Fatalf("runtime %v", rc)
	}

	// Open now: the banner, with the expected end and the window's progress,
	// while the stand-in holds the Work Portal's restart.
	next := a.Must(t, carol, "GET", devEnv+"/status", nil, 200)["window"].(map[string]any)["id"].(string)
	ca.Click("Status and windows")
	ca.Confirm("Open the next window now")
	ca.WaitText("development is in maintenance")
	ca.WaitText("Expected to end")
	ca.WaitText("Step 1 of 4")
	hold.Store(true)
	done := make(chan int, 1)
	go func() {
		code, _ := a.InvokeFunction(t, "WindowsReconcile", map[string]any{"timer": map[string]any{"IsPastDue": false}})
		done <- code
	}()
	ca.WaitText("Step 3 of 4. Restarting")
	if st := a.Must(t, bob, "GET", devEnv+"/status", nil, 200); st["status"] != "maintenance" || st["expectedEnd"] == nil {
		t.Fatalf("status during the window: %v", st)
	}
	ca.Screenshot("environments-maintenance")

	// bob: the shell's line on another screen, the banner here, no controls.
	bo := b.Laptop("bob")
	bo.SignIn(bob)
	bo.Go("/console/projects/claims/members")
	bo.WaitJS(`(document.getElementById('alerts') || {innerText: ''}).innerText.includes('development of Claims is in maintenance until')`)
	bo.Screenshot("shell-maintenance-line")
	bo.Click("Follow development's window")
	bo.WaitText("development is in maintenance")
	bo.WaitText("Step 3 of 4")
	bo.WaitText("Only admins and owners reschedule, cancel or open windows.")
	if n := bo.Count(`button[aria-label^="Reschedule "], button[aria-label^="Cancel "], button[aria-label="Open the next window now"], main form:not(.chooser)`); n != 0 {
		t.Fatalf("a developer is offered %d window or policy controls", n)
	}
	if strings.Contains(bo.Text(), "Runtime settings") || strings.Contains(bo.Alerts(), "maintenance") {
		t.Fatal("a developer sees the runtime settings, or the shell's line repeats the banner")
	}
	var forced map[string]any
	bo.EvalAwait(`(async () => {
  const s = JSON.parse(sessionStorage.getItem('collab.session'));
  const r = await fetch('/api/projects/claims/environments/development/windows/`+next+`/cancel', { method: 'POST', headers: { Authorization: 'Bearer ' + s.token } });
  return { status: r.status, body: await r.json() };
})()`, &forced)
	if forced["status"] != float64(403) || !strings.Contains(fmt.Sprint(forced["body"]), "admins and owners change maintenance windows") {
		t.Fatalf("bob forcing a cancel: %v", forced)
	}
	bo.Screenshot("environments-developer")
	ph := b.Phone("carol-phone")
	ph.SignIn(carol)
	ph.Go(envPage + "?env=development&tab=settings")
	ph.WaitText("Step 3 of 4")
	ph.WaitText("How the components restart")
	noSideways(t, ph)
	ph.Screenshot("phone-environments-maintenance")

	// The Work Portal comes back: completed, running at the entity's commit.
	free()
	if code := <-done; code != 200 {
		t.Fatalf("WindowsReconcile: %d", code)
	}
	ca.WaitText(fmt.Sprintf("Window %s completed: development is running at #%d.", next, entity))
	ca.WaitGone("development is in maintenance")
	ca.WaitText("nothing: the environment is up to date")
	if st := a.Must(t, bob, "GET", devEnv+"/status", nil, 200); st["status"] != "running" || st["deployedSeq"] != float64(entity) {
		t.Fatalf("after the window: %v", st)
	}
	if n := portal.Get("/claims/development/portal").Restarts; n != 1 {
		t.Fatalf("work portal restarts: %d", n)
	}
	ca.Screenshot("environments-completed")
	bo.WaitGone("development is in maintenance")

	// test is degraded: the Work Portal's answer (an XSS attempt) as text.
	ca.Choose("", "Environment", "test")
	ca.Click("Show environment")
	ca.WaitText("test is degraded")
	ca.WaitText("hot changes could not be deployed")
	ca.WaitText(xss)
	assertInert(t, ca, "the degraded reason")
	ca.Screenshot("environments-degraded")

	// Demoted while her page is open, carol sees the API's refusal.
	third := a.Commit(t, bob, "claims", "entities/application/Claim/attributes/currency")
	reconcile(t, a)
	ca.Go(envPage + "?env=development")
	ca.WaitText("1 need a restart")
	a.Must(t, alice, "PUT", "/api/projects/claims/members/"+userID(carol), map[string]any{"role": "developer"}, 200)
	ca.Confirm("Open the next window now")
	ca.WaitText("admins and owners change maintenance windows and policies")
	if st := a.Must(t, bob, "GET", devEnv+"/status", nil, 200); st["status"] != "running" {
		t.Fatalf("a refused open-now opened the window: %v", st)
	}

	// alice opens it and it runs to the end between two rounds of carol's
	// page (every 15 s while no window runs): the page still says how it
	// ended.
	win := a.Must(t, alice, "POST", devEnv+"/windows/open-now", nil, 200)["id"].(string)
	reconcile(t, a)
	// (The browser's default deadline, consoletest.DefaultTimeout, is well
	// above two rounds of 15 s.)
	ca.WaitText(fmt.Sprintf("Window %s completed: development is running at #%d.", win, third))
}

// TestEnvironmentsAddAndEndpoints: an admin adds an environment (a bad
// name by its field), sets its endpoints (a bad URL by the field), and a
// new environment shows the default policy and no deployment yet.
func TestEnvironmentsAddAndEndpoints(t *testing.T) {
	a := demo(t, nil)
	b := consoletest.New(t, a.URL)
	ca := b.Laptop("carol")
	ca.SignIn(carol)
	ca.Go(envPage)
	ca.WaitText("Status of development")
	ca.Click("Settings")
	ca.WaitJS(`location.search === '?env=development&tab=settings'`)
	ca.Fill("New environment", "Name", "Prod!")
	ca.Choose("New environment", "Kind", "production")
	refusedByField(t, ca, "New environment", "Name", "Add environment", "environment name must be 2–40 lower-case letters")
	ca.Fill("New environment", "Name", "production")
	ca.ClickIn("New environment", "Add environment")
	ca.WaitText("Status of production")
	ca.WaitText("No maintenance window yet")
	// Each part of the screen has its own address and shows only itself.
	for _, part := range []struct{ tab, query, shows, hides string }{
		{"Maintenance policy", "?env=production&tab=policy", "This is the default policy", "No maintenance window yet"},
		{"Deployments", "?env=production&tab=deployments", "Nothing deployed yet", "This is the default policy"},
		{"Settings", "?env=production&tab=settings", "Change the endpoints", "Nothing deployed yet"},
	} {
		ca.Click(part.tab)
		ca.WaitText(part.shows)
		ca.WaitGone(part.hides)
		var got string
		ca.Eval(`location.search + ' ' + document.querySelector('nav.tabs a[aria-current="page"]').textContent`, &got)
		if got != part.query+" "+part.tab {
			t.Fatalf("the %s part is at %q", part.tab, got)
		}
	}
	ca.Fill("Change the endpoints", "Work Portal URL", "portal.example.com")
	refusedByField(t, ca, "Change the endpoints", "Work Portal URL", "Save endpoints", "workPortalUrl and schedulerUrl must be http(s) URLs")
	ca.Fill("Change the endpoints", "Work Portal URL", "https://portal.example.com")
	ca.ClickIn("Change the endpoints", "Save endpoints")
	ca.WaitAnnounced("Endpoints saved.")
	if e := a.Must(t, bob, "GET", "/api/projects/claims/environments/production", nil, 200); e["workPortalUrl"] != "https://portal.example.com" || e["kind"] != "production" {
		t.Fatalf("environment %v", e)
	}
	ca.WaitText("Empty: https://portal.example.com/health")

	// bob reads the endpoints, changes nothing.
	bo := b.Laptop("bob")
	bo.SignIn(bob)
	bo.Go(envPage + "?env=production&tab=settings")
	bo.WaitText("https://portal.example.com")
	if n := bo.Count(`main form:not(.chooser)`); n != 0 {
		t.Fatalf("a developer is offered %d forms", n)
	}
}
