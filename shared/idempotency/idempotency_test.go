package idempotency

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

// TestStalePendingRecordIsCleared: a request that died after claiming its key
// (a pending record, no answer) blocks the key only for PendingTTL; then a
// retry runs the handler and records its answer.
func TestStalePendingRecordIsCleared(t *testing.T) {
	ctx := context.Background()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: fmt.Sprintf("idem%d", time.Now().UnixNano()%1e9)})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(ctx, Layout); err != nil {
		t.Fatal(err)
	}
	polled := &pollCounter{Table: acct.Table("idempotency")}
	k := New(polled)
	k.poll = 5 * time.Millisecond
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	advance := func(d time.Duration) { clock.Add(int64(d)) }
	k.now = now
	var calls atomic.Int64
	rt := httpapi.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, 0)
	rt.Handle("POST /api/things", k.Wrap(func(w http.ResponseWriter, r *http.Request) error {
		httpapi.JSON(w, http.StatusCreated, map[string]int64{"n": calls.Add(1)})
		return nil
	}), httpapi.Public())
	srv := httptest.NewServer(rt)
	defer srv.Close()
	post := func() (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/things", strings.NewReader(`{"a":1}`))
		req.Header.Set("Idempotency-Key", "k1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Simulate the dead request: its pending record, under the same scope
	// as an anonymous caller's POST /api/things.
	code, first := post()
	if code != 201 || calls.Load() != 1 {
		t.Fatalf("first: %d %s", code, first)
	}
	// Overwrite the record as if a second request had died holding it.
	es, _ := acct.Table("idempotency").QueryAll(ctx, store.Filter{}, 0)
	if len(es) != 1 {
		t.Fatalf("%d records", len(es))
	}
	e := es[0]
	e.Props = map[string]any{"State": "pending", "BodyHash": e.String("BodyHash"), "Created": now().UTC()}
	if _, err := acct.Table("idempotency").Update(ctx, e, store.AnyETag); err != nil {
		t.Fatal(err)
	}
	// Within the TTL a retry waits, then answers 503 with a Retry-After
	// (MaxWait of the Keeper's clock: move it past that while it polls).
	// Move it once the retry has read the record twice (it polls: its
	// deadline is set); moved earlier, the deadline would move with it.
	gets := polled.gets.Load()
	go func() {
		<-polled.reached(gets + 2)
		advance(MaxWait + time.Second)
	}()
	if code, body, after := postFull(t, srv.URL+"/api/things", "k1"); code != 503 || !strings.Contains(body, "still in progress") || after == "" {
		t.Fatalf("retry within the TTL: %d %s (Retry-After %q)", code, body, after)
	}
	// After the TTL the stale record is cleared and the handler runs again.
	advance(PendingTTL)
	code, body := post()
	if code != 201 || calls.Load() != 2 || !strings.Contains(body, fmt.Sprint(`"n":2`)) {
		t.Fatalf("retry after the TTL: %d %s (calls %d)", code, body, calls.Load())
	}
	// And now it is recorded: the next retry replays it.
	if code, again := post(); code != 201 || again != body || calls.Load() != 2 {
		t.Fatalf("replay: %d %s", code, again)
	}
}

// TestLargeAnswerReplays: an answer far over one property's 64 KiB (a
// 10,000-object check-in's) is stored gzipped in chunks in the table and
// replayed whole.
func TestLargeAnswerReplays(t *testing.T) {
	ctx := context.Background()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: fmt.Sprintf("idbig%d", time.Now().UnixNano()%1e9)})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(ctx, Layout); err != nil {
		t.Fatal(err)
	}
	k := New(acct.Table("idempotency"))
	var calls atomic.Int64
	rt := httpapi.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, 0)
	rt.Handle("POST /api/big", k.Wrap(func(w http.ResponseWriter, r *http.Request) error {
		calls.Add(1)
		var b strings.Builder
		for i := 0; b.Len() < 800<<10; i++ {
			fmt.Fprintf(&b, `{"path":"applications/a/processes/p%06d","version":%d},`, i, i%7)
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, b.String())
		return nil
	}), httpapi.Public())
	srv := httptest.NewServer(rt)
	defer srv.Close()
	var first string
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest("POST", srv.URL+"/api/big", strings.NewReader(`{}`))
		req.Header.Set("Idempotency-Key", "big")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || len(b) < 800<<10 {
			t.Fatalf("call %d: %d, %d bytes", i, resp.StatusCode, len(b))
		}
		if i == 0 {
			first = string(b)
		} else if string(b) != first || resp.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the replay differs (%d bytes)", len(b))
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls", calls.Load())
	}
}

// postFull posts {"a":1} with key and returns the status, the body and the
// Retry-After header.
func postFull(t *testing.T, url, key string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(`{"a":1}`))
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Retry-After")
}

// pollCounter counts the reads of records (a retry waiting on a pending
// record reads it once per poll).
type pollCounter struct {
	store.Table
	gets atomic.Int64

	mu      sync.Mutex
	waiters map[int64][]chan struct{} // closed when gets reaches the key

	// updated, when set, receives every record an Update wrote (a running
	// request's lease renewals): a condition to wait on instead of polling.
	updated chan store.Entity
}

func (p *pollCounter) Update(ctx context.Context, e store.Entity, etag string) (string, error) {
	next, err := p.Table.Update(ctx, e, etag)
	if err == nil && p.updated != nil {
		select {
		case p.updated <- e:
		default: // nobody is waiting: the renewal goes on
		}
	}
	return next, err
}

func (p *pollCounter) Get(ctx context.Context, pk, rk string) (store.Entity, error) {
	n := p.gets.Add(1)
	p.mu.Lock()
	for at, chs := range p.waiters {
		if n >= at {
			for _, ch := range chs {
				close(ch)
			}
			delete(p.waiters, at)
		}
	}
	p.mu.Unlock()
	return p.Table.Get(ctx, pk, rk)
}

// reached is closed once n reads have been made: a condition to wait on,
// not a pause.
func (p *pollCounter) reached(n int64) <-chan struct{} {
	ch := make(chan struct{})
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gets.Load() >= n {
		close(ch)
		return ch
	}
	if p.waiters == nil {
		p.waiters = map[int64][]chan struct{}{}
	}
	p.waiters[n] = append(p.waiters[n], ch)
	return ch
}
