package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// Authenticator establishes who the caller is. It returns the request's
// context carrying the identity, or a fault.Unauthenticated error. The
// identity module provides the real one; until a route has one, it refuses.
type Authenticator interface {
	Authenticate(r *http.Request) (context.Context, error)
}

// Route describes one registered route; the OpenAPI consistency test reads
// them.
type Route struct {
	Method    string // "GET", "POST", ...
	Pattern   string // ServeMux path pattern, e.g. "/api/projects/{p}"
	Public    bool
	BodyLimit int64
	// Unbounded routes are served past the bound on requests in flight
	// (LimitInFlight): the health probes.
	Unbounded bool
}

// Option changes how a route is served.
type Option func(*Route)

// Public marks a route that needs no authentication (health, token issuer
// discovery). Everything else is authenticated.
func Public() Option { return func(r *Route) { r.Public = true } }

// BodyLimit overrides the default body cap for one route (uploads).
func BodyLimit(n int64) Option { return func(r *Route) { r.BodyLimit = n } }

// Router is the service's HTTP entry point: a ServeMux plus the conventions
// of this package applied to every route.
type Router struct {
	mux         *http.ServeMux
	routes      []Route
	log         *slog.Logger
	auth        Authenticator
	defaultBody int64
	scope       Scope
	origins     map[string]bool
	slots       chan struct{} // one per request in flight; nil: no bound (shed.go)
	observe     Observer
}

// Observer is told of every request a route answered with an error, after
// the answer was written: the security events count refusals this way
// (sign-ins refused, 413/400 per caller, Studio Security denials) without
// any endpoint knowing. r carries the caller's identity when authentication
// passed.
type Observer func(r *http.Request, err error)

// Observe installs the observer (nil: none). Call it before serving.
func (rt *Router) Observe(o Observer) { rt.observe = o }

type observerKey struct{}

// Observed tells the router's observer of an error that a wrapper answered
// itself instead of returning it (the idempotency keeper records the
// problem answer and writes it), so that no refusal escapes the count.
func Observed(r *http.Request, err error) {
	if o, ok := r.Context().Value(observerKey{}).(Observer); ok && o != nil && err != nil {
		o(r, err)
	}
}

// fail answers err and tells the observer.
func (rt *Router) fail(w http.ResponseWriter, r *http.Request, err error) {
	Error(w, r, err)
	if rt.observe != nil {
		rt.observe(r, err)
	}
}

// NewRouter returns an empty Router. auth may be nil while no route needs it.
func NewRouter(log *slog.Logger, auth Authenticator, defaultBodyLimit int64) *Router {
	if defaultBodyLimit <= 0 {
		defaultBodyLimit = DefaultBodyLimit
	}
	return &Router{mux: http.NewServeMux(), log: log, auth: auth, defaultBody: defaultBodyLimit}
}

// SetAuthenticator installs the authenticator (wiring order: the identity
// module may need the router to publish its discovery endpoints first).
func (rt *Router) SetAuthenticator(a Authenticator) { rt.auth = a }

// HandlerFunc is an endpoint: it returns an error instead of writing one, so
// every error goes through the same problem mapping.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle registers h for "METHOD /path/{pattern}".
func (rt *Router) Handle(methodPattern string, h HandlerFunc, opts ...Option) {
	method, pattern, ok := strings.Cut(methodPattern, " ")
	if !ok || method == "" || !strings.HasPrefix(pattern, "/") {
		panic(fmt.Sprintf("httpapi: route %q must be \"METHOD /path\"", methodPattern))
	}
	route := Route{Method: method, Pattern: pattern, BodyLimit: rt.defaultBody}
	for _, o := range opts {
		o(&route)
	}
	rt.routes = append(rt.routes, route)
	rt.mux.Handle(methodPattern, rt.endpoint(route, h))
}

// Routes lists the registered routes sorted by pattern then method.
func (rt *Router) Routes() []Route {
	out := append([]Route(nil), rt.routes...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pattern != out[j].Pattern {
			return out[i].Pattern < out[j].Pattern
		}
		return out[i].Method < out[j].Method
	})
	return out
}

