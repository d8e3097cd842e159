package secevent

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/studio-collab/collab/shared/egress"
)

// Kind is what was refused. The values are stable: they are stored, filtered
// on, shown in the console and matched by the Log Analytics alert queries
// (infra/modules/monitoring.bicep).
type Kind string

// The kinds of security events.
const (
	SignInRefused  Kind = "signin-refused"        // a bad, expired or foreign token, a disabled user
	TenantProbe    Kind = "cross-tenant-probe"    // a 404 answered on another tenant's existing resource
	SecurityDenied Kind = "security-denied"       // Studio Security refused a write
	InboundRefused Kind = "inbound-email-refused" // unverified sender, bad token, replay, auth failed
	EgressRefused  Kind = "egress-refused"        // an outbound call to a refused address, a refused redirect
	WebhookSecret  Kind = "webhook-secret-wrong"  // the inbound e-mail webhook's secret was wrong
	RejectedRate   Kind = "rejected-requests"     // one caller got RateThreshold 413/400 answers within RateWindow
)

// Kinds lists every kind, in the order the console shows them.
func Kinds() []Kind {
	return []Kind{SignInRefused, TenantProbe, SecurityDenied, InboundRefused, EgressRefused, WebhookSecret, RejectedRate}
}

// Valid reports whether k is one of Kinds.
func (k Kind) Valid() bool {
	for _, x := range Kinds() {
		if k == x {
			return true
		}
	}
	return false
}

// Event is one refusal: who, what, where and why; never the secret or the
// body that was refused.
type Event struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Kind   Kind      `json:"kind"`
	Reason string    `json:"reason"` // a stable slug per kind: "expired", "disabled", "cloud-metadata", …
	// Principal is who was refused: a user id, "ip:<address>" for an
	// anonymous caller, or, when Verified is false, the subject an
	// unverifiable token claimed (a label, not an identity).
	Principal     string `json:"principal,omitempty"`
	PrincipalName string `json:"principalName,omitempty"` // an e-mail address when known
	Verified      bool   `json:"verified"`
	Source        string `json:"source,omitempty"` // the client address, when the request came over HTTP
	Target        string `json:"target,omitempty"` // what was aimed at: a route, an object path, a host, a task
	Subscription  string `json:"subscription,omitempty"`
	Project       string `json:"project,omitempty"`
	RequestID     string `json:"requestId,omitempty"`
	Count         int    `json:"count,omitempty"` // RejectedRate: the answers counted in the window
	Detail        string `json:"detail,omitempty"`
}

// Field caps: an event always fits its row whatever a caller sent.
const (
	maxShort  = 256
	maxDetail = 512
)

func (e *Event) trim() {
	for _, f := range []*string{&e.Reason, &e.Principal, &e.PrincipalName, &e.Source, &e.Target, &e.Subscription, &e.Project, &e.RequestID} {
		*f = cut(*f, maxShort)
	}
	e.Detail = cut(e.Detail, maxDetail)
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Scopes: the log an event is read from.
const OperatorScope = "operator"

// SubscriptionScope is the log of a subscription (its projects' events too).
func SubscriptionScope(s string) string { return "subscription:" + s }

// ProjectScope is the log of one project.
func ProjectScope(p string) string { return "project:" + p }

// scopes are the logs e goes to.
func (e Event) scopes() []string {
	var out []string
	if e.Project != "" {
		out = append(out, ProjectScope(e.Project))
	}
	if e.Subscription != "" {
		out = append(out, SubscriptionScope(e.Subscription))
	}
	if len(out) == 0 {
		out = append(out, OperatorScope)
	}
	return out
}

// alertScope is the scope whose people are alerted: the subscription, else
// the operator.
func (e Event) alertScope() string {
	if e.Subscription != "" {
		return SubscriptionScope(e.Subscription)
	}
	return OperatorScope
}

// OperatorRole is the application role that reads the operator's log.
const OperatorRole = "SecurityEvents.Read"

// OperatorMayRead: the operator's log (events that concern no tenant) is
// for service principals holding OperatorRole, never for a person's token:
// no customer, however senior, reads other tenants' refusals.
func OperatorMayRead(service bool, roles []string) bool {
	if !service {
		return false
	}
	for _, r := range roles {
		if strings.EqualFold(r, OperatorRole) {
			return true
		}
	}
	return false
}

// EgressEvent is the event of an outbound call the egress policy refused
// (err holds an *egress.RefusedError), aimed at target (a connector, a job,
// never a path or query) for project; ok is false for any other error. A
// cloud metadata or platform address has its own reason (the
// metadata-egress rule alerts on one).
func EgressEvent(project, target string, err error) (Event, bool) {
	var re *egress.RefusedError
	if !errors.As(err, &re) {
		return Event{}, false
	}
	reason := "ssrf-target"
	if egress.Metadata(re.Addr) {
		reason = ReasonMetadata
	}
	return Event{Kind: EgressRefused, Reason: reason, Project: project, Target: target, Detail: re.Error()}, true
}
