package secevent

import (
	"context"
	"sync"
	"time"
)

// The rejected-requests rule: a caller who gets RateThreshold answers of
// 413 or 400 within one RateWindow produces one RejectedRate event for that
// window (not one per request: a client sending malformed bodies in a loop
// must not turn into a write per request).
const (
	RateThreshold = 10
	RateWindow    = time.Minute
	// rateCallers bounds the callers one counter follows per window; past
	// it, new callers are not counted until the next window.
	rateCallers = 10000
)

// RateCounter counts one instance's 413/400 answers per caller. Counting is
// per instance (Flex Consumption runs several): a caller spread over n
// instances is seen at most n times later, never not at all once any
// instance crosses; the event says how many this instance counted.
type RateCounter struct {
	Recorder Recorder
	now      func() time.Time

	mu     sync.Mutex
	window time.Time
	counts map[string]int
}

// NewRateCounter records through r; now is the clock (nil = time.Now).
func NewRateCounter(r Recorder, now func() time.Time) *RateCounter {
	if now == nil {
		now = time.Now
	}
	return &RateCounter{Recorder: r, now: now, counts: map[string]int{}}
}

// Rejected counts one rejected request of e.Principal (e carries who,
// from where and which route); the RateThreshold-th of a window records
// the event with the count.
func (c *RateCounter) Rejected(ctx context.Context, e Event) {
	w := c.now().UTC().Truncate(RateWindow)
	c.mu.Lock()
	if !w.Equal(c.window) {
		c.window, c.counts = w, map[string]int{}
	}
	n, seen := c.counts[e.Principal]
	if !seen && len(c.counts) >= rateCallers {
		c.mu.Unlock()
		return
	}
	n++
	c.counts[e.Principal] = n
	c.mu.Unlock()
	if n == RateThreshold {
		e.Kind, e.Count = RejectedRate, n
		Emit(ctx, c.Recorder, e)
	}
}
