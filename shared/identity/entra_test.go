package identity_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/identity/idptest"
)

const (
	tenant   = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	clientID = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
	appIDURI = "api://studio-collab-test"
	v2Issuer = "https://login.microsoftonline.com/" + tenant + "/v2.0"
)

// entra stands in for login.microsoftonline.com on loopback, over TLS with
// that name (a throw-away CA): the v2.0 and v1.0 discovery documents and the
// key sets, shaped as in testdata/entra/README.md, and an RSA signing key.
type entra struct {
	key    *rsa.PrivateKey
	client *http.Client
}

func newEntra(t *testing.T) *entra {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ca := idptest.NewCA(t)
	e := &entra{key: key}
	jwks := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "entra-test-kid", Algorithm: "RS256", Use: "sig"}}}
	base := "https://login.microsoftonline.com/" + tenant
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/" + tenant + "/v2.0/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": v2Issuer, "jwks_uri": base + "/discovery/v2.0/keys",
				"authorization_endpoint": base + "/oauth2/v2.0/authorize", "token_endpoint": base + "/oauth2/v2.0/token",
				"id_token_signing_alg_values_supported": []string{"RS256"}})
		case "/" + tenant + "/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]any{"issuer": "https://sts.windows.net/" + tenant + "/", "jwks_uri": base + "/discovery/keys",
				"authorization_endpoint": base + "/oauth2/authorize", "token_endpoint": base + "/oauth2/token",
				"id_token_signing_alg_values_supported": []string{"RS256"}})
		case "/" + tenant + "/discovery/v2.0/keys", "/" + tenant + "/discovery/keys":
			_ = json.NewEncoder(w).Encode(jwks)
		default:
			http.NotFound(w, r)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, "login.microsoftonline.com", "sts.windows.net").TLS}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	e.client = ca.Client(srv.Listener.Addr().String())
	return e
}

