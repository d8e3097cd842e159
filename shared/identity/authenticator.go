package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/studio-collab/collab/shared/fault"
)

// IssuerConfig is one trusted token issuer.
type IssuerConfig struct {
	URL      string // the "iss" value and the discovery base
	Audience string // the "aud" tokens must carry (this API's app id URI or client id)
	// IDPrefix namespaces user ids from this issuer ("dev-" for the dev
	// issuer); Entra object ids need none.
	IDPrefix string
}

// Gate refuses principals the platform knows to be disabled. It runs after
// a token verified, on every request, so disabling takes effect at once.
type Gate interface {
	Admit(ctx context.Context, p Principal) error
}

// Authenticator verifies bearer tokens. Safe for concurrent use.
type Authenticator struct {
	issuers map[string]*issuer
	gate    Gate
	client  *http.Client
	now     func() time.Time
	retry   time.Duration // minimum pause between discovery attempts
}

type issuer struct {
	cfg IssuerConfig

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	lastTry  time.Time
}

// Option changes an Authenticator.
type Option func(*Authenticator)

// WithClock makes expiry checks use now (tests).
func WithClock(now func() time.Time) Option { return func(a *Authenticator) { a.now = now } }

// WithDiscoveryRetry sets the minimum pause between two discovery attempts
// of a failing issuer (default 1 s), so a down issuer is not hammered.
func WithDiscoveryRetry(d time.Duration) Option { return func(a *Authenticator) { a.retry = d } }

// WithHTTPClient sets the client for discovery and key fetches.
func WithHTTPClient(c *http.Client) Option { return func(a *Authenticator) { a.client = c } }

// NewAuthenticator trusts the given issuers. It makes no network call.
func NewAuthenticator(issuers []IssuerConfig, opts ...Option) *Authenticator {
	a := &Authenticator{issuers: map[string]*issuer{}, client: &http.Client{Timeout: 10 * time.Second}, now: time.Now, retry: time.Second}
	for _, c := range issuers {
		a.issuers[strings.TrimSuffix(c.URL, "/")] = &issuer{cfg: c}
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// SetGate installs the disabled-user check (the platform provides it).
func (a *Authenticator) SetGate(g Gate) { a.gate = g }

func unauthenticated(detail string, cause error) error {
	return fault.E("identity.Authenticate", fault.Unauthenticated, detail, cause)
}

// Authenticate implements httpapi.Authenticator.
func (a *Authenticator) Authenticate(r *http.Request) (context.Context, error) {
	p, err := a.Verify(r.Context(), r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	if a.gate != nil {
		if err := a.gate.Admit(r.Context(), p); err != nil {
			return nil, err
		}
	}
	return WithPrincipal(r.Context(), p), nil
}

// Verify checks an Authorization header value and returns the principal.
func (a *Authenticator) Verify(ctx context.Context, header string) (Principal, error) {
	if header == "" {
		return Principal{}, unauthenticated("no Authorization header: send a bearer token", nil)
	}
	scheme, raw, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return Principal{}, unauthenticated("the Authorization header must be \"Bearer <token>\"", nil)
	}
	raw = strings.TrimSpace(raw)
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return Principal{}, unauthenticated("the bearer token is not a JWT", err)
	}
	is, ok := a.issuers[strings.TrimSuffix(iss, "/")]
	if !ok {
		return Principal{}, unauthenticated("the token's issuer is not trusted", nil)
	}
	v, err := is.verifierFor(a)
	if err != nil {
		return Principal{}, err
	}
	tok, err := v.Verify(oidc.ClientContext(ctx, a.client), raw)
	if err != nil {
		return Principal{}, describeVerifyError(err)
	}
	var c claims
	if err := tok.Claims(&c); err != nil {
		return Principal{}, unauthenticated("the token's claims do not decode", err)
	}
	return c.principal(is.cfg), nil
}

// verifierFor returns the issuer's verifier, doing discovery on first use
// and retrying it (at most once a second) while it fails.
func (is *issuer) verifierFor(a *Authenticator) (*oidc.IDTokenVerifier, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.verifier != nil {
		return is.verifier, nil
	}
	if time.Since(is.lastTry) < a.retry {
		return nil, fault.E("identity.discover", fault.Unavailable, "the token issuer's discovery document could not be fetched; retry shortly")
	}
	is.lastTry = time.Now()
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), a.client), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, is.cfg.URL)
	if err != nil {
		return nil, fault.E("identity.discover", fault.Unavailable, "the token issuer's discovery document could not be fetched; retry shortly", err)
	}
	// Keys are fetched later with a context of their own, not this one.
	is.verifier = p.VerifierContext(oidc.ClientContext(context.Background(), a.client), &oidc.Config{
		ClientID: is.cfg.Audience,
		Now:      a.now,
	})
	return is.verifier, nil
}

func describeVerifyError(err error) error {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return unauthenticated(fmt.Sprintf("the token expired at %s", expired.Expiry.UTC().Format(time.RFC3339)), err)
	case strings.Contains(msg, "expected audience"):
		return unauthenticated("the token is for another audience", err)
	case strings.Contains(msg, "before the nbf"):
		return unauthenticated("the token is not valid yet", err)
	case strings.Contains(msg, "signature"):
		return unauthenticated("the token's signature does not verify", err)
	case strings.Contains(msg, "fetching keys"):
		return fault.E("identity.Verify", fault.Unavailable, "the token issuer's keys could not be fetched; retry shortly", err)
	default:
		return unauthenticated("the token is not valid", err)
	}
}

// unverifiedIssuer reads "iss" from the payload without verifying anything;
// it only chooses which verifier to use, which then verifies everything.
func unverifiedIssuer(raw string) (string, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", errors.New("not three dot-separated parts")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", err
	}
	if c.Iss == "" {
		return "", errors.New("no iss claim")
	}
	return c.Iss, nil
}

type claims struct {
	Sub               string   `json:"sub"`
	OID               string   `json:"oid"`
	Email             string   `json:"email"`
	PreferredUsername string   `json:"preferred_username"`
	UPN               string   `json:"upn"`
	Name              string   `json:"name"`
	Roles             []string `json:"roles"`
	IDType            string   `json:"idtyp"`
	Scp               string   `json:"scp"`
}

func (c claims) principal(cfg IssuerConfig) Principal {
	id := c.OID
	if id == "" {
		id = c.Sub
	}
	p := Principal{ID: cfg.IDPrefix + id, Name: c.Name, Issuer: cfg.URL}
	email := c.Email
	if email == "" && strings.Contains(c.PreferredUsername, "@") {
		email = c.PreferredUsername
	}
	if email == "" && strings.Contains(c.UPN, "@") {
		email = c.UPN
	}
	p.Email = strings.ToLower(email)
	// Entra marks app-only tokens with idtyp=app; without it, a token with
	// roles but no delegated scope and no user name is app-only too.
	if c.IDType == "app" || (c.Scp == "" && len(c.Roles) > 0 && email == "" && c.Name == "") {
		p.Service, p.Roles, p.Email = true, c.Roles, ""
	}
	return p
}
