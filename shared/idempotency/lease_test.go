package idempotency

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// leaseRig is a Keeper on a fake clock in front of a handler that blocks
// while gate is held.
type leaseRig struct {
	url     string
	table   *pollCounter
	raw     store.Table
	clock   atomic.Int64
	calls   atomic.Int64
	gate    chan struct{}
	opened  sync.Once
	entered chan struct{}
}

func newLeaseRig(t *testing.T) *leaseRig {
	t.Helper()
	ctx := context.Background()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: fmt.Sprintf("idls%d", time.Now().UnixNano()%1e9)})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(ctx, Layout); err != nil {
		t.Fatal(err)
	}
	rig := &leaseRig{raw: acct.Table("idempotency"), gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	rig.table = &pollCounter{Table: rig.raw, updated: make(chan store.Entity)}
	rig.clock.Store(time.Now().UnixNano())
	k := New(rig.table)
	k.poll, k.renew = 2*time.Millisecond, 5*time.Millisecond
	k.now = rig.now
	rt := httpapi.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)), nil, 0)
	rt.Handle("POST /api/things", k.Wrap(func(w http.ResponseWriter, r *http.Request) error {
		n := rig.calls.Add(1)
		rig.entered <- struct{}{}
		<-rig.gate
		httpapi.JSON(w, http.StatusCreated, map[string]int64{"n": n})
		return nil
	}), httpapi.Public())
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	// Cleanups run last first: a test that failed while a request is held
	// lets it go, so that closing the server does not wait for it forever.
	t.Cleanup(rig.open)
	rig.url = srv.URL + "/api/things"
	return rig
}

// open lets every held request (and every later one) through.
func (r *leaseRig) open() { r.opened.Do(func() { close(r.gate) }) }

func (r *leaseRig) now() time.Time          { return time.Unix(0, r.clock.Load()) }
func (r *leaseRig) advance(d time.Duration) { r.clock.Add(int64(d)) }

// advanceWhilePolling moves the clock by d once a waiting retry has read the
// record twice more (its deadline is set by then).
func (r *leaseRig) advanceWhilePolling(d time.Duration) {
	gets := r.table.gets.Load()
	go func() {
		<-r.table.reached(gets + 2)
		r.advance(d)
	}()
}

// TestAbandonedKeyIsTakenOverWhenItsLeaseRunsOut (issue 19, finding 3): the
// process that held a key died (its pending record stays, nobody renews
// it). A retry with the same key right away gets 503 with a Retry-After no
// longer than the lease, not 409 (the status of a stale base); once the
// lease has run out a retry takes the key over and runs. Before the fix the
// retry held 30 s, answered 409, and the key stayed blocked for 2 minutes.
func TestAbandonedKeyIsTakenOverWhenItsLeaseRunsOut(t *testing.T) {
	rig := newLeaseRig(t)
	rig.open()
	// The dead request's record, as its Insert left it.
	sum := postFullBodyHash(`{"a":1}`)
	pk, rk := scopeOf(t, rig)
	if _, err := rig.raw.Insert(context.Background(), store.Entity{PartitionKey: pk, RowKey: rk, Props: map[string]any{
		"State": "pending", "BodyHash": sum, "Created": rig.now().UTC(), "LeaseUntil": rig.now().Add(PendingLease).UTC()}}); err != nil {
		t.Fatal(err)
	}
	rig.advanceWhilePolling(MaxWait + time.Second)
	code, body, after := postFull(t, rig.url, "k1")
	if code != 503 || !strings.Contains(body, "still in progress") {
		t.Fatalf("retry right after the crash: %d %s", code, body)
	}
	if s, err := strconv.Atoi(after); err != nil || s < 1 || s > int(PendingLease/time.Second) {
		t.Fatalf("Retry-After %q, want 1..%d", after, int(PendingLease/time.Second))
	}
	// The lease runs out (15 s after the crash, not 2 minutes): the retry runs.
	rig.advance(PendingLease)
	if code, body, _ := postFull(t, rig.url, "k1"); code != 201 || rig.calls.Load() != 1 {
		t.Fatalf("retry after the lease: %d %s (calls %d)", code, body, rig.calls.Load())
	}
}

// TestLiveRequestKeepsItsKey: a request that runs longer than the lease
// renews it, so a retry in the meantime never takes its key over (it gets
// 503 and Retry-After), and once the first answers the retry replays it.
func TestLiveRequestKeepsItsKey(t *testing.T) {
	rig := newLeaseRig(t)
	first := make(chan int, 1)
	go func() { // not postFull: t.Fatal belongs to the test's goroutine
		req, _ := http.NewRequest("POST", rig.url, strings.NewReader(`{"a":1}`))
		req.Header.Set("Idempotency-Key", "k1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-rig.entered
	rig.advance(3 * PendingLease) // long past one lease: only renewals keep it
	pk, rk := scopeOf(t, rig)
	// Wait for a renewal written after the clock moved: its lease runs from now.
	for timeout := time.After(10 * time.Second); ; {
		select {
		case e := <-rig.table.updated:
			if e.PartitionKey != pk || e.RowKey != rk || !e.Time("LeaseUntil").After(rig.now()) {
				continue // written before the clock moved
			}
		case <-timeout:
			e, err := rig.raw.Get(context.Background(), pk, rk)
			t.Fatalf("the running request did not renew its lease: %v %v", e.Props, err)
		}
		break
	}
	if e, err := rig.raw.Get(context.Background(), pk, rk); err != nil || !e.Time("LeaseUntil").After(rig.now()) {
		t.Fatalf("the stored lease was not renewed: %v %v", e.Props, err)
	}
	rig.advanceWhilePolling(MaxWait + time.Second)
	if code, body, after := postFull(t, rig.url, "k1"); code != 503 || after == "" || rig.calls.Load() != 1 {
		t.Fatalf("retry while the first runs: %d %s (Retry-After %q, calls %d)", code, body, after, rig.calls.Load())
	}
	rig.open()
	if code := <-first; code != 201 {
		t.Fatalf("first: %d", code)
	}
	if code, body, _ := postFull(t, rig.url, "k1"); code != 201 || !strings.Contains(body, `"n":1`) || rig.calls.Load() != 1 {
		t.Fatalf("replay: %d %s (calls %d)", code, body, rig.calls.Load())
	}
}

func postFullBodyHash(body string) string { return hashOf([]byte(body)) }

// scopeOf is the record key of an anonymous POST /api/things with key k1.
func scopeOf(*testing.T, *leaseRig) (string, string) {
	return scopeKey("", "POST", "/api/things"), store.EncodeKey("k1")
}
