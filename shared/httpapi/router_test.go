package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/studio-collab/collab/shared/fault"
)

type item struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Tags  []string
}

type conflictErr struct{ paths []string }

func (c conflictErr) Error() string { return "conflict" }
func (c conflictErr) ProblemExtensions() map[string]any {
	return map[string]any{"conflicts": c.paths, "status": 999} // "status" must not override
}

// lockedLog collects log lines so tests can check what was logged.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}
func (l *lockedLog) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

type tokenAuth struct{}

func (tokenAuth) Authenticate(r *http.Request) (context.Context, error) {
	if r.Header.Get("Authorization") != "Bearer good" {
		return nil, fault.E("test.auth", fault.Unauthenticated, "bad token")
	}
	return r.Context(), nil
}

func newTestServer(t *testing.T) (*httptest.Server, *lockedLog) {
	t.Helper()
	logs := &lockedLog{}
	rt := NewRouter(slog.New(slog.NewJSONHandler(logs, nil)), tokenAuth{}, 64)
	rt.Handle("POST /api/items", func(w http.ResponseWriter, r *http.Request) error {
		var it item
		if err := DecodeJSON(r, &it); err != nil {
			return err
		}
		JSON(w, http.StatusCreated, it)
		return nil
	}, Public())
	rt.Handle("PUT /api/blobs/{hash}", func(w http.ResponseWriter, r *http.Request) error {
		b, err := ReadBody(r)
		if err != nil {
			return err
		}
		JSON(w, http.StatusOK, map[string]int{"size": len(b)})
		return nil
	}, Public(), BodyLimit(1024))
	rt.Handle("GET /api/items/{id}", func(w http.ResponseWriter, r *http.Request) error {
		if r.PathValue("id") == "missing" {
			return fault.E("items.Get", fault.NotFound, fault.Path("items/missing"), "no such item")
		}
		if r.PathValue("id") == "conflict" {
			return fault.E("items.Get", fault.Conflict, conflictErr{[]string{"a", "b"}})
		}
		if r.PathValue("id") == "secret" {
			return fault.E("items.Get", io.ErrUnexpectedEOF, "internal detail with a connection string")
		}
		JSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
		return nil
	})
	rt.Handle("GET /api/panic", func(w http.ResponseWriter, r *http.Request) error {
		panic("handler bug")
	}, Public())
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return srv, logs
}

type answer struct {
	status  int
	header  http.Header
	problem map[string]any
	body    []byte
}

func do(t *testing.T, srv *httptest.Server, method, path, body string, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		if err := json.Unmarshal(b, &a.problem); err != nil {
			t.Fatalf("problem body is not JSON: %s", b)
		}
	}
	return a
}

