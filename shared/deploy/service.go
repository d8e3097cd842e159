package deploy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/studio-collab/collab/shared/store"
)

// Layout is the storage deployments need: the environments' deployment
// state, the per-commit history, the index of requests not yet processed,
// the windows, and the local deployment queue.
var Layout = store.Layout{
	Tables: []string{"deployenvs", "deployments", "deploypending", "windows"},
	Queues: []string{QueueName},
}

// QueueName is the deployment queue: a Storage queue locally, a Service Bus
// queue (sessions, duplicate detection) in Azure.
const QueueName = "deployrequests"

// Change operations.
const (
	OpPut    = "put"
	OpDelete = "delete"
)

// Change is one changed object of a commit, as the catalog's change feed
// reports it.
type Change struct {
	Seq         int64     `json:"seq"`
	Path        string    `json:"path"`
	Op          string    `json:"op"` // put | delete
	Version     int64     `json:"version"`
	SHA256      string    `json:"sha256,omitempty"`
	CommittedBy string    `json:"committedBy,omitempty"`
	CommittedAt time.Time `json:"committedAt,omitzero"`
}

// ChangeSource is the catalog's change feed: the changes of a project after a
// commit sequence, in order, at most limit of them, and the head sequence.
// Every change of a commit has the commit's Seq.
type ChangeSource interface {
	Changes(ctx context.Context, project string, after int64, limit int) ([]Change, int64, error)
}

// Notice kinds (the e-mail module's templates).
const (
	KindWindowAnnounced  = "window-announced"
	KindWindowOpened     = "window-opened"
	KindWindowEnded      = "window-ended"
	KindWindowFailed     = "window-failed"
	KindDeploymentFailed = "deployment-failed"
)

// Notice is one notification for the outbox. ID is deterministic, so a
// notice queued again after a crash or by a second instance is the same
// notice, which the outbox keeps once.
type Notice struct {
	ID      string
	Project string
	Kind    string
	To      []string
	Data    map[string]any
}

// Notifier queues notices; it must be idempotent on Notice.ID.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// Member is a project member as the notices need them.
type Member struct {
	Email string
	Owner bool
}

// EnvInfo is what the platform records about an environment.
type EnvInfo struct {
	WorkPortalURL string
	SchedulerURL  string
	Status        string
}

// Directory is the platform as deployments see it: which environments a
// project has, where they run, who is told about them, and the status the
// platform shows for them.
type Directory interface {
	Environments(ctx context.Context, project string) ([]string, error)
	Environment(ctx context.Context, project, env string) (EnvInfo, error)
	Members(ctx context.Context, project string) ([]Member, error)
	SetStatus(ctx context.Context, project, env, status string) error
}

// Endpoint says how to reach one component (Work Portal or Scheduler) of an
// environment. BaseURL comes from the platform's environment record; the
// other fields are the environment's runtime settings. An ARM resource id
// means "restart through Azure Resource Manager"; otherwise RestartURL (by
// default BaseURL + "/restart") is POSTed. HealthURL defaults to BaseURL +
// "/health".
type Endpoint struct {
	BaseURL       string `json:"baseUrl,omitempty"`
	HealthURL     string `json:"healthUrl,omitempty"`
	RestartURL    string `json:"restartUrl,omitempty"`
	ARMResourceID string `json:"armResourceId,omitempty"`
}

// Target is an environment's runtime: where its components answer.
type Target struct {
	Project   string
	Env       string
	Portal    Endpoint
	Scheduler Endpoint
}

// Endpoint returns the endpoint of a component.
func (t Target) Endpoint(component string) Endpoint {
	if component == ComponentScheduler {
		return t.Scheduler
	}
	return t.Portal
}

// Deployment modes.
const (
	ModeHot    = "hot"    // hot changes, live at once
	ModeWindow = "window" // restart changes, taken in a window before the restart
)

// Deployment is what the Work Portal is told to take: the changes after
// FromSeq up to Seq of one mode. The runtime must treat a repeated
// (environment, Seq, Mode) as the same deployment.
type Deployment struct {
	FromSeq int64         `json:"fromSeq"`
	Seq     int64         `json:"seq"`
	Mode    string        `json:"mode"`
	Changes []Classified  `json:"changes"`
	Params  []ParamChange `json:"parameters,omitempty"`
}

