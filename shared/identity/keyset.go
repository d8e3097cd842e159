package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/studio-collab/collab/shared/fault"
)

// DefaultKeyRefetch is the least time between two fetches of one issuer's
// key set: a token with an unknown key id may make the service fetch the
// keys again, but a caller sending made-up key ids must not make it hammer
// the identity provider.
const DefaultKeyRefetch = 5 * time.Second

// keyMaxAge is how long a fetched key set is used before it is fetched
// again on the next request (a stale set is still used if that fails).
const keyMaxAge = time.Hour

// keySet is one issuer's JWKS, cached, refetched when a token names a key id
// it does not hold (at most once per refetch interval, all concurrent
// requests sharing the one fetch) or when it is older than keyMaxAge. It
// implements go-oidc's KeySet.
type keySet struct {
	url     string
	client  *http.Client
	now     func() time.Time
	refetch time.Duration

	fetch     sync.Mutex // one fetch at a time; waiters share its result
	mu        sync.Mutex // guards the fields below
	keys      []jose.JSONWebKey
	fetchedAt time.Time // last successful fetch
	triedAt   time.Time // last attempt
	fetches   int       // attempts, for tests
}

// keyError is how a key-set failure reaches describeVerifyError through
// go-oidc, which flattens the errors of a KeySet into text.
type keyError struct {
	unavailable bool
	detail      string
	cause       error
}

func (e *keyError) Error() string {
	if e.cause != nil {
		return e.detail + ": " + e.cause.Error()
	}
	return e.detail
}

type keyErrorSlot struct{}

// withKeyErrorSlot gives VerifySignature a place to leave its typed error.
func withKeyErrorSlot(ctx context.Context) (context.Context, *error) {
	var slot error
	return context.WithValue(ctx, keyErrorSlot{}, &slot), &slot
}

func (ks *keySet) fail(ctx context.Context, e *keyError) error {
	if slot, ok := ctx.Value(keyErrorSlot{}).(*error); ok {
		*slot = e
	}
	return e
}

// VerifySignature implements oidc.KeySet.
func (ks *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, supportedAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, ks.fail(ctx, &keyError{detail: "the token's signature does not verify", cause: err})
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, fresh := ks.cached()
	if !fresh || !hasKey(keys, kid) {
		before := ks.fetchCount()
		if err := ks.refresh(ctx, before); err != nil && !hasKey(keys, kid) {
			// (a stale set that holds the key is better than no answer)
			return nil, ks.fail(ctx, &keyError{unavailable: true, detail: "the token issuer's keys could not be fetched; retry shortly", cause: err})
		}
		keys, _ = ks.cached()
	}
	for _, k := range keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(k); err == nil {
			return payload, nil
		}
	}
	if kid != "" && !hasKey(keys, kid) {
		return nil, ks.fail(ctx, &keyError{detail: fmt.Sprintf("the token is signed with a key the issuer does not publish (kid %q)", kid)})
	}
	return nil, ks.fail(ctx, &keyError{detail: "the token's signature does not verify"})
}

func hasKey(keys []jose.JSONWebKey, kid string) bool {
	if kid == "" {
		return len(keys) > 0
	}
	for _, k := range keys {
		if k.KeyID == kid {
			return true
		}
	}
	return false
}

func (ks *keySet) cached() ([]jose.JSONWebKey, bool) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.keys, !ks.fetchedAt.IsZero() && ks.now().Sub(ks.fetchedAt) < keyMaxAge
}

func (ks *keySet) fetchCount() int {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	return ks.fetches
}

// errThrottled says the keys were fetched moments ago and will not be again
// yet: the set as it stands is the answer.
var errThrottled = errors.New("key set fetched moments ago")

// refresh fetches the set unless another request fetched it since seen
// (the caller then uses that result) or the last attempt is younger than
// the refetch interval.
func (ks *keySet) refresh(ctx context.Context, seen int) error {
	ks.fetch.Lock()
	defer ks.fetch.Unlock()
	ks.mu.Lock()
	if ks.fetches != seen {
		ks.mu.Unlock()
		return nil // a fetch finished while we waited: share it
	}
	if !ks.triedAt.IsZero() && ks.now().Sub(ks.triedAt) < ks.refetch {
		ks.mu.Unlock()
		if len(ks.keys) == 0 {
			return errors.New("the last fetch failed moments ago")
		}
		return nil
	}
	ks.triedAt = ks.now()
	ks.fetches++
	ks.mu.Unlock()

	keys, err := ks.get(ctx)
	if err != nil {
		return err
	}
	ks.mu.Lock()
	ks.keys, ks.fetchedAt = keys, ks.now()
	ks.mu.Unlock()
	return nil
}

func (ks *keySet) get(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ks.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := ks.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching keys %s: %w", ks.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fetching keys %s: %w", ks.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching keys %s: %s", ks.url, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("decoding keys %s: %w", ks.url, err)
	}
	return set.Keys, nil
}

// supportedAlgs are the signature algorithms tokens may use: Entra signs
// RS256, Dex RS256, the dev issuer ES256.
var supportedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA}

// describeKeyError maps a key-set failure to the answer: the issuer being
// unreachable is 503, never a 401 that would sign the user out.
func describeKeyError(e *keyError) error {
	if e.unavailable {
		return fault.E("identity.Verify", fault.Unavailable, e.detail, e.cause)
	}
	return refuse("bad-signature", e.detail, e.cause)
}
