package handlers

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/jobs"
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
	Jobs     Jobs
	Console  *Console // nil: the console's routes answer 404
}

// Register declares every HTTP route of the service on rt.
func Register(rt *httpapi.Router, d Deps) {
	rt.Handle("GET /api/health", d.Health.serve, httpapi.Public())
	registerDevAuth(rt, d.DevAuth)
	register(rt, d.Platform)
	registerSecurity(rt, d.Security)
	registerJobs(rt, d.Jobs)
	registerConsole(rt, d.Console)
}

// RegisterFunctions declares every non-HTTP function (timer, queue, Service
// Bus triggers) on fr; each has a functions/<Name>/function.json.
func RegisterFunctions(fr *fnhost.Router, d Deps) {
	fr.Handle("JobsTick", d.Jobs.tick)
}

// StorageLayouts lists the tables, containers and queues every module
// declares, for the bootstrap at start-up and for the infra consistency test.
func StorageLayouts() []store.Layout {
	return []store.Layout{platform.Layout, audit.Layout, idempotency.Layout, acl.Layout, jobs.Layout}
}

// Services are the domain services built on one storage account; main and
// the tests build them the same way.
type Services struct {
	Platform *platform.Service
	Audit    *audit.Log
	Idem     *idempotency.Keeper
	ACL      *acl.Service
	Jobs     *jobs.Runner
}

// NewServices builds the services on acct; now is the clock (nil = time.Now).
func NewServices(acct *store.Account, now func() time.Time) Services {
	log := audit.New(acct.Table("audit"), now)
	s := Services{
		Platform: platform.New(platform.OpenTables(acct), log, now),
		Audit:    log,
		Idem:     idempotency.New(acct.Table("idempotency")),
		ACL:      acl.New(acct.Container("security"), log),
	}
	if now == nil {
		now = time.Now
	}
	s.Jobs = &jobs.Runner{JobTable: acct.Table("jobs"), RunTable: acct.Table("jobruns"), NotifyTable: acct.Table("notifications"),
		Instance: instanceName(), Now: now}
	idem, auditTable := acct.Table("idempotency"), acct.Table("audit")
	s.Jobs.Executors = map[string]jobs.Executor{
		"http": jobs.HTTPExecutor(&http.Client{Timeout: 5 * time.Minute}, func(ctx context.Context, p, env string) (string, error) {
			e, err := s.Platform.Environment(ctx, p, env)
			return e.SchedulerURL, err
		}),
		// Idempotency records are kept 24 h (DESIGN 4.4).
		"purge-idempotency": func(ctx context.Context, _ jobs.Job, occ time.Time) error {
			_, err := jobs.PurgeOlder(ctx, idem, "Created", occ.Add(-24*time.Hour), 5000)
			return err
		},
		// Audit entries are kept 400 days; the entity Timestamp is their write time.
		"audit-retention": func(ctx context.Context, _ jobs.Job, occ time.Time) error {
			_, err := jobs.PurgeOlder(ctx, auditTable, "Timestamp", occ.Add(-400*24*time.Hour), 5000)
			return err
		},
	}
	return s
}

// instanceName identifies this process in job runs (host and pid).
func instanceName() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", h, os.Getpid())
}

// Deps returns the handlers' dependencies for these services.
func (s Services) Deps(health Health, dev DevAuth) Deps {
	return Deps{Health: health, DevAuth: dev, Platform: Platform{Svc: s.Platform, Audit: s.Audit, Idem: s.Idem},
		Security: Security{Platform: s.Platform, ACL: s.ACL}, Jobs: Jobs{Platform: s.Platform, Runner: s.Jobs}}
}
