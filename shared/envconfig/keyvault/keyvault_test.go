package keyvault

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/studio-collab/collab/shared/envconfig"
	"github.com/studio-collab/collab/shared/fault"
)

// fakeCredential stands in for the managed identity (Entra ID cannot be
// reached here): it hands out one token and records the scopes asked for.
type fakeCredential struct {
	mu     sync.Mutex
	scopes []string
}

func (c *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	c.scopes = append(c.scopes, o.Scopes...)
	c.mu.Unlock()
	return azcore.AccessToken{Token: "fake-mi-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

type seen struct {
	method, path, query, auth, contentType string
	body                                   map[string]any
}

// fakeVault is a local TLS server speaking the part of the Key Vault data
// plane the adapter uses: the bearer challenge, set secret (new version),
// get secret version.
func fakeVault(t *testing.T) (*httptest.Server, *[]seen, *sync.Mutex) {
	var mu sync.Mutex
	var reqs []seen
	values := map[string]string{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s := seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type")}
		_ = json.Unmarshal(b, &s.body)
		mu.Lock()
		reqs = append(reqs, s)
		mu.Unlock()
		if s.auth == "" {
			w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.microsoftonline.com/tenant-1", resource="https://vault.azure.net"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if s.auth != "Bearer fake-mi-token" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "PUT" && len(parts) == 2 && parts[0] == "secrets":
			mu.Lock()
			version := fmt.Sprintf("v%d", len(values)+1)
			values[parts[1]+"/"+version], _ = s.body["value"].(string)
			mu.Unlock()
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "https://" + r.Host + "/secrets/" + parts[1] + "/" + version, "attributes": map[string]any{"enabled": true}})
		case r.Method == "GET" && len(parts) == 3 && parts[0] == "secrets":
			mu.Lock()
			v, ok := values[parts[1]+"/"+parts[2]]
			mu.Unlock()
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"error":{"code":"SecretNotFound","message":"no such version"}}`))
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "https://" + r.Host + "/secrets/" + parts[1] + "/" + parts[2], "value": v})
		default:
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &reqs, &mu
}

// TestKeyVaultRequestShape: sealing sends the value once, over TLS, with the
// identity's bearer token for the vault scope, to PUT /secrets/<derived
// name>; the stored reference is the version id, and opening it GETs that
// exact version.
func TestKeyVaultRequestShape(t *testing.T) {
	ctx := context.Background()
	srv, reqs, mu := fakeVault(t)
	cred := &fakeCredential{}
	v, err := New(srv.URL, cred, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: srv.Client(),
		Retry: policy.RetryOptions{MaxRetries: -1}}, DisableChallengeResourceVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	id := envconfig.SecretID{Project: "claims", Env: "production", Name: "crm.apiKey"}
	ref, err := v.Seal(ctx, id, "CLEAR-kv-value")
	if err != nil {
		t.Fatal(err)
	}
	name := SecretName(id)
	if !strings.HasPrefix(name, "param-claims-production-") || len(name) != len("param-claims-production-")+16 {
		t.Fatalf("secret name %q", name)
	}
	if ref != "keyvault:"+srv.URL+"/secrets/"+name+"/v1" {
		t.Fatalf("reference %q", ref)
	}
	got, err := v.Open(ctx, id, ref)
	if err != nil || got != "CLEAR-kv-value" {
		t.Fatalf("open: %q %v", got, err)
	}
	mu.Lock()
	defer mu.Unlock()
	var authed []seen
	for _, r := range *reqs {
		if r.auth != "" {
			authed = append(authed, r)
		}
	}
	if len(*reqs) != 3 || (*reqs)[0].auth != "" || (*reqs)[0].body != nil {
		t.Fatalf("want the bodiless challenge request first, then two authorized ones: %+v", *reqs)
	}
	put, get := authed[0], authed[1]
	if put.method != "PUT" || put.path != "/secrets/"+name || !strings.HasPrefix(put.query, "api-version=") || put.contentType != "application/json" {
		t.Fatalf("set secret request %+v", put)
	}
	tags, _ := put.body["tags"].(map[string]any)
	if put.body["value"] != "CLEAR-kv-value" || !strings.HasPrefix(fmt.Sprint(put.body["contentType"]), "text/plain") ||
		tags["project"] != "claims" || tags["env"] != "production" || tags["parameter"] != "crm.apiKey" {
		t.Fatalf("set secret body %v", put.body)
	}
	if get.method != "GET" || get.path != "/secrets/"+name+"/v1" || get.body != nil {
		t.Fatalf("get secret request %+v", get)
	}
	cred.mu.Lock()
	if len(cred.scopes) == 0 || cred.scopes[0] != "https://vault.azure.net/.default" {
		t.Fatalf("token scopes %v", cred.scopes)
	}
	cred.mu.Unlock()
}

// TestKeyVaultRefusesForeignReferences: a reference of another vault or of
// another parameter's secret is refused before any request is made, and a
// missing version is an Internal error.
func TestKeyVaultRefusesForeignReferences(t *testing.T) {
	ctx := context.Background()
	srv, reqs, mu := fakeVault(t)
	v, _ := New(srv.URL, &fakeCredential{}, &azsecrets.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: srv.Client(),
		Retry: policy.RetryOptions{MaxRetries: -1}}, DisableChallengeResourceVerification: true})
	id := envconfig.SecretID{Project: "claims", Env: "test", Name: "a"}
	for _, ref := range []string{
		"keyvault:https://evil.example.com/secrets/" + SecretName(id) + "/v1",
		"keyvault:" + srv.URL + "/secrets/" + SecretName(envconfig.SecretID{Project: "claims", Env: "test", Name: "b"}) + "/v1",
		"keyvault:" + srv.URL + "/secrets/" + SecretName(id),
		"aesgcm:v1:00:AAAA",
	} {
		if _, err := v.Open(ctx, id, ref); !fault.Is(err, fault.Internal) {
			t.Fatalf("%s: %v", ref, err)
		}
	}
	mu.Lock()
	n := len(*reqs)
	mu.Unlock()
	if n != 0 {
		t.Fatalf("%d requests made for refused references", n)
	}
	if _, err := v.Open(ctx, id, "keyvault:"+srv.URL+"/secrets/"+SecretName(id)+"/v9"); !fault.Is(err, fault.Internal) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("missing version: %v", err)
	}
	if _, err := New("http://kv.example.com/", &fakeCredential{}, nil); !fault.Is(err, fault.Invalid) {
		t.Fatalf("plain http vault URL: %v", err)
	}
}
