package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Limits published in the API.
const (
	MaxChanges     = 10000    // changes in one check-in
	MaxBlobBytes   = 64 << 20 // one content blob
	MaxPage        = 1000     // feed, listing and history pages
	MaxMissing     = 10000    // hashes in one blobs/missing request
	MaxMessage     = 4096     // bytes of a commit message
	DefaultLockTTL = time.Hour
	MaxLockTTL     = 7 * 24 * time.Hour
)

// Layout is the storage the catalog needs.
var Layout = store.Layout{
	Tables:     []string{"catalogheads", "catalogobjects", "cataloghistory", "catalogfeed", "catalogkeys", "cataloglocks", "catalogblobs"},
	Containers: []string{"catalog"},
}

// Tables are the catalog's tables.
type Tables struct {
	Heads   store.Table // one row per project: the claimed and applied sequence
	Objects store.Table // one row per object: its current (and previous) state
	History store.Table // one row per object version, immutable
	Feed    store.Table // one row per commit (and per 1,000 changes of it), immutable
	Keys    store.Table // idempotency key of a commit -> its sequence
	Locks   store.Table // one row per project holding its check-out locks
	Index   store.Table // one row per content hash: where its bytes are (packstore.go)
}

// OpenTables returns the catalog's tables on an account.
func OpenTables(a store.Account) Tables {
	return Tables{Heads: a.Table("catalogheads"), Objects: a.Table("catalogobjects"), History: a.Table("cataloghistory"),
		Feed: a.Table("catalogfeed"), Keys: a.Table("catalogkeys"), Locks: a.Table("cataloglocks"), Index: a.Table("catalogblobs")}
}

// Subscriber hears of each acknowledged commit: deployments queue their
// requests from it. Declared here, so that the catalog needs nothing from
// its subscriber (deployments read the catalog back through an interface
// of their own). Best effort: it cannot fail a check-in, and a missed call
// is caught up by comparing heads.
type Subscriber interface {
	Committed(ctx context.Context, project string, seq int64)
}

// CommittedFunc is a function as a Subscriber.
type CommittedFunc func(ctx context.Context, project string, seq int64)

// Committed calls f.
func (f CommittedFunc) Committed(ctx context.Context, project string, seq int64) {
	f(ctx, project, seq)
}

// Subscribe sets who hears of each acknowledged commit (one subscriber;
// nil = nobody). Call it while wiring, before the service serves.
func (s *Service) Subscribe(sub Subscriber) { s.committed = sub }

// Auditor records each revert and restore with the commit it undoes (the
// audit log, through an adapter of the composition root). Unlike a
// Subscriber it can fail the request: a revert is acknowledged only with
// its entry.
type Auditor interface {
	Undone(ctx context.Context, project string, who Author, u Undo) error
}

// UndoneFunc is a function as an Auditor.
type UndoneFunc func(ctx context.Context, project string, who Author, u Undo) error

// Undone calls f.
func (f UndoneFunc) Undone(ctx context.Context, project string, who Author, u Undo) error {
	return f(ctx, project, who, u)
}

// AuditWith sets who audits reverts and restores (nil = nobody). Call it
// while wiring, before the service serves.
func (s *Service) AuditWith(a Auditor) { s.auditor = a }

