package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/deploy/standin"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// deployFixture is the platform fixture with a Work Portal and Scheduler
// stand-in behind the development environment, a fast health probe, and a
// Saturday-night policy.
func deployFixture(t *testing.T) (*handlertest.API, *standin.Server) {
	t.Helper()
	a := fixture(t)
	portal := standin.New(0, nil)
	srv := httptest.NewServer(portal)
	t.Cleanup(srv.Close)
	a.Must(t, carol, "PATCH", envBase, map[string]any{"workPortalUrl": srv.URL + "/claims/development/portal", "schedulerUrl": srv.URL + "/claims/development/scheduler"}, 200)
	tune(a)
	return a, portal
}

func tune(a *handlertest.API) {
	svc := a.Services().Deploy
	svc.HealthInterval, svc.HealthTimeout = 20*time.Millisecond, 2*time.Second
}

func reconcile(t *testing.T, a *handlertest.API) {
	t.Helper()
	if code, resp := a.InvokeFunction(t, "WindowsReconcile", map[string]any{"timer": map[string]any{"IsPastDue": false}}); code != 200 {
		t.Fatalf("WindowsReconcile: %d %v", code, resp.Logs)
	}
}

// devCommit checks paths into the claims catalog as who; the commit's hook
// requests its deployment.
func devCommit(t *testing.T, a *handlertest.API, who string, paths ...string) int64 {
	t.Helper()
	return a.Commit(t, who, "claims", paths...)
}

// TestDeploymentsOverHTTP is the flow of the issue through the API and the
// functions: a hot change is applied at once; an entity change waits for a
// window at the next policy time; during the window the status says
// maintenance; the stand-in Work Portal is restarted; the status returns to
// running at the new sequence.
func TestDeploymentsOverHTTP(t *testing.T) {
	t.Parallel()
	a, portal := deployFixture(t)
	a.Must(t, carol, "PUT", envBase+"/maintenance-policy", map[string]any{"schedules": []string{"0 0 2 * * Sat"}, "timeZone": "America/Bogota", "durationMinutes": 30, "noticeMinutes": 60}, 200)
	pol := a.Must(t, bob, "GET", envBase+"/maintenance-policy", nil, 200)
	if pol["timeZone"] != "America/Bogota" || pol["default"] != false {
		t.Fatalf("policy %v", pol)
	}

	// A form: hot, applied by the next round (the message went to the queue).
	form := devCommit(t, a, bob, "applications/claims/processes/intake/versions/1/forms/main")
	reconcile(t, a)
	st := a.Must(t, bob, "GET", envBase+"/status", nil, 200)
	if st["status"] != "running" || st["deployedSeq"] != float64(form) || st["window"] != nil {
		t.Fatalf("after a hot change: %v", st)
	}
	if d := portal.Get("/claims/development/portal").Deployments; len(d) != 1 || d[0].Mode != "hot" {
		t.Fatalf("work portal deployments %+v", d)
	}

	// An entity: a window at the next Saturday 02:00 in Bogota.
	entity := devCommit(t, a, bob, "entities/application/Claim/attributes/amount")
	// The Service Bus trigger gets the message as the host (or the devhost's stand-in) hands it over.
	if code, resp := a.InvokeFunction(t, "DeployRequests", map[string]any{"message": string(deploy.RequestMessage("claims", "development", entity).Body)}); code != 200 {
		t.Fatalf("DeployRequests: %d %v", code, resp.Logs)
	}
	st = a.Must(t, bob, "GET", envBase+"/status", nil, 200)
	win, _ := st["window"].(map[string]any)
	if st["status"] != "running" || st["pendingRestart"] != float64(1) || win == nil || win["state"] != "scheduled" {
		t.Fatalf("after an entity change: %v", st)
	}
	startAt, _ := time.Parse(time.RFC3339, win["start"].(string))
	if startAt.Weekday() != time.Saturday || startAt.UTC().Hour() != 7 || !startAt.After(a.Now()) {
		t.Fatalf("window start %v", startAt)
	}
	page := a.Must(t, bob, "GET", envBase+"/deployments", nil, 200)
	items := page["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["status"] != "waiting" || items[1].(map[string]any)["status"] != "deployed" {
		t.Fatalf("deployments %v", items)
	}

	// The Work Portal, while it restarts, asks for the status: maintenance.
	var during map[string]any
	portal.OnRequest = func(prefix, action string) {
		if action == "restart" && during == nil {
			_, during = a.Call(t, bob, "GET", envBase+"/status", nil, nil)
		}
	}
	a.Clock.Store(int64(startAt.Sub(time.Now()) + time.Second))
	a.ForgetTokens()
	reconcile(t, a)
	if during["status"] != "maintenance" || during["expectedEnd"] == nil {
		t.Fatalf("status during the window: %v", during)
	}
	st = a.Must(t, bob, "GET", envBase+"/status", nil, 200)
	if st["status"] != "running" || st["deployedSeq"] != float64(entity) || st["pendingRestart"] != float64(0) {
		t.Fatalf("after the window: %v", st)
	}
	if n := portal.Get("/claims/development/portal").Restarts; n != 1 {
		t.Fatalf("work portal restarts: %d", n)
	}
	env := a.Must(t, bob, "GET", envBase, nil, 200)
	if env["status"] != "running" {
		t.Fatalf("platform status %v", env["status"])
	}
	ws := a.Must(t, bob, "GET", envBase+"/windows", nil, 200)["items"].([]any)
	w0 := ws[0].(map[string]any)
	if len(ws) != 1 || w0["state"] != "completed" || len(w0["history"].([]any)) != 5 {
		t.Fatalf("windows %v", ws)
	}
	if !strings.Contains(fmt.Sprint(a.Must(t, dave, "GET", "/api/projects/claims/audit", nil, 200)), "maintenance-policy.put") {
		t.Fatal("the policy change is not audited")
	}
}

