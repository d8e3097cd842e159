package idempotency

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// TestKeyIsScopedToCallerRouteAndBody: one Idempotency-Key replays only the
// same caller's same request. Another caller, method or path with the same
// key is a request of its own (the handler runs); the same caller and route
// with another body is refused with 422 (nothing runs). Dropping the caller
// or the route from the record's scope, or the body-hash check, fails a
// row here, without going through the handlers package.
func TestKeyIsScopedToCallerRouteAndBody(t *testing.T) {
	ctx := context.Background()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: fmt.Sprintf("idsc%d", time.Now().UnixNano()%1e9)})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(ctx, Layout); err != nil {
		t.Fatal(err)
	}
	k := New(acct.Table("idempotency"))
	runs := 0
	h := k.Wrap(func(w http.ResponseWriter, r *http.Request) error {
		runs++
		httpapi.JSON(w, http.StatusCreated, map[string]int{"run": runs})
		return nil
	})
	alice := identity.Principal{ID: "u-alice", Email: "alice@example.com"}
	bob := identity.Principal{ID: "u-bob", Email: "bob@example.com"}
	for _, c := range []struct {
		name         string
		who          identity.Principal
		method, path string
		body         string
		status       int
		run          int  // the run whose answer comes back (0: none)
		replayed     bool // answered from the record
	}{
		{"first request runs", alice, "POST", "/api/things", `{"a":1}`, 201, 1, false},
		{"the same request replays", alice, "POST", "/api/things", `{"a":1}`, 201, 1, true},
		{"another caller runs its own", bob, "POST", "/api/things", `{"a":1}`, 201, 2, false},
		{"another caller replays its own", bob, "POST", "/api/things", `{"a":1}`, 201, 2, true},
		{"another path runs its own", alice, "POST", "/api/other", `{"a":1}`, 201, 3, false},
		{"another method runs its own", alice, "PUT", "/api/things", `{"a":1}`, 201, 4, false},
		{"another body is refused", alice, "POST", "/api/things", `{"a":2}`, 422, 0, false},
		{"the first still replays", alice, "POST", "/api/things", `{"a":1}`, 201, 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := runs
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			req.Header.Set("Idempotency-Key", "same-key")
			req = req.WithContext(identity.WithPrincipal(req.Context(), c.who))
			rec := httptest.NewRecorder()
			err := h(rec, req)
			status := rec.Code
			if err != nil {
				status = httpapi.StatusOf(err)
			}
			if status != c.status {
				t.Fatalf("status %d, want %d (%s)", status, c.status, rec.Body.String())
			}
			if c.run != 0 && !strings.Contains(rec.Body.String(), fmt.Sprintf(`"run":%d`, c.run)) {
				t.Fatalf("answer %s, want run %d", rec.Body.String(), c.run)
			}
			if got := rec.Header().Get("Idempotent-Replayed") == "true"; got != c.replayed {
				t.Fatalf("replayed %v, want %v", got, c.replayed)
			}
			if ran := runs - before; ran != map[bool]int{true: 1, false: 0}[!c.replayed && c.status == 201] {
				t.Fatalf("the handler ran %d times", ran)
			}
		})
	}
}
