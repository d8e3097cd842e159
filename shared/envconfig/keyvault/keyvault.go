// Package keyvault seals secret parameters in Azure Key Vault through its
// data plane (azsecrets), with the app's managed identity: each secret
// parameter is one Key Vault secret, each value one of its versions, and the
// stored reference is the version's id.
//
// Invariants: the clear value travels only to Key Vault over TLS with a
// bearer token of the app's identity; a reference opens only from this
// vault and only for the parameter it was sealed for (the secret's name is
// derived from project/env/name); errors never carry the value.
package keyvault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/studio-collab/collab/shared/envconfig"
	"github.com/studio-collab/collab/shared/fault"
)

const prefix = "keyvault:"

// Vault seals into one Key Vault. Safe for concurrent use.
type Vault struct {
	client *azsecrets.Client
	base   *url.URL
}

// New returns a Vault on vaultURL (https://<name>.vault.azure.net/) with
// cred (the managed identity). opts may be nil; tests pass a transport and
// turn off the challenge's resource check for their local server.
func New(vaultURL string, cred azcore.TokenCredential, opts *azsecrets.ClientOptions) (*Vault, error) {
	u, err := url.Parse(vaultURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fault.E("keyvault.New", fault.Invalid, fmt.Sprintf("vault URL %q is not an https URL", vaultURL))
	}
	c, err := azsecrets.NewClient(vaultURL, cred, opts)
	if err != nil {
		return nil, fault.E("keyvault.New", fault.Internal, err)
	}
	return &Vault{client: c, base: u}, nil
}

// SecretName is the Key Vault secret that holds a parameter's versions:
// names allow only letters, digits and hyphens, so the parameter's name
// (which may hold dots) is hashed; project and env are slugs already.
func SecretName(id envconfig.SecretID) string {
	sum := sha256.Sum256([]byte(id.Name))
	return "param-" + id.Project + "-" + id.Env + "-" + hex.EncodeToString(sum[:8])
}

// Seal sets a new version of the parameter's secret and returns its id.
func (v *Vault) Seal(ctx context.Context, id envconfig.SecretID, clear string) (string, error) {
	ct := "text/plain; studio-collab parameter"
	tags := map[string]*string{"project": &id.Project, "env": &id.Env, "parameter": &id.Name}
	resp, err := v.client.SetSecret(ctx, SecretName(id), azsecrets.SetSecretParameters{Value: &clear, ContentType: &ct, Tags: tags}, nil)
	if err != nil {
		return "", mapErr("keyvault.Seal", id, err)
	}
	if resp.ID == nil || resp.ID.Version() == "" {
		return "", fault.E("keyvault.Seal", fault.Internal, fmt.Errorf("secret %s: Key Vault answered without a version id", id))
	}
	return prefix + string(*resp.ID), nil
}

// Open reads the exact version a reference names.
func (v *Vault) Open(ctx context.Context, id envconfig.SecretID, ref string) (string, error) {
	const op = "keyvault.Open"
	raw, ok := strings.CutPrefix(ref, prefix)
	u, err := url.Parse(raw)
	if !ok || err != nil || u.Host != v.base.Host {
		return "", fault.E(op, fault.Internal, fmt.Errorf("secret %s: the reference is not a version of this vault (%s)", id, v.base.Host))
	}
	kid := azsecrets.ID(raw)
	if kid.Name() != SecretName(id) || kid.Version() == "" {
		return "", fault.E(op, fault.Internal, fmt.Errorf("secret %s: the reference names another parameter's secret or no version", id))
	}
	resp, err := v.client.GetSecret(ctx, kid.Name(), kid.Version(), nil)
	if err != nil {
		return "", mapErr(op, id, err)
	}
	if resp.Value == nil {
		return "", fault.E(op, fault.Internal, fmt.Errorf("secret %s: Key Vault answered without a value", id))
	}
	return *resp.Value, nil
}

// mapErr turns Key Vault failures into kinds: throttling and outages are
// retryable (Unavailable); a refused identity or a missing version is our
// operator's problem (Internal). The detail never holds the value.
func mapErr(op string, id envconfig.SecretID, err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		k := fault.Internal
		if re.StatusCode == http.StatusTooManyRequests || re.StatusCode >= 500 {
			k = fault.Unavailable
		}
		return fault.E(op, k, fmt.Errorf("secret %s: Key Vault %d %s", id, re.StatusCode, re.ErrorCode))
	}
	return fault.E(op, fault.Unavailable, "Key Vault is not reachable", fmt.Errorf("secret %s: %w", id, err))
}

// NewManagedIdentity returns a Vault reached with the app's managed
// identity (clientID of a user-assigned identity; "" for system-assigned).
// transport (nil: the SDK's default) carries both the token requests and
// the vault's: the handler passes a pool sized to its bound (shared/conns).
func NewManagedIdentity(vaultURL, clientID string, transport policy.Transporter) (*Vault, error) {
	var opts azidentity.ManagedIdentityCredentialOptions
	if clientID != "" {
		opts.ID = azidentity.ClientID(clientID)
	}
	opts.Transport = transport
	cred, err := azidentity.NewManagedIdentityCredential(&opts)
	if err != nil {
		return nil, fault.E("keyvault.NewManagedIdentity", fault.Internal, err)
	}
	return New(vaultURL, cred, &azsecrets.ClientOptions{ClientOptions: policy.ClientOptions{Transport: transport}})
}
