package portal

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/deploy/standin"
	"github.com/studio-collab/collab/shared/fault"
)

// fakeCredential is the only fake here: Entra ID cannot be reached. It
// records the scopes asked for.
type fakeCredential struct {
	mu     sync.Mutex
	scopes []string
}

func (f *fakeCredential) GetToken(_ context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scopes = append(f.scopes, o.Scopes...)
	return azcore.AccessToken{Token: "fake-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

const siteID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-claims/providers/Microsoft.Web/sites/claims-prod"

// TestARMRestartRequest pins the request ARM gets, against a local TLS
// server standing where management.azure.com is.
func TestARMRestartRequest(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	status := http.StatusOK
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Clone(context.Background()))
		s := status
		mu.Unlock()
		w.WriteHeader(s)
	}))
	defer srv.Close()
	cred := &fakeCredential{}
	arm, err := NewARM(cred, ARMOptions{Endpoint: srv.URL, Transport: srv.Client(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := arm.Restart(t.Context(), siteID); err != nil {
		t.Fatal(err)
	}
	r := got[0]
	if r.Method != http.MethodPost || r.URL.Path != siteID+"/restart" || r.URL.Query().Get("api-version") != ARMAPIVersion {
		t.Fatalf("%s %s", r.Method, r.URL)
	}
	if r.Header.Get("Authorization") != "Bearer fake-token" {
		t.Fatalf("authorization %q", r.Header.Get("Authorization"))
	}
	if len(cred.scopes) != 1 || cred.scopes[0] != srv.URL+"/.default" {
		t.Fatalf("scopes %v", cred.scopes)
	}
	for _, c := range []struct {
		status int
		kind   fault.Kind
	}{{http.StatusNotFound, fault.Unprocessable}, {http.StatusForbidden, fault.Unprocessable}, {http.StatusConflict, fault.Unavailable}} {
		mu.Lock()
		status = c.status
		mu.Unlock()
		if err := arm.Restart(t.Context(), siteID); fault.KindOf(err) != c.kind {
			t.Errorf("ARM %d: %v, want kind %v", c.status, err, c.kind)
		}
	}
	if _, err := NewARM(cred, ARMOptions{Endpoint: "http://management.example"}); err == nil {
		t.Fatal("an http ARM endpoint was accepted")
	}
	if _, err := NewARM(nil, ARMOptions{}); err == nil {
		t.Fatal("no credential was accepted")
	}
}

// TestClientAgainstTheStandIn: deployments carry their idempotency key,
// restarts go to the restart URL or ARM, health is a 2xx, and redirects to
// other hosts are not followed.
func TestClientAgainstTheStandIn(t *testing.T) {
	now := time.Now()
	si := standin.New(time.Minute, func() time.Time { return now })
	srv := httptest.NewServer(si)
	defer srv.Close()
	target := deploy.Target{Project: "claims", Env: "test", Portal: deploy.Endpoint{BaseURL: srv.URL + "/claims/test/portal"}}
	c := NewClient(nil)
	ctx := t.Context()
	d := deploy.Deployment{FromSeq: 1, Seq: 3, Mode: deploy.ModeHot, Changes: []deploy.Classified{{Change: deploy.Change{Seq: 3, Path: "applications/a"}}}}
	for i := 0; i < 2; i++ {
		if err := c.Deploy(ctx, target, d); err != nil {
			t.Fatal(err)
		}
	}
	got := si.Get("/claims/test/portal")
	if len(got.Deployments) != 1 || got.Deployments[0].Key != "claims/test:3:hot" || got.Deployments[0].Changes != 1 {
		t.Fatalf("deployments %+v", got.Deployments)
	}
	if err := c.Healthy(ctx, target, deploy.ComponentPortal); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(ctx, target, deploy.ComponentPortal); err != nil {
		t.Fatal(err)
	}
	if err := c.Healthy(ctx, target, deploy.ComponentPortal); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("health right after a restart: %v", err)
	}
	now = now.Add(2 * time.Minute)
	if err := c.Healthy(ctx, target, deploy.ComponentPortal); err != nil {
		t.Fatal(err)
	}
	if err := c.Restart(ctx, target, deploy.ComponentScheduler); fault.KindOf(err) != fault.Unprocessable {
		t.Fatalf("restarting a component without an endpoint: %v", err)
	}
	if err := c.Healthy(ctx, target, deploy.ComponentScheduler); err != nil {
		t.Fatalf("a component without an endpoint has nothing to probe: %v", err)
	}
	// ARM: the resource id wins over the URLs.
	rec := &recordingARM{}
	armTarget := target
	armTarget.Portal.ARMResourceID = siteID
	if err := (&Client{ARM: rec}).Restart(ctx, armTarget, deploy.ComponentPortal); err != nil || len(rec.ids) != 1 || rec.ids[0] != siteID {
		t.Fatalf("ARM restart: %v %v", err, rec.ids)
	}
	if err := c.Restart(ctx, armTarget, deploy.ComponentPortal); fault.KindOf(err) != fault.Unprocessable {
		t.Fatalf("ARM restart without ARM: %v", err)
	}
	// A health endpoint that redirects to another host is not followed.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer other.Close()
	redirect := httptest.NewServer(http.RedirectHandler(other.URL+"/health", http.StatusFound))
	defer redirect.Close()
	if err := c.Healthy(ctx, deploy.Target{Portal: deploy.Endpoint{HealthURL: redirect.URL + "/health"}}, deploy.ComponentPortal); err == nil || !strings.Contains(err.Error(), "302") {
		t.Fatalf("redirect to another host: %v", err)
	}
}

type recordingARM struct{ ids []string }

func (r *recordingARM) Restart(_ context.Context, id string) error {
	r.ids = append(r.ids, id)
	return nil
}
