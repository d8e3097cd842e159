// Package app is the composition root: the one place where the domain
// services are built, in dependency order, each given its dependencies by
// its constructor, and where the few run-time cycles are closed through
// small interfaces the consumer declares (docs/architecture.md). The
// handler binary (cmd/handler) and the in-process test server
// (handlers/handlertest) both build the service here, so tests run what
// production runs.
package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/studio-collab/collab/handlers"
	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/connector"
	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/deploy/messaging"
	"github.com/studio-collab/collab/shared/deploy/portal"
	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/envconfig"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/jobs"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/secevent"
	"github.com/studio-collab/collab/shared/security/acl"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
)

// StorageLayouts lists the tables, containers and queues every module
// declares, for the bootstrap at start-up and for the infra consistency test.
func StorageLayouts() []store.Layout {
	return []store.Layout{azure.OwnLayout, platform.Layout, audit.Layout, idempotency.Layout, acl.Layout, jobs.Layout,
		envconfig.Layout, connector.Layout, catalog.Layout, mail.Layout, deploy.Layout, secevent.Layout}
}

// Services are the domain services built on one storage account; main and
// the tests build them the same way (New).
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
	Mail       Mail
	// SecEvents is the security center's log; main sets its Retention.
	SecEvents *secevent.Log
	// Rejected counts this instance's 413/400 answers per caller.
	Rejected *secevent.RateCounter
}

