package fnhost

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func post(t *testing.T, h http.Handler, path, body string) (*httptest.ResponseRecorder, InvocationResponse) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(body)))
	var resp InvocationResponse
	if ct := rec.Header().Get("Content-Type"); ct == "application/json" {
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
			t.Fatalf("response is not an InvocationResponse: %v: %s", err, rec.Body)
		}
	}
	return rec, resp
}

func TestRouting(t *testing.T) {
	httpHit := 0
	mux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { httpHit++; w.WriteHeader(http.StatusTeapot) })
	r := NewRouter(mux, quietLog())
	calls := 0
	r.Handle("OutboxSend", func(ctx context.Context, inv *Invocation) (map[string]any, any, error) {
		calls++
		return nil, nil, nil
	})
	cases := []struct {
		name, method, path  string
		wantStatus          int
		wantCalls, wantHTTP int
	}{
		{"registered function", http.MethodPost, "/OutboxSend", 200, 1, 0},
		{"GET of a function name goes to HTTP", http.MethodGet, "/OutboxSend", 418, 0, 1},
		{"unknown function goes to HTTP", http.MethodPost, "/Nope", 418, 0, 1},
		{"api routes go to HTTP", http.MethodPost, "/api/health", 418, 0, 1},
		{"sub-path is not a function", http.MethodPost, "/OutboxSend/x", 418, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls, httpHit = 0, 0
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, strings.NewReader(`{}`)))
			if rec.Code != c.wantStatus || calls != c.wantCalls || httpHit != c.wantHTTP {
				t.Fatalf("status %d calls %d http %d", rec.Code, calls, httpHit)
			}
		})
	}
}

func TestFailedInvocationsAreNon2xx(t *testing.T) {
	r := NewRouter(http.NotFoundHandler(), quietLog())
	r.Handle("Fails", func(ctx context.Context, inv *Invocation) (map[string]any, any, error) {
		return nil, nil, errors.New("storage down")
	})
	r.Handle("Panics", func(ctx context.Context, inv *Invocation) (map[string]any, any, error) {
		panic("boom")
	})
	r.Handle("BadInput", func(ctx context.Context, inv *Invocation) (map[string]any, any, error) {
		var v struct{ A int }
		return nil, nil, inv.Bind("item", &v)
	})
	cases := []struct {
		name, path, body string
		want             int
		logHas           string
	}{
		{"error is 500", "/Fails", `{"Data":{}}`, 500, "storage down"},
		{"panic is 500 and the router lives", "/Panics", `{}`, 500, "panicked: boom"},
		{"undecodable body is 400", "/Fails", `{"Data":`, 400, "not JSON"},
		{"missing binding is 400", "/BadInput", `{"Data":{}}`, 400, `no data for binding "item"`},
		{"binding of the wrong shape is 400", "/BadInput", `{"Data":{"item":"[1,2]"}}`, 400, "does not decode"},
		{"oversized body is 400", "/Fails", `{"Data":{"x":"` + strings.Repeat("a", MaxInvocationBytes) + `"}}`, 400, "over the cap"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, resp := post(t, r, c.path, c.body)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d", rec.Code, c.want)
			}
			if len(resp.Logs) == 0 || !strings.Contains(resp.Logs[len(resp.Logs)-1], c.logHas) {
				t.Fatalf("logs %q lack %q", resp.Logs, c.logHas)
			}
		})
	}
}

func TestHandleRejectsBadNames(t *testing.T) {
	for _, name := range []string{"", "api", "a/b", "1x", "admin", strings.Repeat("x", 200)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Handle(%q) did not panic", name)
				}
			}()
			NewRouter(http.NotFoundHandler(), quietLog()).Handle(name, nil)
		}()
	}
}
