package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/studio-collab/collab/handlers"
	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/stamp"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

var dirSeq atomic.Int64

// newDirectory is a fresh global directory on the tests' Azurite.
func newDirectory(t *testing.T) *stamp.Directory {
	t.Helper()
	acct, err := store.Open(store.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: fmt.Sprintf("dir%d", dirSeq.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(context.Background(), stamp.Layout); err != nil {
		t.Fatal(err)
	}
	return stamp.NewDirectory(acct.Table(stamp.TableName), nil)
}

// startStamp runs the API as stamp self of a deployment of stamps a, b and
// c (a lives at https://a.example; none of them is reached in these tests).
func startStamp(t *testing.T, dir *stamp.Directory, self, dedicated string) *handlertest.API {
	t.Helper()
	return handlertest.StartWith(t, func(d *handlers.Deps) {
		d.Stamps = &stamp.Stamps{Self: self, Dedicated: dedicated, Dir: dir,
			URLs: map[string]string{"a": "https://a.example", "b": "https://b.invalid", "c": "https://c.invalid"}}
		d.Platform.Svc.Homes = d.Stamps
	})
}

// TestEveryScopedRouteAnswersTheHome: on a stamp that is not the home,
// every route with a subscription or project in its path answers 421
// naming the home — before its endpoint runs (an empty body would be a 400
// there, a missing Idempotency-Key a 428) and before any data of the
// customer is read here (nothing of it exists here to find).
func TestEveryScopedRouteAnswersTheHome(t *testing.T) {
	dir := newDirectory(t)
	ctx := context.Background()
	if err := dir.ClaimSubscription(ctx, "far", "a"); err != nil {
		t.Fatal(err)
	}
	if err := dir.ClaimProject(ctx, "farproj", "far"); err != nil {
		t.Fatal(err)
	}
	api := startStamp(t, dir, "b", "")
	rt := httpapi.NewRouter(slog.Default(), nil, 0)
	handlers.Register(rt, handlers.Deps{})
	n := 0
	for _, r := range rt.Routes() {
		if !strings.Contains(r.Pattern, "{s}") && !strings.Contains(r.Pattern, "{p}") {
			continue
		}
		n++
		path := strings.NewReplacer("{s}", "far", "{p}", "farproj").Replace(r.Pattern)
		for strings.Contains(path, "{") { // the other parameters: any value
			i, j := strings.Index(path, "{"), strings.Index(path, "}")
			path = path[:i] + "x" + path[j+1:]
		}
		resp, m := api.Call(t, "alice@example.com", r.Method, path, nil, nil)
		if resp.StatusCode != http.StatusMisdirectedRequest || m["home"] != "a" || m["homeUrl"] != "https://a.example" ||
			m["type"] != httpapi.ProblemTypeBase+"misdirected" || !strings.Contains(fmt.Sprint(m["detail"]), "https://a.example") {
			t.Errorf("%s %s: %d %v", r.Method, path, resp.StatusCode, m)
		}
	}
	if n < 40 {
		t.Fatalf("only %d scoped routes", n)
	}
	// The same routes are served normally for a customer homed here.
	api.Must(t, "alice@example.com", "POST", "/api/subscriptions", map[string]string{"id": "near"}, 201)
	api.Must(t, "alice@example.com", "POST", "/api/subscriptions/near/projects", map[string]string{"id": "nearproj"}, 201)
	api.Must(t, "alice@example.com", "GET", "/api/projects/nearproj", nil, 200)
	if sub, err := dir.SubscriptionOf(ctx, "nearproj"); err != nil || sub != "near" {
		t.Fatalf("the directory has nearproj in %q (%v)", sub, err)
	}
	if home, err := dir.HomeOf(ctx, "near"); err != nil || home != "b" {
		t.Fatalf("the directory has near homed in %q (%v)", home, err)
	}
}

// TestHomeChoiceAndDedicatedStamp: rules of creating a subscription and of a
// dedicated stamp, one row per sentence of issue 22.
func TestHomeChoiceAndDedicatedStamp(t *testing.T) {
	dir := newDirectory(t)
	shared := startStamp(t, dir, "b", "")
	dedicated := startStamp(t, dir, "c", "solo")
	const who = "alice@example.com"
	cases := []struct {
		name string
		api  *handlertest.API
		body map[string]string
		want int
	}{
		{"no home named: this stamp", shared, map[string]string{"id": "here"}, 201},
		{"this stamp named", shared, map[string]string{"id": "here2", "home": "b"}, 201},
		{"another stamp named: 421 to it", shared, map[string]string{"id": "there", "home": "a"}, 421},
		{"an unknown stamp: invalid", shared, map[string]string{"id": "nowhere", "home": "mars"}, 400},
		{"an id taken (in any stamp): conflict", shared, map[string]string{"id": "here"}, 409},
		{"a dedicated stamp creates no other customer", dedicated, map[string]string{"id": "other"}, 403},
		{"a dedicated stamp creates its own customer", dedicated, map[string]string{"id": "solo"}, 201},
	}
	for _, c := range cases {
		if resp, m := c.api.Call(t, who, "POST", "/api/subscriptions", c.body, nil); resp.StatusCode != c.want {
			t.Errorf("%s: %d %v", c.name, resp.StatusCode, m)
		}
	}
	// Nothing was written for the refused ones.
	for _, id := range []string{"there", "nowhere", "other"} {
		if _, err := dir.HomeOf(context.Background(), id); err == nil {
			t.Errorf("%s is in the directory", id)
		}
	}
	dedicated.Must(t, who, "POST", "/api/subscriptions/solo/projects", map[string]string{"id": "soloproj"}, 201)
	dedicated.Must(t, who, "GET", "/api/projects/soloproj", nil, 200)
	// Another customer's subscription and project are refused as not found.
	shared.Must(t, who, "POST", "/api/subscriptions/here/projects", map[string]string{"id": "hereproj"}, 201)
	dedicated.Must(t, who, "GET", "/api/subscriptions/here", nil, 404)
	dedicated.Must(t, who, "GET", "/api/projects/hereproj", nil, 404)
	// The shared stamp sends the dedicated customer home.
	if resp, m := shared.Call(t, who, "GET", "/api/projects/soloproj", nil, nil); resp.StatusCode != 421 || m["home"] != "c" {
		t.Fatalf("soloproj at the shared stamp: %d %v", resp.StatusCode, m)
	}
}

// TestOtherStampsConsolesMayCall: the API answers CORS preflights and
// requests from the other stamps' origins (their consoles re-target here
// after a 421), and from no other origin.
func TestOtherStampsConsolesMayCall(t *testing.T) {
	api := startStamp(t, newDirectory(t), "b", "")
	for _, c := range []struct {
		origin string
		ok     bool
	}{{"https://a.example", true}, {"https://evil.example", false}} {
		req, _ := http.NewRequest("OPTIONS", api.URL+"/api/projects/p/catalog/checkins", nil)
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, idempotency-key, content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		allowed := resp.StatusCode == 204 && resp.Header.Get("Access-Control-Allow-Origin") == c.origin &&
			strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Idempotency-Key") && resp.Header.Get("Access-Control-Allow-Credentials") == ""
		if allowed != c.ok {
			t.Errorf("preflight from %s: %d %v", c.origin, resp.StatusCode, resp.Header)
		}
		resp, _ = api.Call(t, "alice@example.com", "GET", "/api/me", nil, map[string]string{"Origin": c.origin})
		if got := resp.Header.Get("Access-Control-Allow-Origin") == c.origin; got != c.ok {
			t.Errorf("GET from %s: allow-origin %q", c.origin, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}
