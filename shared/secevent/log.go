package secevent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/housekeeping"
	"github.com/studio-collab/collab/shared/store"
)

// Layout is the storage the security center needs: the events (one row per
// scope plus one in an hourly partition the alert timer reads) and the
// alerts raised.
var Layout = store.Layout{Tables: []string{EventsTable, AlertsTable}}

// Table names.
const (
	EventsTable = "secevents"
	AlertsTable = "secalerts"
)

// RetentionDefault is how long events and alerts are kept unless
// COLLAB_SECURITY_EVENT_RETENTION_DAYS says otherwise.
const RetentionDefault = 90 * 24 * time.Hour

// Projects resolves the subscription a project belongs to, so that a
// project's events are also in its subscription's log.
type Projects interface {
	SubscriptionOf(ctx context.Context, project string) (string, error)
}

// Recorder records events; *Log is one. Modules that refuse things hold a
// Recorder (nil: nothing is recorded).
type Recorder interface {
	Record(ctx context.Context, e Event)
}

// Emit records e on r when r is set: the one line a refusal site adds.
func Emit(ctx context.Context, r Recorder, e Event) {
	if r != nil {
		r.Record(ctx, e)
	}
}

// Log appends, reads, counts and alerts on security events.
type Log struct {
	events, alerts store.Table
	now            func() time.Time
	// Projects fills in a project event's subscription (nil: events stay
	// in the scope their recorder gave).
	Projects Projects
	// Logger gives the logger of a context (nil: slog.Default); every event
	// is also one structured log line, which is what Log Analytics reads.
	Logger func(ctx context.Context) *slog.Logger
	// Context tells who the request in ctx is from, to fill in what a
	// recording module does not know (the platform, a connector, the inbound
	// e-mail know what was refused, not always who asked); nil: nothing.
	Context func(ctx context.Context) Actor
	// Rules are the alert thresholds (nil: DefaultRules).
	Rules []Rule
	// Retention is how long events and alerts are kept (the retention job
	// reads it; RetentionDefault unless configured).
	Retention time.Duration
	// Notify tells people of a new alert (the composition root sends the
	// e-mail through the outbox); nil: alerts are only stored and logged.
	Notify func(ctx context.Context, a Alert) error
}

// Actor is who a request is from, as the HTTP layer knows it.
type Actor struct {
	Principal, Name, Source, RequestID string
	Verified                           bool
}

// New returns a Log on the events and alerts tables; now is the clock.
func New(events, alerts store.Table, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{events: events, alerts: alerts, now: now}
}

func (l *Log) logger(ctx context.Context) *slog.Logger {
	if l.Logger != nil {
		return l.Logger(ctx)
	}
	return slog.Default()
}

// reverseKey makes row keys count down with time (newest first); the random
// suffix keeps two events of one instant apart.
func reverseKey(t time.Time) string {
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	return fmt.Sprintf("%019d-%s", math.MaxInt64-t.UnixNano(), hex.EncodeToString(rnd[:]))
}

// boundKey is the row key bound for "at or after t" (Le) / "before t" (Gt).
func boundKey(t time.Time) string { return fmt.Sprintf("%019d-~", math.MaxInt64-t.UTC().UnixNano()) }

// hourPartition is the partition of the time index holding t's hour.
func hourPartition(t time.Time) string { return "t:" + t.UTC().Format("2006010215") }