// New builds the services on acct; now is the clock (nil = time.Now). Each
// is built after what it needs: the audit log, the e-mail outbox, the
// platform, security and the catalog, parameters and connectors, then
// deployments (which read the catalog, the platform and the outbox, and
// apply parameters), and last the job runner with every module's
// housekeeping (each module declares its tasks; Jobs.SystemJobs lists
// them). Two cycles remain and are closed at the end through interfaces
// their consumer declares: the catalog tells its subscriber (deployments)
// of each commit, and parameters queue restart-needing changes with
// deployments.
func New(acct *azure.Account, now func() time.Time) Services {
	if now == nil {
		now = time.Now
	}
	log := audit.New(acct.Table("audit"), now)
	m := newMail(acct, log, now)
	plat := platform.New(platform.OpenTables(acct), log, now)
	plat.Outbox = m.Outbox
	// The security center records the refusals of the platform, inbound
	// e-mail and connectors, files project events under their subscription,
	// and mails its alerts to the Subscription Owners through the outbox.
	sec := secevent.New(acct.Table(secevent.EventsTable), acct.Table(secevent.AlertsTable), now)
	sec.Projects, sec.Logger, sec.Context = plat, httpapi.Logger, eventActor
	sec.Notify = alertMailer(plat, m.Outbox)
	sec.Retention = secevent.RetentionDefault
	plat.Events, m.Inbound.Events, m.Callbacks.Events = sec, sec, sec
	s := Services{Platform: plat, Audit: log, Mail: m, SecEvents: sec, Rejected: secevent.NewRateCounter(sec, now),
		Idem:   idempotency.New(acct.Table("idempotency")),
		ACL:    acl.New(acct.Container("security"), log),
		Params: envconfig.New(acct.Table("parameters"), log, now),
	}
	// Every check-in is authorized by Studio Security inside the catalog.
	s.Catalog = catalog.New(catalog.OpenTables(acct), acct.Container("catalog"), now,
		catalog.WithAuthorizer(studioSecurity{p: s.Platform, acl: s.ACL}))
	s.Connectors = connector.New(acct.Table("connectors"), s.Params, log, now)
	s.Connectors.Logger = httpapi.Logger
	s.Connectors.Events = sec
	// The queue is the local Storage queue; main swaps in Service Bus in
	// Azure (UseAzure), and the Work Portal runtime's HTTP client follows
	// the egress policy (UseEgress).
	s.Deploy = deploy.New(deploy.OpenTables(acct), deploy.Deps{
		Changes:   catalogFeed{s.Catalog},
		Directory: deployDirectory{s.Platform},
		Notifier:  outboxNotifier{m.Outbox},
		Queue:     messaging.StorageQueue{Q: acct.Queue(deploy.QueueName), Now: now},
		Runtime:   portal.NewClient(nil),
		Appliers:  []deploy.Applier{s.Params},
	}, now, instanceName())
	// The cycles, closed through the consumers' interfaces.
	s.Params.Restarts = s.Deploy
	s.Catalog.Subscribe(deployOnCommit{s.Deploy})
	s.Catalog.AuditWith(catalogAudit{log})

	s.Jobs = &jobs.Runner{JobTable: acct.Table("jobs"), RunTable: acct.Table("jobruns"), OpenTable: acct.Table("jobopen"),
		Notify: m.Outbox, Instance: instanceName(), Now: now}
	s.Jobs.Executors = map[string]jobs.Executor{"http": jobs.HTTPExecutor(egress.Client(egress.NewPolicy(nil), jobCallTimeout), s.schedulerURL)}
	// Each module declares its own housekeeping (schedule and action together).
	s.Jobs.Register(idempotency.Housekeeping(acct.Table("idempotency"))...)
	s.Jobs.Register(audit.Housekeeping(acct.Table("audit"))...)
	s.Jobs.Register(sec.Housekeeping(acct.Table(secevent.EventsTable), acct.Table(secevent.AlertsTable))...)
	s.Jobs.Register(s.Catalog.Housekeeping()...)
	s.Jobs.Register(s.Deploy.Housekeeping()...)
	s.UseEgress(egress.NewPolicy(nil))
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
// callbacks. New starts strict (no loopback, private, link-local or
// reserved address; egress.NewPolicy(nil)); main opens it on a developer's
// machine (egress.Local) or by COLLAB_EGRESS_ALLOW in Azure. Connectors
// keep their own per-environment allow-lists.
func (s Services) UseEgress(p egress.Policy) {
	call := jobs.HTTPExecutor(egress.Client(p, jobCallTimeout), s.schedulerURL)
	s.Jobs.Executors["http"] = func(ctx context.Context, j jobs.Job, occ time.Time) error {
		err := call(ctx, j, occ)
		if e, ok := secevent.EgressEvent(j.Project, "environments/"+j.Env+"/jobs/"+j.Name, err); ok {
			secevent.Emit(ctx, s.SecEvents, e) // a job's Scheduler call refused by the egress policy
		}
		return err
	}
	if c, ok := s.Deploy.Runtime.(*portal.Client); ok {
		c.HTTP = egress.Client(p, 0) // each call has its own deadline
	}
	s.Mail.Callbacks.Client = mail.CallbackClient(CallbackTimeout, p)
}

func (s Services) schedulerURL(ctx context.Context, project, env string) (string, error) {
	e, err := s.Platform.Environment(ctx, project, env)
	return e.SchedulerURL, err
}

// instanceName identifies this process in job runs (host and pid).
func instanceName() string {
	h, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", h, os.Getpid())
}

// Deps returns the handlers' dependencies for these services.
func (s Services) Deps(health handlers.Health, dev handlers.DevAuth) handlers.Deps {
	return handlers.Deps{Health: health, DevAuth: dev, Platform: handlers.Platform{Svc: s.Platform, Audit: s.Audit, Idem: s.Idem},
		Security: handlers.Security{Platform: s.Platform, ACL: s.ACL}, Jobs: handlers.Jobs{Platform: s.Platform, Runner: s.Jobs, Idem: s.Idem},
		Params:     handlers.Params{Platform: s.Platform, Svc: s.Params},
		Connectors: handlers.Connectors{Platform: s.Platform, Svc: s.Connectors, Idem: s.Idem},
		Catalog:    handlers.Catalog{Platform: s.Platform, ACL: s.ACL, Svc: s.Catalog, Idem: s.Idem},
		Mail: handlers.Mail{Platform: s.Platform, Outbox: s.Mail.Outbox, Sender: s.Mail.Sender, Tasks: s.Mail.Tasks, Inbound: s.Mail.Inbound,
			Callbacks: s.Mail.Callbacks, Inbox: IMAPInbox(s.Mail.Poller), Scan: s.Mail.Scan, InboundSecret: s.Mail.InboundSecret, Idem: s.Idem},
		Deploy:         handlers.Deploy{Platform: s.Platform, Svc: s.Deploy, Audit: s.Audit, Idem: s.Idem},
		SecurityEvents: handlers.SecurityEvents{Platform: s.Platform, Log: s.SecEvents, Rate: s.Rejected}}
}
