package health_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/conns"
	"github.com/studio-collab/collab/shared/health"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

// throttled is a storage stand-in on loopback: a reverse proxy in front of
// one Azurite service that serves `width` requests at a time, each taking at
// least `hold`, and queues the rest — storage that is up but busy, as
// Azure Storage is when an account or partition is past its targets.
type throttled struct {
	srv   *httptest.Server
	slots chan struct{}
}

func newThrottled(t *testing.T, target string, width int, hold time.Duration) *throttled {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	th := &throttled{slots: make(chan struct{}, width)}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	proxy.ErrorLog = log.New(io.Discard, "", 0) // cancelled requests of the load, by design
	th.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case th.slots <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		defer func() { <-th.slots }()
		timer := time.NewTimer(hold)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(th.srv.Close)
	return th
}

var endpoint = regexp.MustCompile(`(Blob|Queue|Table)Endpoint=(http://[^/;]+)`)

// TestReadinessUnderOverloadOfAThrottledStorage: with storage answering
// every request but slowly (a throttled stand-in in front of Azurite),
// and the instance loaded past what storage serves, the readiness check
// times out, yet never reports storage down while storage answers the
// other requests; when the stand-in goes away, it does.
func TestReadinessUnderOverloadOfAThrottledStorage(t *testing.T) {
	az := azuritetest.Server(t)
	cs := az.ConnectionString()
	var proxies []*throttled
	cs = endpoint.ReplaceAllStringFunc(cs, func(m string) string {
		sub := endpoint.FindStringSubmatch(m)
		p := newThrottled(t, sub[2], 2, 20*time.Millisecond)
		proxies = append(proxies, p)
		return sub[1] + "Endpoint=" + p.srv.URL
	})
	if len(proxies) != 3 {
		t.Fatalf("connection string %q: want three endpoints", az.ConnectionString())
	}
	obs := health.Observe(conns.ForStorage(16), nil)
	acct, err := azure.Open(azure.Config{ConnectionString: cs, Transport: obs, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Recent is short, so that only the load's answers (not the warm-up's)
	// can prove storage up during the probes.
	ready := &health.Readiness{Storage: acct, Timeout: 100 * time.Millisecond, TTL: time.Millisecond, Recent: 500 * time.Millisecond,
		Answered: obs.LastAnswer, Failed: obs.LastFailure}
	warm, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for svc, err := range acct.Ping(warm) { // connections made, Azurite warm
		if err != nil {
			t.Fatalf("warm-up: %s: %v", svc, err)
		}
	}

	// The load: 24 clients each pinging the three services in a loop, so
	// that every service has ~24 requests queued at the stand-in (~240 ms
	// each at 2 requests per 20 ms), past the check's 100 ms deadline.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered, failed := 0, 0
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, cancel := context.WithTimeout(ctx, 10*time.Second)
				res := acct.Ping(c)
				cancel()
				mu.Lock()
				for _, err := range res {
					if err == nil {
						answered++
					} else if ctx.Err() == nil {
						failed++
					}
				}
				mu.Unlock()
			}
		}()
	}
	busy := 0
	until, deadline := time.Now().Add(3*time.Second), time.Now().Add(30*time.Second)
	for probes := 0; time.Now().Before(until) || (busy == 0 && time.Now().Before(deadline)); probes++ {
		rep := ready.Check(context.Background())
		if !rep.Ready() {
			stop()
			wg.Wait()
			t.Fatalf("probe %d under load: storage reported down while it answers others: %+v", probes, rep)
		}
		if rep.Storage == health.StorageBusy {
			busy++
		}
	}
	stop()
	wg.Wait()
	if busy == 0 {
		t.Fatal("no probe timed out under the load: the stand-in is not throttling enough for the test to mean anything")
	}
	if answered == 0 || failed > 0 {
		t.Fatalf("the load's own requests: %d answered, %d failed", answered, failed)
	}
	t.Logf("%d probes reported busy; the load's requests: %d answered", busy, answered)

	// Storage gone: the next check says so.
	for _, p := range proxies {
		p.srv.Close()
	}
	var rep health.Report
	deadline = time.Now().Add(10 * time.Second)
	for rep.Storage != health.StorageDown && time.Now().Before(deadline) {
		rep = ready.Check(context.Background())
	}
	if rep.Storage != health.StorageDown || len(rep.Down) != 3 {
		t.Fatalf("with the stand-in closed: %+v, want the three services down", rep)
	}
}