// TestDeployFunctions: the trigger takes a request, a duplicate is a no-op,
// and a malformed one is refused (the host redelivers it, then dead-letters it).
func TestDeployFunctions(t *testing.T) {
	t.Parallel()
	a, _ := deployFixture(t)
	seq := devCommit(t, a, bob, "applications/claims/forms/search")
	body := string(deploy.RequestMessage("claims", "development", seq).Body)
	cases := []struct {
		fn, text string
		want     int
	}{
		{"DeployRequests", body, 200},
		{"DeployRequests", body, 200}, // a duplicate: a no-op
		{"DeployRequests", `{"kind":"deploy-request","project":"claims"}`, 400},
		{"DeployRequests", `{"kind":"reboot","project":"claims","env":"development"}`, 400},
	}
	for _, c := range cases {
		if code, resp := a.InvokeFunction(t, c.fn, map[string]any{"message": c.text}); code != c.want {
			t.Fatalf("%s %s: %d, want %d: %v", c.fn, c.text, code, c.want, resp.Logs)
		}
	}
	if st := a.Must(t, bob, "GET", envBase+"/status", nil, 200); st["deployedSeq"] != float64(seq) {
		t.Fatalf("status %v", st)
	}
}

// TestDeployAuthorization: "only admins/owners change policies and
// windows; developers read status"; outsiders see nothing (404).
func TestDeployAuthorization(t *testing.T) {
	t.Parallel()
	a, _ := deployFixture(t)
	devCommit(t, a, bob, "entities/application/Claim")
	reconcile(t, a)
	w := envBase + "/windows/w000001"
	policy := map[string]any{"schedules": []string{"0 0 3 * * Sun"}, "timeZone": "UTC", "durationMinutes": 20, "noticeMinutes": 0}
	later := map[string]any{"start": a.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}
	rows := []struct {
		method, path string
		body         any
		want         map[string]int // by caller; others: 404 outsiders, 401 anonymous
	}{
		{"GET", envBase + "/status", nil, map[string]int{bob: 200, carol: 200, dave: 200, alice: 200}},
		{"GET", envBase + "/deployments", nil, map[string]int{bob: 200, carol: 200, dave: 200, alice: 200}},
		{"GET", envBase + "/windows", nil, map[string]int{bob: 200, carol: 200, dave: 200, alice: 200}},
		{"GET", w, nil, map[string]int{bob: 200, carol: 200, dave: 200, alice: 200}},
		{"GET", envBase + "/maintenance-policy", nil, map[string]int{bob: 200, carol: 200, dave: 200, alice: 200}},
		{"PUT", envBase + "/maintenance-policy", policy, map[string]int{bob: 403, carol: 200, dave: 200, alice: 200}},
		{"PATCH", w, later, map[string]int{bob: 403, carol: 200, dave: 200, alice: 200}},
		{"GET", envBase + "/runtime", nil, map[string]int{bob: 403, carol: 200, dave: 200, alice: 200}},
		{"PUT", envBase + "/runtime", map[string]any{"portal": map[string]any{"healthUrl": "https://portal.example.com/health"}}, map[string]int{bob: 403, carol: 200, dave: 200, alice: 200}},
		{"POST", w + "/cancel", nil, map[string]int{bob: 403, carol: 200, dave: 200, alice: 200}},
		{"POST", envBase + "/windows/open-now", nil, map[string]int{bob: 403, carol: 200, dave: 200, alice: 200}},
		{"GET", "/api/projects/claims/environments/nope/status", nil, map[string]int{bob: 404, carol: 404, dave: 404, alice: 404}},
	}
	callers := []string{"", erin, olga, bob, carol, dave, alice}
	for _, r := range rows {
		for _, who := range callers {
			want, ok := r.want[who]
			switch {
			case who == "":
				want = 401
			case !ok:
				want = 404
			}
			resp, body := a.Call(t, who, r.method, r.path, r.body, nil)
			if resp.StatusCode != want {
				t.Errorf("%s %s as %q: %d, want %d: %v", r.method, r.path, who, resp.StatusCode, want, body)
			}
		}
	}
	// Bad input is a 400 that names the field.
	bad := []struct {
		method, path string
		body         any
		has          string
	}{
		{"PUT", envBase + "/maintenance-policy", map[string]any{"schedules": []string{"0 0 25 * * *"}, "timeZone": "UTC", "durationMinutes": 10}, `hour field`},
		{"PUT", envBase + "/maintenance-policy", map[string]any{"schedules": []string{"0 0 2 * * *"}, "timeZone": "Mars/Base", "durationMinutes": 10}, "timeZone"},
		{"PUT", envBase + "/maintenance-policy", map[string]any{"schedule": "0 0 2 * * *"}, "unknown field"},
		{"PATCH", w, map[string]any{"start": "tomorrow"}, "RFC 3339"},
		{"PUT", envBase + "/runtime", map[string]any{"portal": map[string]any{"armResourceId": "/subscriptions/x"}}, "portal.armResourceId must be"},
		{"PUT", envBase + "/runtime", map[string]any{"portal": map[string]any{"restartUrl": "ftp://x"}}, "portal.restartUrl must be"},
		{"PUT", envBase + "/runtime", map[string]any{"scheduler": map[string]any{"healthUrl": "https://u:p@x"}}, "scheduler.healthUrl must be"},
		{"GET", envBase + "/deployments?limit=0", nil, "limit"},
	}
	for _, b := range bad {
		resp, body := a.Call(t, carol, b.method, b.path, b.body, nil)
		if resp.StatusCode != 400 || !strings.Contains(fmt.Sprint(body["detail"]), b.has) {
			t.Errorf("%s %s %v: %d %v, want 400 with %q", b.method, b.path, b.body, resp.StatusCode, body, b.has)
		}
	}
}