func TestConventions(t *testing.T) {
	srv, _ := newTestServer(t)
	cases := []struct {
		name       string
		method     string
		path, body string
		hdr        map[string]string
		wantStatus int
		wantType   string // problem type slug; "" = not a problem
		detailHas  string
		check      func(t *testing.T, a answer)
	}{
		{name: "valid JSON", method: "POST", path: "/api/items", body: `{"name":"a","count":2}`, wantStatus: 201},
		{name: "unknown route is a 404 problem", method: "GET", path: "/api/nope", wantStatus: 404, wantType: "not-found", detailHas: "no route for GET /api/nope"},
		{name: "root is a 404 problem", method: "GET", path: "/", wantStatus: 404, wantType: "not-found"},
		{name: "wrong method is a 405 problem with Allow", method: "DELETE", path: "/api/items", wantStatus: 405, wantType: "method-not-allowed",
			check: func(t *testing.T, a answer) {
				if a.header.Get("Allow") != "POST" {
					t.Fatalf("Allow = %q", a.header.Get("Allow"))
				}
			}},
		{name: "malformed JSON names the offset", method: "POST", path: "/api/items", body: `{"name": "a",}`, wantStatus: 400, wantType: "invalid", detailHas: "malformed JSON at byte"},
		{name: "truncated JSON", method: "POST", path: "/api/items", body: `{"name": "a"`, wantStatus: 400, wantType: "invalid", detailHas: "ends in the middle"},
		{name: "unknown field is named", method: "POST", path: "/api/items", body: `{"name":"a","colour":"red"}`, wantStatus: 400, wantType: "invalid", detailHas: `unknown field "colour"`},
		{name: "wrong type names the field", method: "POST", path: "/api/items", body: `{"count":"three"}`, wantStatus: 400, wantType: "invalid", detailHas: `field "count" must be a number, not string`},
		{name: "trailing data refused", method: "POST", path: "/api/items", body: `{"name":"a"} {"name":"b"}`, wantStatus: 400, wantType: "invalid", detailHas: "after the JSON value"},
		{name: "trailing garbage refused", method: "POST", path: "/api/items", body: `{"name":"a"}x`, wantStatus: 400, wantType: "invalid", detailHas: "after the JSON value"},
		{name: "empty body refused", method: "POST", path: "/api/items", body: ``, wantStatus: 400, wantType: "invalid", detailHas: "empty"},
		{name: "non-JSON content type refused", method: "POST", path: "/api/items", body: `{}`, hdr: map[string]string{"Content-Type": "text/plain"}, wantStatus: 400, wantType: "invalid", detailHas: "not JSON"},
		{name: "body over the default cap is 413", method: "POST", path: "/api/items", body: `{"name":"` + strings.Repeat("x", 100) + `"}`, wantStatus: 413, wantType: "too-large", detailHas: "limit of 64 bytes"},
		{name: "chunked body over the cap is 413", method: "POST", path: "/api/items", body: "chunked:" + strings.Repeat("x", 100), wantStatus: 413, wantType: "too-large"},
		{name: "per-route cap allows more", method: "PUT", path: "/api/blobs/abc", body: strings.Repeat("x", 1000), wantStatus: 200},
		{name: "per-route cap still caps", method: "PUT", path: "/api/blobs/abc", body: strings.Repeat("x", 1025), wantStatus: 413, wantType: "too-large", detailHas: "1024"},
		{name: "authenticated route without token is 401 with WWW-Authenticate", method: "GET", path: "/api/items/1", wantStatus: 401, wantType: "unauthenticated",
			check: func(t *testing.T, a answer) {
				if a.header.Get("WWW-Authenticate") != "Bearer" {
					t.Fatalf("WWW-Authenticate = %q", a.header.Get("WWW-Authenticate"))
				}
			}},
		{name: "authenticated route with token", method: "GET", path: "/api/items/1", hdr: map[string]string{"Authorization": "Bearer good"}, wantStatus: 200},
		{name: "domain NotFound keeps detail and path", method: "GET", path: "/api/items/missing", hdr: map[string]string{"Authorization": "Bearer good"}, wantStatus: 404, wantType: "not-found", detailHas: "no such item",
			check: func(t *testing.T, a answer) {
				if a.problem["path"] != "items/missing" || a.problem["instance"] != "/api/items/missing" {
					t.Fatalf("problem %v", a.problem)
				}
			}},
		{name: "extensions are flattened, standard members win", method: "GET", path: "/api/items/conflict", hdr: map[string]string{"Authorization": "Bearer good"}, wantStatus: 409, wantType: "conflict",
			check: func(t *testing.T, a answer) {
				c, _ := a.problem["conflicts"].([]any)
				if len(c) != 2 || a.problem["status"] != float64(409) {
					t.Fatalf("problem %v", a.problem)
				}
			}},
		{name: "internal errors hide their cause", method: "GET", path: "/api/items/secret", hdr: map[string]string{"Authorization": "Bearer good"}, wantStatus: 500, wantType: "internal",
			check: func(t *testing.T, a answer) {
				if bytes.Contains(a.body, []byte("connection string")) {
					t.Fatalf("internal detail leaked: %s", a.body)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if strings.HasPrefix(body, "chunked:") {
				// io.MultiReader hides the length, so the client sends it chunked.
				a := doChunked(t, srv, c.method, c.path, strings.TrimPrefix(body, "chunked:"))
				assertAnswer(t, a, c.wantStatus, c.wantType, c.detailHas)
				return
			}
			a := do(t, srv, c.method, c.path, body, c.hdr)
			assertAnswer(t, a, c.wantStatus, c.wantType, c.detailHas)
			if c.check != nil {
				c.check(t, a)
			}
		})
	}
}

func doChunked(t *testing.T, srv *httptest.Server, method, path, body string) answer {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, io.MultiReader(strings.NewReader(`{"name":"`), strings.NewReader(body), strings.NewReader(`"}`)))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &a.problem)
	return a
}

