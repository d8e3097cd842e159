package handlers_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/platform"
)

func TestLastOwnerIsProtected(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	daveID := platform.UserID(dave)
	// dave is the only explicit owner of claims.
	resp, m := a.Call(t, alice, "PUT", "/api/projects/claims/members/"+daveID, map[string]any{"role": "developer"}, nil)
	if resp.StatusCode != 409 || !strings.Contains(m["detail"].(string), "last owner") {
		t.Fatalf("demoting the last owner: %d %v", resp.StatusCode, m)
	}
	if resp, _ := a.Call(t, dave, "DELETE", "/api/projects/claims/members/"+daveID, nil, nil); resp.StatusCode != 409 {
		t.Fatalf("removing the last owner: %d", resp.StatusCode)
	}
	// With a second owner, the first may go.
	a.Must(t, alice, "PUT", "/api/projects/claims/members/"+platform.UserID(carol), map[string]any{"role": "owner"}, 200)
	a.Must(t, alice, "PUT", "/api/projects/claims/members/"+daveID, map[string]any{"role": "developer"}, 200)
	// The last Subscription Owner cannot be disabled or demoted either.
	resp, _ = a.Call(t, alice, "PATCH", "/api/subscriptions/acme/users/"+platform.UserID(alice), map[string]any{"subscriptionOwner": false}, nil)
	if resp.StatusCode != 409 {
		t.Fatalf("demoting the last Subscription Owner: %d", resp.StatusCode)
	}
}

func TestInvitationExpiresAndBindsTheInvitee(t *testing.T) {
	t.Parallel()
	a := handlertest.Start(t)
	a.Must(t, alice, "POST", "/api/subscriptions", map[string]any{"id": "acme"}, 201)
	inv := a.Must(t, alice, "POST", "/api/subscriptions/acme/users", map[string]any{"email": "Late@Example.com"}, 201)
	exp, _ := time.Parse(time.RFC3339, inv["expiresAt"].(string))
	if d := time.Until(exp); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour+time.Minute {
		t.Fatalf("expires in %v, want 7 days", d)
	}
	// Someone else cannot accept it, and is not told it exists.
	if resp, _ := a.Call(t, bob, "POST", "/api/invitations/"+inv["token"].(string)+"/accept", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("accepted by another address: %d", resp.StatusCode)
	}
	// Before acceptance the invitee sees nothing of the subscription.
	if resp, _ := a.Call(t, "late@example.com", "GET", "/api/subscriptions/acme", nil, nil); resp.StatusCode != 404 {
		t.Fatalf("invitee sees the subscription before accepting: %d", resp.StatusCode)
	}
	a.Clock.Store(int64(7*24*time.Hour + time.Minute))
	a.ForgetTokens() // tokens from the past have expired with the clock
	resp, m := a.Call(t, "late@example.com", "POST", "/api/invitations/"+inv["token"].(string)+"/accept", nil, nil)
	if resp.StatusCode != 410 || m["type"] != "https://studio-collab.dev/problems/gone" {
		t.Fatalf("expired invitation: %d %v", resp.StatusCode, m)
	}
	// A fresh invitation works once, and not twice.
	inv2 := a.Must(t, alice, "POST", "/api/subscriptions/acme/users", map[string]any{"email": "late@example.com"}, 201)
	a.Must(t, "late@example.com", "POST", "/api/invitations/"+inv2["token"].(string)+"/accept", nil, 200)
	if resp, _ := a.Call(t, "late@example.com", "POST", "/api/invitations/"+inv2["token"].(string)+"/accept", nil, nil); resp.StatusCode != 409 {
		t.Fatalf("second acceptance: %d", resp.StatusCode)
	}
	a.Must(t, "late@example.com", "GET", "/api/subscriptions/acme", nil, 200)
}

func TestDisabledUserIsLockedOutAtOnce(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	a.Must(t, bob, "GET", "/api/projects/claims", nil, 200) // bob's token now cached
	a.Must(t, alice, "PATCH", "/api/subscriptions/acme/users/"+platform.UserID(bob), map[string]any{"disabled": true}, 200)
	for _, path := range []string{"/api/projects/claims", "/api/me", "/api/subscriptions/acme"} {
		resp, m := a.Call(t, bob, "GET", path, nil, nil)
		if resp.StatusCode != 401 || !strings.Contains(m["detail"].(string), "disabled") {
			t.Fatalf("%s after disable: %d %v", path, resp.StatusCode, m)
		}
	}
	// A new token does not help.
	a.ForgetTokens()
	if resp, _ := a.Call(t, bob, "GET", "/api/me", nil, nil); resp.StatusCode != 401 {
		t.Fatalf("new token after disable: %d", resp.StatusCode)
	}
	a.Must(t, alice, "PATCH", "/api/subscriptions/acme/users/"+platform.UserID(bob), map[string]any{"disabled": false}, 200)
	a.Must(t, bob, "GET", "/api/projects/claims", nil, 200)
}