// Classified is a change with its impact.
type Classified struct {
	Change
	Classification
}

// Runtime reaches an environment's Work Portal and Scheduler: it hands them
// deployments, restarts them and asks whether they are healthy (nil = yes).
type Runtime interface {
	Deploy(ctx context.Context, t Target, d Deployment) error
	Restart(ctx context.Context, t Target, component string) error
	Healthy(ctx context.Context, t Target, component string) error
}

// Applier applies changes that another module queued for a window (the
// environment's parameters): called in the window's applying step, before
// the restart; it must be idempotent.
type Applier interface {
	ApplyPending(ctx context.Context, project, env string) error
}

// Tables are the deployment tables.
type Tables struct {
	States  store.Table // deployenvs: one row per environment
	History store.Table // deployments: one row per environment and commit
	Pending store.Table // deploypending: requests not yet processed
	Windows store.Table // windows
}

// OpenTables returns the tables of Layout on an account.
func OpenTables(a store.Account) Tables {
	return Tables{States: a.Table("deployenvs"), History: a.Table("deployments"),
		Pending: a.Table("deploypending"), Windows: a.Table("windows")}
}

// Service is the deployment worker and the operations behind the HTTP API.
// One per instance; any number run against one storage.
type Service struct {
	T         Tables
	Changes   ChangeSource
	Notifier  Notifier
	Queue     Queue
	Runtime   Runtime
	Directory Directory
	// Appliers are called in each window's applying step (parameters).
	Appliers []Applier
	Rules    *Rules
	Now      func() time.Time
	// Sleep waits between health probes; tests drive a fake clock with it.
	Sleep    func(ctx context.Context, d time.Duration) error
	Instance string
	// Lease is how long a window in applying or restarting is held before
	// another instance may take it over (renewed while the holder works).
	Lease time.Duration
	// HealthTimeout is how long a restarted component has to become healthy.
	HealthTimeout time.Duration
	// HealthInterval is the pause between health probes.
	HealthInterval time.Duration
	// ReconcileBudget bounds the work one reconcile round does inline, so the
	// minute timer never runs into its next occurrence; unfinished work is
	// held by a lease and continues at the next round.
	ReconcileBudget time.Duration
	// PageSize is how many changes are read from the feed at a time.
	PageSize int
	// ApplyFailuresBeforeNotice is how many failed hot deployments in a row
	// mark the environment degraded and tell its owners.
	ApplyFailuresBeforeNotice int
}

// Deps are what deployments use from the rest of the service, each through
// an interface declared here: the catalog's change feed, the platform's
// environments and members, the outbox, the deployment queue, the Work
// Portal runtime, and the modules applied in a window (parameters). The
// composition root (internal/app) passes them to New, so no other package
// reaches into a built Service.
type Deps struct {
	Changes   ChangeSource
	Directory Directory
	Notifier  Notifier
	Queue     Queue
	Runtime   Runtime
	Appliers  []Applier
}

// New returns a service with the defaults on its dependencies.
func New(t Tables, d Deps, now func() time.Time, instance string) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{T: t, Changes: d.Changes, Notifier: d.Notifier, Queue: d.Queue, Runtime: d.Runtime, Directory: d.Directory,
		Appliers: d.Appliers, Rules: DefaultRules(), Now: now, Sleep: sleepCtx, Instance: instance,
		Lease: 45 * time.Second, HealthTimeout: 5 * time.Minute, HealthInterval: 5 * time.Second,
		ReconcileBudget: 50 * time.Second, PageSize: 500, ApplyFailuresBeforeNotice: 3}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// EnvKey names an environment across projects ("claims/test"): the Service
// Bus session id and the prefix of every message id, so that two projects'
// environments of the same name never share a session or a duplicate id.
func EnvKey(project, env string) string { return project + "/" + env }

func envPK(project, env string) string { return store.EncodeKey(EnvKey(project, env)) }

func seqKey(seq int64) string { return fmt.Sprintf("%019d", seq) }

// token identifies one drive of a window (instance plus a random part), so
// two goroutines of one instance never mistake each other's lease for
// their own.
func (s *Service) token() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return s.Instance + "/" + hex.EncodeToString(b[:])
}
