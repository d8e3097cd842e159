package identity

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/studio-collab/collab/shared/fault"
)

// IssuerConfig is one trusted token issuer.
type IssuerConfig struct {
	// URL is the issuer ("iss") as configured; it is compared with the
	// issuer the discovery document gives, trailing slash aside, and the
	// document's form is then the one tokens must carry exactly.
	URL string
	// Audiences are the "aud" values tokens may carry: for Entra v2 access
	// tokens the API's application (client) id, for v1 ones its App ID URI.
	Audiences []string
	// IDPrefix namespaces user ids from this issuer ("dev-" for the dev
	// issuer); Entra object ids need none.
	IDPrefix string
	// AcceptV1 (Entra only) also trusts the tenant's v1 access tokens, whose
	// "iss" is https://sts.windows.net/<tid>/; they bind to the same
	// identity as the tenant's v2 tokens (the same oid).
	AcceptV1 bool
	// Local marks the dev issuer, served by this very process: it is not
	// checked at start-up (CheckIssuers), only on first use.
	Local bool
}

// Gate refuses principals the platform knows to be disabled. It runs after
// a token verified, on every request, so disabling takes effect at once.
type Gate interface {
	Admit(ctx context.Context, p Principal) error
}

// Authenticator verifies bearer tokens. Safe for concurrent use.
type Authenticator struct {
	issuers map[string]*issuer // by "iss", trailing slash trimmed
	order   []*issuer
	gate    Gate
	client  *http.Client
	now     func() time.Time
	retry   time.Duration // minimum pause between discovery attempts
	refetch time.Duration // minimum pause between two fetches of one key set
}

type issuer struct {
	cfg          IssuerConfig
	iss          string // as configured, trailing slash trimmed
	discoveryURL string
	tenant       string // Entra tenant id, "" for other issuers
	bindAs       string // the issuer bindings name ("" = the discovered one)

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	issuer   string // as the discovery document gives it
	keys     *keySet
	lastTry  time.Time
}

// Option changes an Authenticator.
type Option func(*Authenticator)

// WithClock makes expiry checks and key refetch pacing use now (tests).
func WithClock(now func() time.Time) Option { return func(a *Authenticator) { a.now = now } }

// WithDiscoveryRetry sets the minimum pause between two discovery attempts
// of a failing issuer (default 1 s), so a down issuer is not hammered.
func WithDiscoveryRetry(d time.Duration) Option { return func(a *Authenticator) { a.retry = d } }

// WithKeyRefetch sets the least time between two fetches of an issuer's
// key set (default DefaultKeyRefetch).
func WithKeyRefetch(d time.Duration) Option { return func(a *Authenticator) { a.refetch = d } }

// WithHTTPClient sets the client for discovery and key fetches.
func WithHTTPClient(c *http.Client) Option { return func(a *Authenticator) { a.client = c } }

const entraHost = "login.microsoftonline.com"

// entraTenant is the tenant id of an Entra issuer URL
// (https://login.microsoftonline.com/<tid>/v2.0 or
// https://sts.windows.net/<tid>/), and whether it is the v1 form.
func entraTenant(raw string) (tid string, v1, ok bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	switch {
	case u.Host == entraHost && len(parts) == 2 && parts[1] == "v2.0" && parts[0] != "":
		return parts[0], false, true
	case u.Host == "sts.windows.net" && len(parts) == 1 && parts[0] != "":
		return parts[0], true, true
	}
	return "", false, false
}

