package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/studio-collab/collab/shared/fault"
)

// Outcomes of a request, as the access log names them beside the status.
// Only OutcomeError counts as a failure of the service: a shed request is
// the instance protecting itself (the client retries after Retry-After),
// a cancelled one was abandoned by its client (docs/decisions.md).
const (
	OutcomeOK        = "ok"
	OutcomeClient    = "client-error" // a 4xx: the request was wrong
	OutcomeError     = "error"        // a 5xx the service owes an explanation for
	OutcomeShed      = "shed"         // refused past the bound on requests in flight
	OutcomeCancelled = "cancelled"    // the client went away before the answer
)

// StatusClientClosedRequest is the status the access log records for a
// request its client abandoned (nginx's 499): nobody receives it, and it is
// not a server error.
const StatusClientClosedRequest = 499

// ShedRetryAfter is the Retry-After, in seconds, of a request refused at the
// bound: a slot frees within one request's time, so the client comes back
// soon, with its own jitter (cmd/collab, the console).
const ShedRetryAfter = 1

// Unbounded exempts a route from the bound on requests in flight: the
// health probes, which must answer under overload so that a busy instance
// is not taken for a dead one (they do no storage work of their own).
func Unbounded() Option { return func(r *Route) { r.Unbounded = true } }

// LimitInFlight bounds the requests this router serves at once to n (n <= 0:
// no bound). Past it a request is answered 503 with Retry-After at once,
// before authentication or any storage call, so that overload is shed
// instead of piling up connections to storage (DESIGN §5). The Functions
// host's own limits (host.json extensions.http, Flex Consumption's
// per-instance concurrency) are set to the same n, so in Azure the host
// queues first and this bound is the backstop (docs/decisions.md).
func (rt *Router) LimitInFlight(n int) {
	if n <= 0 {
		rt.slots = nil
		return
	}
	rt.slots = make(chan struct{}, n)
}

// admit takes a slot for a bounded route; ok is false when the instance is
// at its bound, and release must be called once the request is done.
func (rt *Router) admit(route Route) (release func(), ok bool) {
	if rt.slots == nil || route.Unbounded {
		return func() {}, true
	}
	select {
	case rt.slots <- struct{}{}:
		return func() { <-rt.slots }, true
	default:
		return nil, false
	}
}

// shed answers a request refused at the bound. It is logged once, in the
// access line, with the outcome "shed", not as an error: shedding is the
// instance working as designed.
func (rt *Router) shed(w http.ResponseWriter, r *http.Request) {
	setOutcome(w, OutcomeShed)
	w.Header().Set("Retry-After", strconv.Itoa(ShedRetryAfter))
	WriteProblem(w, ProblemFor(r, fault.E("httpapi.shed", fault.Unavailable,
		fmt.Sprintf("this instance is serving its limit of %d requests; retry after %d s", cap(rt.slots), ShedRetryAfter))))
}

// abandoned reports whether the client went away: its request's context
// was cancelled (the server cancels it when the connection closes). A
// deadline of our own is not an abandonment.
func abandoned(r *http.Request) bool {
	return errors.Is(r.Context().Err(), context.Canceled)
}

// setOutcome records an outcome on the access log's writer, wherever w
// wraps it.
func setOutcome(w http.ResponseWriter, outcome string) {
	for w != nil {
		if sw, ok := w.(*statusWriter); ok {
			sw.outcome = outcome
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// outcomeOf is the access log's outcome for a finished request.
func outcomeOf(r *http.Request, sw *statusWriter) string {
	switch {
	case sw.outcome != "":
		return sw.outcome
	case abandoned(r) && (!sw.wroteHeader || sw.status() >= 500):
		// Gone before an answer, or the failure is the cancellation
		// itself (a storage call cut short): not the service's error.
		return OutcomeCancelled
	case sw.status() >= 500:
		return OutcomeError
	case sw.status() >= 400:
		return OutcomeClient
	}
	return OutcomeOK
}
