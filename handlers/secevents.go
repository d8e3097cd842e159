package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/secevent"
)

// SecurityEvents serves the security center (DESIGN §4.10): the events of
// a subscription, a project and the operator, their counts, the alerts; and
// it observes the router's refusals to record the ones only the HTTP layer
// sees.
type SecurityEvents struct {
	Platform *platform.Service
	Log      *secevent.Log
	Rate     *secevent.RateCounter
}

func registerSecurityEvents(rt *httpapi.Router, s SecurityEvents) {
	rt.Handle("GET /api/subscriptions/{s}/security-events", s.read(s.subscriptionOwner, s.subscriptionEvents))
	rt.Handle("GET /api/subscriptions/{s}/security-events/summary", s.read(s.subscriptionOwner, s.subscriptionSummary))
	rt.Handle("GET /api/subscriptions/{s}/security-alerts", s.read(s.subscriptionOwner, s.subscriptionAlerts))
	rt.Handle("GET /api/projects/{p}/security-events", s.read(s.projectOwner, s.projectEvents))
	rt.Handle("GET /api/security-events", s.read(s.operator, s.operatorEvents))
	if s.Log != nil {
		rt.Observe(s.observe)
	}
}

// read decodes the query, authorizes, and answers one read of the log.
func (s SecurityEvents) read(authorize func(r *http.Request) (context.Context, error), call func(ctx context.Context, r *http.Request, q secevent.Query) (any, error)) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, err := eventQuery(r)
		if err != nil {
			return err
		}
		ctx, err := authorize(r)
		if err != nil {
			return err
		}
		v, err := call(ctx, r, q)
		if err != nil {
			return err
		}
		httpapi.JSON(w, http.StatusOK, v)
		return nil
	}
}

// subscriptionOwner: the subscription's logs are its Subscription Owners'.
func (s SecurityEvents) subscriptionOwner(r *http.Request) (context.Context, error) {
	ctx, c := CallerOf(r)
	return ctx, s.Platform.RequireSubscriptionOwner(ctx, c, r.PathValue("s"))
}

// projectOwner: the project's log is its owners' (Subscription Owners too).
func (s SecurityEvents) projectOwner(r *http.Request) (context.Context, error) {
	ctx, c := CallerOf(r)
	return ctx, s.Platform.RequireProjectOwner(ctx, c, r.PathValue("p"), "read the project's security events")
}

// operator: the operator's log is for service principals with the role.
func (s SecurityEvents) operator(r *http.Request) (context.Context, error) {
	ctx, c := CallerOf(r)
	if !secevent.OperatorMayRead(c.Service, c.Roles) {
		return ctx, fault.E("handlers.securityEvents", fault.Forbidden, "the operator's security events are for service principals with the "+secevent.OperatorRole+" application role")
	}
	return ctx, nil
}

func (s SecurityEvents) subscriptionEvents(ctx context.Context, r *http.Request, q secevent.Query) (any, error) {
	return s.Log.List(ctx, secevent.SubscriptionScope(r.PathValue("s")), q)
}

func (s SecurityEvents) subscriptionSummary(ctx context.Context, r *http.Request, _ secevent.Query) (any, error) {
	return s.Log.Summarize(ctx, secevent.SubscriptionScope(r.PathValue("s")))
}

func (s SecurityEvents) subscriptionAlerts(ctx context.Context, r *http.Request, q secevent.Query) (any, error) {
	return s.Log.Alerts(ctx, secevent.SubscriptionScope(r.PathValue("s")), q.Limit, q.Cursor)
}

func (s SecurityEvents) projectEvents(ctx context.Context, r *http.Request, q secevent.Query) (any, error) {
	return s.Log.List(ctx, secevent.ProjectScope(r.PathValue("p")), q)
}

func (s SecurityEvents) operatorEvents(ctx context.Context, _ *http.Request, q secevent.Query) (any, error) {
	return s.Log.List(ctx, secevent.OperatorScope, q)
}

