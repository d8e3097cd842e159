package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/studio-collab/collab/shared/fault"
)

// DevTokenLifetime is how long a dev token lives.
const DevTokenLifetime = time.Hour

// DevIssuer signs ES256 tokens for any e-mail address, for local use only.
// Its key lives in a file so that tokens survive a handler restart.
type DevIssuer struct {
	URL      string
	Audience string
	key      *ecdsa.PrivateKey
	kid      string
	now      func() time.Time
}

// NewDevIssuer loads (or creates, 0600) the signing key in keyFile. It
// refuses under the cloud policy (cloud: COLLAB_ENVIRONMENT is not "local",
// settings.Config.Local): a dev issuer in production would let anyone in.
func NewDevIssuer(url, audience, keyFile string, cloud bool, now func() time.Time) (*DevIssuer, error) {
	const op = "identity.NewDevIssuer"
	if cloud {
		return nil, fault.E(op, fault.Invalid, "COLLAB_DEV_AUTH is set but this process is not local (COLLAB_ENVIRONMENT is not \"local\", as in Azure): the dev issuer is for local use only")
	}
	if now == nil {
		now = time.Now
	}
	key, err := loadOrCreateKey(keyFile)
	if err != nil {
		return nil, fault.E(op, fault.Internal, "dev issuer key "+keyFile, err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	sum := sha256.Sum256(der)
	return &DevIssuer{URL: strings.TrimSuffix(url, "/"), Audience: audience, key: key, kid: hex.EncodeToString(sum[:8]), now: now}, nil
}

func loadOrCreateKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, errors.New("not PEM")
		}
		k, err := x509.ParseECPrivateKey(blk.Bytes)
		if err != nil {
			return nil, err
		}
		if k.Curve != elliptic.P256() {
			return nil, errors.New("not a P-256 key")
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return loadOrCreateKey(path) // another process created it first
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := pem.Encode(f, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}); err != nil {
		return nil, err
	}
	return k, nil
}

// KeyID is the "kid" of the signing key.
func (d *DevIssuer) KeyID() string { return d.kid }

// DevSubject is the stable subject of an e-mail address.
func DevSubject(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return hex.EncodeToString(sum[:12])
}

// Config is what an Authenticator needs to trust this issuer.
func (d *DevIssuer) Config() IssuerConfig {
	return IssuerConfig{URL: d.URL, Audiences: []string{d.Audience}, IDPrefix: "dev-", Local: true}
}

// Issue returns a signed token for email (validated with net/mail).
func (d *DevIssuer) Issue(email, name string) (string, error) {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != strings.TrimSpace(email) {
		return "", fault.E("identity.Issue", fault.Invalid, fmt.Sprintf("%q is not an e-mail address", email))
	}
	email = strings.ToLower(addr.Address)
	if name == "" {
		name = strings.Split(email, "@")[0]
	}
	return d.sign(map[string]any{"email": email, "email_verified": true, "name": name, "preferred_username": email}, DevSubject(email), d.Audience, d.now(), DevTokenLifetime)
}

// sign is exported to tests through IssueRaw.
func (d *DevIssuer) sign(extra map[string]any, sub, aud string, now time.Time, life time.Duration) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: d.key, KeyID: d.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fault.E("identity.sign", fault.Internal, err)
	}
	std := jwt.Claims{Issuer: d.URL, Subject: sub, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(life))}
	tok, err := jwt.Signed(signer).Claims(std).Claims(extra).Serialize()
	if err != nil {
		return "", fault.E("identity.sign", fault.Internal, err)
	}
	return tok, nil
}

// IssueRaw signs arbitrary claims with this issuer's key: for tests that
// need expired, future or foreign-audience tokens.
func (d *DevIssuer) IssueRaw(extra map[string]any, sub, aud string, issuedAt time.Time, life time.Duration) (string, error) {
	return d.sign(extra, sub, aud, issuedAt, life)
}

// Discovery is the OpenID configuration document.
func (d *DevIssuer) Discovery() map[string]any {
	return map[string]any{
		"issuer":                                d.URL,
		"jwks_uri":                              d.URL + "/jwks",
		"token_endpoint":                        d.URL + "/token",
		"authorization_endpoint":                d.URL + "/authorize",
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"response_types_supported":              []string{"token"},
		"subject_types_supported":               []string{"public"},
		"claims_supported":                      []string{"sub", "email", "name", "preferred_username"},
	}
}

// JWKS is the public key set.
func (d *DevIssuer) JWKS() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &d.key.PublicKey, KeyID: d.kid, Algorithm: string(jose.ES256), Use: "sig"}}}
}
