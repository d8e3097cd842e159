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

// observe reads the facts of a refusal from the error and the request;
// secevent.Classify decides which event it is (handlers only gather).
func (s SecurityEvents) observe(r *http.Request, err error) {
	ctx := r.Context()
	x := secevent.Refusal{Method: r.Method, Path: r.URL.Path, Project: r.PathValue("p"), Status: httpapi.StatusOf(err),
		WrongSecret: errors.Is(err, mail.ErrWrongSecret), Source: httpapi.ClientAddr(ctx)}
	if ref, ok := identity.RefusalOf(err); ok {
		x.Token = &secevent.TokenRefusal{Reason: ref.Reason, Issuer: ref.Issuer, Subject: ref.Subject, Email: ref.Email}
	}
	var fe *catalog.ForbiddenError
	var ferr *fault.Error
	switch {
	case errors.As(err, &fe):
		x.Paths = fe.Paths
	case errors.As(err, &ferr) && ferr.Path != "":
		x.Paths = []string{ferr.Path}
	}
	if p, ok := identity.FromContext(ctx); ok {
		if x.Principal = callerOf(p).UserID; x.Principal == "" {
			x.Principal = "service:" + p.ID
		}
	}
	e, rate, ok := secevent.Classify(x)
	switch {
	case !ok:
	case rate && s.Rate != nil:
		s.Rate.Rejected(ctx, e)
	case !rate:
		s.Log.Record(ctx, e)
	}
}