func (rt *Router) endpoint(route Route, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The bound comes first: a refused request costs no body read, no
		// token check and no storage call.
		release, ok := rt.admit(route)
		if !ok {
			rt.shed(w, r)
			return
		}
		defer release()
		if rt.observe != nil {
			r = r.WithContext(context.WithValue(r.Context(), observerKey{}, rt.observe))
		}
		// The body is capped from the start, but a declared Content-Length
		// over the cap is refused only once the caller is known: an
		// unauthenticated request is 401 whatever its size. A public route
		// that authenticates in its handler (the inbound webhook's secret)
		// checks that first; its read then stops at the cap with 413.
		r.Body = http.MaxBytesReader(w, r.Body, route.BodyLimit)
		if !route.Public {
			if rt.auth == nil {
				Error(w, r, fault.E("httpapi.auth", fault.Unauthenticated, "no authentication is configured for this route"))
				return
			}
			ctx, err := rt.auth.Authenticate(r)
			if err != nil {
				if fault.KindOf(err) == fault.Unauthenticated {
					w.Header().Set("WWW-Authenticate", `Bearer`)
				}
				rt.fail(w, r, err)
				return
			}
			r = r.WithContext(ctx)
			if err := limitBody(w, r, route.BodyLimit); err != nil {
				rt.fail(w, r, err)
				return
			}
		}
		if rt.scope != nil {
			if err := rt.scope(r); err != nil {
				Error(w, r, err)
				return
			}
		}
		if err := h(w, r); err != nil {
			rt.fail(w, r, err)
		}
	})
}

// ServeHTTP applies the request id, logging and panic recovery, then routes.
// An unmatched request becomes a 404 or 405 problem instead of ServeMux's
// plain-text answers.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := IncomingRequestID(r.Header)
	r = r.WithContext(withClientAddr(WithRequest(r.Context(), id, rt.log), clientAddr(r)))
	w.Header().Set("X-Request-Id", id)
	if rt.cors(w, r) {
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			Logger(r.Context()).Error("panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !sw.wroteHeader {
				WriteProblem(sw, ProblemFor(r, fault.E("httpapi", fault.Internal, fmt.Errorf("panic: %v", p))))
			}
		}
		outcome, status := outcomeOf(r, sw), sw.status()
		if outcome == OutcomeCancelled {
			status = StatusClientClosedRequest
		}
		Logger(r.Context()).Info("request", "method", r.Method, "path", r.URL.Path, "status", status,
			"outcome", outcome, "bytes", sw.bytes, "durationMs", time.Since(start).Milliseconds())
	}()
	h, pattern := rt.mux.Handler(r)
	if pattern == "" {
		rt.unmatched(sw, r, h)
		return
	}
	rt.mux.ServeHTTP(sw, r)
}

// unmatched asks ServeMux's own fallback what it would answer (404, or 405
// with Allow) without letting it write, and writes the problem instead.
func (rt *Router) unmatched(w http.ResponseWriter, r *http.Request, fallback http.Handler) {
	probe := &headerProbe{header: http.Header{}}
	fallback.ServeHTTP(probe, r)
	switch probe.code {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		Error(w, r, fault.E("httpapi.route", fault.MethodNotAllowed,
			fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, probe.header.Get("Allow"))))
	case http.StatusMovedPermanently, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		// ServeMux cleans paths (//x, /a/../b) with a redirect; keep that.
		fallback.ServeHTTP(w, r)
	default:
		Error(w, r, fault.E("httpapi.route", fault.NotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)))
	}
}

type headerProbe struct {
	header http.Header
	code   int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.code = code }

// statusWriter remembers the status and size for the access log, and
// whether headers went out (after that a panic can only drop the connection).
type statusWriter struct {
	http.ResponseWriter
	code        int
	bytes       int64
	wroteHeader bool
	outcome     string // set when the status alone does not say it (shed.go)
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.code, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if !s.wroteHeader {
		s.WriteHeader(http.StatusOK)
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusWriter) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
