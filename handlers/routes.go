package handlers

import (
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/security/acl"
	"github.com/studio-collab/collab/shared/store"
)

// Deps are the domain services the handlers call. Each later module adds its
// service here; main builds them.
type Deps struct {
	Health   Health
	DevAuth  DevAuth
	Platform Platform
	Security Security
}

// Register declares every HTTP route of the service on rt.
func Register(rt *httpapi.Router, d Deps) {
	rt.Handle("GET /api/health", d.Health.serve, httpapi.Public())
	registerDevAuth(rt, d.DevAuth)
	register(rt, d.Platform)
	registerSecurity(rt, d.Security)
}

// RegisterFunctions declares every non-HTTP function (timer, queue, Service
// Bus triggers) on fr; each has a functions/<Name>/function.json.
func RegisterFunctions(fr *fnhost.Router, d Deps) {}

// StorageLayouts lists the tables, containers and queues every module
// declares, for the bootstrap at start-up and for the infra consistency test.
func StorageLayouts() []store.Layout {
	return []store.Layout{platform.Layout, audit.Layout, idempotency.Layout, acl.Layout}
}

// Services are the domain services built on one storage account; main and
// the tests build them the same way.
type Services struct {
	Platform *platform.Service
	Audit    *audit.Log
	Idem     *idempotency.Keeper
	ACL      *acl.Service
}

// NewServices builds the services on acct; now is the clock (nil = time.Now).
func NewServices(acct *store.Account, now func() time.Time) Services {
	log := audit.New(acct.Table("audit"), now)
	return Services{
		Platform: platform.New(platform.OpenTables(acct), log, now),
		Audit:    log,
		Idem:     idempotency.New(acct.Table("idempotency")),
		ACL:      acl.New(acct.Container("security"), log),
	}
}

// Deps returns the handlers' dependencies for these services.
func (s Services) Deps(health Health, dev DevAuth) Deps {
	return Deps{Health: health, DevAuth: dev, Platform: Platform{Svc: s.Platform, Audit: s.Audit, Idem: s.Idem},
		Security: Security{Platform: s.Platform, ACL: s.ACL}}
}
