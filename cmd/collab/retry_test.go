package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOverloadIsRetriedAfterRetryAfter: the CLI sends a request the
// service shed (503) or the host refused (429) again after Retry-After, a
// bounded number of times, and only when repeating it is safe.
func TestOverloadIsRetriedAfterRetryAfter(t *testing.T) {
	cases := []struct {
		name        string // the rule
		method      string
		key         string // Idempotency-Key
		answers     []int  // the service's statuses, in turn
		retryAfter  string
		wantStatus  int
		wantSent    int
		wantWaitMin time.Duration // the first wait, before jitter
	}{
		{"a shed GET is sent again after Retry-After", "GET", "", []int{503, 503, 200}, "1", 200, 3, time.Second},
		{"a 429 of the host is retried, whatever the method", "POST", "", []int{429, 201}, "", 201, 2, defaultRetryAfter},
		{"a POST with an Idempotency-Key is retried on 503", "POST", "k1", []int{503, 201}, "2", 201, 2, 2 * time.Second},
		{"a POST without one is not: it may have been done", "POST", "", []int{503, 201}, "1", 503, 1, 0},
		{"retries are bounded", "GET", "", []int{503, 503, 503, 503, 503, 200}, "1", 503, 1 + maxRetries, time.Second},
		{"a long Retry-After is capped", "GET", "", []int{503, 200}, "3600", 200, 2, maxRetryAfter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			sent := 0
			var bodies []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				st := c.answers[min(sent, len(c.answers)-1)]
				sent++
				bodies = append(bodies, string(b))
				mu.Unlock()
				if c.retryAfter != "" && st >= 429 {
					w.Header().Set("Retry-After", c.retryAfter)
				}
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(st)
				_, _ = io.WriteString(w, `{"title":"Service unavailable","status":`+http.StatusText(st)+`}`)
			}))
			defer srv.Close()
			var waits []time.Duration
			rt := newRetryTransport(nil)
			rt.wait = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
			cl := &http.Client{Transport: rt}
			req, _ := http.NewRequest(c.method, srv.URL+"/api/x", strings.NewReader(`{"a":1}`))
			if c.key != "" {
				req.Header.Set("Idempotency-Key", c.key)
			}
			resp, err := cl.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.wantStatus || sent != c.wantSent {
				t.Fatalf("status %d after %d requests, want %d after %d", resp.StatusCode, sent, c.wantStatus, c.wantSent)
			}
			for _, b := range bodies {
				if b != `{"a":1}` {
					t.Fatalf("a retry sent body %q", b)
				}
			}
			if len(waits) != c.wantSent-1 {
				t.Fatalf("%d waits for %d requests", len(waits), sent)
			}
			if len(waits) > 0 && (waits[0] < c.wantWaitMin || waits[0] > c.wantWaitMin+c.wantWaitMin/5) {
				t.Fatalf("first wait %v, want %v plus at most a fifth of jitter", waits[0], c.wantWaitMin)
			}
		})
	}
}
