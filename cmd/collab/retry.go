package main

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// retryTransport honours an overloaded service (DESIGN §5): a 503 (the
// instance shed the request, or a dependency is briefly down) or a 429 (the
// Functions host's queue is full) is sent again after its Retry-After, a
// few times, before the command reports it. Only requests that are safe to
// repeat are retried: an idempotent method, an Idempotency-Key, or a 429
// (the host refused it before running anything); and only when the body
// can be produced again.
type retryTransport struct {
	base http.RoundTripper
	// wait sleeps d unless ctx ends first (tests record it instead).
	wait func(ctx context.Context, d time.Duration) error
}

// Bounds of the retries: at most maxRetries more attempts, each after the
// answer's Retry-After capped at maxRetryAfter (defaultRetryAfter when it
// says nothing), plus up to a fifth of jitter so that shed clients do not
// come back together.
const (
	maxRetries        = 3
	maxRetryAfter     = 10 * time.Second
	defaultRetryAfter = time.Second
)

func newRetryTransport(base http.RoundTripper) *retryTransport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &retryTransport{base: base, wait: sleepCtx}
}

// RoundTrip implements http.RoundTripper.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := t.base.RoundTrip(req)
		if err != nil || attempt == maxRetries || !retryable(req, resp) {
			return resp, err
		}
		d := retryAfter(resp.Header.Get("Retry-After"))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		next, ok := rewind(req)
		if !ok {
			return nil, errRewind
		}
		if err := t.wait(req.Context(), d+time.Duration(rand.Int64N(int64(d)/5+1))); err != nil {
			return nil, err
		}
		req = next
	}
}

var errRewind = errors.New("cannot send the request body again")

func retryable(req *http.Request, resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusTooManyRequests:
	case http.StatusServiceUnavailable:
		switch req.Method {
		case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		default:
			if req.Header.Get("Idempotency-Key") == "" {
				return false
			}
		}
	default:
		return false
	}
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// rewind returns req ready to be sent again, with a fresh body.
func rewind(req *http.Request) (*http.Request, bool) {
	next := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return next, true
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	next.Body = body
	return next, true
}

// retryAfter reads Retry-After in seconds (the only form the service
// sends), capped; anything else is the default.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return defaultRetryAfter
	}
	return min(time.Duration(n)*time.Second, maxRetryAfter)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
