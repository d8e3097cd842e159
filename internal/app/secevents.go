package app

import (
	"context"
	"net/url"
	"strings"

	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/secevent"
)

// eventActor tells the security events who the request in ctx is from:
// the signed-in person (their user id and address) or service principal,
// the client address and the request id.
func eventActor(ctx context.Context) secevent.Actor {
	a := secevent.Actor{Source: httpapi.ClientAddr(ctx), RequestID: httpapi.RequestID(ctx)}
	if p, ok := identity.FromContext(ctx); ok {
		a.Verified = true
		if p.Service || p.Email == "" {
			a.Principal = "service:" + p.ID
		} else {
			a.Principal, a.Name = platform.UserID(p.Email), p.Email
		}
	}
	return a
}

// alertMailer sends a subscription's alert to its Subscription Owners
// through the outbox, with the alert's own notification id (one e-mail per
// alert whatever the number of evaluations); an operator alert is only
// logged (Log Analytics alerts on it).
func alertMailer(p *platform.Service, o *mail.Outbox) func(ctx context.Context, a secevent.Alert) error {
	return func(ctx context.Context, a secevent.Alert) error {
		if a.Subscription == "" {
			return nil
		}
		to, err := p.SubscriptionOwners(ctx, a.Subscription)
		if err != nil || len(to) == 0 {
			return err
		}
		if len(to) > 50 {
			to = to[:50]
		}
		return o.Enqueue(ctx, mail.Notification{ID: a.NotificationID(), Project: mail.SubscriptionScope(a.Subscription), Kind: mail.KindSecurityAlert, To: to,
			Data: map[string]any{"subscription": a.Subscription, "title": a.Title, "kind": string(a.Kind), "principal": a.Principal, "count": a.Count,
				"threshold": a.Threshold, "windowStart": a.WindowStart, "windowEnd": a.WindowEnd,
				"consoleUrl": strings.TrimSuffix(p.PublicURL, "/") + "/console/subscriptions/" + url.PathEscape(a.Subscription) + "/security"}})
	}
}
