package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/deploy/devfeed"
	"github.com/studio-collab/collab/shared/deploy/portal"
	"github.com/studio-collab/collab/shared/deploy/standin"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

// clock is the fake clock every instance of a test shares.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock        { c := &clock{}; c.ns.Store(t.UnixNano()); return c }
func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) set(t time.Time)         { c.ns.Store(t.UnixNano()) }

// sleep is the services' Sleep: it moves the fake clock instead of waiting.
func (c *clock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.advance(d)
	return nil
}

// timedQueue stands for the transport in fake-clock tests (the transports
// themselves pass deploytest.QueueContract on Azurite and as Service Bus
// messages): it delivers each message once its NotBefore has come on the
// fake clock, and can lose messages.
type timedQueue struct {
	mu   sync.Mutex
	msgs []deploy.Message
	lose atomic.Bool
	sent atomic.Int64
}

func (q *timedQueue) Send(_ context.Context, m deploy.Message) error {
	q.sent.Add(1)
	if q.lose.Load() {
		return nil // lost before delivery
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, m)
	return nil
}

func (q *timedQueue) due(now time.Time) []deploy.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out, kept []deploy.Message
	for _, m := range q.msgs {
		if m.NotBefore.After(now) {
			kept = append(kept, m)
		} else {
			out = append(out, m)
		}
	}
	q.msgs = kept
	return out
}

// directory is the platform as the tests set it up.
type directory struct {
	mu       sync.Mutex
	envs     []string
	info     map[string]deploy.EnvInfo
	members  []deploy.Member
	statuses map[string][]string // every status put, per environment
}

func (d *directory) Environments(_ context.Context, project string) ([]string, error) {
	return append([]string(nil), d.envs...), nil
}

func (d *directory) Environment(_ context.Context, project, env string) (deploy.EnvInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.info[env], nil
}

func (d *directory) Members(context.Context, string) ([]deploy.Member, error) { return d.members, nil }

func (d *directory) SetStatus(_ context.Context, project, env, status string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := d.info[env]
	i.Status = status
	d.info[env] = i
	d.statuses[env] = append(d.statuses[env], status)
	return nil
}

func (d *directory) history(env string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.statuses[env]...)
}

// world is one project "claims" with environments test and production, a
// stand-in Work Portal and Scheduler per environment on a real loopback
// HTTP server, the dev change feed and the notifications table on Azurite,
// and n service instances sharing all of it.
type world struct {
	t       *testing.T
	clock   *clock
	feed    *devfeed.Feed
	queue   *timedQueue
	dir     *directory
	portal  *standin.Server
	url     string
	notices store.Table
	states  store.Table
	svcs    []*deploy.Service
}

var prefixSeq atomic.Int64

// saturday: the tests' clock starts on Tuesday 24 November 2026, 10:00 UTC;
// the policy's next time is Saturday 28 November, 02:00 in Bogota (07:00Z).
var start = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

var saturdayPolicy = deploy.Policy{Schedules: []string{"0 0 2 * * Sat"}, TimeZone: "America/Bogota", DurationMinutes: 30, NoticeMinutes: 60}

