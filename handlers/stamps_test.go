package handlers_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers"
	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/internal/app"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/stamp"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// TestEveryScopedRouteAnswersTheHome: on a stamp that is not the home,
// every route with a subscription or project in its path answers 421
// naming the home — before its endpoint runs (an empty body would be a 400
// there, a missing Idempotency-Key a 428) and before any data of the
// customer is read here (nothing of it exists here to find).
func TestEveryScopedRouteAnswersTheHome(t *testing.T) {
	t.Parallel()
	stamps := handlertest.StartStamps(t, nil, nil, "a", "b")
	home, api := stamps["a"], stamps["b"]
	home.Must(t, "alice@example.com", "POST", "/api/subscriptions", map[string]string{"id": "far"}, 201)
	home.Must(t, "alice@example.com", "POST", "/api/subscriptions/far/projects", map[string]string{"id": "farproj"}, 201)
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
		if resp.StatusCode != http.StatusMisdirectedRequest || m["home"] != "a" || m["homeUrl"] != home.URL ||
			m["type"] != httpapi.ProblemTypeBase+"misdirected" || !strings.Contains(fmt.Sprint(m["detail"]), home.URL) {
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
	if resp, m := home.Call(t, "alice@example.com", "GET", "/api/projects/nearproj", nil, nil); resp.StatusCode != 421 || m["homeUrl"] != api.URL {
		t.Fatalf("nearproj at a: %d %v", resp.StatusCode, m)
	}
}

// TestHomeChoiceAndDedicatedStamp: rules of creating a subscription and of a
// dedicated stamp, one row per sentence of issue 22.
func TestHomeChoiceAndDedicatedStamp(t *testing.T) {
	t.Parallel()
	stamps := handlertest.StartStamps(t, map[string]string{"c": "solo"}, nil, "a", "b", "c")
	shared, dedicated := stamps["b"], stamps["c"]
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
	// Nothing was written for the refused ones: they can still be created
	// where they belong.
	stamps["a"].Must(t, who, "POST", "/api/subscriptions", map[string]string{"id": "there"}, 201)
	stamps["a"].Must(t, who, "POST", "/api/subscriptions", map[string]string{"id": "other"}, 201)
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
	t.Parallel()
	stamps := handlertest.StartStamps(t, nil, nil, "a", "b")
	api := stamps["b"]
	for _, c := range []struct {
		origin string
		ok     bool
	}{{stamps["a"].URL, true}, {"https://evil.example", false}} {
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

// TestClaimHomesBackfills: subscriptions and projects created before the
// directory existed are claimed for their stamp at start-up (ClaimHomes);
// an id another stamp already claimed is reported, not taken over.
func TestClaimHomesBackfills(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	open := func(prefix string) *azure.Account {
		acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		return acct
	}
	// Storage of this run's own: -count=2 runs the test again on the same
	// Azurite, where a name taken from the test's would find the first run's rows.
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e10, 10)
	acct, dirAcct := open("bf"+suffix), open("bfdir"+suffix)
	if err := acct.Bootstrap(ctx, app.StorageLayouts()...); err != nil {
		t.Fatal(err)
	}
	if err := dirAcct.Bootstrap(ctx, stamp.Layout); err != nil {
		t.Fatal(err)
	}
	svcs := app.New(acct, nil)
	svcs.Platform.CanCreateSubscriptions = func(platform.Caller) bool { return true }
	owner := platform.Caller{UserID: platform.UserID("alice@example.com"), Email: "alice@example.com", PrincipalID: "p-alice"}
	for _, id := range []string{"old", "taken"} {
		if _, err := svcs.Platform.CreateSubscription(ctx, owner, id, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svcs.Platform.CreateProject(ctx, owner, "old", "oldproj", "", ""); err != nil {
		t.Fatal(err)
	}
	dir := stamp.NewDirectory(dirAcct.Table(stamp.TableName), nil)
	if err := dir.ClaimSubscription(ctx, "taken", "b"); err != nil {
		t.Fatal(err)
	}
	svcs.Platform.Homes = &stamp.Stamps{Self: "a", Dir: dir, URLs: map[string]string{"a": "https://a.example", "b": "https://b.example"}}
	for round := 1; round <= 2; round++ { // idempotent
		n, conflicts, err := svcs.Platform.ClaimHomes(ctx)
		if err != nil || n != 2 || len(conflicts) != 1 || conflicts[0] != "subscription taken" {
			t.Fatalf("round %d: %d claimed, conflicts %v, %v", round, n, conflicts, err)
		}
	}
	if home, err := dir.HomeOf(ctx, "old"); err != nil || home != "a" {
		t.Fatalf("old: %q %v", home, err)
	}
	if sub, err := dir.SubscriptionOf(ctx, "oldproj"); err != nil || sub != "old" {
		t.Fatalf("oldproj: %q %v", sub, err)
	}
	if home, _ := dir.HomeOf(ctx, "taken"); home != "b" {
		t.Fatalf("taken was moved to %q", home)
	}
}
