package identity

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/httpapi"
)

// testIssuer serves a DevIssuer's discovery document and JWKS on a real
// loopback server whose URL is the issuer.
type testIssuer struct {
	*DevIssuer
	srv         *httptest.Server
	down        atomic.Bool  // discovery and keys answer 503
	keysDown    atomic.Bool  // only the keys answer 503
	keyFetches  atomic.Int32 // requests for the key set
	issuerInDoc string       // the issuer the discovery document names, when not URL
}

func newTestIssuer(t *testing.T, audience string) *testIssuer {
	t.Helper()
	ti := &testIssuer{}
	ti.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ti.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			doc := ti.Discovery()
			if ti.issuerInDoc != "" {
				doc["issuer"] = ti.issuerInDoc
			}
			_ = json.NewEncoder(w).Encode(doc)
		case "/jwks":
			ti.keyFetches.Add(1)
			if ti.keysDown.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
				return
			}
			_ = json.NewEncoder(w).Encode(ti.JWKS())
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ti.srv.Close)
	d, err := NewDevIssuer(ti.srv.URL, audience, filepath.Join(t.TempDir(), "key.pem"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ti.DevIssuer = d
	return ti
}

func TestVerifyThroughDiscovery(t *testing.T) {
	good := newTestIssuer(t, "api://collab")
	forger := newTestIssuer(t, "api://collab")
	forger.URL = good.URL // same issuer URL, another key...
	forger.kid = good.kid // ...and even the same key id
	untrusted := newTestIssuer(t, "api://collab")
	other := newTestIssuer(t, "api://collab")
	auth := NewAuthenticator([]IssuerConfig{good.Config(), {URL: other.URL, Audiences: []string{"api://collab"}}}, WithDiscoveryRetry(0))

	mustSign := func(tok string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	cases := []struct {
		name      string
		header    string
		wantKind  fault.Kind
		detailHas string
		check     func(t *testing.T, p Principal)
	}{
		{name: "good token", header: "Bearer " + mustSign(good.Issue("Alice@Example.com", "Alice")), check: func(t *testing.T, p Principal) {
			if p.ID != "dev-"+DevSubject("alice@example.com") || p.Email != "alice@example.com" || p.Name != "Alice" || p.Service {
				t.Fatalf("%+v", p)
			}
		}},
		{name: "scheme is case-insensitive", header: "bearer " + mustSign(good.Issue("bob@example.com", ""))},
		{name: "no header", header: "", wantKind: fault.Unauthenticated, detailHas: "no Authorization header"},
		{name: "basic scheme", header: "Basic YWxpY2U6cHc=", wantKind: fault.Unauthenticated, detailHas: "Bearer <token>"},
		{name: "garbage", header: "Bearer not.a.jwt", wantKind: fault.Unauthenticated, detailHas: "not a JWT"},
		{name: "signed by another key", header: "Bearer " + mustSign(forger.Issue("mallory@example.com", "")), wantKind: fault.Unauthenticated, detailHas: "signature"},
		{name: "another audience", header: "Bearer " + mustSign(good.IssueRaw(map[string]any{"email": "a@example.com", "email_verified": true}, "s", "api://other", now, time.Hour)), wantKind: fault.Unauthenticated, detailHas: "another audience"},
		{name: "expired", header: "Bearer " + mustSign(good.IssueRaw(map[string]any{"email": "a@example.com"}, "s", "api://collab", now.Add(-2*time.Hour), time.Hour)), wantKind: fault.Unauthenticated, detailHas: "expired"},
		{name: "not yet valid", header: "Bearer " + mustSign(good.IssueRaw(map[string]any{"email": "a@example.com"}, "s", "api://collab", now.Add(30*time.Minute), time.Hour)), wantKind: fault.Unauthenticated, detailHas: "not valid yet"},
		{name: "untrusted issuer", header: "Bearer " + mustSign(untrusted.Issue("eve@example.com", "")), wantKind: fault.Unauthenticated, detailHas: "not trusted"},
		{name: "app-only token (idtyp app, roles)", header: "Bearer " + mustSign(other.IssueRaw(map[string]any{"roles": []string{"WorkPortal.Invoke"}, "idtyp": "app"}, "3f2c-app", "api://collab", now, time.Hour)),
			check: func(t *testing.T, p Principal) {
				if !p.Service || p.ID != "3f2c-app" || !p.HasRole("workportal.invoke") || p.Email != "" {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "preferred_username is never an address", header: "Bearer " + mustSign(other.IssueRaw(map[string]any{"preferred_username": "carol@contoso.com", "name": "Carol"}, "c", "api://collab", now, time.Hour)),
			wantKind: fault.Unauthenticated, detailHas: `requesting the "email" scope (the email claim is missing)`},
		{name: "an unverified address is refused", header: "Bearer " + mustSign(other.IssueRaw(map[string]any{"email": "carol@contoso.com", "email_verified": false}, "c", "api://collab", now, time.Hour)),
			wantKind: fault.Unauthenticated, detailHas: "email_verified is not true"},
		{name: "an address without email_verified is refused", header: "Bearer " + mustSign(other.IssueRaw(map[string]any{"email": "carol@contoso.com"}, "c", "api://collab", now, time.Hour)),
			wantKind: fault.Unauthenticated, detailHas: "email_verified is not true"},
		{name: "a verified address (as a string, as some providers send it)", header: "Bearer " + mustSign(other.IssueRaw(map[string]any{"email": "Carol@Contoso.com", "email_verified": "true"}, "c", "api://collab", now, time.Hour)),
			check: func(t *testing.T, p Principal) {
				if p.Email != "carol@contoso.com" || p.Subject != "c" || p.Issuer != other.URL {
					t.Fatalf("%+v", p)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := auth.Verify(context.Background(), c.header)
			if c.wantKind != fault.Other {
				if fault.KindOf(err) != c.wantKind || !strings.Contains(fault.DetailOf(err), c.detailHas) {
					t.Fatalf("err = %v (detail %q), want %v with %q", err, fault.DetailOf(err), c.wantKind, c.detailHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.check != nil {
				c.check(t, p)
			}
		})
	}
}

func TestDiscoveryDownIsUnavailableThenRecovers(t *testing.T) {
	iss := newTestIssuer(t, "aud")
	iss.down.Store(true)
	auth := NewAuthenticator([]IssuerConfig{iss.Config()}, WithDiscoveryRetry(0))
	tok, _ := iss.Issue("a@example.com", "")
	if _, err := auth.Verify(context.Background(), "Bearer "+tok); !fault.Is(err, fault.Unavailable) {
		t.Fatalf("issuer down: want Unavailable, got %v", err)
	}
	iss.down.Store(false)
	if _, err := auth.Verify(context.Background(), "Bearer "+tok); err != nil {
		t.Fatalf("issuer back: %v", err)
	}
}

type denyGate struct{ id string }

func (g denyGate) Admit(ctx context.Context, p Principal) error {
	if p.ID == g.id {
		return fault.E("test.gate", fault.Unauthenticated, "this user is disabled")
	}
	return nil
}

func TestThroughTheRouter(t *testing.T) {
	iss := newTestIssuer(t, "aud")
	auth := NewAuthenticator([]IssuerConfig{iss.Config()}, WithKeyRefetch(0))
	auth.SetGate(denyGate{id: "dev-" + DevSubject("disabled@example.com")})
	rt := httpapi.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)), auth, 0)
	rt.Handle("GET /api/me", func(w http.ResponseWriter, r *http.Request) error {
		p, _ := FromContext(r.Context())
		httpapi.JSON(w, 200, map[string]string{"email": p.Email})
		return nil
	})
	srv := httptest.NewServer(rt)
	defer srv.Close()
	call := func(header string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest("GET", srv.URL+"/api/me", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	ok, _ := iss.Issue("dana@example.com", "")
	if resp, m := call("Bearer " + ok); resp.StatusCode != 200 || m["email"] != "dana@example.com" {
		t.Fatalf("%d %v", resp.StatusCode, m)
	}
	// The issuer's keys unreachable: 503 with Retry-After, not a 401 that
	// would sign the user out.
	iss.keysDown.Store(true)
	fresh := *iss.DevIssuer
	fresh.kid = "rotated"
	rotated, _ := fresh.Issue("dana@example.com", "")
	if resp, m := call("Bearer " + rotated); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || m["type"] != httpapi.ProblemTypeBase+"unavailable" {
		t.Fatalf("keys down: %d %q %v", resp.StatusCode, resp.Header.Get("Retry-After"), m)
	}
	iss.keysDown.Store(false)
	disabled, _ := iss.Issue("disabled@example.com", "")
	for _, h := range []string{"", "Bearer junk", "Bearer " + disabled} {
		resp, m := call(h)
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Bearer" || m["type"] != httpapi.ProblemTypeBase+"unauthenticated" {
			t.Fatalf("%q: %d %q %v", h, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), m)
		}
	}
}

func TestDevIssuerKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "key.pem")
	a, err := NewDevIssuer("http://x", "aud", path, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", st.Mode().Perm(), err)
	}
	b, err := NewDevIssuer("http://x", "aud", path, false, nil)
	if err != nil || b.KeyID() != a.KeyID() {
		t.Fatalf("key not reused across restarts: %v", err)
	}
	if _, err := NewDevIssuer("http://x", "aud", path, true, nil); !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), "Azure") {
		t.Fatalf("dev issuer in Azure: %v", err)
	}
	for _, bad := range []string{"", "alice", "Alice <alice@example.com>", "a@b@c"} {
		if _, err := a.Issue(bad, ""); !fault.Is(err, fault.Invalid) {
			t.Errorf("Issue(%q): %v", bad, err)
		}
	}
}
