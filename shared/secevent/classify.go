package secevent

import (
	"fmt"
	"strings"
)

// Refusal is what the HTTP layer knows of a request it answered with an
// error: the facts, read from the error and the request; Classify holds
// the rules that turn them into an event.
type Refusal struct {
	Method, Path string
	Project      string // the route's {p}, if any
	// Status is the answer's HTTP status (401, 403, 400, 413, ...).
	Status int
	// Token is set when a bearer token did not verify.
	Token *TokenRefusal
	// WrongSecret: the inbound webhook's shared secret was missing or wrong.
	WrongSecret bool
	// Paths are the object paths a 403 named (a check-in's refused paths).
	Paths []string
	// Principal is the signed-in caller ("" when anonymous); Source the
	// client address.
	Principal, Source string
}

// TokenRefusal is why a token was refused and what it claimed, unverified.
type TokenRefusal struct {
	Reason, Issuer, Subject, Email string
}

// Classify decides which security event a refusal is, if any, and whether
// it only counts toward the per-caller rate of 413/400 (RateCounter)
// instead of being recorded at once (docs/security-events.md, "What is
// recorded"):
//   - a token that did not verify: signin-refused in the operator's log,
//     principal the subject it claimed (unverified); no token at all is no
//     sign-in attempt;
//   - a wrong webhook secret: webhook-secret-wrong, operator;
//   - a 403 on a write under a project's /catalog/ or /security/: Studio
//     Security's denial (role refusals elsewhere are not);
//   - a 400 or 413: one rejected request of its caller (signed in: the
//     user, filed under the route's project; else the client address).
func Classify(x Refusal) (e Event, rate, ok bool) {
	target := x.Method + " " + x.Path
	anonymous := "ip:" + x.Source
	switch {
	case x.WrongSecret:
		return Event{Kind: WebhookSecret, Reason: "wrong-secret", Principal: anonymous, Target: target}, false, true
	case x.Token != nil:
		if x.Token.Reason == "no-token" {
			return Event{}, false, false
		}
		who := x.Token.Subject
		if who == "" {
			who = anonymous
		}
		return Event{Kind: SignInRefused, Reason: x.Token.Reason, Principal: who, PrincipalName: x.Token.Email,
			Target: target, Detail: "claimed issuer " + x.Token.Issuer}, false, true
	case x.Status == 403 && studioSecurityWrite(x):
		e := Event{Kind: SecurityDenied, Reason: "write", Project: x.Project, Target: target}
		if strings.Contains(x.Path, "/security/") {
			e.Reason = "manage"
		}
		if len(x.Paths) > 0 {
			e.Target, e.Detail = x.Paths[0], fmt.Sprintf("%d path(s) refused: %s", len(x.Paths), strings.Join(x.Paths, ", "))
		}
		return e, false, true
	case x.Status == 400 || x.Status == 413:
		e := Event{Reason: "invalid", Principal: anonymous, Target: target}
		if x.Status == 413 {
			e.Reason = "too-large"
		}
		if x.Principal != "" {
			e.Principal, e.Verified, e.Project = x.Principal, true, x.Project
		}
		return e, true, true
	}
	return Event{}, false, false
}

func studioSecurityWrite(x Refusal) bool {
	if x.Method == "GET" || x.Method == "HEAD" || x.Project == "" {
		return false
	}
	return strings.Contains(x.Path, "/catalog/") || strings.Contains(x.Path, "/security/")
}
