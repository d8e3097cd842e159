package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// lossyProxy forwards to the API; while failing is set it forwards each
// check-in (so the commit is made) and answers the client 503 with
// Retry-After 0 in place of the real answer, as a handler killed after its
// commit does. It records the Idempotency-Key of every check-in.
type lossyProxy struct {
	*httptest.Server
	mu      sync.Mutex
	failing int // check-ins still to answer with 503
	keys    []string
}

func newLossyProxy(t *testing.T, api string, failing int) *lossyProxy {
	u, _ := url.Parse(api)
	p := &lossyProxy{failing: failing}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || !strings.HasSuffix(r.URL.Path, "/checkins") {
			rp.ServeHTTP(w, r)
			return
		}
		p.mu.Lock()
		p.keys = append(p.keys, r.Header.Get("Idempotency-Key"))
		lose := p.failing > 0
		if lose {
			p.failing--
		}
		p.mu.Unlock()
		if !lose {
			rp.ServeHTTP(w, r)
			return
		}
		rp.ServeHTTP(httptest.NewRecorder(), r) // committed; the answer is lost
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"type":"https://studio-collab.dev/problems/unavailable","title":"Service unavailable","status":503,"detail":"the instance stopped"}`))
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *lossyProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.keys...)
}

func sameKeys(t *testing.T, keys []string, n int) {
	t.Helper()
	if len(keys) != n {
		t.Fatalf("%d check-ins sent, want %d: %v", len(keys), n, keys)
	}
	for _, k := range keys {
		if k == "" || k != keys[0] {
			t.Fatalf("the retries changed the Idempotency-Key: %v", keys)
		}
	}
}

// TestPushRetriesWithItsKeyAfter5xx (issue 19, finding 2): a push whose
// check-in answers 503 after the server committed (the handler was killed)
// sends it again with the same Idempotency-Key and reports its own commit.
// Before the fix the CLI deleted push.json on the 503 and failed; the next
// push sent a new key and was refused with its own changes as conflicts.
func TestPushRetriesWithItsKeyAfter5xx(t *testing.T) {
	api := signInAlice(t)
	proxy := newLossyProxy(t, api.URL, 1)
	must(t, 0, "", "login", "--api", proxy.URL, "--email", "alice@example.com")
	a := filepath.Join(t.TempDir(), "a")
	must(t, 0, "", "clone", "claims", a)
	for _, n := range []string{"p1", "p2", "p3"} {
		write(t, filepath.Join(a, "applications", "claims", "processes", n+".json"), `{"name":"`+n+`"}`)
	}
	must(t, 0, "pushed commit 1: 3 change(s)", "push", "-C", a, "-m", "three")
	sameKeys(t, proxy.seen(), 2)
	must(t, 0, "nothing to push", "status", "-C", a)
	must(t, 0, "already up to date at commit 1", "pull", "-C", a)
}

// TestPushKeepsItsKeyWhenEveryTryFails: when every try answers 5xx the push
// fails but keeps push.json; the next push (the server reachable again)
// sends the same key and gets the commit the first one made, not a
// conflict and not a second commit.
func TestPushKeepsItsKeyWhenEveryTryFails(t *testing.T) {
	api := signInAlice(t)
	tries := checkinAttempts * (1 + maxRetries) // this loop's, each through the retrying transport
	proxy := newLossyProxy(t, api.URL, tries)
	must(t, 0, "", "login", "--api", proxy.URL, "--email", "alice@example.com")
	a := filepath.Join(t.TempDir(), "a")
	must(t, 0, "", "clone", "claims", a)
	write(t, filepath.Join(a, "applications", "claims", "processes", "p1.json"), `{"name":"p1"}`)
	must(t, 1, "run push again to retry safely", "push", "-C", a, "-m", "one")
	if _, err := os.Stat(filepath.Join(a, stateDir, "push.json")); err != nil {
		t.Fatalf("push.json is gone after a 5xx: %v", err)
	}
	must(t, 0, "pushed commit 1: 1 change(s)", "push", "-C", a, "-m", "one")
	sameKeys(t, proxy.seen(), tries+1)
	if _, err := os.Stat(filepath.Join(a, stateDir, "push.json")); !os.IsNotExist(err) {
		t.Fatalf("push.json stays after the answer: %v", err)
	}
	must(t, 0, "already up to date at commit 1", "pull", "-C", a)
}