// NewAuthenticator trusts the given issuers. It makes no network call.
func NewAuthenticator(issuers []IssuerConfig, opts ...Option) *Authenticator {
	a := &Authenticator{issuers: map[string]*issuer{}, client: &http.Client{Timeout: 10 * time.Second}, now: time.Now,
		retry: time.Second, refetch: DefaultKeyRefetch}
	add := func(is *issuer) {
		a.issuers[is.iss] = is
		a.order = append(a.order, is)
	}
	for _, c := range issuers {
		is := &issuer{cfg: c, iss: strings.TrimSuffix(c.URL, "/")}
		is.discoveryURL = is.iss + "/.well-known/openid-configuration"
		if tid, v1, ok := entraTenant(c.URL); ok {
			is.tenant = tid
			if v1 {
				// Entra serves the v1 document under login.microsoftonline.com.
				is.discoveryURL = "https://" + entraHost + "/" + tid + "/.well-known/openid-configuration"
			} else if c.AcceptV1 {
				add(&issuer{cfg: c, iss: "https://sts.windows.net/" + tid, tenant: tid, bindAs: is.iss,
					discoveryURL: "https://" + entraHost + "/" + tid + "/.well-known/openid-configuration"})
			}
		}
		add(is)
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// SetGate installs the disabled-user check (the platform provides it).
func (a *Authenticator) SetGate(g Gate) { a.gate = g }

// Refusal is why a token was refused, for the security events
// (shared/secevent): a stable reason and the claims the token made about
// itself, unverified (a label for the operator, never an identity). It
// holds no part of the token itself.
type Refusal struct {
	Reason  string // no-token, malformed, foreign-issuer, foreign-tenant, foreign-audience, expired, not-yet-valid, bad-signature, unusable-claims, invalid, disabled
	Issuer  string // claimed "iss"
	Subject string // claimed "oid" or "sub"
	Email   string // claimed "email"
	Err     error
}

// Error is the reason and the cause.
func (r *Refusal) Error() string {
	if r.Err == nil {
		return "refused: " + r.Reason
	}
	return "refused: " + r.Reason + ": " + r.Err.Error()
}

// Unwrap gives the cause.
func (r *Refusal) Unwrap() error { return r.Err }

// RefusalOf returns the refusal in err's chain, if any.
func RefusalOf(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}

func refuse(reason, detail string, cause error) error {
	return fault.E("identity.Authenticate", fault.Unauthenticated, detail, &Refusal{Reason: reason, Err: cause})
}

// Authenticate implements httpapi.Authenticator.
func (a *Authenticator) Authenticate(r *http.Request) (context.Context, error) {
	header := r.Header.Get("Authorization")
	p, err := a.Verify(r.Context(), header)
	if err != nil {
		if ref, ok := RefusalOf(err); ok {
			ref.Issuer, ref.Subject, ref.Email = claimed(header)
		}
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
		return Principal{}, refuse("no-token", "no Authorization header: send a bearer token", nil)
	}
	scheme, raw, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return Principal{}, refuse("malformed", "the Authorization header must be \"Bearer <token>\"", nil)
	}
	raw = strings.TrimSpace(raw)
	iss, err := unverifiedIssuer(raw)
	if err != nil {
		return Principal{}, refuse("malformed", "the bearer token is not a JWT", err)
	}
	is, ok := a.issuers[strings.TrimSuffix(iss, "/")]
	if !ok {
		return Principal{}, refuse("foreign-issuer", "the token's issuer is not trusted", nil)
	}
	v, err := is.verifierFor(ctx, a)
	if err != nil {
		return Principal{}, err
	}
	vctx, keyErr := withKeyErrorSlot(ctx)
	tok, err := v.Verify(vctx, raw)
	if err != nil {
		var ke *keyError
		if errors.As(*keyErr, &ke) {
			return Principal{}, describeKeyError(ke)
		}
		return Principal{}, describeVerifyError(err)
	}
	if !audienceOK(tok.Audience, is.cfg.Audiences) {
		return Principal{}, refuse("foreign-audience", fmt.Sprintf("the token is for another audience (%s); this API accepts %s",
			strings.Join(tok.Audience, ", "), strings.Join(is.cfg.Audiences, ", ")), nil)
	}
	var c claims
	if err := tok.Claims(&c); err != nil {
		return Principal{}, refuse("malformed", "the token's claims do not decode", err)
	}
	return c.principal(is)
}

func audienceOK(got, want []string) bool {
	for _, g := range got {
		for _, w := range want {
			if g == w {
				return true
			}
		}
	}
	return false
}

// discoveryDoc is the part of the OpenID configuration verification needs.
type discoveryDoc struct {
	Issuer  string   `json:"issuer"`
	JWKSURI string   `json:"jwks_uri"`
	Algs    []string `json:"id_token_signing_alg_values_supported"`
}

// discover fetches the issuer's discovery document and checks that it names
// the configured issuer (a trailing slash aside: Auth0's issuers end in one).
func (is *issuer) discover(ctx context.Context, client *http.Client) (discoveryDoc, error) {
	const op = "identity.discover"
	var doc discoveryDoc
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, is.discoveryURL, nil)
	if err != nil {
		return doc, fault.E(op, fault.Invalid, "the issuer URL "+is.cfg.URL+" is not valid", err)
	}
	resp, err := client.Do(req)
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %s", is.discoveryURL, resp.Status)
		} else {
			err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc)
		}
	}
	if err != nil {
		return doc, fault.E(op, fault.Unavailable, "the token issuer's discovery document could not be fetched; retry shortly", err)
	}
	if strings.TrimSuffix(doc.Issuer, "/") != is.iss || doc.JWKSURI == "" {
		return doc, fault.E(op, fault.Unavailable, fmt.Sprintf("the discovery document at %s names the issuer %q (jwks_uri %q), not %q: "+
			"configure the issuer exactly as the provider names it", is.discoveryURL, doc.Issuer, doc.JWKSURI, is.cfg.URL), errIssuerMismatch)
	}
	return doc, nil
}

