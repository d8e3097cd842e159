package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/stamp"
)

// useStamps installs the home check on every route scoped to a
// subscription ({s}) or a project ({p}): it runs after authentication and
// before the endpoint, from the path's id and the global directory only, so
// a stamp that is not the customer's home answers 421 naming it without
// reading or writing the customer's data here. The other stamps' consoles
// may call this API across origins (they re-target their API base after a
// 421). Nil stamps (one stamp, shared) change nothing.
func useStamps(rt *httpapi.Router, s *stamp.Stamps) {
	if s == nil {
		return
	}
	rt.SetScope(func(r *http.Request) error {
		if sub := r.PathValue("s"); sub != "" {
			return s.ServeSubscription(r.Context(), sub)
		}
		if p := r.PathValue("p"); p != "" {
			return s.ServeProject(r.Context(), p)
		}
		return nil
	})
	rt.AllowOrigins(s.Origins()...)
}

// placed decides where a new subscription lives before anything is written
// here (not even its idempotency record): this stamp unless the body names
// another home (then 421 to it); a dedicated stamp creates only its own
// customer. The body is left for h to decode strictly.
func (p Platform) placed(h httpapi.HandlerFunc) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := httpapi.ReadBody(r)
		if err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req struct{ ID, Home string }
		if json.Unmarshal(body, &req) == nil {
			if err := p.Stamps.PlaceSubscription(req.ID, req.Home); err != nil {
				return err
			}
		}
		return h(w, r)
	}
}