// Service is the catalog. Safe for concurrent use; any number of instances
// may serve one storage account.
type Service struct {
	t     Tables
	blobs store.Container
	now   func() time.Time

	// committed hears of each acknowledged commit (Subscribe).
	committed Subscriber
	// authz authorizes check-ins (WithAuthorizer); nil = everyone may.
	authz Authorizer

	// auditor records each revert and restore (AuditWith).
	auditor Auditor

	// Fault, when set, is called after each step of the commit protocol
	// (see Steps), and with PauseObjects; an error stops the check-in right
	// there, as if the process had died, and a hook that blocks freezes it
	// there (a GC pause, a VM freeze). For crash and race tests only.
	Fault func(step string) error

	// Lease is how long a claimant has to apply its commit before another
	// writer or reader may roll it forward (default 2 minutes).
	Lease time.Duration

	// Poll is how often a writer waiting for another's commit looks again.
	Poll time.Duration

	// Wait bounds how long a writer or reader waits (by the Service's clock)
	// for a claimant whose lease still runs: then it answers Unavailable
	// with a *BusyError saying when the lease ends, so that a client retry
	// (with the same Idempotency-Key) takes the commit over as soon as the
	// lease allows instead of holding a request open for minutes (default
	// 20 s; 0 = wait as long as the request lasts).
	Wait time.Duration

	instance string

	mu       sync.Mutex
	projects map[string]*sync.Mutex // in-process serialization of check-ins per project
	known    sync.Map               // content blobs known to exist ("project/sha")
	packs    sync.Map               // project -> *packIndexes read (packstore.go)
}

// Steps of the commit protocol, in order, as passed to Fault.
var Steps = []string{StepRecord, StepClaim, StepFeed, StepHistory, StepObjects, StepKey, StepApplied}

// The protocol's steps (docs/catalog.md).
const (
	StepRecord  = "record"  // the commit record blob is stored
	StepClaim   = "claim"   // the head row claims the sequence
	StepFeed    = "feed"    // the feed rows are written
	StepHistory = "history" // the history rows are written
	StepObjects = "objects" // the object rows are written
	StepKey     = "key"     // the idempotency key row is written
	StepApplied = "applied" // the head row says applied: the commit is visible
)

// PauseObjects is passed to Fault once an applier holds the object rows it
// will compare-and-swap and has made its last lease check, right before it
// writes them: the one place where a frozen applier could overwrite newer
// rows if object writes were not conditional (docs/catalog.md, the zombie).
const PauseObjects = "objects-read"

// New returns a Service; now is the clock (nil = time.Now).
func New(t Tables, b store.Container, now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	h, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	s := &Service{t: t, blobs: b, now: now, Lease: 2 * time.Minute, Poll: 10 * time.Millisecond, Wait: 20 * time.Second,
		instance: fmt.Sprintf("%s/%d/%s", h, os.Getpid(), hex.EncodeToString(r[:])), projects: map[string]*sync.Mutex{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Option configures a Service at construction.
type Option func(*Service)

// Authorizer decides which changes an author may make: Studio Security
// (edit on each path), reached through the platform's membership and the
// project's access-control index. The catalog declares it and takes it at
// construction, so that every check-in is authorized where it commits,
// whoever calls Checkin.
type Authorizer interface {
	// Denied returns the paths the author may not change in the project.
	Denied(ctx context.Context, project string, author Author, paths []string) ([]string, error)
}

// WithAuthorizer has every check-in authorized by a (without one, as in
// the catalog's own tests, anyone may change anything).
func WithAuthorizer(a Authorizer) Option { return func(s *Service) { s.authz = a } }

// CheckinKey is the key a check-in's commit remembers: the author's
// Idempotency-Key, scoped to the author, so that a retry after a lost
// answer (or a crashed instance) finds its commit instead of making a
// second one, and two authors' keys never meet.
func CheckinKey(authorID, idempotencyKey string) string {
	k := sha256.Sum256([]byte(authorID + "\x00" + idempotencyKey))
	return hex.EncodeToString(k[:16])
}

func (s *Service) fault(step string) error {
	if s.Fault == nil {
		return nil
	}
	if err := s.Fault(step); err != nil {
		return fault.E("catalog.commit", fault.Unavailable, "stopped after step "+step, err)
	}
	return nil
}

// projectLock serializes this instance's check-ins of one project, so that
// they queue here instead of racing for the head row; instances still race,
// and the head row's ETag decides.
func (s *Service) projectLock(project string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.projects[project]
	if !ok {
		m = &sync.Mutex{}
		s.projects[project] = m
	}
	return m
}

func pk(project string) string { return store.EncodeKey(project) }

// Author is who commits or locks: the user id decides, the e-mail is shown.
type Author struct {
	ID    string
	Email string
}
