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

// TestJobCallsAreDeduplicatedByKey: a Scheduler performs each job call
// once per Idempotency-Key, as programmed jobs require (docs/jobs.md): a
// repeat of a performed key answers "duplicate" without running again, a
// repeat while the first is still running answers 409; calls without a key
// run every time.
func TestJobCallsAreDeduplicatedByKey(t *testing.T) {
	s := New(0, nil)
	s.CallDelay = 2 * time.Second // long enough for the repeat to arrive while the first runs
	srv := httptest.NewServer(s)
	defer srv.Close()
	const p = "/claims/test/scheduler"
	call := func(key string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+p+"/close-month", strings.NewReader(`{}`))
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	first := make(chan int)
	go func() { code, _ := call("claims/test/close/1"); first <- code }()
	for deadline := time.Now().Add(5 * time.Second); s.CallKeys(p)["claims/test/close/1"] == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the first call never arrived")
		}
		time.Sleep(5 * time.Millisecond) // polling interval, not a wait for a condition
	}
	if code, _ := call("claims/test/close/1"); code != http.StatusConflict {
		t.Fatalf("a repeat while the first runs: %d, want 409", code)
	}
	if code := <-first; code != 200 {
		t.Fatalf("first call: %d", code)
	}
	if code, body := call("claims/test/close/1"); code != 200 || !strings.Contains(body, "duplicate") {
		t.Fatalf("a repeat after it ran: %d %s", code, body)
	}
	for i := 0; i < 2; i++ {
		if code, _ := call(""); code != 200 {
			t.Fatalf("a call without a key: %d", code)
		}
	}
	if code, _ := call("claims/test/close/2"); code != 200 {
		t.Fatalf("another key: %d", code)
	}
	c := s.Get(p)
	if c.Calls != 4 || c.DuplicateCalls != 2 {
		t.Fatalf("calls %d (want 4: one per key, two without), duplicates %d (want 2)", c.Calls, c.DuplicateCalls)
	}
	if keys := s.CallKeys(p); len(keys) != 2 || keys["claims/test/close/1"] != 3 {
		t.Fatalf("keys %v", keys)
	}
}
