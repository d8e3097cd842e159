package handlers

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/httpapi"
)

// StoragePinger probes the storage services. It returns one entry per
// service ("tables", "blobs", "queues"); a nil error means the service answered.
type StoragePinger interface {
	Ping(ctx context.Context) map[string]error
}

// Health answers GET /api/health for Traffic Manager and the gateway probes:
// anonymous, cheap, and bounded by a deadline so that an outage is reported
// in the same request rather than after the SDK's retries.
type Health struct {
	Version string
	Storage StoragePinger
	Timeout time.Duration
	// Ready (optional) reports whether start-up work (the storage bootstrap)
	// has finished; until it has, the service is not healthy, so probes and
	// the devhost do not send traffic that would meet missing tables.
	Ready func() error
}

type healthBody struct {
	Status  string `json:"status"`
	Version string `json:"version"`
	Storage string `json:"storage"`
}

func (h Health) serve(w http.ResponseWriter, r *http.Request) error {
	if h.Ready != nil {
		if err := h.Ready(); err != nil {
			w.Header().Set("Cache-Control", "no-store")
			return fault.E("handlers.Health", fault.Unavailable, err.Error())
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.Timeout)
	defer cancel()
	results := h.Storage.Ping(ctx)
	var down []string
	for svc, err := range results {
		if err != nil {
			down = append(down, svc)
			httpapi.Logger(r.Context()).Warn("health: storage service down", "service", svc, "error", err.Error())
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	if len(down) > 0 {
		sort.Strings(down)
		return healthDown{fault.E("handlers.Health", fault.Unavailable,
			fmt.Sprintf("storage unavailable: %s", strings.Join(down, ", "))), down}
	}
	httpapi.JSON(w, http.StatusOK, healthBody{Status: "ok", Version: h.Version, Storage: "ok"})
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
