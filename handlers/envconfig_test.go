package handlers_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers/handlertest"
)

const (
	envBase    = "/api/projects/claims/environments/development"
	clearValue = "CLEAR-hunter2-0f9a" // a secret value that must never be seen again
)

// workPortal returns an app-only token of a service principal (the Work
// Portal's identity), with or without the Connectors.Invoke role.
func workPortal(t *testing.T, a *handlertest.API, oid string, roles ...string) string {
	t.Helper()
	tok, err := a.Issuer.IssueRaw(map[string]any{"oid": oid, "roles": roles, "idtyp": "app"}, oid, handlertest.Audience, a.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + tok
}

// TestParametersOverHTTP: typed values and their validation, secrets masked
// in every answer and every log line, ETags, restart-needing changes waiting
// for the window while hot ones apply at once, and the audit rows.
func TestParametersOverHTTP(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	p := envBase + "/parameters"
	// Types are validated; refusals are problems that name the rule.
	for _, bad := range []map[string]any{
		{"type": "int", "value": "ten"},
		{"type": "int", "value": 5, "validation": map[string]any{"max": 3}},
		{"type": "url", "value": "ftp://files.example.com/"},
		{"type": "bool", "value": 1},
		{"type": "secret", "default": clearValue},
		{"type": "decimal", "value": 1},
	} {
		resp, m := a.Call(t, carol, "PUT", p+"/bad", bad, nil)
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%v: %d %v", bad, resp.StatusCode, m)
		}
	}
	a.Must(t, carol, "PUT", p+"/pageSize", map[string]any{"type": "int", "description": "rows per page", "default": 25, "validation": map[string]any{"min": 1, "max": 500}}, 201)
	a.Must(t, carol, "PUT", p+"/crm.url", map[string]any{"type": "url", "value": "https://crm.example.com/api"}, 201)
	a.Must(t, carol, "PUT", p+"/crm.apiKey", map[string]any{"type": "secret", "description": "CRM API key", "value": clearValue}, 201)
	// Secrets are masked in every answer: PUT, GET, list; to every role.
	for _, who := range []string{bob, carol, dave} {
		m := a.Must(t, who, "GET", p+"/crm.apiKey", nil, 200)
		if m["value"] != "***" || m["valueSet"] != true || m["type"] != "secret" {
			t.Fatalf("secret as %s: %v", who, m)
		}
	}
	resp, m := a.Call(t, carol, "PUT", p+"/crm.apiKey", map[string]any{"value": clearValue + "-2"}, nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || etag == "" || m["value"] != "***" {
		t.Fatalf("change the secret: %d %v", resp.StatusCode, m)
	}
	list := a.Must(t, bob, "GET", p, nil, 200)
	b, _ := json.Marshal(list)
	if !strings.Contains(string(b), `"name":"crm.apiKey"`) || !strings.Contains(string(b), `"name":"pageSize"`) || !strings.Contains(string(b), `"default":25`) {
		t.Fatalf("list %s", b)
	}
	// ETags: a stale If-Match is 412 for PUT and DELETE.
	a.Must(t, carol, "PUT", p+"/crm.apiKey", map[string]any{"description": "CRM key (rotated)"}, 200)
	for _, method := range []string{"PUT", "DELETE"} {
		resp, _ := a.Call(t, carol, method, p+"/crm.apiKey", map[string]any{"value": clearValue}, map[string]string{"If-Match": etag})
		if resp.StatusCode != 412 {
			t.Fatalf("%s with a stale ETag: %d", method, resp.StatusCode)
		}
	}
	// Hot: active at once. Restart-needing: pending, queued, active after the window.
	a.Must(t, carol, "PUT", p+"/pageSize", map[string]any{"value": 100}, 200)
	if m := a.Must(t, bob, "GET", p+"/pageSize", nil, 200); m["value"] != float64(100) || m["pending"] != nil {
		t.Fatalf("hot change: %v", m)
	}
	a.Must(t, carol, "PUT", p+"/portal.threads", map[string]any{"type": "int", "impact": "restart-portal", "value": 8}, 201)
	a.ApplyPending(t, "claims", "development")
	m = a.Must(t, carol, "PUT", p+"/portal.threads", map[string]any{"value": 16}, 200)
	pending, _ := m["pending"].(map[string]any)
	if m["value"] != float64(8) || pending == nil || pending["value"] != float64(16) || pending["impact"] != "restart-portal" {
		t.Fatalf("restart-needing change: %v", m)
	}
	a.Must(t, carol, "PUT", p+"/portal.secret", map[string]any{"type": "secret", "impact": "restart-scheduler", "value": clearValue}, 201)
	// Both wait for the environment's next maintenance window.
	if st := a.Must(t, bob, "GET", envBase+"/status", nil, 200); st["pendingParameters"] != float64(2) || st["window"] == nil {
		t.Fatalf("deployment status with two restart-needing parameters: %v", st)
	}
	a.ApplyPending(t, "claims", "development")
	if m := a.Must(t, bob, "GET", p+"/portal.threads", nil, 200); m["value"] != float64(16) || m["pending"] != nil {
		t.Fatalf("after the window: %v", m)
	}
	// Deleting a restart-needing parameter is accepted, pending the window.
	resp, m = a.Call(t, dave, "DELETE", p+"/portal.secret", nil, nil)
	if pd, _ := m["pending"].(map[string]any); resp.StatusCode != 202 || pd["delete"] != true || m["value"] != "***" {
		t.Fatalf("delete pending: %d %v", resp.StatusCode, m)
	}
	a.ApplyPending(t, "claims", "development")
	a.Must(t, bob, "GET", p+"/portal.secret", nil, 404)
	a.Must(t, dave, "DELETE", p+"/crm.url", nil, 204)
	// The audit log has old and new values, secrets masked.
	audit := a.Must(t, dave, "GET", "/api/projects/claims/audit", nil, 200)
	ab, _ := json.Marshal(audit)
	for _, w := range []string{`"action":"parameter.put"`, `"action":"parameter.apply"`, `"action":"parameter.delete"`, `"target":"environments/development/parameters/pageSize"`, `"value":"***"`} {
		if !strings.Contains(string(ab), w) {
			t.Fatalf("audit lacks %s: %s", w, ab)
		}
	}
	// The clear value is nowhere: not in the audit, not in any log line.
	if strings.Contains(string(ab), "CLEAR-") {
		t.Fatal("the audit log shows a secret")
	}
	if logs := a.Logs(); strings.Contains(logs, "CLEAR-") || !strings.Contains(logs, "/parameters/crm.apiKey") {
		t.Fatalf("logs show a secret (or were not captured):\n%s", logs)
	}
}

// TestConnectorsOverHTTP: register, invoke as an admin and as the Work
// Portal's identity, refusals as problems with a reason, the call logged
// without secrets.
func TestConnectorsOverHTTP(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	var hits atomic.Int64
	crm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("X-Api-Key") != clearValue {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"order":%q,"echo":%s}`, r.URL.Path, b)
	}))
	defer crm.Close()
	c := envBase + "/connectors"
	a.Must(t, carol, "PUT", envBase+"/parameters/crm.key", map[string]any{"type": "secret", "value": clearValue}, 201)
	conn := map[string]any{"name": "crm", "baseUrl": crm.URL + "/v2", "methods": []string{"GET", "POST"}, "pathPrefixes": []string{"/orders"},
		"auth": map[string]any{"kind": "apiKey", "keyParam": "crm.key"}, "timeoutMs": 5000}
	created := a.Must(t, carol, "POST", c, conn, 201)
	if created["auth"].(map[string]any)["header"] != "X-Api-Key" || created["maxResponseBytes"] != float64(1<<20) {
		t.Fatalf("created %v", created)
	}
	a.Must(t, carol, "POST", c, conn, 409)
	a.Must(t, bob, "GET", c+"/crm", nil, 200)
	call := map[string]any{"method": "POST", "path": "/orders/7", "body": map[string]any{"qty": 2}}
	// The tests' server is on loopback: refused until the environment's
	// allow-list names 127.0.0.0/8 explicitly.
	resp, m := a.Call(t, carol, "POST", c+"/crm/invoke", call, nil)
	if resp.StatusCode != 422 || m["reason"] != "address-refused" || hits.Load() != 0 {
		t.Fatalf("loopback before the allow-list: %d %v", resp.StatusCode, m)
	}
	a.Must(t, bob, "PUT", envBase+"/connector-settings", map[string]any{"allowNetworks": []string{"127.0.0.0/8"}}, 403)
	a.Must(t, carol, "PUT", envBase+"/connector-settings", map[string]any{"allowNetworks": []string{"127.0.0.0/8"}, "invokers": []string{"dev-wp-claims"}}, 200)
	out := a.Must(t, carol, "POST", c+"/crm/invoke", call, 200)
	if out["status"] != float64(200) || out["body"] != `{"order":"/v2/orders/7","echo":{"qty":2}}` || out["durationMs"] == nil {
		t.Fatalf("invoke: %v", out)
	}
	// The Work Portal's identity: listed and with the role, it may; without
	// the role 403; another service principal learns nothing (404).
	a.Must(t, workPortal(t, a, "wp-claims", "Connectors.Invoke"), "POST", c+"/crm/invoke", call, 200)
	a.Must(t, workPortal(t, a, "wp-claims"), "POST", c+"/crm/invoke", call, 403)
	a.Must(t, workPortal(t, a, "wp-other", "Connectors.Invoke"), "POST", c+"/crm/invoke", call, 404)
	a.Must(t, workPortal(t, a, "wp-claims", "Connectors.Invoke"), "POST", "/api/projects/claims/environments/nope/connectors/crm/invoke", call, 404)
	// Refusals: the connector's methods and paths; SSRF to the metadata endpoint.
	if resp, m := a.Call(t, carol, "POST", c+"/crm/invoke", map[string]any{"method": "DELETE", "path": "/orders/7"}, nil); resp.StatusCode != 403 || m["reason"] != "method-not-allowed" {
		t.Fatalf("method: %d %v", resp.StatusCode, m)
	}
	if resp, m := a.Call(t, carol, "POST", c+"/crm/invoke", map[string]any{"method": "GET", "path": "/admin"}, nil); resp.StatusCode != 403 || m["reason"] != "path-not-allowed" {
		t.Fatalf("path: %d %v", resp.StatusCode, m)
	}
	a.Must(t, carol, "PUT", c+"/imds", map[string]any{"baseUrl": "http://169.254.169.254/metadata"}, 201)
	if resp, m := a.Call(t, carol, "POST", c+"/imds/invoke", map[string]any{"path": "/identity/oauth2/token"}, nil); resp.StatusCode != 422 || m["reason"] != "address-refused" {
		t.Fatalf("metadata: %d %v", resp.StatusCode, m)
	}
	// Each call has one log line with connector, status, duration and
	// bytes; no secret, no body, no path.
	logs := a.Logs()
	if !strings.Contains(logs, `msg="connector call"`) || !strings.Contains(logs, "connector=crm method=POST status=200 durationMs=") {
		t.Fatalf("call log:\n%s", logs)
	}
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "connector call") && (strings.Contains(line, "qty") || strings.Contains(line, "/orders")) {
			t.Fatalf("a call log line holds the body or path: %s", line)
		}
	}
	if strings.Contains(logs, clearValue) {
		t.Fatal("a log line holds the API key")
	}
}

// TestParamsAndConnectorsAuthorizationMatrix: every route of both areas for
// every kind of caller; outsiders (non-members, another subscription, a
// service principal that is not the environment's) get 404.
func TestParamsAndConnectorsAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer upstream.Close()
	a.Must(t, alice, "PUT", envBase+"/connector-settings", map[string]any{"allowNetworks": []string{"127.0.0.0/8"}}, 200)
	a.Must(t, alice, "PUT", envBase+"/connectors/up", map[string]any{"baseUrl": upstream.URL}, 201)
	a.Must(t, alice, "PUT", envBase+"/parameters/region", map[string]any{"type": "string", "value": "eu"}, 201)
	callers := []struct{ name, who string }{
		{"anonymous", ""}, {"non-member", erin}, {"developer", bob}, {"admin", carol}, {"project owner", dave},
		{"subscription owner", alice}, {"other subscription's owner", olga}, {"unlisted service principal", workPortal(t, a, "wp-x", "Connectors.Invoke")},
	}
	outsiders := map[string]int{erin: 404, olga: 404}
	project := func(dev, adm int) map[string]int {
		m := map[string]int{bob: dev, carol: adm, dave: adm, alice: adm}
		for k, v := range outsiders {
			m[k] = v
		}
		return m
	}
	reset := func(method, path string, body any) func(t *testing.T) {
		return func(t *testing.T) {
			resp, m := a.Call(t, alice, method, path, body, nil)
			if resp.StatusCode >= 300 && resp.StatusCode != 404 {
				t.Fatalf("setup %s %s: %d %v", method, path, resp.StatusCode, m)
			}
		}
	}
	rows := []struct {
		method, path string
		body         any
		setup        func(t *testing.T)
		want         map[string]int
	}{
		{"GET", envBase + "/parameters", nil, nil, project(200, 200)},
		{"GET", envBase + "/parameters/region", nil, nil, project(200, 200)},
		{"PUT", envBase + "/parameters/mx", map[string]any{"type": "bool", "value": true}, reset("DELETE", envBase+"/parameters/mx", nil), project(403, 201)},
		{"DELETE", envBase + "/parameters/mx", nil, reset("PUT", envBase+"/parameters/mx", map[string]any{"type": "bool", "value": true}), project(403, 204)},
		{"GET", envBase + "/connectors", nil, nil, project(200, 200)},
		{"POST", envBase + "/connectors", map[string]any{"name": "mx", "baseUrl": "https://mx.example.com"}, reset("DELETE", envBase+"/connectors/mx", nil), project(403, 201)},
		{"GET", envBase + "/connectors/up", nil, nil, project(200, 200)},
		{"PUT", envBase + "/connectors/mx", map[string]any{"baseUrl": "https://mx.example.com"}, reset("DELETE", envBase+"/connectors/mx", nil), project(403, 201)},
		{"DELETE", envBase + "/connectors/mx", nil, reset("PUT", envBase+"/connectors/mx", map[string]any{"baseUrl": "https://mx.example.com"}), project(403, 204)},
		{"POST", envBase + "/connectors/up/invoke", map[string]any{"path": "/"}, nil, project(403, 200)},
		{"GET", envBase + "/connector-settings", nil, nil, project(200, 200)},
		{"PUT", envBase + "/connector-settings", map[string]any{"allowNetworks": []string{"127.0.0.0/8"}}, nil, project(403, 200)},
	}
	total := 0
	for _, r := range rows {
		for _, c := range callers {
			want, ok := r.want[c.who]
			switch {
			case c.who == "":
				want = 401
			case strings.HasPrefix(c.who, "Bearer "):
				want = 404
			case !ok:
				t.Fatalf("no expectation for %s", c.name)
			}
			t.Run(fmt.Sprintf("%s %s as %s", r.method, r.path, c.name), func(t *testing.T) {
				if r.setup != nil {
					r.setup(t)
				}
				resp, m := a.Call(t, c.who, r.method, r.path, r.body, nil)
				if resp.StatusCode != want {
					t.Fatalf("status %d, want %d: %v", resp.StatusCode, want, m)
				}
				if want >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("error answer is not problem+json: %q", resp.Header.Get("Content-Type"))
				}
			})
			total++
		}
	}
	t.Logf("parameters and connectors matrix: %d routes x %d callers = %d rows", len(rows), len(callers), total)
}
