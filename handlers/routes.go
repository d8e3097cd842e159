package handlers

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/connector"
	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/deploy/messaging"
	"github.com/studio-collab/collab/shared/deploy/portal"
	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/envconfig"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/jobs"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/security/acl"
	"github.com/studio-collab/collab/shared/stamp"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
)

// Deps are the domain services the handlers call. Each later module adds its
// service here; main builds them.
type Deps struct {
	Health   Health
	DevAuth  DevAuth
	Platform Platform
	Security Security
	Jobs     Jobs
	Deploy   Deploy
	// The Management Console's parameters and the connectors.
	Params     Params
	Connectors Connectors
	Catalog    Catalog
	Mail       Mail
	Console    *Console // nil: the console's routes answer 404
	// Stamps place this instance among the deployment's stamps (the home
	// check, a dedicated customer); nil: one shared stamp.
	Stamps *stamp.Stamps
}

// Register declares every HTTP route of the service on rt.
func Register(rt *httpapi.Router, d Deps) {
	useStamps(rt, d.Stamps)
	d.Platform.Stamps = d.Stamps
	rt.Handle("GET /api/health", d.Health.serve, httpapi.Public())
	registerDevAuth(rt, d.DevAuth)
	register(rt, d.Platform)
	registerSecurity(rt, d.Security)
	registerJobs(rt, d.Jobs)
	registerDeploy(rt, d.Deploy)
	registerParams(rt, d.Params)
	registerConnectors(rt, d.Connectors)
	registerCatalog(rt, d.Catalog)
	registerMail(rt, d.Mail)
	registerConsole(rt, d.Console)
}

// RegisterFunctions declares every non-HTTP function (timer, queue, Service
// Bus triggers) on fr; each has a functions/<Name>/function.json.
func RegisterFunctions(fr *fnhost.Router, d Deps) {
	fr.Handle("JobsTick", d.Jobs.tick)
	registerDeployFunctions(fr, d.Deploy)
	registerMailFunctions(fr, d.Mail)
}

// StorageLayouts lists the tables, containers and queues every module
// declares, for the bootstrap at start-up and for the infra consistency test.
func StorageLayouts() []store.Layout {
	return []store.Layout{azure.OwnLayout, platform.Layout, audit.Layout, idempotency.Layout, acl.Layout, jobs.Layout,
		envconfig.Layout, connector.Layout, catalog.Layout, mail.Layout, deploy.Layout}
}

// Services are the domain services built on one storage account; main and
// the tests build them the same way.
type Services struct {
	Platform *platform.Service
	Audit    *audit.Log
	Idem     *idempotency.Keeper
	ACL      *acl.Service
	Jobs     *jobs.Runner
	Deploy   *deploy.Service
	// Params are the environments' parameters; main sets Params.Secrets.
	Params     *envconfig.Service
	Connectors *connector.Service
	Catalog    *catalog.Service
	Mail       MailServices
}

// NewServices builds the services on acct; now is the clock (nil = time.Now).
func NewServices(acct *azure.Account, now func() time.Time) Services {
	log := audit.New(acct.Table("audit"), now)
	s := Services{
		Platform: platform.New(platform.OpenTables(acct), log, now),
		Audit:    log,
		Idem:     idempotency.New(acct.Table("idempotency")),
		ACL:      acl.New(acct.Container("security"), log),
		Catalog:  catalog.New(catalog.OpenTables(acct), acct.Container("catalog"), now),
	}
	if now == nil {
		now = time.Now
	}
	s.Mail = newMail(acct, log, now)
	s.Platform.Outbox = s.Mail.Outbox
	s.Jobs = &jobs.Runner{JobTable: acct.Table("jobs"), RunTable: acct.Table("jobruns"), OpenTable: acct.Table("jobopen"), Notify: s.Mail.Outbox,
		Instance: instanceName(), Now: now}
	idem, auditTable := acct.Table("idempotency"), acct.Table("audit")
	s.Jobs.Executors = map[string]jobs.Executor{
		"http": jobs.HTTPExecutor(egress.Client(egress.NewPolicy(nil), jobCallTimeout), s.schedulerURL),
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
		// Expired check-out locks count for nothing already; the sweep keeps the lock documents small.
		"expire-locks": func(ctx context.Context, _ jobs.Job, _ time.Time) error {
			_, err := s.Catalog.SweepLocks(ctx)
			return err
		},
	}
	s.Params = envconfig.New(acct.Table("parameters"), log, now)
	s.Connectors = connector.New(acct.Table("connectors"), s.Params, log, now)
	s.Connectors.Logger = httpapi.Logger
	// Deployments read the catalog's feed, are requested by every
	// acknowledged commit (a lost request is caught up by the reconciler),
	// send their notices through the outbox, and apply the parameters'
	// restart-needing changes in a window. The queue is the local Storage
	// queue; main swaps in Service Bus in Azure.
	s.Deploy = deploy.New(deploy.OpenTables(acct), now, instanceName())
	s.Deploy.Changes = catalogFeed{s.Catalog}
	s.Deploy.Directory = deployDirectory{s.Platform}
	s.Deploy.Notifier = outboxNotifier{s.Mail.Outbox}
	s.Deploy.Queue = messaging.StorageQueue{Q: acct.Queue(deploy.QueueName), Now: now}
	s.Deploy.Runtime = portal.NewClient(nil)
	s.UseEgress(egress.NewPolicy(nil))
	s.Deploy.Appliers = append(s.Deploy.Appliers, s.Params)
	s.Params.Restarts = s.Deploy
	s.Catalog.Committed = func(ctx context.Context, project string, seq int64) {
		if err := s.Deploy.Request(ctx, project, seq); err != nil {
			httpapi.Logger(ctx).Warn("deployment request", "project", project, "seq", seq, "error", err.Error())
		}
	}
	s.Jobs.Executors["reconcile-windows"] = func(ctx context.Context, _ jobs.Job, _ time.Time) error { return s.Deploy.Reconcile(ctx) }
	return s
}