func newWorld(t *testing.T, instances int) *world {
	t.Helper()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: fmt.Sprintf("d%d", prefixSeq.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(t.Context(), store.Layout{Tables: append(append([]string{"notifications"}, deploy.Layout.Tables...), devfeed.Layout.Tables...)}); err != nil {
		t.Fatal(err)
	}
	c := newClock(start)
	w := &world{t: t, clock: c, queue: &timedQueue{}, portal: standin.New(20*time.Second, c.now),
		feed: &devfeed.Feed{T: acct.Table("devchanges"), Now: c.now}, notices: acct.Table("notifications"), states: acct.Table("deployenvs")}
	srv := httptest.NewServer(w.portal)
	t.Cleanup(srv.Close)
	w.url = srv.URL
	w.dir = &directory{envs: []string{"test", "production"}, statuses: map[string][]string{}, info: map[string]deploy.EnvInfo{},
		members: []deploy.Member{{Email: "alice@example.com", Owner: true}, {Email: "bob@example.com"}, {Email: "carol@example.com"}}}
	for _, env := range w.dir.envs {
		w.dir.info[env] = deploy.EnvInfo{WorkPortalURL: w.component(env, "portal"), SchedulerURL: w.component(env, "scheduler"), Status: "running"}
	}
	for i := 0; i < instances; i++ {
		s := deploy.New(deploy.OpenTables(acct), deploy.Deps{Changes: w.feed, Queue: w.queue, Directory: w.dir,
			Notifier: deploy.TableNotifier{T: acct.Table("notifications"), Now: c.now}, Runtime: portal.NewClient(nil)}, c.now, fmt.Sprintf("i%d", i))
		s.Sleep = c.sleep
		s.ReconcileBudget = 0 // no real-time budget under a fake clock
		w.svcs = append(w.svcs, s)
	}
	return w
}

func (w *world) component(env, c string) string { return w.url + "/claims/" + env + "/" + c }

func (w *world) prefix(env, c string) string { return "/claims/" + env + "/" + c }

func (w *world) svc() *deploy.Service { return w.svcs[0] }

// commit appends a commit of the given paths to the feed and requests its
// deployment, as the catalog's Committed hook will.
func (w *world) commit(paths ...string) int64 {
	w.t.Helper()
	var cs []deploy.Change
	for _, p := range paths {
		cs = append(cs, deploy.Change{Path: p, Op: deploy.OpPut})
	}
	seq, err := w.feed.Append(w.t.Context(), "claims", "bob@example.com", cs)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.svc().Request(w.t.Context(), "claims", seq); err != nil {
		w.t.Fatal(err)
	}
	return seq
}

// pump hands every message due by the fake clock to instance i, as the
// trigger would, until none is left.
func (w *world) pump(i int) {
	w.t.Helper()
	for round := 0; round < 20; round++ {
		ms := w.queue.due(w.clock.now())
		if len(ms) == 0 {
			return
		}
		for _, m := range ms {
			if err := w.svcs[i].Handle(w.t.Context(), m.Body); err != nil {
				w.t.Fatalf("handle %s: %v", m.ID, err)
			}
		}
	}
}

// tick is one WindowsReconcile round on instance i.
func (w *world) tick(i int) {
	w.t.Helper()
	if err := w.svcs[i].Reconcile(w.t.Context()); err != nil {
		w.t.Fatalf("reconcile: %v", err)
	}
}

// minutes advances the clock a minute at a time until at, delivering due
// messages and reconciling each minute, as the timer and the trigger would.
// Spans longer than a few minutes are skipped over to the last five minutes
// (nothing is due in between in these tests; TestIdleDaysChangeNothing
// checks that with a tick every hour).
func (w *world) minutes(at time.Time) {
	w.t.Helper()
	if skip := at.Add(-5 * time.Minute); w.clock.now().Before(skip) {
		w.clock.set(skip)
	}
	for w.clock.now().Before(at) {
		w.clock.advance(time.Minute)
		w.pump(0)
		w.tick(0)
	}
}

func (w *world) status(env string) deploy.Status {
	w.t.Helper()
	st, err := w.svc().Status(w.t.Context(), "claims", env)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func (w *world) windows(env string) []deploy.Window {
	w.t.Helper()
	ws, err := w.svc().Windows(w.t.Context(), "claims", env)
	if err != nil {
		w.t.Fatal(err)
	}
	return ws
}

func (w *world) window(env, id string) deploy.Window {
	w.t.Helper()
	win, err := w.svc().Window(w.t.Context(), "claims", env, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return win
}

// noticeRow is a notification as recorded.
type noticeRow struct {
	ID   string         `json:"id"`
	Kind string         `json:"kind"`
	To   []string       `json:"to"`
	Data map[string]any `json:"data"`
}

// noticeList is every notice recorded, sorted by id.
func (w *world) noticeList() []noticeRow {
	w.t.Helper()
	es, err := w.notices.QueryAll(w.t.Context(), store.Filter{}, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	var out []noticeRow
	for _, e := range es {
		var n noticeRow
		if err := json.Unmarshal([]byte(e.String("Doc")), &n); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// noticeIDs lists the ids of the notices about env.
func (w *world) noticeIDs(env string) []string {
	var ids []string
	for _, n := range w.noticeList() {
		if n.Data["env"] == env {
			ids = append(ids, n.ID)
		}
	}
	return ids
}

// states lists the states a window went through.
func states(win deploy.Window) []string {
	out := []string{deploy.Scheduled}
	for _, h := range win.History {
		out = append(out, h.To)
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func eqList[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

// Paths of the demo: a form is hot, an entity needs the Work Portal to
// restart, a timer needs the Scheduler to restart.
const (
	formPath   = "applications/claims/processes/intake/versions/3/forms/main"
	entityPath = "entities/application/Claim/attributes/amount"
	timerPath  = "applications/claims/processes/intake/versions/3/timers/reminder"
)
