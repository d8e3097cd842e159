package secevent

import "testing"

// TestClassify: the rules of docs/security-events.md ("What is recorded"),
// one row per sentence.
func TestClassify(t *testing.T) {
	token := func(reason string) *TokenRefusal {
		return &TokenRefusal{Reason: reason, Issuer: "https://elsewhere", Subject: "sub-1", Email: "e@x"}
	}
	cases := []struct {
		name                   string
		in                     Refusal
		ok, rate               bool
		kind                   Kind
		reason, principal, tgt string
		project                string
	}{
		{"an unverifiable token is a sign-in refused, by the subject it claimed", Refusal{Method: "GET", Path: "/api/me", Status: 401, Token: token("expired"), Source: "203.0.113.9"},
			true, false, SignInRefused, "expired", "sub-1", "GET /api/me", ""},
		{"a token claiming no subject is filed under the client address", Refusal{Method: "GET", Path: "/api/me", Status: 401, Token: &TokenRefusal{Reason: "malformed"}, Source: "203.0.113.9"},
			true, false, SignInRefused, "malformed", "ip:203.0.113.9", "GET /api/me", ""},
		{"no token at all is no sign-in attempt", Refusal{Method: "GET", Path: "/api/me", Status: 401, Token: token("no-token")},
			false, false, "", "", "", "", ""},
		{"a wrong webhook secret", Refusal{Method: "POST", Path: "/api/inbound-email", Status: 401, WrongSecret: true, Source: "198.51.100.7"},
			true, false, WebhookSecret, "wrong-secret", "ip:198.51.100.7", "POST /api/inbound-email", ""},
		{"a 403 on a catalog write is Studio Security's, naming the first path", Refusal{Method: "POST", Path: "/api/projects/claims/catalog/checkins", Project: "claims", Status: 403, Paths: []string{"applications/x", "entities/y"}, Principal: "u-1"},
			true, false, SecurityDenied, "write", "", "applications/x", "claims"},
		{"a 403 on a security entry is a manage denial", Refusal{Method: "PUT", Path: "/api/projects/claims/security/entries", Project: "claims", Status: 403, Principal: "u-1"},
			true, false, SecurityDenied, "manage", "", "PUT /api/projects/claims/security/entries", "claims"},
		{"a 403 on a read is not a write denial", Refusal{Method: "GET", Path: "/api/projects/claims/catalog/objects", Project: "claims", Status: 403},
			false, false, "", "", "", "", ""},
		{"a role's 403 elsewhere is not Studio Security's", Refusal{Method: "PUT", Path: "/api/projects/claims/environments/dev/parameters/x", Project: "claims", Status: 403},
			false, false, "", "", "", "", ""},
		{"a signed-in caller's 400 counts toward their rate, under the route's project", Refusal{Method: "POST", Path: "/api/projects/claims/teams", Project: "claims", Status: 400, Principal: "u-2", Source: "10.0.0.1"},
			true, true, "", "invalid", "u-2", "POST /api/projects/claims/teams", "claims"},
		{"an anonymous 413 counts toward the client address's rate, in no project", Refusal{Method: "POST", Path: "/api/projects/claims/catalog/packs", Project: "claims", Status: 413, Source: "10.0.0.1"},
			true, true, "", "too-large", "ip:10.0.0.1", "POST /api/projects/claims/catalog/packs", ""},
		{"a 404 or a 409 is nothing here", Refusal{Method: "GET", Path: "/api/projects/x", Status: 404},
			false, false, "", "", "", "", ""},
	}
	for _, c := range cases {
		e, rate, ok := Classify(c.in)
		if ok != c.ok || rate != c.rate {
			t.Errorf("%s: ok %v rate %v, want %v %v", c.name, ok, rate, c.ok, c.rate)
			continue
		}
		if !ok {
			continue
		}
		if e.Kind != c.kind || e.Reason != c.reason || (c.principal != "" && e.Principal != c.principal) || e.Target != c.tgt || e.Project != c.project {
			t.Errorf("%s: %+v", c.name, e)
		}
	}
}
