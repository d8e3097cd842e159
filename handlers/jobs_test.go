package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/studio-collab/collab/shared/egress"
)

func TestJobsOverHTTP(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	// The environment's Scheduler: a real loopback server that records calls.
	var mu sync.Mutex
	var calls []string
	sched := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, r.URL.Path+" "+r.Header.Get("Idempotency-Key")+" "+string(b))
		mu.Unlock()
	}))
	defer sched.Close()
	a.Must(t, carol, "PATCH", "/api/projects/claims/environments/development", map[string]any{"schedulerUrl": sched.URL}, 200)
	base := "/api/projects/claims/environments/development/jobs"
	job := map[string]any{"name": "nightly-close", "schedule": "0 0 2 * * *", "timeZone": "America/Bogota", "target": "/jobs/close", "retries": 1}

	cases := []struct {
		who, method, path string
		body              any
		want              int
	}{
		{bob, "POST", base, job, 403},                   // developers read, not write
		{erin, "GET", base, nil, 404},                   // not in the project
		{olga, "POST", base, job, 404},                  // another subscription
		{carol, "POST", base, job, 201},                 // admins add jobs
		{carol, "POST", base, job, 409},                 // once
		{bob, "GET", base, nil, 200},                    // developers read
		{bob, "GET", base + "/nightly-close", nil, 200}, //
		{bob, "POST", base + "/nightly-close/run", nil, 403},
		{carol, "POST", base, map[string]any{"name": "bad", "schedule": "* 99 * * *"}, 400},
		{carol, "POST", base, map[string]any{"name": "bad", "schedule": "* * * * *", "timeZone": "Mars/Base"}, 400},
		{carol, "POST", base, map[string]any{"name": "bad", "schedule": "* * * * *", "overlap": "queue-forever"}, 400},
		{carol, "GET", base + "/nope", nil, 404},
		// Built-ins work on the service's own tables across tenants: not a customer's action.
		{carol, "POST", base, map[string]any{"name": "purge", "schedule": "0 0 3 * * *", "action": "purge-idempotency"}, 400},
		{carol, "PATCH", base + "/nightly-close", map[string]any{"action": "audit-retention"}, 400},
		{carol, "GET", "/api/projects/_system/environments/service/jobs", nil, 404},
		{dave, "PATCH", base + "/nightly-close", map[string]any{"enabled": false}, 200},
	}
	for _, c := range cases {
		resp, m := a.Call(t, c.who, c.method, c.path, c.body, nil)
		if resp.StatusCode != c.want {
			t.Fatalf("%s %s as %s: %d, want %d: %v", c.method, c.path, c.who, resp.StatusCode, c.want, m)
		}
	}
	// A bad schedule's problem names the field and the token.
	_, m := a.Call(t, carol, "POST", base, map[string]any{"name": "bad", "schedule": "* 99 * * *"}, nil)
	if !strings.Contains(m["detail"].(string), `hour field: bad token "99"`) {
		t.Fatalf("detail %v", m["detail"])
	}
	// Run now (even while disabled): queued, performed by the next tick on
	// the environment's Scheduler, recorded in the history.
	queued := a.Must(t, carol, "POST", base+"/nightly-close/run", nil, 202)
	if queued["requestId"] == nil || queued["requestId"] == "" {
		t.Fatalf("queued run without the request id: %v", queued)
	}
	a.Tick(t)
	mu.Lock()
	got := append([]string(nil), calls...)
	mu.Unlock()
	if len(got) != 1 || !strings.HasPrefix(got[0], "/jobs/close claims/development/nightly-close/") || !strings.Contains(got[0], `"job":"nightly-close"`) {
		t.Fatalf("scheduler calls %q", got)
	}
	runs := a.Must(t, bob, "GET", base+"/nightly-close/runs", nil, 200)
	items := runs["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["status"] != "succeeded" || items[0].(map[string]any)["attempt"] != float64(1) {
		t.Fatalf("runs %v", items)
	}
	// A second tick does not run it again.
	a.Tick(t)
	mu.Lock()
	if len(calls) != 1 {
		t.Fatalf("ran %d times", len(calls))
	}
	mu.Unlock()
	a.Must(t, dave, "DELETE", base+"/nightly-close", nil, 204)
	a.Must(t, dave, "GET", base+"/nightly-close", nil, 404)
}

// TestJobCallsObeyTheEgressPolicy: under the policy of Azure (public
// addresses only), a Scheduler URL on loopback is refused at connect time,
// the run fails with the reason, and the server never sees the call.
func TestJobCallsObeyTheEgressPolicy(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	hits := 0
	sched := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer sched.Close()
	a.Services().UseEgress(egress.NewPolicy(nil))
	base := "/api/projects/claims/environments/development/jobs"
	a.Must(t, carol, "PATCH", "/api/projects/claims/environments/development", map[string]any{"schedulerUrl": sched.URL}, 200)
	a.Must(t, carol, "POST", base, map[string]any{"name": "probe", "schedule": "0 0 2 * * *", "target": "/jobs/probe", "retries": 0}, 201)
	a.Must(t, carol, "POST", base+"/probe/run", nil, 202)
	a.Tick(t)
	runs := a.Must(t, bob, "GET", base+"/probe/runs", nil, 200)["items"].([]any)
	if len(runs) != 1 || !strings.Contains(fmt.Sprint(runs[0].(map[string]any)["error"]), "127.0.0.1 is refused (loopback") || hits != 0 {
		t.Fatalf("runs %v, scheduler hits %d", runs, hits)
	}
}

func TestSchedulePreview(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	m := a.Must(t, bob, "POST", "/api/schedules/preview", map[string]any{"schedule": "0 30 9 * * 1-5", "timeZone": "America/New_York", "from": "2026-10-30T00:00:00Z", "count": 2}, 200)
	b, _ := json.Marshal(m["occurrences"])
	if string(b) != `["2026-10-30T09:30:00-04:00","2026-11-02T09:30:00-05:00"]` {
		t.Fatalf("preview %s", b)
	}
	if resp, _ := a.Call(t, bob, "POST", "/api/schedules/preview", map[string]any{"schedule": "* * *"}, nil); resp.StatusCode != 400 {
		t.Fatalf("bad schedule: %d", resp.StatusCode)
	}
	if resp, _ := a.Call(t, "", "POST", "/api/schedules/preview", map[string]any{"schedule": "* * * * *"}, nil); resp.StatusCode != 401 {
		t.Fatalf("anonymous: %d", resp.StatusCode)
	}
}