// TestDeployRaceAcrossInstances: two handler instances on one storage
// (handlertest.StartOn) both receive every message and both reconcile, at
// the same moments; each window transition happens once, each notice is
// recorded once, the Work Portal restarts once.
func TestDeployRaceAcrossInstances(t *testing.T) {
	t.Parallel()
	a, portal := deployFixture(t)
	b := handlertest.StartOn(t, a.Prefix)
	tune(b)
	a.Must(t, carol, "PUT", envBase+"/maintenance-policy", map[string]any{"schedules": []string{"0 0 2 * * Sat"}, "timeZone": "America/Bogota", "durationMinutes": 30, "noticeMinutes": 60}, 200)
	var seqs []int64
	for i := 0; i < 3; i++ {
		seqs = append(seqs, devCommit(t, a, bob, fmt.Sprintf("applications/claims/forms/f%d", i), fmt.Sprintf("entities/master/E%d", i)))
	}
	both := func(f func(api *handlertest.API)) {
		var wg sync.WaitGroup
		for _, api := range []*handlertest.API{a, b, a, b} {
			wg.Add(1)
			go func() { defer wg.Done(); f(api) }()
		}
		wg.Wait()
	}
	deliver := func(api *handlertest.API, m deploy.Message) {
		if code, resp := api.InvokeFunction(t, "DeployRequests", map[string]any{"message": string(m.Body)}); code != 200 {
			t.Errorf("DeployRequests: %d %v", code, resp.Logs)
		}
	}
	both(func(api *handlertest.API) {
		for _, s := range seqs {
			deliver(api, deploy.RequestMessage("claims", "development", s))
		}
	})
	st := a.Must(t, bob, "GET", envBase+"/status", nil, 200)
	win := st["window"].(map[string]any)
	startAt, _ := time.Parse(time.RFC3339, win["start"].(string))
	for _, at := range []time.Time{startAt.Add(-time.Hour), startAt} {
		off := int64(at.Sub(time.Now()) + time.Second)
		a.Clock.Store(off)
		b.Clock.Store(off)
		both(func(api *handlertest.API) {
			deliver(api, deploy.WindowMessage("claims", "development", "w000001", "start", at))
			if code, resp := api.InvokeFunction(t, "WindowsReconcile", nil); code != 200 {
				t.Errorf("WindowsReconcile: %d %v", code, resp.Logs)
			}
		})
	}
	a.ForgetTokens()
	got := a.Must(t, bob, "GET", envBase+"/windows/w000001", nil, 200)
	var path []string
	for _, h := range got["history"].([]any) {
		path = append(path, h.(map[string]any)["to"].(string))
	}
	if strings.Join(path, ",") != "announced,open,applying,restarting,completed" {
		t.Fatalf("transitions %v", path)
	}
	if n := portal.Get("/claims/development/portal").Restarts; n != 1 {
		t.Fatalf("restarts %d", n)
	}
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: a.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := acct.Table("notifications").QueryAll(context.Background(), store.Eq("Kind", "window-announced"), 0)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := acct.Table("notifications").QueryAll(context.Background(), store.Filter{}, 0)
	windowNotices := 0
	for _, e := range all {
		if strings.HasPrefix(e.String("Kind"), "window-") {
			windowNotices++
		}
	}
	if len(rows) != 1 || windowNotices != 3 {
		t.Fatalf("%d announcements, %d window notices; want 1 and 3", len(rows), windowNotices)
	}
	var doc struct{ To []string }
	_ = json.Unmarshal([]byte(rows[0].String("Doc")), &doc)
	// The project's members, except mallory, who is disabled.
	if strings.Join(doc.To, ",") != "<bob@example.com>,<carol@example.com>,<dave@example.com>" { // as the outbox records addresses
		t.Fatalf("recipients %v", doc.To)
	}
	st = a.Must(t, bob, "GET", envBase+"/status", nil, 200)
	if st["status"] != "running" || st["deployedSeq"] != float64(seqs[2]) {
		t.Fatalf("status %v", st)
	}
}

