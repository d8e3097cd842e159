package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/health"
	"github.com/studio-collab/collab/shared/httpapi"
)

// StoragePinger probes the storage services. It returns one entry per
// service ("tables", "blobs", "queues"); a nil error means the service answered.
type StoragePinger interface {
	Ping(ctx context.Context) map[string]error
}

// Health answers the probes (docs/decisions.md, "Health"):
//   - GET /api/health/live, liveness: the process answers; no storage call.
//     The gateway probes it, so a storage outage does not take the region's
//     only backend out of the gateway.
//   - GET /api/health, readiness: start-up done and storage reachable.
//     Traffic Manager probes it (through the gateway), so a region whose
//     storage is down fails over. The storage check is cached and shared by
//     concurrent probes, and a check that times out while storage answers
//     the instance's other requests is "busy", not down: load never turns
//     into failover.
//
// Both are anonymous and exempt from the bound on requests in flight.
type Health struct {
	Version string
	Storage StoragePinger
	// Timeout bounds one storage check (COLLAB_STORAGE_TIMEOUT).
	Timeout time.Duration
	// Answered (optional) is when storage last answered any request of
	// this instance (health.Observer on the storage clients' transport).
	Answered func() time.Time
	// Failed (optional) is when a storage request last got no answer at
	// all (health.Observer): after the last answer, a timeout is down.
	Failed func() time.Time
	// Ready (optional) reports whether start-up work (the storage bootstrap)
	// has finished; until it has, the service is not healthy, so probes and
	// the devhost do not send traffic that would meet missing tables.
	Ready func() error
}

type healthBody struct {
	Status  string `json:"status"`
	Version string `json:"version"`
	Storage string `json:"storage,omitempty"`
	// Slow lists the services whose check timed out while storage
	// answered other requests (storage "busy").
	Slow []string `json:"slow,omitempty"`
}

func registerHealth(rt *httpapi.Router, h Health) {
	ready := &health.Readiness{Storage: h.Storage, Timeout: h.Timeout, Answered: h.Answered, Failed: h.Failed}
	rt.Handle("GET /api/health", func(w http.ResponseWriter, r *http.Request) error {
		return h.ready(w, r, ready)
	}, httpapi.Public(), httpapi.Unbounded())
	rt.Handle("GET /api/health/live", h.live, httpapi.Public(), httpapi.Unbounded())
}

func (h Health) live(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	httpapi.JSON(w, http.StatusOK, healthBody{Status: "ok", Version: h.Version})
	return nil
}

func (h Health) ready(w http.ResponseWriter, r *http.Request, ready *health.Readiness) error {
	w.Header().Set("Cache-Control", "no-store")
	if h.Ready != nil {
		if err := h.Ready(); err != nil {
			return fault.E("handlers.Health", fault.Unavailable, err.Error())
		}
	}
	rep := ready.Check(r.Context())
	if !rep.Ready() {
		for svc, err := range rep.Errors {
			httpapi.Logger(r.Context()).Warn("health: storage service down", "service", svc, "error", err.Error())
		}
		return healthDown{fault.E("handlers.Health", fault.Unavailable,
			fmt.Sprintf("storage unavailable: %s", strings.Join(rep.Down, ", "))), rep.Down}
	}
	httpapi.JSON(w, http.StatusOK, healthBody{Status: "ok", Version: h.Version, Storage: rep.Storage, Slow: rep.Slow})
	return nil
}

// healthDown adds the list of failing services to the 503 problem, so a
// probe's log says what is down without parsing the detail.
type healthDown struct {
	error
	down []string
}

func (h healthDown) Unwrap() error { return h.error }

func (h healthDown) ProblemExtensions() map[string]any {
	return map[string]any{"down": h.down, "storage": "down"}
}
