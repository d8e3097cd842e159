package health

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// prober answers from a function and counts its checks.
type prober struct {
	calls atomic.Int64
	ping  func(ctx context.Context) map[string]error
}

func (p *prober) Ping(ctx context.Context) map[string]error {
	p.calls.Add(1)
	return p.ping(ctx)
}

// clock is a fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var allUp = map[string]error{"tables": nil, "blobs": nil, "queues": nil}

func TestConcurrentProbesShareOneCheckAndItsResult(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	release := make(chan struct{})
	p := &prober{ping: func(context.Context) map[string]error { <-release; return allUp }}
	r := &Readiness{Storage: p, Timeout: time.Minute, TTL: 5 * time.Second, Now: clk.Now}
	var wg sync.WaitGroup
	reports := make(chan Report, 20)
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); reports <- r.Check(context.Background()) }()
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(reports)
	for rep := range reports {
		if rep.Storage != StorageOK {
			t.Fatalf("report %+v", rep)
		}
	}
	if n := p.calls.Load(); n != 1 {
		t.Fatalf("20 concurrent probes made %d checks, want 1", n)
	}
	// Cached for the TTL, checked again after it.
	clk.Add(4 * time.Second)
	r.Check(context.Background())
	if n := p.calls.Load(); n != 1 {
		t.Fatalf("a probe within the TTL made a check (%d)", n)
	}
	clk.Add(2 * time.Second)
	r.Check(context.Background())
	if n := p.calls.Load(); n != 2 {
		t.Fatalf("a probe after the TTL made no check (%d)", n)
	}
}

func TestSlowIsNotDown(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	// Tables answer in time; blobs and queues only when the check's
	// deadline has passed.
	slow := &prober{ping: func(ctx context.Context) map[string]error {
		<-ctx.Done()
		return map[string]error{"tables": nil, "blobs": ctx.Err(), "queues": ctx.Err()}
	}}
	refused := &prober{ping: func(context.Context) map[string]error {
		return map[string]error{"tables": nil, "blobs": errors.New("connection refused"), "queues": nil}
	}}
	cases := []struct {
		name     string // the sentence of DESIGN §5 / the package doc
		p        Prober
		answered time.Duration // how long before the check storage last answered another request; <0: never
		want     string
		slow     []string
		down     []string
	}{
		{"a check that times out while storage answered others is busy, not down", slow, 2 * time.Second, StorageBusy, []string{"blobs", "queues"}, nil},
		{"a check that times out with no answer to anyone is down", slow, -1, StorageDown, nil, []string{"blobs", "queues"}},
		{"an answer long ago proves nothing", slow, time.Minute, StorageDown, nil, []string{"blobs", "queues"}},
		{"a service that fails with an answer is down, however busy", refused, 0, StorageDown, nil, []string{"blobs"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var answered func() time.Time
			if c.answered >= 0 {
				at := clk.Now().Add(-c.answered)
				answered = func() time.Time { return at }
			}
			r := &Readiness{Storage: c.p, Timeout: 20 * time.Millisecond, Answered: answered, Now: clk.Now}
			rep := r.Check(context.Background())
			if rep.Storage != c.want || !equal(rep.Slow, c.slow) || !equal(rep.Down, c.down) {
				t.Fatalf("report %+v, want %s slow %v down %v", rep, c.want, c.slow, c.down)
			}
			if rep.Ready() != (c.want != StorageDown) {
				t.Fatalf("Ready() = %v for %s", rep.Ready(), c.want)
			}
		})
	}
}

func TestAProbeThatGivesUpDoesNotCancelTheSharedCheck(t *testing.T) {
	release := make(chan struct{})
	var sawCancel atomic.Bool
	p := &prober{ping: func(ctx context.Context) map[string]error {
		select {
		case <-release:
		case <-ctx.Done():
			sawCancel.Store(true)
		}
		return allUp
	}}
	r := &Readiness{Storage: p, Timeout: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan Report, 1)
	go func() { first <- r.Check(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for p.calls.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-first
	second := make(chan Report, 1)
	go func() { second <- r.Check(context.Background()) }()
	close(release)
	if rep := <-second; rep.Storage != StorageOK || sawCancel.Load() {
		t.Fatalf("second probe %+v, check cancelled: %v", rep, sawCancel.Load())
	}
	if n := p.calls.Load(); n > 2 {
		t.Fatalf("%d checks", n)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
