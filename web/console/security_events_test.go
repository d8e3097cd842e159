package console_test

import (
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/web/console/consoletest"
)

// TestSecurityScreenCountsAndAlerts: refusals produced through the API (a
// disabled user's sign-ins, an outsider's probe, outbound calls to the
// metadata address) show on the subscription's Security screen: the counts
// per kind for 24 h and 7 d, the chart that draws them, the alert the timer
// raised and the events, filtered by kind. Only Subscription Owners see the
// screen in the navigation.
func TestSecurityScreenCountsAndAlerts(t *testing.T) {
	a := demo(t, nil)
	const dave, olga = "dave@example.com", "olga@example.com"
	a.Invite(t, alice, "demo", dave)
	a.Token(t, dave) // issued before he is disabled
	a.Must(t, alice, "PATCH", "/api/subscriptions/demo/users/"+userID(dave), map[string]any{"disabled": true}, 200)
	for range 2 {
		a.Must(t, dave, "GET", "/api/me", nil, 401)
	}
	a.Must(t, olga, "POST", "/api/subscriptions", map[string]any{"id": "other"}, 201)
	a.Must(t, olga, "GET", "/api/projects/claims", nil, 404)
	env := "/api/projects/claims/environments/development"
	a.Must(t, carol, "PUT", env+"/connectors/imds", map[string]any{"baseUrl": "http://169.254.169.254/metadata"}, 201)
	for range 3 {
		a.Must(t, carol, "POST", env+"/connectors/imds/invoke", map[string]any{"path": "/identity/oauth2/token"}, 422)
	}
	// The alert timer: the security-alerts housekeeping job, run by one tick
	// just past its next occurrence.
	if err := a.Services().Jobs.EnsureSystem(t.Context(), a.Services().Jobs.SystemJobs()); err != nil {
		t.Fatal(err)
	}
	now := a.Now()
	next := now.Truncate(time.Minute).Add(15 * time.Second)
	if !next.After(now) {
		next = next.Add(time.Minute)
	}
	a.Clock.Add(int64(next.Sub(now) + time.Second))
	a.Tick(t)

	b := consoletest.New(t, a.URL)
	al := b.Laptop("alice")
	al.SignIn(alice)
	al.Go("/console/subscriptions/demo/projects")
	al.WaitText("Projects you can open")
	al.Nav("Security center")
	al.WaitText("Security events per kind")
	al.WaitJS(`!!document.querySelector('svg.chart[role="img"]')`)
	var aria string
	al.Eval(`document.querySelector('svg.chart').getAttribute('aria-label')`, &aria)
	if aria != "Security events: 6 in the last 24 hours, 6 in the last 7 days" {
		t.Fatalf("chart label %q\n%s", aria, al.Text())
	}
	// One bar pair per kind; the longest 7-day bar is the egress kind's.
	var widths map[string]float64
	al.Eval(`Object.fromEntries([...document.querySelectorAll('svg.chart .chart-row')].map((g) => [g.dataset.kind, Number(g.querySelector('.chart-week').getAttribute('width'))]))`, &widths)
	if len(widths) != 7 || widths["egress-refused"] <= widths["signin-refused"] || widths["signin-refused"] <= widths["cross-tenant-probe"] || widths["cross-tenant-probe"] <= 0 || widths["webhook-secret-wrong"] != 0 {
		t.Fatalf("bar widths %v", widths)
	}
	var rows []string
	al.Eval(`[...document.querySelectorAll('table')].find((t) => t.caption && t.caption.textContent === 'Security events per kind').innerText.split('\n').filter(Boolean)`, &rows)
	got := strings.Join(rows, "|")
	for _, want := range []string{"Sign-ins refused\t2\t2", "Probes of other tenants\t1\t1", "Outbound calls refused\t3\t3", "Wrong webhook secrets\t0\t0"} {
		if !strings.Contains(got, want) {
			t.Fatalf("counts table lacks %q:\n%s", want, strings.Join(rows, "\n"))
		}
	}
	al.WaitText("an outbound call aimed at a cloud metadata or platform address")
	al.WaitText("cloud-metadata")
	al.WaitText("olga@example.com")
	al.Screenshot("security")

	// Filtered by kind: only the sign-ins are listed.
	al.Choose("Events", "Kind", "signin-refused")
	al.ClickIn("Events", "Filter")
	al.WaitJS(`location.search.includes('kind=signin-refused')`)
	const kindsJS = `[...document.querySelectorAll('table')].filter((t) => t.caption && t.caption.textContent.startsWith('Security events, newest')).flatMap((t) => [...t.querySelectorAll('tbody tr td:nth-child(2)')].map((td) => td.textContent))`
	al.WaitJS(kindsJS + `.join('|') === 'Sign-ins refused|Sign-ins refused'`)
	var reasons []string
	al.Eval(`[...document.querySelectorAll('table')].filter((t) => t.caption && t.caption.textContent.startsWith('Security events, newest')).flatMap((t) => [...t.querySelectorAll('tbody tr td:nth-child(3)')].map((td) => td.textContent))`, &reasons)
	if strings.Join(reasons, "|") != "disabled|disabled" {
		t.Fatalf("filtered reasons %v\n%s", reasons, al.Text())
	}

	// A developer has no Security center in the navigation, and the API
	// refuses them the screen's data.
	bo := b.Laptop("bob")
	bo.SignIn(bob)
	bo.Go("/console/subscriptions/demo/projects")
	bo.WaitText("Projects you can open")
	var nav string
	bo.Eval(`document.getElementById('nav').innerText`, &nav)
	if strings.Contains(nav, "Security center") {
		t.Fatalf("bob's navigation:\n%s", nav)
	}
	a.Must(t, bob, "GET", "/api/subscriptions/demo/security-events/summary", nil, 403)
}
