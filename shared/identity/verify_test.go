package identity

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// TestKeyFetchFailureIsUnavailable: a valid token arriving while the
// issuer's key set cannot be fetched is a 503 (retry), not a 401 that signs
// the user out. (Before the fix, "signature" was matched before "fetching
// keys" and this was a 401.)
func TestKeyFetchFailureIsUnavailable(t *testing.T) {
	iss := newTestIssuer(t, "aud")
	iss.keysDown.Store(true)
	auth := NewAuthenticator([]IssuerConfig{iss.Config()}, WithDiscoveryRetry(0), WithKeyRefetch(0))
	tok, _ := iss.Issue("a@example.com", "")
	_, err := auth.Verify(context.Background(), "Bearer "+tok)
	if !fault.Is(err, fault.Unavailable) || !strings.Contains(fault.DetailOf(err), "keys could not be fetched") {
		t.Fatalf("keys down: want Unavailable, got %v", err)
	}
	iss.keysDown.Store(false)
	if _, err := auth.Verify(context.Background(), "Bearer "+tok); err != nil {
		t.Fatalf("keys back: %v", err)
	}
}

// TestUnknownKeyIDsShareOneRefetch: made-up key ids make the service fetch
// the issuer's key set at most once per refetch interval, however many
// requests carry them, concurrently or not. (Before the fix, 20 requests
// caused 21 fetches.)
func TestUnknownKeyIDsShareOneRefetch(t *testing.T) {
	iss := newTestIssuer(t, "aud")
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	auth := NewAuthenticator([]IssuerConfig{iss.Config()}, WithClock(clock))
	good, _ := iss.Issue("a@example.com", "")
	if _, err := auth.Verify(context.Background(), "Bearer "+good); err != nil {
		t.Fatal(err)
	}
	if n := iss.keyFetches.Load(); n != 1 {
		t.Fatalf("first token: %d key fetches, want 1", n)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			forged := *iss.DevIssuer
			forged.kid = fmt.Sprintf("made-up-%d", i)
			tok, _ := forged.Issue("a@example.com", "")
			_, err := auth.Verify(context.Background(), "Bearer "+tok)
			if !fault.Is(err, fault.Unauthenticated) || !strings.Contains(fault.DetailOf(err), "does not publish") {
				t.Errorf("made-up kid: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := iss.keyFetches.Load(); n > 2 {
		t.Fatalf("20 made-up key ids within the interval: %d key fetches, want at most 2", n)
	}
	advance(DefaultKeyRefetch + time.Second)
	forged := *iss.DevIssuer
	forged.kid = "later"
	tok, _ := forged.Issue("a@example.com", "")
	before := iss.keyFetches.Load()
	if _, err := auth.Verify(context.Background(), "Bearer "+tok); !fault.Is(err, fault.Unauthenticated) {
		t.Fatal(err)
	}
	if n := iss.keyFetches.Load(); n != before+1 {
		t.Fatalf("after the interval an unknown kid refetches once: %d -> %d", before, n)
	}
	if _, err := auth.Verify(context.Background(), "Bearer "+good); err != nil {
		t.Fatalf("the good token after all that: %v", err)
	}
}

// TestIssuerWithTrailingSlash: Auth0 names its issuer with a trailing slash.
// Configured without it, the discovery document's form is the one used; a
// document naming another issuer altogether is a clear start-up error.
// (Before the fix, every call was a 503 "retry shortly", forever.)
func TestIssuerWithTrailingSlash(t *testing.T) {
	iss := newTestIssuer(t, "aud")
	iss.issuerInDoc = iss.URL + "/"
	slashed := *iss.DevIssuer
	slashed.URL = iss.URL + "/"
	auth := NewAuthenticator([]IssuerConfig{{URL: iss.URL, Audiences: []string{"aud"}}}, WithDiscoveryRetry(0))
	if bad, err := auth.CheckIssuers(context.Background()); err != nil || len(bad) != 0 {
		t.Fatalf("start-up check: %v %v", bad, err)
	}
	tok, _ := slashed.Issue("a@example.com", "")
	p, err := auth.Verify(context.Background(), "Bearer "+tok)
	if err != nil || p.Issuer != iss.URL+"/" {
		t.Fatalf("Auth0-style issuer: %+v %v", p, err)
	}

	other := newTestIssuer(t, "aud")
	other.issuerInDoc = "https://elsewhere.example/"
	auth = NewAuthenticator([]IssuerConfig{{URL: other.URL, Audiences: []string{"aud"}}, iss.Config()})
	_, err = auth.CheckIssuers(context.Background())
	if err == nil || !strings.Contains(err.Error(), `names the issuer "https://elsewhere.example/"`) || !strings.Contains(err.Error(), "COLLAB_OIDC_ISSUERS") {
		t.Fatalf("start-up check with a mismatch: %v", err)
	}
	down := newTestIssuer(t, "aud")
	down.down.Store(true)
	auth = NewAuthenticator([]IssuerConfig{{URL: down.URL, Audiences: []string{"aud"}}})
	if bad, err := auth.CheckIssuers(context.Background()); err != nil || len(bad) != 1 {
		t.Fatalf("an unreachable issuer is reported, not fatal: %v %v", bad, err)
	}
}