func TestEveryChangeIsAudited(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	a.Must(t, dave, "PATCH", "/api/projects/claims", map[string]any{"name": "Claims 2"}, 200)
	a.Must(t, carol, "PATCH", "/api/projects/claims/environments/development", map[string]any{"workPortalUrl": "https://portal.example.com"}, 200)
	a.Must(t, alice, "DELETE", "/api/projects/claims/teams/finance/members/"+platform.UserID(bob), nil, 204)
	page := a.Must(t, dave, "GET", "/api/projects/claims/audit?limit=1000", nil, 200)
	var entries []struct {
		Action, Target, Actor, ActorName, RequestID string
		Before, After                               json.RawMessage
	}
	b, _ := json.Marshal(page["items"])
	_ = json.Unmarshal(b, &entries)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.RequestID == "" || e.Actor == "" {
			t.Errorf("entry without actor or request id: %+v", e)
		}
	}
	got := strings.Join(actions, ",")
	// Newest first.
	want := "team.member.remove,environment.patch,project.patch"
	if !strings.HasPrefix(got, want) {
		t.Fatalf("newest entries %q, want prefix %q", got, want)
	}
	for _, w := range []string{"project.create", "member.put", "team.create", "team.member.add", "environment.create"} {
		if !strings.Contains(got, w) {
			t.Errorf("no %s entry in %q", w, got)
		}
	}
	if !strings.Contains(string(entries[1].Before), `"workPortalUrl"`) && !strings.Contains(string(entries[1].After), "portal.example.com") {
		t.Errorf("environment.patch lacks before/after: %s %s", entries[1].Before, entries[1].After)
	}
	if entries[0].ActorName != alice {
		t.Errorf("actor name %q", entries[0].ActorName)
	}
	// Paging: two pages of 2 cover the first four entries.
	p1 := a.Must(t, dave, "GET", "/api/projects/claims/audit?limit=2", nil, 200)
	p2 := a.Must(t, dave, "GET", "/api/projects/claims/audit?limit=2&cursor="+p1["next"].(string), nil, 200)
	if len(p1["items"].([]any)) != 2 || len(p2["items"].([]any)) != 2 || p2["items"].([]any)[0].(map[string]any)["action"] != actions[2] {
		t.Fatal("audit paging does not continue where it stopped")
	}
	sub := a.Must(t, alice, "GET", "/api/subscriptions/acme/audit", nil, 200)
	if s, _ := json.Marshal(sub); !strings.Contains(string(s), "user.patch") || !strings.Contains(string(s), "user.invite") || !strings.Contains(string(s), "user.accept") {
		t.Fatalf("subscription audit lacks user changes: %s", s)
	}
}

func TestETagsRefuseStaleWrites(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	resp, _ := a.Call(t, dave, "GET", "/api/projects/claims", nil, nil)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on GET project")
	}
	resp, _ = a.Call(t, dave, "PATCH", "/api/projects/claims", map[string]any{"name": "A"}, map[string]string{"If-Match": etag})
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
		t.Fatalf("first conditional patch: %d", resp.StatusCode)
	}
	resp, m := a.Call(t, alice, "PATCH", "/api/projects/claims", map[string]any{"name": "B"}, map[string]string{"If-Match": etag})
	if resp.StatusCode != 412 {
		t.Fatalf("stale If-Match: %d %v", resp.StatusCode, m)
	}
	if got := a.Must(t, dave, "GET", "/api/projects/claims", nil, 200); got["name"] != "A" {
		t.Fatalf("stale write applied: %v", got)
	}
	resp, _ = a.Call(t, carol, "GET", "/api/projects/claims/environments/development", nil, nil)
	if resp, _ := a.Call(t, carol, "PATCH", "/api/projects/claims/environments/development", map[string]any{"status": "degraded"}, map[string]string{"If-Match": `W/"stale"`}); resp.StatusCode != 412 {
		t.Fatalf("environment stale If-Match: %d", resp.StatusCode)
	}
}

