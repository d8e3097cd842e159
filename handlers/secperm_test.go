package handlers_test

import (
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/platform"
)

// TestOwnerPermitsSecurityElements (issue 19, finding 8; DESIGN 4.3: "Only
// owners (or holders of full on a security element) manage security/*";
// the seed: "Non-owners can create or modify security-related elements only
// if permitted by Administrators"). Both sides: without a permit a
// developer and an admin can neither change a security element in the
// catalog nor its entries; once the Project Owner permits bob (a user
// entry) and team finance (a team entry), they can, on that element only.
func TestOwnerPermitsSecurityElements(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	bobU, carolU := "user:"+platform.UserID(bob), "user:"+platform.UserID(carol)
	ldap, authz := "security/ldap/servers.json", "security/authorization/roles.json"
	entries := "/api/projects/claims/security/entries"
	// Without a permit: refused, for the admin as for the developer.
	for _, who := range []string{bob, carol} {
		if code, m := checkin(t, a, who, []map[string]any{upload(t, a, who, ldap, 0, `{"v":0}`)}, ""); code != 403 && code != 404 {
			t.Fatalf("%s changes %s without a permit: %d %v", who, ldap, code, m)
		}
		if resp, m := a.Call(t, who, "PUT", entries, grant("security/ldap", "team:finance", "modify"), nil); resp.StatusCode != 403 {
			t.Fatalf("%s grants on security/ldap without a permit: %d %v", who, resp.StatusCode, m)
		}
	}
	// The owner permits bob (full) on security/ldap and team finance
	// (modify) on security/authorization.
	a.Must(t, dave, "PUT", entries, grant("security/ldap", bobU, "full"), 200)
	a.Must(t, dave, "PUT", entries, grant("security/authorization", "team:finance", "modify"), 200)
	// bob (in finance) changes both elements; with full on ldap he may
	// permit someone else there, not on authorization (modify only).
	if code, m := checkin(t, a, bob, []map[string]any{upload(t, a, bob, ldap, 0, `{"v":1}`), upload(t, a, bob, authz, 0, `{"v":1}`)}, ""); code != 201 {
		t.Fatalf("bob changes permitted security elements: %d %v", code, m)
	}
	a.Must(t, bob, "PUT", entries, grant("security/ldap", carolU, "modify"), 200)
	if resp, m := a.Call(t, bob, "PUT", entries, grant("security/authorization", carolU, "modify"), nil); resp.StatusCode != 403 {
		t.Fatalf("bob grants where he only has modify: %d %v", resp.StatusCode, m)
	}
	// carol, permitted by bob, edits ldap; not authorization (no permit,
	// and her admin default does not reach security/*).
	if code, m := checkin(t, a, carol, []map[string]any{upload(t, a, carol, ldap, 1, `{"v":2}`)}, ""); code != 201 {
		t.Fatalf("carol with bob's permit: %d %v", code, m)
	}
	if code, m := checkin(t, a, carol, []map[string]any{upload(t, a, carol, authz, 1, `{"v":2}`)}, ""); code != 403 && code != 404 {
		t.Fatalf("carol on authorization without a permit: %d %v", code, m)
	}
	// The permit is withdrawn: bob can no longer change ldap.
	a.Must(t, dave, "DELETE", entries+"?path=security/ldap&principal="+bobU, nil, 204)
	if code, m := checkin(t, a, bob, []map[string]any{upload(t, a, bob, ldap, 2, `{"v":3}`)}, ""); code != 403 && code != 404 {
		t.Fatalf("bob after the permit is withdrawn: %d %v", code, m)
	}
}

// TestEffectiveTakesAnEmail (issue 19, finding 9): security/effective?user=
// and security/check's "user" take an e-mail as well as an id; a name that
// is neither is 400 saying what is expected, and someone not in the
// project is 422, not 404 "project not found" (the project exists: the
// caller is in it). Before the fix an e-mail answered 404 "project not found".
func TestEffectiveTakesAnEmail(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	base := "/api/projects/claims/security/effective?user="
	m := a.Must(t, dave, "GET", base+"Bob@Example.com", nil, 200)
	if m["user"] != platform.UserID(bob) || m["role"] != "developer" {
		t.Fatalf("effective for bob's e-mail: %v", m)
	}
	a.Must(t, dave, "GET", base+platform.UserID(bob), nil, 200)
	a.Must(t, dave, "GET", base+"user:"+platform.UserID(bob), nil, 200)
	if resp, m := a.Call(t, dave, "GET", base+"bob", nil, nil); resp.StatusCode != 400 || !strings.Contains(m["detail"].(string), "user id (u-…) or an e-mail address") {
		t.Fatalf("a bare name: %d %v", resp.StatusCode, m)
	}
	if resp, m := a.Call(t, dave, "GET", base+"olga@example.com", nil, nil); resp.StatusCode != 422 || !strings.Contains(m["detail"].(string), "not in the project") {
		t.Fatalf("someone outside the project: %d %v", resp.StatusCode, m)
	}
	r := check(a, t, dave, bob, "applications/claims", "modify")
	if r["allowed"] != true {
		t.Fatalf("check for bob's e-mail: %v", r)
	}
}
