package standin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestStandIn: each path prefix is its own component; health follows
// restarts and break/fix; a repeated deployment key counts once; GET /
// says it is a stand-in.
func TestStandIn(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	s := New(10*time.Second, func() time.Time { return now })
	srv := httptest.NewServer(s)
	defer srv.Close()
	call := func(method, path, key string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(`{"seq":4,"mode":"hot","changes":[{},{}]}`))
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const p = "/claims/test/portal"
	steps := []struct {
		method, path, key string
		advance           time.Duration
		want              int
	}{
		{"GET", p + "/health", "", 0, 200},
		{"POST", p + "/restart", "", 0, 202},
		{"GET", p + "/health", "", 0, 503},
		{"GET", "/claims/test/scheduler/health", "", 0, 200}, // another component
		{"GET", p + "/health", "", 11 * time.Second, 200},
		{"POST", p + "/break", "", 0, 200},
		{"GET", p + "/health", "", 0, 503},
		{"POST", p + "/fix", "", 0, 200},
		{"GET", p + "/health", "", 0, 200},
		{"POST", p + "/deployments", "k1", 0, 200},
		{"POST", p + "/deployments", "k1", 0, 200},
		{"POST", p + "/close-month", "", 0, 200},
		{"PUT", p + "/restart", "", 0, 405},
		{"GET", "/x", "", 0, 404},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		if got := call(st.method, st.path, st.key); got != st.want {
			t.Fatalf("%s %s: %d, want %d", st.method, st.path, got, st.want)
		}
	}
	c := s.Get(p)
	if c.Restarts != 1 || len(c.Deployments) != 1 || c.Deployments[0].Changes != 2 || c.Calls != 1 {
		t.Fatalf("component %+v", c)
	}
	resp, _ := http.Get(srv.URL + "/")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "stand-in") || !strings.Contains(string(b), p) {
		t.Fatalf("GET / = %s", b)
	}
}