func assertAnswer(t *testing.T, a answer, status int, typ, detailHas string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	if a.header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id on the response")
	}
	if typ == "" {
		return
	}
	if a.problem == nil {
		t.Fatalf("not a problem+json answer: %q %s", a.header.Get("Content-Type"), a.body)
	}
	if a.problem["type"] != ProblemTypeBase+typ || a.problem["status"] != float64(status) || a.problem["title"] == "" {
		t.Fatalf("problem %v", a.problem)
	}
	if a.problem["requestId"] != a.header.Get("X-Request-Id") {
		t.Fatalf("problem requestId %v != header %q", a.problem["requestId"], a.header.Get("X-Request-Id"))
	}
	if detailHas != "" && !strings.Contains(a.problem["detail"].(string), detailHas) {
		t.Fatalf("detail %q lacks %q", a.problem["detail"], detailHas)
	}
}

func TestRequestID(t *testing.T) {
	srv, logs := newTestServer(t)
	cases := []struct {
		name, sent string
		echoed     bool
	}{
		{"well-formed id is echoed", "req-123.abc:9", true},
		{"no id gets a fresh one", "", false},
		{"id with spaces is replaced", "a b", false},
		{"id with a quote is replaced", `x"y`, false},
		{"overlong id is replaced", strings.Repeat("a", 129), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			if c.sent != "" {
				hdr["X-Request-Id"] = c.sent
			}
			a := do(t, srv, "GET", "/api/nope", "", hdr)
			got := a.header.Get("X-Request-Id")
			if c.echoed != (got == c.sent) || !requestIDPattern.MatchString(got) {
				t.Fatalf("sent %q got %q", c.sent, got)
			}
			if !strings.Contains(logs.String(), `"requestId":"`+got+`"`) {
				t.Fatalf("request id %q not in the logs", got)
			}
		})
	}
}

func TestPanicIsA500AndTheServerLivesOn(t *testing.T) {
	srv, logs := newTestServer(t)
	a := do(t, srv, "GET", "/api/panic", "", nil)
	assertAnswer(t, a, 500, "internal", "")
	if !strings.Contains(logs.String(), "handler bug") || !strings.Contains(logs.String(), "router_test.go") {
		t.Fatal("panic value or stack not logged")
	}
	for i := 0; i < 3; i++ {
		if a := do(t, srv, "POST", "/api/items", `{"name":"after"}`, nil); a.status != 201 {
			t.Fatalf("server did not keep serving: %d", a.status)
		}
	}
}

func TestEveryKindHasAStatus(t *testing.T) {
	for _, k := range fault.Kinds() {
		s := StatusOf(fault.E("x", k))
		if s < 400 || s > 599 {
			t.Errorf("kind %v maps to %d", k, s)
		}
	}
	if StatusOf(fault.E("x", fault.Other)) != 500 {
		t.Error("an unclassified error must be a 500")
	}
}

func TestRoutesAreListed(t *testing.T) {
	rt := NewRouter(slog.Default(), nil, 0)
	ok := func(w http.ResponseWriter, r *http.Request) error { return nil }
	rt.Handle("POST /api/b", ok)
	rt.Handle("GET /api/a", ok, Public())
	rt.Handle("GET /api/b", ok, BodyLimit(5), Unbounded())
	got := rt.Routes()
	want := []Route{
		{Method: "GET", Pattern: "/api/a", Public: true, BodyLimit: DefaultBodyLimit},
		{Method: "GET", Pattern: "/api/b", BodyLimit: 5, Unbounded: true},
		{Method: "POST", Pattern: "/api/b", BodyLimit: DefaultBodyLimit},
	}
	if len(got) != len(want) {
		t.Fatalf("routes %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("route %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a pattern without a method must panic")
		}
	}()
	rt.Handle("/api/c", ok)
}
