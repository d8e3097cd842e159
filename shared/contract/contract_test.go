package contract

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMiddlewareReportsMismatches proves the check can fail: each answer
// below is served by a stand-in handler for a documented operation, and
// only the ones that keep the document pass.
func TestMiddlewareReportsMismatches(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	const problem = "application/problem+json"
	cases := []struct {
		name, method, path string
		status             int
		ctype, body        string
		wantErr            string // "" = conforms
	}{
		{"health as documented", "GET", "/api/health", 200, "application/json", `{"status":"ok","version":"v1","storage":"ok"}`, ""},
		{"health with a wrong value", "GET", "/api/health", 200, "application/json", `{"status":"fine","version":"v1","storage":"ok"}`, "doesn't match schema"},
		{"health missing a required member", "GET", "/api/health", 200, "application/json", `{"status":"ok"}`, "doesn't match schema"},
		{"a status the operation does not declare", "GET", "/api/health", 418, problem, `{"type":"x","title":"t","status":418,"detail":"d"}`, "status is not supported"},
		{"a client error with its detail", "GET", "/api/me", 401, problem, `{"type":"https://studio-collab.dev/problems/unauthenticated","title":"t","status":401,"detail":"no token"}`, ""},
		{"a client error without a detail", "GET", "/api/me", 401, problem, `{"type":"https://studio-collab.dev/problems/unauthenticated","title":"t","status":401}`, "without a detail"},
		{"a problem that is not one", "GET", "/api/me", 401, problem, `{"title":"t"}`, "doesn't match schema"},
		{"an undeclared content type", "GET", "/api/health", 200, "text/plain", `ok`, "Content-Type"},
		{"a path the document does not describe", "POST", "/JobsTick", 200, "application/json", `{}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []error
			h := Middleware(doc, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", c.ctype)
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			}), func(err error) { got = append(got, err) })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
			if rec.Code != c.status || rec.Body.String() != c.body {
				t.Fatalf("the answer was changed: %d %q", rec.Code, rec.Body.String())
			}
			switch {
			case c.wantErr == "" && len(got) > 0:
				t.Fatalf("reported %v", got)
			case c.wantErr != "" && (len(got) != 1 || !strings.Contains(got[0].Error(), c.wantErr)):
				t.Fatalf("reported %v, want one error containing %q", got, c.wantErr)
			}
		})
	}
}