// TestLostRequestIsCaughtUpFromTheFeed: the process died between a commit
// and the record of its deployment request (no pending row, no message); the
// next reconcile round sees the catalog's head past the environment's cursor
// and deploys the commit anyway.
func TestLostRequestIsCaughtUpFromTheFeed(t *testing.T) {
	t.Parallel()
	a, portal := deployFixture(t)
	devCommit(t, a, bob, "applications/claims/forms/first")
	reconcile(t, a)
	lost := devCommit(t, a, bob, "applications/claims/forms/second")
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: a.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	pending := acct.Table("deploypending")
	rows, err := pending.QueryAll(context.Background(), store.Filter{}, 0)
	if err != nil || len(rows) == 0 {
		t.Fatalf("the commit recorded no request to lose: %d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if err := pending.Delete(context.Background(), r.PartitionKey, r.RowKey, store.AnyETag); err != nil {
			t.Fatal(err)
		}
	}
	reconcile(t, a)
	st := a.Must(t, bob, "GET", envBase+"/status", nil, 200)
	if st["deployedSeq"] != float64(lost) {
		t.Fatalf("after losing the request of commit %d: %v", lost, st)
	}
	if d := portal.Get("/claims/development/portal").Deployments; len(d) != 2 {
		t.Fatalf("work portal deployments %+v", d)
	}
}

// TestParameterChangeWaitsForTheWindow: a parameter whose change needs the
// Work Portal to restart stays pending (the old value active) until a
// maintenance window applies it; the window restarts the Work Portal once.
func TestParameterChangeWaitsForTheWindow(t *testing.T) {
	t.Parallel()
	a, portal := deployFixture(t)
	p := envBase + "/parameters/portal.threads"
	a.Must(t, carol, "PUT", p, map[string]any{"type": "int", "impact": "restart-portal", "value": 8}, 201)
	if m := a.Must(t, bob, "GET", p, nil, 200); m["pending"] == nil {
		t.Fatalf("a restart-needing parameter applied at once: %v", m)
	}
	st := a.Must(t, bob, "GET", envBase+"/status", nil, 200)
	if st["pendingParameters"] != float64(1) || st["window"] == nil {
		t.Fatalf("status %v", st)
	}
	a.Must(t, carol, "POST", envBase+"/windows/open-now", nil, 200)
	reconcile(t, a)
	if m := a.Must(t, bob, "GET", p, nil, 200); m["value"] != float64(8) || m["pending"] != nil {
		t.Fatalf("after the window: %v", m)
	}
	if st := a.Must(t, bob, "GET", envBase+"/status", nil, 200); st["status"] != "running" || st["pendingParameters"] != float64(0) {
		t.Fatalf("status after the window: %v", st)
	}
	if n := portal.Get("/claims/development/portal").Restarts; n != 1 {
		t.Fatalf("work portal restarts: %d", n)
	}
}