// eventQuery decodes ?kind=a,b&principal=&from=&to=&limit=&cursor=.
func eventQuery(r *http.Request) (secevent.Query, error) {
	const op = "handlers.securityEvents"
	v := r.URL.Query()
	q := secevent.Query{Principal: v.Get("principal"), Cursor: v.Get("cursor")}
	for _, ks := range v["kind"] {
		for _, k := range strings.Split(ks, ",") {
			if k = strings.TrimSpace(k); k != "" {
				q.Kinds = append(q.Kinds, secevent.Kind(k))
			}
		}
	}
	for name, dst := range map[string]*time.Time{"from": &q.From, "to": &q.To} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, fault.E(op, fault.Invalid, fmt.Sprintf("%s must be an RFC 3339 time such as 2026-03-02T09:00:00Z, not %q", name, s))
			}
			*dst = t
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return q, fault.E(op, fault.Invalid, fmt.Sprintf("limit must be 1–%d", secevent.MaxPage))
		}
		q.Limit = n
	}
	return q, q.Validate()
}

// observe records the refusals only the HTTP layer sees: a refused token
// (the operator's log: an unverifiable token names no tenant it could be
// trusted for), a wrong inbound webhook secret, a Studio Security denial on
// a write, and every 413/400 for the per-caller rate.
func (s SecurityEvents) observe(r *http.Request, err error) {
	ctx := r.Context()
	target := r.Method + " " + r.URL.Path
	switch kind := fault.KindOf(err); {
	case errors.Is(err, mail.ErrWrongSecret):
		s.Log.Record(ctx, secevent.Event{Kind: secevent.WebhookSecret, Reason: "wrong-secret", Principal: "ip:" + httpapi.ClientAddr(ctx), Target: target})
	case kind == fault.Unauthenticated:
		ref, ok := identity.RefusalOf(err)
		if !ok || ref.Reason == "no-token" {
			return // no token at all is a sign-in not attempted; disabled users are the platform's
		}
		who := ref.Subject
		if who == "" {
			who = "ip:" + httpapi.ClientAddr(ctx)
		}
		s.Log.Record(ctx, secevent.Event{Kind: secevent.SignInRefused, Reason: ref.Reason, Principal: who, PrincipalName: ref.Email,
			Target: target, Detail: "claimed issuer " + ref.Issuer})
	case kind == fault.Forbidden && studioSecurityWrite(r):
		e := secevent.Event{Kind: secevent.SecurityDenied, Reason: "write", Project: r.PathValue("p"), Target: target}
		var fe *catalog.ForbiddenError
		var ferr *fault.Error
		switch {
		case errors.As(err, &fe) && len(fe.Paths) > 0:
			e.Target, e.Detail = fe.Paths[0], fmt.Sprintf("%d path(s) refused: %s", len(fe.Paths), strings.Join(fe.Paths, ", "))
		case errors.As(err, &ferr) && ferr.Path != "":
			e.Target = ferr.Path
		}
		if strings.Contains(r.URL.Path, "/security/") {
			e.Reason = "manage"
		}
		s.Log.Record(ctx, e)
	case kind == fault.TooLarge || kind == fault.Invalid:
		if s.Rate == nil {
			return
		}
		reason := "invalid"
		if kind == fault.TooLarge {
			reason = "too-large"
		}
		who := "ip:" + httpapi.ClientAddr(ctx)
		verified := false
		if p, ok := identity.FromContext(ctx); ok {
			who, verified = callerOf(p).UserID, true
			if who == "" {
				who = "service:" + p.ID
			}
		}
		s.Rate.Rejected(ctx, secevent.Event{Reason: reason, Principal: who, Verified: verified, Project: r.PathValue("p"), Target: target})
	}
}

// studioSecurityWrite: a write to a project's catalog or security entries,
// where a Forbidden is Studio Security's refusal (role refusals elsewhere
// are not).
func studioSecurityWrite(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.PathValue("p") == "" {
		return false
	}
	return strings.Contains(r.URL.Path, "/catalog/") || strings.Contains(r.URL.Path, "/security/")
}