// jobCallTimeout bounds a programmed job's call to its Scheduler (the job's
// own timeout is usually shorter).
const jobCallTimeout = 5 * time.Minute

// CallbackTimeout bounds one delivery of a task's callback.
const CallbackTimeout = 10 * time.Second

// UseEgress sets where calls to customers' endpoints may connect: the
// programmed jobs' Scheduler calls, the deployments' Work Portal and
// Scheduler calls (deploy, restart, health) and the e-mail tasks'
// callbacks. NewServices starts strict (no loopback, private, link-local
// or reserved address; egress.NewPolicy(nil)); main opens it on a
// developer's machine (egress.Local) or by COLLAB_EGRESS_ALLOW in Azure.
// Connectors keep their own per-environment allow-lists.
func (s Services) UseEgress(p egress.Policy) {
	s.Jobs.Executors["http"] = jobs.HTTPExecutor(egress.Client(p, jobCallTimeout), s.schedulerURL)
	if c, ok := s.Deploy.Runtime.(*portal.Client); ok {
		c.HTTP = egress.Client(p, 0) // each call has its own deadline
	}
	s.Mail.Callbacks.Client = mail.CallbackClient(CallbackTimeout, p)
}

func (s Services) schedulerURL(ctx context.Context, project, env string) (string, error) {
	e, err := s.Platform.Environment(ctx, project, env)
	return e.SchedulerURL, err
}

// catalogFeed is the catalog's change feed as deployments read it: every
// change in sequence order, not filtered by anyone's permissions.
type catalogFeed struct{ c *catalog.Service }

func (f catalogFeed) Changes(ctx context.Context, project string, after int64, limit int) ([]deploy.Change, int64, error) {
	cs, head, err := f.c.Changes(ctx, project, after, limit)
	if err != nil {
		return nil, 0, err
	}
	out := make([]deploy.Change, len(cs))
	for i, c := range cs {
		out[i] = deploy.Change{Seq: c.Seq, Path: c.Path, Op: c.Op, Version: c.Version, SHA256: c.SHA256,
			CommittedBy: c.CommittedBy, CommittedAt: c.CommittedAt}
	}
	return out, head, nil
}

// outboxNotifier sends deployment notices as e-mail through the outbox
// (idempotent on the notice id, as deploy.Notifier requires).
type outboxNotifier struct{ o *mail.Outbox }

func (n outboxNotifier) Notify(ctx context.Context, x deploy.Notice) error {
	return n.o.Enqueue(ctx, mail.Notification{ID: x.ID, Project: x.Project, Kind: x.Kind, To: x.To, Data: x.Data})
}

// instanceName identifies this process in job runs (host and pid).
func instanceName() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", h, os.Getpid())
}

// Deps returns the handlers' dependencies for these services.
func (s Services) Deps(health Health, dev DevAuth) Deps {
	return Deps{Health: health, DevAuth: dev, Platform: Platform{Svc: s.Platform, Audit: s.Audit, Idem: s.Idem},
		Security: Security{Platform: s.Platform, ACL: s.ACL}, Jobs: Jobs{Platform: s.Platform, Runner: s.Jobs},
		Params: Params{Platform: s.Platform, Svc: s.Params}, Connectors: Connectors{Platform: s.Platform, Svc: s.Connectors, Idem: s.Idem},
		Catalog: Catalog{Platform: s.Platform, ACL: s.ACL, Svc: s.Catalog, Idem: s.Idem},
		Mail: Mail{Platform: s.Platform, Outbox: s.Mail.Outbox, Sender: s.Mail.Sender, Tasks: s.Mail.Tasks, Inbound: s.Mail.Inbound,
			Callbacks: s.Mail.Callbacks, Poller: s.Mail.Poller, Scan: s.Mail.Scan, InboundSecret: s.Mail.InboundSecret},
		Deploy: Deploy{Platform: s.Platform, Svc: s.Deploy, Audit: s.Audit}}
}
