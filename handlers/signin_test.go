package handlers_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers"
	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/identity/dextest"
	"github.com/studio-collab/collab/shared/platform"
)

// The API's client at Dex: tokens of its password grant carry aud =
// collab-api, as Entra's v2 tokens carry the API's client id.
var (
	dexAPI   = dextest.Client{ID: "collab-api", Secret: "api-secret"}
	dexOther = dextest.Client{ID: "other-app", Secret: "other-secret"}
)

// withDex runs Dex and an API that trusts it beside its dev issuer.
func withDex(t *testing.T, o dextest.Options, opts ...identity.Option) (*dextest.Dex, *handlertest.API) {
	t.Helper()
	o.Clients = append(o.Clients, dexAPI, dexOther)
	dex := dextest.Start(t, o)
	a := handlertest.StartTrusting(t, handlertest.Trust{Issuers: []identity.IssuerConfig{{URL: dex.URL, Audiences: []string{dexAPI.ID}}},
		Client: dex.Client, Options: opts}, nil)
	return dex, a
}

func bearer(tok string) string { return "Bearer " + tok }

// tamper changes the payload's e-mail and keeps the signature.
func tamper(t *testing.T, tok string) string {
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	_ = json.Unmarshal(payload, &c)
	c["email"] = "mallory@example.com"
	b, _ := json.Marshal(c)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func wantProblem(t *testing.T, a *handlertest.API, who string, status int, detailHas string) {
	t.Helper()
	resp, m := a.Call(t, who, "GET", "/api/me", nil, nil)
	if resp.StatusCode != status || !strings.Contains(m["detail"].(string), detailHas) {
		t.Fatalf("want %d with %q, got %d %v", status, detailHas, resp.StatusCode, m)
	}
}

// TestDexTokens: the API and a real OpenID Connect provider (Dex, HTTPS on
// loopback, throw-away CA), the provider's own access tokens.
func TestDexTokens(t *testing.T) {
	t.Parallel()
	dex, a := withDex(t, dextest.Options{Users: []dextest.User{
		{Email: "grace@example.com", Name: "Grace", EmailVerified: true},
		{Email: "erin@example.com", Name: "Erin", EmailVerified: false},
	}})
	tok := dex.Token(t, dexAPI, "grace@example.com", "openid email profile")
	if me := a.Must(t, bearer(tok), "GET", "/api/me", nil, 200); me["email"] != "grace@example.com" || me["id"] != platform.UserID("grace@example.com") {
		t.Fatalf("accepted: %v", me)
	}
	t.Run("another audience", func(t *testing.T) {
		wantProblem(t, a, bearer(dex.Token(t, dexOther, "grace@example.com", "openid email")), 401, "another audience (other-app)")
	})
	t.Run("tampered", func(t *testing.T) {
		wantProblem(t, a, bearer(tamper(t, tok)), 401, "signature does not verify")
	})
	t.Run("without the email scope", func(t *testing.T) {
		wantProblem(t, a, bearer(dex.Token(t, dexAPI, "grace@example.com", "openid profile")), 401, `"email" scope`)
	})
	t.Run("an address Dex has not verified", func(t *testing.T) {
		wantProblem(t, a, bearer(dex.Token(t, dexAPI, "erin@example.com", "openid email")), 401, "email_verified is not true")
	})
	t.Run("expired", func(t *testing.T) {
		a.Clock.Store(int64(2 * time.Hour))
		defer a.Clock.Store(0)
		wantProblem(t, a, bearer(tok), 401, "expired")
	})
}

// TestDexKeyRotation: Dex rotates its signing key and keeps publishing the
// old one (tokens signed with either are accepted; the new key id makes the
// API fetch the keys again); then Dex comes back with a new key and without
// the old one (restarted, memory storage): its new tokens are accepted, the
// old ones refused. Dex looks at rotation every 30 s, so this test waits
// for it, beside the others.
func TestDexKeyRotation(t *testing.T) {
	t.Parallel()
	dex, a := withDex(t, dextest.Options{KeysRotation: time.Second, Users: []dextest.User{{Email: "heidi@example.com", EmailVerified: true}}},
		identity.WithKeyRefetch(0))
	first := dex.Token(t, dexAPI, "heidi@example.com", "openid email")
	a.Must(t, bearer(first), "GET", "/api/me", nil, 200)
	deadline := time.Now().Add(90 * time.Second)
	for len(dex.Keys(t)) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("Dex did not rotate its key within 90 s: %v", dex.Keys(t))
		}
		time.Sleep(250 * time.Millisecond) // polling Dex, which rotates on its own 30 s tick
	}
	second := dex.Token(t, dexAPI, "heidi@example.com", "openid email")
	if kidOf(t, second) == kidOf(t, first) {
		t.Fatal("the new token is signed with the old key")
	}
	a.Must(t, bearer(second), "GET", "/api/me", nil, 200)
	a.Must(t, bearer(first), "GET", "/api/me", nil, 200) // the old key is still published

	dex.Restart()
	third := dex.Token(t, dexAPI, "heidi@example.com", "openid email")
	a.Must(t, bearer(third), "GET", "/api/me", nil, 200)
	for _, old := range []string{first, second} {
		wantProblem(t, a, bearer(old), 401, "a key the issuer does not publish")
	}
}

func kidOf(t *testing.T, tok string) string {
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(h, &hdr)
	return hdr.Kid
}