// fixture reads a claim set from testdata/entra, changes it, and signs it
// valid from now for an hour.
func (e *entra) fixture(t *testing.T, name string, change func(map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile("testdata/entra/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c["iat"], c["nbf"], c["exp"] = now.Unix(), now.Unix(), now.Add(time.Hour).Unix()
	if change != nil {
		change(c)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: e.key, KeyID: "entra-test-kid"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := jws.CompactSerialize()
	return "Bearer " + tok
}

// TestEntraAccessTokens: Entra's v1 and v2 access tokens, as Microsoft
// documents them, are accepted with the settings docs/platform.md gives
// (issuer https://login.microsoftonline.com/<tid>/v2.0, audience = the API's
// client id, plus its App ID URI and COLLAB_OIDC_ACCEPT_V1 for v1 tokens)
// and refused otherwise.
func TestEntraAccessTokens(t *testing.T) {
	e := newEntra(t)
	documented := identity.IssuerConfig{URL: v2Issuer, Audiences: []string{clientID}}
	withV1 := identity.IssuerConfig{URL: v2Issuer, Audiences: []string{clientID, appIDURI}, AcceptV1: true}
	asBefore := identity.IssuerConfig{URL: v2Issuer, Audiences: []string{"api://studio-collab-test"}} // what infra/ used to set
	dora := func(t *testing.T, p identity.Principal) {
		if p.Service || p.Email != "dora@contoso.com" || p.Subject != "690222be-ff1a-4d56-abd1-7e4f7d38e474" || p.Issuer != v2Issuer || p.Name != "Dora Ortiz" {
			t.Fatalf("%+v", p)
		}
	}
	cases := []struct {
		name      string
		cfg       identity.IssuerConfig
		fixture   string
		change    func(map[string]any)
		detailHas string // empty: accepted
		check     func(*testing.T, identity.Principal)
	}{
		{name: "v2 user token, documented settings", cfg: documented, fixture: "v2-user.json", check: dora},
		{name: "v1 user token with v1 accepted binds to the same identity as v2", cfg: withV1, fixture: "v1-user.json", check: dora},
		{name: "v2 user token with v1 accepted too", cfg: withV1, fixture: "v2-user.json", check: dora},
		{name: "v1 token when only v2 is configured", cfg: documented, fixture: "v1-user.json", detailHas: "issuer is not trusted"},
		{name: "v2 token against an App ID URI audience (the old setting)", cfg: asBefore, fixture: "v2-user.json", detailHas: "another audience (" + clientID + ")"},
		{name: "v1 token for the App ID URI when only the client id is accepted", cfg: identity.IssuerConfig{URL: v2Issuer, Audiences: []string{clientID}, AcceptV1: true},
			fixture: "v1-user.json", detailHas: "another audience"},
		{name: "tid is not the trusted tenant", cfg: documented, fixture: "v2-user.json", change: func(c map[string]any) { c["tid"] = "0d3c2f5e-0000-4000-8000-000000000000" }, detailHas: "not the trusted tenant"},
		{name: "another tenant's issuer", cfg: documented, fixture: "v2-user.json",
			change: func(c map[string]any) {
				c["iss"] = "https://login.microsoftonline.com/0d3c2f5e-0000-4000-8000-000000000000/v2.0"
			}, detailHas: "issuer is not trusted"},
		{name: "no email claim: preferred_username is not used", cfg: documented, fixture: "v2-user.json", change: func(c map[string]any) { delete(c, "email") },
			detailHas: `optional claim "email"`},
		{name: "v1 without email: upn is not used", cfg: withV1, fixture: "v1-user.json", change: func(c map[string]any) { delete(c, "email") },
			detailHas: `optional claim "email"`},
		{name: "e-mail domain owner not verified (xms_edov false)", cfg: documented, fixture: "v2-user.json", change: func(c map[string]any) { c["xms_edov"] = false },
			detailHas: "xms_edov is false"},
		{name: "e-mail domain owner verified (xms_edov true)", cfg: documented, fixture: "v2-user.json", change: func(c map[string]any) { c["xms_edov"] = true }, check: dora},
		{name: "app-only token: a service principal with its roles", cfg: documented, fixture: "v2-app.json", check: func(t *testing.T, p identity.Principal) {
			if !p.Service || !p.HasRole("WorkPortal.Invoke") || p.Email != "" || p.Subject != "b5a2f5c9-3d8e-4f1a-9b6c-7e0d2a4c6f81" {
				t.Fatalf("%+v", p)
			}
		}},
		{name: "app-only without idtyp is recognised by the missing scp", cfg: documented, fixture: "v2-app.json", change: func(c map[string]any) { delete(c, "idtyp") },
			check: func(t *testing.T, p identity.Principal) {
				if !p.Service {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "app-only without roles", cfg: documented, fixture: "v2-app.json", change: func(c map[string]any) { delete(c, "roles") }, detailHas: "application roles"},
		{name: "expired", cfg: documented, fixture: "v2-user.json", change: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }, detailHas: "expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			auth := identity.NewAuthenticator([]identity.IssuerConfig{c.cfg}, identity.WithHTTPClient(e.client), identity.WithDiscoveryRetry(0))
			p, err := auth.Verify(context.Background(), e.fixture(t, c.fixture, c.change))
			if c.detailHas != "" {
				if !fault.Is(err, fault.Unauthenticated) || !strings.Contains(fault.DetailOf(err), c.detailHas) {
					t.Fatalf("want 401 with %q, got %v", c.detailHas, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, p)
		})
	}
	// The start-up check reads both documents and finds them consistent.
	auth := identity.NewAuthenticator([]identity.IssuerConfig{withV1}, identity.WithHTTPClient(e.client))
	if bad, err := auth.CheckIssuers(context.Background()); err != nil || len(bad) != 0 {
		t.Fatalf("start-up check: %v %v", bad, err)
	}
}