func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	key := map[string]string{"Idempotency-Key": "create-billing-1"}
	body := map[string]any{"id": "billing", "name": "Billing"}
	r1, m1 := a.Call(t, alice, "POST", "/api/subscriptions/acme/projects", body, key)
	r2, m2 := a.Call(t, alice, "POST", "/api/subscriptions/acme/projects", body, key)
	if r1.StatusCode != 201 || r2.StatusCode != 201 || fmt.Sprint(m1) != fmt.Sprint(m2) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %d %v %v", r1.StatusCode, r2.StatusCode, m1, m2)
	}
	if r3, m3 := a.Call(t, alice, "POST", "/api/subscriptions/acme/projects", map[string]any{"id": "other"}, key); r3.StatusCode != 422 {
		t.Fatalf("same key, other body: %d %v", r3.StatusCode, m3)
	}
	// Without the key the same body is a conflict: the project exists once.
	if r4, _ := a.Call(t, alice, "POST", "/api/subscriptions/acme/projects", body, nil); r4.StatusCode != 409 {
		t.Fatalf("no key: %d", r4.StatusCode)
	}
	// A 4xx answer is replayed too.
	k2 := map[string]string{"Idempotency-Key": "dup"}
	first, _ := a.Call(t, alice, "POST", "/api/subscriptions/acme/projects", body, k2)
	second, _ := a.Call(t, alice, "POST", "/api/subscriptions/acme/projects", body, k2)
	if first.StatusCode != 409 || second.StatusCode != 409 {
		t.Fatalf("recorded 409: %d %d", first.StatusCode, second.StatusCode)
	}
	// Concurrent requests with one key: one team, identical answers.
	var wg sync.WaitGroup
	answers := make([]string, 8)
	codes := make([]int, 8)
	a.Token(t, alice)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, m := a.Call(t, alice, "POST", "/api/projects/claims/teams", map[string]any{"id": "ops"}, map[string]string{"Idempotency-Key": "team-ops"})
			codes[i], answers[i] = resp.StatusCode, fmt.Sprint(m)
		}()
	}
	wg.Wait()
	for i := range answers {
		if codes[i] != 201 || answers[i] != answers[0] {
			t.Fatalf("concurrent answer %d: %d %s vs %s", i, codes[i], answers[i], answers[0])
		}
	}
	teams := a.Must(t, alice, "GET", "/api/projects/claims/teams", nil, 200)
	n := 0
	for _, tm := range teams["items"].([]any) {
		if tm.(map[string]any)["id"] == "ops" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d teams named ops", n)
	}
	// Another caller's identical key is another request.
	if resp, _ := a.Call(t, olga, "POST", "/api/subscriptions/acme/projects", body, key); resp.StatusCode != 404 {
		t.Fatalf("olga with alice's key: %d", resp.StatusCode)
	}
}

func TestMeAndPaging(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	me := a.Must(t, bob, "GET", "/api/me", nil, 200)
	b, _ := json.Marshal(me)
	if !strings.Contains(string(b), `"role":"developer"`) || !strings.Contains(string(b), `"id":"acme"`) || me["email"] != bob {
		t.Fatalf("me: %s", b)
	}
	meAlice := a.Must(t, alice, "GET", "/api/me", nil, 200)
	if b, _ := json.Marshal(meAlice); !strings.Contains(string(b), `"owner":true`) || !strings.Contains(string(b), `"role":"owner"`) {
		t.Fatalf("alice: %s", b)
	}
	p1 := a.Must(t, alice, "GET", "/api/projects/claims/members?limit=2", nil, 200)
	p2 := a.Must(t, alice, "GET", "/api/projects/claims/members?limit=2&cursor="+p1["next"].(string), nil, 200)
	seen := map[string]bool{}
	for _, p := range []map[string]any{p1, p2} {
		for _, m := range p["items"].([]any) {
			seen[m.(map[string]any)["userId"].(string)] = true
		}
	}
	if len(seen) != 4 || p2["next"] != nil {
		t.Fatalf("members over two pages: %v next=%v", seen, p2["next"])
	}
	if resp, _ := a.Call(t, alice, "GET", "/api/projects/claims/members?limit=0", nil, nil); resp.StatusCode != 400 {
		t.Fatalf("limit=0: %d", resp.StatusCode)
	}
}
