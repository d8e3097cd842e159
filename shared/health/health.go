package health

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Prober checks the storage services: one entry per service ("tables",
// "blobs", "queues"), a nil error when it answered.
type Prober interface {
	Ping(ctx context.Context) map[string]error
}

// Storage states of a Report.
const (
	StorageOK   = "ok"   // every service answered the check in time
	StorageBusy = "busy" // a check timed out, but storage answered other requests meanwhile
	StorageDown = "down" // a service refused or failed, or timed out with no answer to anyone
)

// Report is the outcome of one readiness check.
type Report struct {
	Storage   string
	Down      []string         // services that failed (sorted)
	Slow      []string         // services whose check timed out while storage answered others (sorted)
	Errors    map[string]error // why each service in Down or Slow failed, for the logs
	CheckedAt time.Time
}

// Ready reports whether the instance should receive traffic.
func (r Report) Ready() bool { return r.Storage != StorageDown }

// Readiness runs and caches the storage check. The zero value is not
// usable; set Storage and Timeout.
type Readiness struct {
	Storage Prober
	// Timeout bounds one check (COLLAB_STORAGE_TIMEOUT).
	Timeout time.Duration
	// TTL is how long a result answers later probes (default 5 s).
	TTL time.Duration
	// Recent is how far back an answer from storage to another request
	// proves that a timed-out check means busy, not down (default 10 s).
	Recent time.Duration
	// Answered is when storage last answered any request of this instance
	// (Observer.LastAnswer); nil: no such evidence, a timeout is down.
	Answered func() time.Time
	// Failed (optional) is when a request last got no answer at all
	// (Observer.LastFailure): a failure after the last answer means storage
	// went away, and a timeout is then down, not busy.
	Failed func() time.Time
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	group  singleflight.Group
	mu     sync.Mutex
	cached Report
	valid  bool
}

func (r *Readiness) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Check returns the cached report while it is fresh, else runs one check
// shared with every concurrent caller. ctx only bounds this caller's wait.
func (r *Readiness) Check(ctx context.Context) Report {
	ttl := r.TTL
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	if rep, ok := r.fresh(ttl); ok {
		return rep
	}
	ch := r.group.DoChan("storage", func() (any, error) {
		// A probe that found the cache stale may join only after the
		// previous flight stored its answer: that answer is fresh.
		if rep, ok := r.fresh(ttl); ok {
			return rep, nil
		}
		rep := r.run(context.WithoutCancel(ctx))
		r.mu.Lock()
		r.cached, r.valid = rep, true
		r.mu.Unlock()
		return rep, nil
	})
	select {
	case res := <-ch:
		return res.Val.(Report)
	case <-ctx.Done():
		// This probe gave up; the check goes on for the others.
		return Report{Storage: StorageBusy, Slow: []string{"check"}, CheckedAt: r.now()}
	}
}

// fresh answers the cached report while it is younger than ttl.
func (r *Readiness) fresh(ttl time.Duration) (Report, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.valid && r.now().Sub(r.cached.CheckedAt) < ttl {
		return r.cached, true
	}
	return Report{}, false
}

// run makes one check with its own deadline.
func (r *Readiness) run(ctx context.Context) Report {
	started := r.now()
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	results := r.Storage.Ping(ctx)
	timedOut := ctx.Err() != nil
	rep := Report{Storage: StorageOK, CheckedAt: r.now()}
	for svc, err := range results {
		switch {
		case err == nil:
			continue
		case timedOut && r.answeredSince(started):
			rep.Slow = append(rep.Slow, svc)
		default:
			rep.Down = append(rep.Down, svc)
		}
		if rep.Errors == nil {
			rep.Errors = map[string]error{}
		}
		rep.Errors[svc] = err
	}
	sort.Strings(rep.Down)
	sort.Strings(rep.Slow)
	switch {
	case len(rep.Down) > 0:
		rep.Storage = StorageDown
	case len(rep.Slow) > 0:
		rep.Storage = StorageBusy
	}
	return rep
}

// answeredSince reports whether storage answered another request within
// Recent before the check started, or while it ran.
func (r *Readiness) answeredSince(started time.Time) bool {
	if r.Answered == nil {
		return false
	}
	recent := r.Recent
	if recent <= 0 {
		recent = 10 * time.Second
	}
	last := r.Answered()
	if last.IsZero() || last.Before(started.Add(-recent)) {
		return false
	}
	return r.Failed == nil || !r.Failed().After(last)
}

// Doer sends one HTTP request; the Azure SDK's policy.Transporter and
// *http.Client are Doers.
type Doer interface {
	Do(req *http.Request) (*http.Response, error)
}

// Observer is the storage clients' transport, recording when storage last
// answered: any response under 500 (a 404 or a 409 is an answer too) is
// proof that storage is up, whatever the health check's own luck. It also
// records when a request last got no answer at all (no connection, reset)
// although its caller still waited for one.
type Observer struct {
	next   Doer
	now    func() time.Time
	last   atomic.Int64 // unix nanoseconds; 0: never
	failed atomic.Int64
}

// Observe wraps next; now is the clock (nil: time.Now).
func Observe(next Doer, now func() time.Time) *Observer {
	if now == nil {
		now = time.Now
	}
	return &Observer{next: next, now: now}
}

// Do implements Doer.
func (o *Observer) Do(req *http.Request) (*http.Response, error) {
	resp, err := o.next.Do(req)
	switch {
	case err == nil && resp.StatusCode < 500:
		o.last.Store(o.now().UnixNano())
	case err != nil && req.Context().Err() == nil:
		o.failed.Store(o.now().UnixNano())
	}
	return resp, err
}

// LastAnswer is when storage last answered (zero: never).
func (o *Observer) LastAnswer() time.Time { return unixTime(o.last.Load()) }

// LastFailure is when a request last got no answer (zero: never).
func (o *Observer) LastFailure() time.Time { return unixTime(o.failed.Load()) }

func unixTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