var errIssuerMismatch = errors.New("issuer mismatch")

// verifierFor returns the issuer's verifier, doing discovery on first use
// and retrying it (at most once per retry pause) while it fails.
func (is *issuer) verifierFor(ctx context.Context, a *Authenticator) (*oidc.IDTokenVerifier, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.verifier != nil {
		return is.verifier, nil
	}
	if time.Since(is.lastTry) < a.retry {
		return nil, fault.E("identity.discover", fault.Unavailable, "the token issuer's discovery document could not be fetched; retry shortly")
	}
	is.lastTry = time.Now()
	// The request's cancellation must not poison a discovery others share.
	doc, err := is.discover(context.WithoutCancel(ctx), a.client)
	if err != nil {
		return nil, err
	}
	is.issuer = doc.Issuer
	is.keys = &keySet{url: doc.JWKSURI, client: a.client, now: a.now, refetch: a.refetch}
	is.verifier = oidc.NewVerifier(doc.Issuer, is.keys, &oidc.Config{
		SkipClientIDCheck:    true, // audienceOK checks against several accepted values
		SupportedSigningAlgs: algNames(doc.Algs),
		Now:                  a.now,
	})
	return is.verifier, nil
}

func algNames(fromDoc []string) []string {
	out := []string{}
	for _, alg := range supportedAlgs {
		if len(fromDoc) == 0 || slices.Contains(fromDoc, string(alg)) {
			out = append(out, string(alg))
		}
	}
	return out
}

// CheckIssuers does discovery for every configured issuer but the local
// one, at start-up: an issuer whose discovery document names another issuer
// is a configuration error (returned, the service should not start); an
// issuer that cannot be reached is only reported in unreachable (discovery
// is retried on first use).
func (a *Authenticator) CheckIssuers(ctx context.Context) (unreachable []error, err error) {
	for _, is := range a.order {
		if is.cfg.Local {
			continue
		}
		_, derr := is.discover(ctx, a.client)
		switch {
		case errors.Is(derr, errIssuerMismatch):
			return unreachable, fmt.Errorf("COLLAB_OIDC_ISSUERS: %s", fault.DetailOf(derr))
		case derr != nil:
			unreachable = append(unreachable, fmt.Errorf("issuer %s: %w", is.cfg.URL, derr))
		}
	}
	return unreachable, nil
}

func describeVerifyError(err error) error {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return refuse("expired", fmt.Sprintf("the token expired at %s", expired.Expiry.UTC().Format(time.RFC3339)), err)
	case strings.Contains(msg, "expected audience"):
		return refuse("foreign-audience", "the token is for another audience", err)
	case strings.Contains(msg, "before the nbf"):
		return refuse("not-yet-valid", "the token is not valid yet", err)
	case strings.Contains(msg, "signature"), strings.Contains(msg, "malformed jwt"):
		return refuse("bad-signature", "the token's signature does not verify", err)
	case strings.Contains(msg, "id token issued by a different provider"):
		return refuse("foreign-issuer", "the token's issuer is not exactly the one the provider names", err)
	default:
		return refuse("invalid", "the token is not valid", err)
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

// claimed reads what a bearer token says about its holder without
// verifying anything: only to label a refusal. Each value is cut short.
func claimed(header string) (iss, sub, email string) {
	_, raw, _ := strings.Cut(header, " ")
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return "", "", ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", "", ""
	}
	var c struct {
		Iss   any `json:"iss"`
		Sub   any `json:"sub"`
		Oid   any `json:"oid"`
		Email any `json:"email"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", "", ""
	}
	str := func(v any) string {
		s, _ := v.(string)
		if len(s) > 200 {
			s = s[:200]
		}
		return s
	}
	sub = str(c.Oid)
	if sub == "" {
		sub = str(c.Sub)
	}
	return str(c.Iss), sub, str(c.Email)
}
