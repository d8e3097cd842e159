package secevent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

type projects map[string]string

func (p projects) SubscriptionOf(_ context.Context, project string) (string, error) {
	return p[project], nil
}

func newLog(t *testing.T) (*Log, *clock) {
	t.Helper()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: fmt.Sprintf("sev%d", time.Now().UnixNano()%1e9)})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(context.Background(), Layout); err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	c.ns.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	l := New(acct.Table(EventsTable), acct.Table(AlertsTable), c.now)
	l.Projects = projects{"claims": "acme", "other": "globex"}
	return l, c
}

// TestEventsAreReadInTheirScopes: a project's event is in the project's and
// its subscription's logs and nowhere else; a tenant-less one is the
// operator's only.
func TestEventsAreReadInTheirScopes(t *testing.T) {
	ctx := context.Background()
	l, _ := newLog(t)
	l.Record(ctx, Event{Kind: SecurityDenied, Reason: "edit", Principal: "u-1", Verified: true, Project: "claims", Target: "applications/a"})
	l.Record(ctx, Event{Kind: SignInRefused, Reason: "expired", Principal: "someone"})
	cases := []struct {
		scope string
		want  []Kind
	}{
		{ProjectScope("claims"), []Kind{SecurityDenied}},
		{SubscriptionScope("acme"), []Kind{SecurityDenied}},
		{SubscriptionScope("globex"), nil},
		{ProjectScope("other"), nil},
		{OperatorScope, []Kind{SignInRefused}},
	}
	for _, c := range cases {
		p, err := l.List(ctx, c.scope, Query{})
		if err != nil {
			t.Fatal(err)
		}
		var got []Kind
		for _, e := range p.Events {
			got = append(got, e.Kind)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v, want %v", c.scope, got, c.want)
		}
	}
	p, _ := l.List(ctx, ProjectScope("claims"), Query{})
	if e := p.Events[0]; e.Subscription != "acme" || e.ID == "" || e.At.IsZero() {
		t.Errorf("the project event was not completed: %+v", e)
	}
}

