package handlers

import (
	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/store"
)

// Deps are the domain services the handlers call. Each later module adds its
// service here; main builds them.
type Deps struct {
	Health   Health
	DevAuth  DevAuth
	Platform Platform
}

// Register declares every HTTP route of the service on rt.
func Register(rt *httpapi.Router, d Deps) {
	rt.Handle("GET /api/health", d.Health.serve, httpapi.Public())
	registerDevAuth(rt, d.DevAuth)
	register(rt, d.Platform)
}

// RegisterFunctions declares every non-HTTP function (timer, queue, Service
// Bus triggers) on fr; each has a functions/<Name>/function.json.
func RegisterFunctions(fr *fnhost.Router, d Deps) {}

// StorageLayouts lists the tables, containers and queues every module
// declares, for the bootstrap at start-up and for the infra consistency test.
func StorageLayouts() []store.Layout {
	return []store.Layout{platform.Layout, audit.Layout, idempotency.Layout}
}
