package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// accessLines are the access log's "request" lines for path.
func accessLines(t *testing.T, logs *lockedLog, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "request" && m["path"] == path {
			out = append(out, m)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRequestsPastTheBoundAreShedBeforeAnyWork(t *testing.T) {
	logs := &lockedLog{}
	rt := NewRouter(slog.New(slog.NewJSONHandler(logs, nil)), tokenAuth{}, 0)
	rt.LimitInFlight(2)
	entered, release := make(chan struct{}), make(chan struct{})
	rt.Handle("GET /api/slow", func(w http.ResponseWriter, r *http.Request) error {
		entered <- struct{}{}
		<-release
		JSON(w, http.StatusOK, map[string]string{"ok": "yes"})
		return nil
	})
	rt.Handle("GET /api/health", func(w http.ResponseWriter, r *http.Request) error {
		JSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	}, Public(), Unbounded())
	srv := httptest.NewServer(rt)
	defer srv.Close()

	auth := map[string]string{"Authorization": "Bearer good"}
	done := make(chan answer, 2)
	for range 2 {
		go func() {
			req, _ := http.NewRequest("GET", srv.URL+"/api/slow", nil)
			req.Header.Set("Authorization", "Bearer good")
			resp, err := srv.Client().Do(req)
			if err != nil {
				done <- answer{}
				return
			}
			resp.Body.Close()
			done <- answer{status: resp.StatusCode}
		}()
		<-entered
	}
	// Two in flight: the third is refused at once, even without a token
	// (the bound comes before authentication), with Retry-After.
	for _, hdr := range []map[string]string{auth, nil} {
		a := do(t, srv, "GET", "/api/slow", "", hdr)
		if a.status != 503 || a.header.Get("Retry-After") != "1" || a.problem["type"] != ProblemTypeBase+"unavailable" ||
			!strings.Contains(a.problem["detail"].(string), "limit of 2 requests") {
			t.Fatalf("past the bound: %d %q %v", a.status, a.header.Get("Retry-After"), a.problem)
		}
	}
	// The health probe is exempt.
	if a := do(t, srv, "GET", "/api/health", "", nil); a.status != 200 {
		t.Fatalf("health under the bound: %d %s", a.status, a.body)
	}
	close(release)
	for range 2 {
		if a := <-done; a.status != 200 {
			t.Fatalf("admitted request: %d", a.status)
		}
	}
	// The slots are given back.
	go func() { <-entered }()
	if a := do(t, srv, "GET", "/api/slow", "", auth); a.status != 200 {
		t.Fatalf("after the load: %d %s", a.status, a.body)
	}
	shed := 0
	for _, m := range accessLines(t, logs, "/api/slow") {
		if m["outcome"] == OutcomeShed {
			shed++
			if m["status"] != float64(503) {
				t.Errorf("shed request logged with status %v", m["status"])
			}
		}
	}
	if shed != 2 {
		t.Errorf("%d shed requests in the access log, want 2:\n%s", shed, logs)
	}
	// Shedding is the instance working as designed: no error line.
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("shedding logged an error:\n%s", logs)
	}
}

func TestAClientThatGoesAwayIsACancellationNotAnOutage(t *testing.T) {
	logs := &lockedLog{}
	rt := NewRouter(slog.New(slog.NewJSONHandler(logs, nil)), tokenAuth{}, 0)
	entered := make(chan struct{})
	rt.Handle("GET /api/me", func(w http.ResponseWriter, r *http.Request) error {
		close(entered)
		<-r.Context().Done()
		// What the store answers when its call is cut short.
		return fault.E("store.Get", fault.Unavailable, "unavailable", r.Context().Err())
	}, Public())
	rt.Handle("GET /api/down", func(w http.ResponseWriter, r *http.Request) error {
		return fault.E("store.Get", fault.Unavailable, "storage unavailable", io.ErrUnexpectedEOF)
	}, Public())
	srv := httptest.NewServer(rt)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/api/me", nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-entered
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("the abandoned request got an answer")
	}
	var line map[string]any
	waitFor(t, "the access line of the abandoned request", func() bool {
		ls := accessLines(t, logs, "/api/me")
		if len(ls) > 0 {
			line = ls[0]
		}
		return line != nil
	})
	if line["status"] != float64(StatusClientClosedRequest) || line["outcome"] != OutcomeCancelled {
		t.Errorf("abandoned request logged as %v / %v, want 499 / cancelled", line["status"], line["outcome"])
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) || strings.Contains(logs.String(), `"status":503`) {
		t.Errorf("a cancellation was logged as an outage:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "request abandoned by the client") {
		t.Errorf("no cancellation line:\n%s", logs)
	}
	// A real outage still is one.
	if a := do(t, srv, "GET", "/api/down", "", nil); a.status != 503 {
		t.Fatalf("outage: %d", a.status)
	}
	ls := accessLines(t, logs, "/api/down")
	if len(ls) != 1 || ls[0]["outcome"] != OutcomeError || !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("an outage must be logged as an error: %v\n%s", ls, logs)
	}
}