// TestListFiltersAndPages: kind, principal and time filters, newest first,
// and a cursor that walks every event once.
func TestListFiltersAndPages(t *testing.T) {
	ctx := context.Background()
	l, c := newLog(t)
	start := c.now()
	for i := range 7 {
		k := SignInRefused
		if i%2 == 1 {
			k = TenantProbe
		}
		l.Record(ctx, Event{Kind: k, Reason: "x", Principal: fmt.Sprintf("p%d", i%3), Target: fmt.Sprint(i)})
		c.advance(time.Minute)
	}
	cases := []struct {
		name string
		q    Query
		want string
	}{
		{"everything newest first", Query{}, "6 5 4 3 2 1 0"},
		{"one kind", Query{Kinds: []Kind{TenantProbe}}, "5 3 1"},
		{"two kinds", Query{Kinds: []Kind{TenantProbe, SignInRefused}}, "6 5 4 3 2 1 0"},
		{"one principal", Query{Principal: "p0"}, "6 3 0"},
		{"from", Query{From: start.Add(4 * time.Minute)}, "6 5 4"},
		{"to", Query{To: start.Add(2 * time.Minute)}, "1 0"},
		{"from and to", Query{From: start.Add(2 * time.Minute), To: start.Add(4 * time.Minute)}, "3 2"},
	}
	for _, tc := range cases {
		p, err := l.List(ctx, OperatorScope, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range p.Events {
			got = append(got, e.Target)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%s: got %v, want %s", tc.name, got, tc.want)
		}
	}
	var got []string
	q := Query{Limit: 3}
	for range 5 {
		p, err := l.List(ctx, OperatorScope, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			got = append(got, e.Target)
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	if strings.Join(got, " ") != "6 5 4 3 2 1 0" {
		t.Errorf("paging walked %v", got)
	}
	for _, bad := range []Query{{Kinds: []Kind{"nope"}}, {Limit: MaxPage + 1}, {From: start, To: start}} {
		if _, err := l.List(ctx, OperatorScope, bad); err == nil {
			t.Errorf("query %+v was accepted", bad)
		}
	}
}

// TestSummaryCountsPerKind: 24 h and 7 d counts and the days of the chart.
func TestSummaryCountsPerKind(t *testing.T) {
	ctx := context.Background()
	l, c := newLog(t)
	l.Record(ctx, Event{Kind: EgressRefused, Project: "claims"})
	c.advance(3 * 24 * time.Hour)
	l.Record(ctx, Event{Kind: EgressRefused, Project: "claims"})
	l.Record(ctx, Event{Kind: TenantProbe, Project: "claims"})
	c.advance(time.Hour)
	s, err := l.Summarize(ctx, SubscriptionScope("acme"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Since24h[EgressRefused] != 1 || s.Since7d[EgressRefused] != 2 || s.Since24h[TenantProbe] != 1 || s.Since7d[SignInRefused] != 0 {
		t.Errorf("counts: 24h %v, 7d %v", s.Since24h, s.Since7d)
	}
	if len(s.Days) != 7 || s.Days[6].Counts[EgressRefused] != 1 || s.Days[3].Counts[EgressRefused] != 1 || s.Days[6].Date != c.now().Format(time.DateOnly) {
		t.Errorf("days: %+v", s.Days)
	}
}

// TestAlertOncePerWindow: a threshold crossed raises one alert for its
// window however often it is evaluated and however many evaluate at once;
// the next window raises its own; below the threshold nothing is raised.
func TestAlertOncePerWindow(t *testing.T) {
	ctx := context.Background()
	l, c := newLog(t)
	l.Rules = []Rule{{Name: "burst", Kind: SignInRefused, PerPrincipal: true, Threshold: 3, Window: 10 * time.Minute}}
	var mu sync.Mutex
	notified := map[string]int{}
	l.Notify = func(_ context.Context, a Alert) error {
		mu.Lock()
		defer mu.Unlock()
		notified[a.NotificationID()]++
		return nil
	}
	evaluate := func() int {
		var wg sync.WaitGroup
		var n atomic.Int32
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a, err := l.Evaluate(ctx)
				if err != nil {
					t.Error(err)
				}
				n.Add(int32(len(a)))
			}()
		}
		wg.Wait()
		return int(n.Load())
	}
	for range 2 {
		l.Record(ctx, Event{Kind: SignInRefused, Principal: "mallory", Project: "claims"})
	}
	l.Record(ctx, Event{Kind: SignInRefused, Principal: "alice", Project: "claims"})
	if n := evaluate(); n != 0 {
		t.Fatalf("below the threshold %d alerts were raised", n)
	}
	l.Record(ctx, Event{Kind: SignInRefused, Principal: "mallory", Project: "claims"})
	if n := evaluate(); n != 1 {
		t.Fatalf("crossing: %d alerts raised, want 1", n)
	}
	c.advance(time.Minute)
	l.Record(ctx, Event{Kind: SignInRefused, Principal: "mallory", Project: "claims"})
	if n := evaluate(); n != 0 {
		t.Fatalf("the same window raised %d more", n)
	}
	c.advance(10 * time.Minute)
	for range 3 {
		l.Record(ctx, Event{Kind: SignInRefused, Principal: "mallory", Project: "claims"})
	}
	if n := evaluate(); n != 1 {
		t.Fatalf("the next window raised %d, want 1", n)
	}
	p, err := l.Alerts(ctx, SubscriptionScope("acme"), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Alerts) != 2 || p.Alerts[0].Principal != "mallory" || !p.Alerts[0].WindowStart.After(p.Alerts[1].WindowStart) || p.Alerts[1].Count < 3 {
		t.Fatalf("alerts: %+v", p.Alerts)
	}
	if len(notified) != 2 {
		t.Errorf("notifications: %v", notified)
	}
	if p, _ := l.Alerts(ctx, SubscriptionScope("globex"), 0, ""); len(p.Alerts) != 0 {
		t.Errorf("another subscription has alerts: %+v", p.Alerts)
	}
}

// TestRateCounterOneEventPerCallerAndWindow: the RateThreshold-th rejected
// request of a caller in a window records one event; more in the window
// record nothing; other callers count apart.
func TestRateCounterOneEventPerCallerAndWindow(t *testing.T) {
	var rec recorded
	c := &clock{}
	c.ns.Store(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).UnixNano())
	rc := NewRateCounter(&rec, c.now)
	for range RateThreshold*2 + 1 {
		rc.Rejected(context.Background(), Event{Principal: "ip:203.0.113.9", Reason: "too-large"})
	}
	for range RateThreshold - 1 {
		rc.Rejected(context.Background(), Event{Principal: "u-2", Reason: "invalid"})
	}
	c.advance(RateWindow)
	for range RateThreshold {
		rc.Rejected(context.Background(), Event{Principal: "ip:203.0.113.9", Reason: "invalid"})
	}
	if len(rec.events) != 2 || rec.events[0].Kind != RejectedRate || rec.events[0].Count != RateThreshold || rec.events[1].Principal != "ip:203.0.113.9" {
		t.Fatalf("events: %+v", rec.events)
	}
}

type recorded struct{ events []Event }

func (r *recorded) Record(_ context.Context, e Event) { r.events = append(r.events, e) }