// TestOneIdentityPerAddress: DESIGN §5, "a user is bound to one (issuer,
// subject); an address is trusted only when the issuer verified it", with
// Dex and the dev issuer both trusted by one API.
func TestOneIdentityPerAddress(t *testing.T) {
	t.Parallel()
	const alice, bob, dora, frank, erin = "alice@example.com", "bob@example.com", "dora@example.com", "frank@example.com", "erin@example.com"
	dex, a := withDex(t, dextest.Options{Users: []dextest.User{
		{Email: alice, EmailVerified: true}, {Email: dora, EmailVerified: true}, {Email: frank, EmailVerified: true}, {Email: erin},
	}})
	viaDex := func(email string) string { return bearer(dex.Token(t, dexAPI, email, "openid email profile")) }
	a.Must(t, alice, "POST", "/api/subscriptions", map[string]any{"id": "acme"}, 201) // alice: the dev issuer
	a.Invite(t, alice, "acme", bob)

	t.Run("two issuers, same address: the second is refused", func(t *testing.T) {
		wantProblem(t, a, viaDex(alice), 403, "bound to another sign-in identity")
		a.Must(t, alice, "GET", "/api/me", nil, 200) // the bound one still works
	})
	t.Run("an invitation accepted through one issuer binds the address to it", func(t *testing.T) {
		inv := a.Must(t, alice, "POST", "/api/subscriptions/acme/users", map[string]any{"email": dora}, 201)
		a.Must(t, viaDex(dora), "POST", "/api/invitations/"+inv["token"].(string)+"/accept", nil, 200)
		a.Must(t, viaDex(dora), "GET", "/api/subscriptions/acme", nil, 200)
		wantProblem(t, a, dora, 403, "bound to another sign-in identity") // the dev issuer, now
	})
	t.Run("an invitation cannot be accepted through a second issuer", func(t *testing.T) {
		inv := a.Must(t, alice, "POST", "/api/subscriptions/acme/users", map[string]any{"email": frank}, 201)
		a.Must(t, frank, "POST", "/api/invitations/"+inv["token"].(string)+"/accept", nil, 200) // dev issuer
		resp, m := a.Call(t, viaDex(frank), "POST", "/api/invitations/"+inv["token"].(string)+"/accept", nil, nil)
		if resp.StatusCode != 403 {
			t.Fatalf("accepting through Dex after the dev issuer: %d %v", resp.StatusCode, m)
		}
	})
	t.Run("an unverified address is refused", func(t *testing.T) {
		wantProblem(t, a, viaDex(erin), 401, "email_verified is not true")
		raw, err := a.Issuer.IssueRaw(map[string]any{"email": erin, "email_verified": false}, identity.DevSubject(erin), handlertest.Audience, a.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, a, bearer(raw), 401, "email_verified is not true")
	})
	t.Run("an owner links another identity, audited", func(t *testing.T) {
		resp, m := a.Call(t, dora, "GET", "/api/me", nil, nil) // dora through the dev issuer: refused, told what to give the owner
		detail, _ := m["detail"].(string)
		if resp.StatusCode != 403 || !strings.Contains(detail, `subject "`+identity.DevSubject(dora)+`"`) || !strings.Contains(detail, a.Issuer.URL) {
			t.Fatalf("%d %v", resp.StatusCode, m)
		}
		link := map[string]any{"issuer": a.Issuer.URL, "subject": identity.DevSubject(dora)}
		path := "/api/subscriptions/acme/users/" + platform.UserID(dora) + "/identities"
		a.Must(t, bob, "POST", path, link, 403) // not a Subscription Owner
		a.Must(t, alice, "POST", path, map[string]any{"issuer": a.Issuer.URL}, 400)
		a.Must(t, alice, "POST", path, link, 201)
		a.Must(t, alice, "POST", path, link, 409)
		a.Must(t, dora, "GET", "/api/subscriptions/acme", nil, 200)
		a.Must(t, viaDex(dora), "GET", "/api/subscriptions/acme", nil, 200) // the first identity still works
		ids := a.Must(t, alice, "GET", path, nil, 200)["items"].([]any)
		if len(ids) != 2 || ids[0].(map[string]any)["via"] != "invitation" || ids[1].(map[string]any)["via"] != "link" || ids[1].(map[string]any)["linkedBy"] != platform.UserID(alice) {
			t.Fatalf("identities: %v", ids)
		}
		log := a.Must(t, alice, "GET", "/api/subscriptions/acme/audit", nil, 200)["items"].([]any)
		found := false
		for _, e := range log {
			if e.(map[string]any)["action"] == "user.link-identity" {
				found = true
			}
		}
		if !found {
			t.Fatalf("no user.link-identity in the audit log: %v", log)
		}
	})
	t.Run("an owner cannot link a user who also belongs to a subscription they do not own", func(t *testing.T) {
		a.Must(t, viaDex(frank), "GET", "/api/me", nil, 403) // frank is bound to the dev issuer
		a.Must(t, frank, "POST", "/api/subscriptions", map[string]any{"id": "frankco"}, 201)
		a.Must(t, alice, "POST", "/api/subscriptions/acme/users/"+platform.UserID(frank)+"/identities",
			map[string]any{"issuer": dex.URL, "subject": "whatever"}, 403)
	})
}

// TestProviderName: the console's sign-in button says "Microsoft" only for
// Entra ID.
func TestProviderName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ authority, configured, want string }{
		{"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", "", "Microsoft"},
		{"https://LOGIN.microsoftonline.com/t/v2.0", "", "Microsoft"},
		{"https://127.0.0.1:5556/dex", "", "127.0.0.1:5556"},
		{"https://contoso.eu.auth0.com/", "", "contoso.eu.auth0.com"},
		{"https://contoso.okta.com/oauth2/default", "Okta", "Okta"},
	} {
		if got := handlers.ProviderName(c.authority, c.configured); got != c.want {
			t.Errorf("ProviderName(%q, %q) = %q, want %q", c.authority, c.configured, got, c.want)
		}
	}
}
