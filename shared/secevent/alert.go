package secevent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Rule is one alert threshold: Threshold events of Kind (and one of
// Reasons, when set) in one fixed window of Window, per scope, and per
// principal when PerPrincipal. Windows are aligned to multiples of Window
// since the Unix epoch, so every instance computes the same ones.
type Rule struct {
	Name         string        `json:"name"`
	Title        string        `json:"title"`
	Kind         Kind          `json:"kind"`
	Reasons      []string      `json:"reasons,omitempty"`
	PerPrincipal bool          `json:"perPrincipal"`
	Threshold    int           `json:"threshold"`
	Window       time.Duration `json:"-"`
}

// DefaultRules are the thresholds of issue 21 (docs/security-events.md
// explains each). Tests and operators may swap in others (Log.Rules).
var DefaultRules = []Rule{
	{Name: "signin-burst", Title: "20 refused sign-ins for one account within 10 minutes", Kind: SignInRefused, PerPrincipal: true, Threshold: 20, Window: 10 * time.Minute},
	{Name: "metadata-egress", Title: "an outbound call aimed at a cloud metadata or platform address", Kind: EgressRefused, Reasons: []string{ReasonMetadata}, Threshold: 1, Window: time.Hour},
	{Name: "inbound-flood", Title: "50 refused inbound e-mails within an hour", Kind: InboundRefused, Threshold: 50, Window: time.Hour},
	{Name: "tenant-probing", Title: "10 probes of another tenant's resources by one caller within 10 minutes", Kind: TenantProbe, PerPrincipal: true, Threshold: 10, Window: 10 * time.Minute},
	{Name: "security-denials", Title: "20 Studio Security denials for one user within 10 minutes", Kind: SecurityDenied, PerPrincipal: true, Threshold: 20, Window: 10 * time.Minute},
	{Name: "webhook-secret", Title: "5 wrong inbound webhook secrets within 10 minutes", Kind: WebhookSecret, Threshold: 5, Window: 10 * time.Minute},
	{Name: "rejected-requests", Title: "a caller kept sending rejected (413/400) requests in 3 separate minutes within an hour", Kind: RejectedRate, PerPrincipal: true, Threshold: 3, Window: time.Hour},
}

// ReasonMetadata is the egress refusal reason of a cloud metadata or
// platform endpoint (169.254.169.254, 168.63.129.16, fd00:ec2::254).
const ReasonMetadata = "cloud-metadata"

func (r Rule) matches(kind Kind, reason string) bool {
	return kind == r.Kind && (len(r.Reasons) == 0 || slices.Contains(r.Reasons, reason))
}

// Alert is a threshold crossed in one window.
type Alert struct {
	ID           string    `json:"id"`
	Rule         string    `json:"rule"`
	Title        string    `json:"title"`
	Kind         Kind      `json:"kind"`
	Scope        string    `json:"scope"`
	Subscription string    `json:"subscription,omitempty"`
	Principal    string    `json:"principal,omitempty"`
	Count        int       `json:"count"` // events counted when it was raised
	Threshold    int       `json:"threshold"`
	WindowStart  time.Time `json:"windowStart"`
	WindowEnd    time.Time `json:"windowEnd"`
	RaisedAt     time.Time `json:"raisedAt"`
}

// NotificationID is the id of the alert's e-mail: one per alert, so a
// second evaluation of the same window queues nothing new.
func (a Alert) NotificationID() string { return "security-alert:" + a.Scope + ":" + a.ID }

// alertID is deterministic in (rule, principal, window): the row key that
// makes raising insert-if-absent. It sorts newest window first.
func alertID(rule, principal string, start time.Time) string {
	h := sha256.Sum256([]byte(rule + "\x00" + principal))
	return fmt.Sprintf("%019d-%s", math.MaxInt64-start.UnixNano(), hex.EncodeToString(h[:8]))
}

// evalRowLimit bounds the rows of the time index one evaluation reads per
// hour partition (a flood past it still crosses every threshold above).
const evalRowLimit = 20000

type tally struct {
	rule      Rule
	scope     string
	principal string
	start     time.Time
	count     int
}

// Evaluate counts the events of each rule's current and previous windows
// and raises an alert for every threshold crossed (once per window: see the
// package invariants); it returns the alerts it raised now. The alert
// timer calls it every minute.
func (l *Log) Evaluate(ctx context.Context) ([]Alert, error) {
	const op = "secevent.Evaluate"
	rules := l.Rules
	if rules == nil {
		rules = DefaultRules
	}
	now := l.now().UTC()
	from := now
	for _, r := range rules {
		if s := now.Truncate(r.Window).Add(-r.Window); s.Before(from) {
			from = s
		}
	}
	tallies := map[string]*tally{}
	for h := from.Truncate(time.Hour); !h.After(now); h = h.Add(time.Hour) {
		rows, err := l.hour(ctx, h, from)
		if err != nil {
			return nil, fault.E(op, err)
		}
		for _, ent := range rows {
			kind, reason, at := Kind(ent.String("Kind")), ent.String("Reason"), ent.Time("At")
			for _, r := range rules {
				if !r.matches(kind, reason) {
					continue
				}
				start := at.UTC().Truncate(r.Window)
				if start.Before(now.Truncate(r.Window).Add(-r.Window)) {
					continue
				}
				who := ""
				if r.PerPrincipal {
					who = ent.String("Principal")
				}
				key := r.Name + "\x00" + ent.String("Scope") + "\x00" + who + "\x00" + start.String()
				t := tallies[key]
				if t == nil {
					t = &tally{rule: r, scope: ent.String("Scope"), principal: who, start: start}
					tallies[key] = t
				}
				t.count++
			}
		}
	}
	var raised []Alert
	for _, t := range tallies {
		if t.count < t.rule.Threshold {
			continue
		}
		a, isNew, err := l.raise(ctx, t, now)
		if err != nil {
			return raised, fault.E(op, err)
		}
		if isNew {
			raised = append(raised, a)
			l.logger(ctx).Error("security alert", "rule", a.Rule, "kind", string(a.Kind), "scope", a.Scope,
				"principal", a.Principal, "count", a.Count, "windowStart", a.WindowStart, "alertId", a.ID)
		}
		// Every evaluation of a crossed window notifies: the notification
		// id makes all but the first a no-op, and a crash between raising
		// and notifying is repaired by the next tick.
		if l.Notify != nil {
			if err := l.Notify(ctx, a); err != nil {
				return raised, fault.E(op, fmt.Errorf("notify alert %s: %w", a.ID, err))
			}
		}
	}
	slices.SortFunc(raised, func(x, y Alert) int { return x.WindowStart.Compare(y.WindowStart) })
	return raised, nil
}

func (l *Log) hour(ctx context.Context, h, from time.Time) ([]store.Entity, error) {
	f := store.And(store.Eq("PartitionKey", hourPartition(h)), store.Le("RowKey", boundKey(from)))
	var out []store.Entity
	cursor := ""
	for {
		p, err := l.events.Query(ctx, f, store.QueryOptions{Select: []string{"Kind", "Reason", "Principal", "Scope", "At"}, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, p.Entities...)
		if p.Next == "" || len(out) >= evalRowLimit {
			return out, nil
		}
		cursor = p.Next
	}
}

// raise inserts the alert's row if absent; the stored one wins when present.
func (l *Log) raise(ctx context.Context, t *tally, now time.Time) (Alert, bool, error) {
	a := Alert{ID: alertID(t.rule.Name, t.principal, t.start), Rule: t.rule.Name, Title: t.rule.Title, Kind: t.rule.Kind,
		Scope: t.scope, Principal: t.principal, Count: t.count, Threshold: t.rule.Threshold,
		WindowStart: t.start, WindowEnd: t.start.Add(t.rule.Window), RaisedAt: now}
	if sub, ok := cutPrefix(t.scope, "subscription:"); ok {
		a.Subscription = sub
	}
	body, _ := json.Marshal(a)
	_, err := l.alerts.Insert(ctx, store.Entity{PartitionKey: store.EncodeKey(t.scope), RowKey: a.ID, Props: map[string]any{"Alert": string(body)}})
	if err == nil {
		return a, true, nil
	}
	if !fault.Is(err, fault.Conflict) {
		return a, false, err
	}
	p, err := l.alerts.Query(ctx, store.And(store.Eq("PartitionKey", store.EncodeKey(t.scope)), store.Eq("RowKey", a.ID)), store.QueryOptions{Top: 1})
	if err != nil || len(p.Entities) == 0 {
		return a, false, err
	}
	var stored Alert
	if err := json.Unmarshal([]byte(p.Entities[0].String("Alert")), &stored); err != nil {
		return a, false, fault.E(fault.Internal, err)
	}
	return stored, false, nil
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}

// AlertPage is a page of alerts, newest window first.
type AlertPage struct {
	Alerts []Alert `json:"items"`
	Next   string  `json:"next,omitempty"`
}

// Alerts lists a scope's alerts newest window first.
func (l *Log) Alerts(ctx context.Context, scope string, limit int, cursor string) (AlertPage, error) {
	if limit <= 0 || limit > MaxPage {
		limit = 50
	}
	p, err := l.alerts.Query(ctx, store.Eq("PartitionKey", store.EncodeKey(scope)), store.QueryOptions{Top: int32(limit), Cursor: cursor})
	if err != nil {
		return AlertPage{}, fault.E("secevent.Alerts", err)
	}
	out := AlertPage{Alerts: make([]Alert, 0, len(p.Entities)), Next: p.Next}
	for _, ent := range p.Entities {
		var a Alert
		if err := json.Unmarshal([]byte(ent.String("Alert")), &a); err != nil {
			return AlertPage{}, fault.E("secevent.Alerts", fault.Internal, err)
		}
		out.Alerts = append(out.Alerts, a)
	}
	return out, nil
}
