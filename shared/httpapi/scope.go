package httpapi

import (
	"net/http"
	"strings"
)

// Scope decides, from the request alone, whether this instance may serve
// it at all; a non-nil error is answered as the problem and the endpoint
// never runs. The stamps' home check (shared/stamp) is one: it runs after
// authentication and before any endpoint touches data.
type Scope func(r *http.Request) error

// SetScope installs the scope check of every route (nil: none). Call it
// before serving.
func (rt *Router) SetScope(s Scope) { rt.scope = s }

// AllowOrigins lets pages from these origins (scheme://host[:port]) call
// the API across origins with a bearer token: the other stamps' consoles,
// which re-target their API base to a customer's home. No cookies are
// involved (Access-Control-Allow-Credentials is never sent). Call it before
// serving.
func (rt *Router) AllowOrigins(origins ...string) {
	if rt.origins == nil {
		rt.origins = map[string]bool{}
	}
	for _, o := range origins {
		rt.origins[strings.TrimRight(o, "/")] = true
	}
}

// corsHeaders are the request headers the console sends.
const corsHeaders = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, Accept, X-Request-Id"

// cors answers a preflight from an allowed origin (reporting true: done)
// and adds the response headers of an actual cross-origin request.
func (rt *Router) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || !rt.origins[origin] {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Origin", origin)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE")
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	h.Set("Access-Control-Expose-Headers", "ETag, Location, Retry-After, X-Request-Id")
	return false
}