// Record appends e to the logs of its scopes and to the time index, and
// writes it as one structured log line. It never fails the caller: a
// refusal is answered the same whether or not its event was stored.
func (l *Log) Record(ctx context.Context, e Event) {
	e.At = l.now().UTC()
	if l.Context != nil {
		a := l.Context(ctx)
		if e.Principal == "" && a.Principal != "" {
			e.Principal, e.PrincipalName, e.Verified = a.Principal, a.Name, a.Verified
		}
		if e.Source == "" {
			e.Source = a.Source
		}
		if e.RequestID == "" {
			e.RequestID = a.RequestID
		}
	}
	e.ID = reverseKey(e.At)
	if e.Project != "" && e.Subscription == "" && l.Projects != nil {
		if sub, err := l.Projects.SubscriptionOf(ctx, e.Project); err == nil {
			e.Subscription = sub
		}
	}
	e.trim()
	// The one line Log Analytics' scheduled queries read (msg "security event").
	l.logger(ctx).Warn("security event", "kind", string(e.Kind), "reason", e.Reason, "principal", e.Principal,
		"verified", e.Verified, "source", e.Source, "target", e.Target, "subscription", e.Subscription,
		"project", e.Project, "count", e.Count, "eventId", e.ID)
	body, _ := json.Marshal(e)
	props := func(extra map[string]any) map[string]any {
		m := map[string]any{"Event": string(body), "Kind": string(e.Kind), "Principal": e.Principal, "At": e.At}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	rows := []store.Entity{{PartitionKey: hourPartition(e.At), RowKey: e.ID, Props: props(map[string]any{
		"Scope": e.alertScope(), "Reason": e.Reason})}}
	for _, s := range e.scopes() {
		rows = append(rows, store.Entity{PartitionKey: store.EncodeKey(s), RowKey: e.ID, Props: props(nil)})
	}
	for _, row := range rows {
		if _, err := l.events.Insert(ctx, row); err != nil {
			l.logger(ctx).Error("security event not stored", "kind", string(e.Kind), "eventId", e.ID, "error", err.Error())
		}
	}
}

// Query selects events of one scope; zero fields select everything.
type Query struct {
	Kinds     []Kind
	Principal string
	From, To  time.Time // From inclusive, To exclusive
	Limit     int       // 1–200; 0 = 50
	Cursor    string
}

// MaxPage is the largest page List returns.
const MaxPage = 200

// Page is a page of events, newest first.
type Page struct {
	Events []Event `json:"items"`
	Next   string  `json:"next,omitempty"`
}

// Validate checks a query's own rules (the kinds exist, the range is one).
func (q Query) Validate() error {
	const op = "secevent.Query"
	for _, k := range q.Kinds {
		if !k.Valid() {
			return fault.E(op, fault.Invalid, fmt.Sprintf("kind %q is not one of %v", k, Kinds()))
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return fault.E(op, fault.Invalid, "from must be before to")
	}
	if q.Limit < 0 || q.Limit > MaxPage {
		return fault.E(op, fault.Invalid, fmt.Sprintf("limit must be 1–%d", MaxPage))
	}
	if len(q.Principal) > maxShort {
		return fault.E(op, fault.Invalid, fmt.Sprintf("principal is over %d bytes", maxShort))
	}
	return nil
}

// List reads a scope's events newest first.
func (l *Log) List(ctx context.Context, scope string, q Query) (Page, error) {
	const op = "secevent.List"
	if err := q.Validate(); err != nil {
		return Page{}, err
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	f := store.Eq("PartitionKey", store.EncodeKey(scope))
	if !q.From.IsZero() {
		f = store.And(f, store.Le("RowKey", boundKey(q.From)))
	}
	if !q.To.IsZero() {
		f = store.And(f, store.Gt("RowKey", boundKey(q.To)))
	}
	if len(q.Kinds) > 0 {
		var kf []store.Filter
		for _, k := range q.Kinds {
			kf = append(kf, store.Eq("Kind", string(k)))
		}
		f = store.And(f, store.Or(kf...))
	}
	if q.Principal != "" {
		f = store.And(f, store.Eq("Principal", q.Principal))
	}
	p, err := l.events.Query(ctx, f, store.QueryOptions{Top: int32(q.Limit), Cursor: q.Cursor, Select: []string{"Event"}})
	if err != nil {
		return Page{}, fault.E(op, err)
	}
	out := Page{Events: make([]Event, 0, len(p.Entities)), Next: p.Next}
	for _, ent := range p.Entities {
		var e Event
		if err := json.Unmarshal([]byte(ent.String("Event")), &e); err != nil {
			return Page{}, fault.E(op, fault.Internal, err)
		}
		out.Events = append(out.Events, e)
	}
	return out, nil
}

// Summary counts a scope's events per kind over the last 24 hours and the
// last 7 days, and per day of the last 7 (oldest first), for the console's
// chart.
type Summary struct {
	Since24h map[Kind]int `json:"last24h"`
	Since7d  map[Kind]int `json:"last7d"`
	Days     []Day        `json:"days"`
	// Truncated says the scope had more events than SummaryLimit in the
	// 7 days: the counts are lower bounds.
	Truncated bool `json:"truncated,omitempty"`
}

// Day is one day's counts (UTC).
type Day struct {
	Date   string       `json:"date"`
	Counts map[Kind]int `json:"counts"`
}

// SummaryLimit bounds the rows one summary reads.
const SummaryLimit = 50000

// Summarize counts a scope's events (see Summary).
func (l *Log) Summarize(ctx context.Context, scope string) (Summary, error) {
	const op = "secevent.Summarize"
	now := l.now().UTC()
	day0 := now.Truncate(24*time.Hour).AddDate(0, 0, -6)
	since := now.Add(-7 * 24 * time.Hour)
	if day0.Before(since) {
		since = day0
	}
	s := Summary{Since24h: map[Kind]int{}, Since7d: map[Kind]int{}}
	for i := range 7 {
		s.Days = append(s.Days, Day{Date: day0.AddDate(0, 0, i).Format(time.DateOnly), Counts: map[Kind]int{}})
	}
	for _, k := range Kinds() {
		s.Since24h[k], s.Since7d[k] = 0, 0
	}
	f := store.And(store.Eq("PartitionKey", store.EncodeKey(scope)), store.Le("RowKey", boundKey(since)))
	cursor, n := "", 0
	for {
		p, err := l.events.Query(ctx, f, store.QueryOptions{Select: []string{"Kind", "At"}, Cursor: cursor})
		if err != nil {
			return Summary{}, fault.E(op, err)
		}
		for _, ent := range p.Entities {
			k, at := Kind(ent.String("Kind")), ent.Time("At")
			if !at.Before(now.Add(-24 * time.Hour)) {
				s.Since24h[k]++
			}
			if !at.Before(now.Add(-7 * 24 * time.Hour)) {
				s.Since7d[k]++
			}
			if d := int(at.UTC().Sub(day0) / (24 * time.Hour)); d >= 0 && d < len(s.Days) {
				s.Days[d].Counts[k]++
			}
		}
		n += len(p.Entities)
		if p.Next == "" {
			return s, nil
		}
		if n >= SummaryLimit {
			s.Truncated = true
			return s, nil
		}
		cursor = p.Next
	}
}

// Housekeeping is the security center's periodic jobs on its tables (the
// events and alerts tables New was given, which the purge deletes from):
// the alert thresholds every minute (Evaluate), and nightly the events and
// alerts older than Retention.
func (l *Log) Housekeeping(events, alerts housekeeping.Purger) []housekeeping.Task {
	return []housekeeping.Task{
		{Name: "security-alerts", Schedule: "15 * * * * *", Timeout: time.Minute, CatchUp: housekeeping.CatchUpNone,
			Run: func(ctx context.Context, _ time.Time) error {
				_, err := l.Evaluate(ctx)
				return err
			}},
		{Name: "security-retention", Schedule: "0 30 3 * * *", Timeout: 5 * time.Minute, CatchUp: housekeeping.CatchUpLast,
			Run: func(ctx context.Context, occ time.Time) error {
				_, err := housekeeping.PurgeOlder(ctx, events, "Timestamp", occ.Add(-l.Retention), 5000)
				_, aerr := housekeeping.PurgeOlder(ctx, alerts, "Timestamp", occ.Add(-l.Retention), 5000)
				return errors.Join(err, aerr)
			}},
	}
}
