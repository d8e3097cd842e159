package platform_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

func caller(email string) platform.Caller {
	return platform.Caller{PrincipalID: "p-" + email, UserID: platform.UserID(email), Email: email, Name: email}
}

// newService is a platform service on its own tables in the shared Azurite.
func newService(t *testing.T) (*platform.Service, *azure.Account) {
	t.Helper()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(),
		NamePrefix: fmt.Sprintf("pf%d", time.Now().UnixNano()%1e9)})
	if err != nil {
		t.Fatal(err)
	}
	layout := store.Layout{Tables: append(append([]string(nil), platform.Layout.Tables...), audit.Layout.Tables...)}
	if err := acct.Bootstrap(context.Background(), layout); err != nil {
		t.Fatal(err)
	}
	s := platform.New(platform.OpenTables(acct), audit.New(acct.Table("audit"), nil), nil)
	s.CanCreateSubscriptions = func(c platform.Caller) bool { return c.Email == "alice@example.com" }
	return s, acct
}

// join invites email into sub (as alice) and accepts as that person.
func join(t *testing.T, s *platform.Service, sub, email string, owner bool) platform.Caller {
	t.Helper()
	ctx := context.Background()
	inv, err := s.Invite(ctx, caller("alice@example.com"), sub, email, "", owner)
	if err != nil {
		t.Fatalf("invite %s: %v", email, err)
	}
	if _, err := s.AcceptInvitation(ctx, caller(email), inv.Token); err != nil {
		t.Fatalf("accept %s: %v", email, err)
	}
	return caller(email)
}

func wantKind(t *testing.T, what string, err error, kind fault.Kind) {
	t.Helper()
	if !fault.Is(err, kind) {
		t.Fatalf("%s: %v, want %v", what, err, kind)
	}
}

// TestPlatformRules checks the package's invariants (doc.go) against the
// service itself, not only through HTTP: another subscription's or a
// non-member's lookups are NotFound, never Forbidden; a Subscription Owner
// owns every project; a developer cannot change membership; a project
// keeps an owner; a disabled user is refused at Admit; updates are
// conditional. (The address binding is left to the sign-in work on Admit.)
func TestPlatformRules(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	alice := caller("alice@example.com")
	if _, err := s.CreateSubscription(ctx, alice, "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateSubscription(ctx, caller("mallory@example.com"), "evil", "")
	wantKind(t, "a subscription created by someone not allowed", err, fault.Forbidden)
	if _, err := s.CreateProject(ctx, alice, "acme", "claims", "Claims", ""); err != nil {
		t.Fatal(err)
	}
	bob := join(t, s, "acme", "bob@example.com", false)
	carol := join(t, s, "acme", "carol@example.com", false)
	dave := join(t, s, "acme", "dave@example.com", true)
	eve := caller("eve@example.com") // of no subscription
	if _, _, err := s.PutMember(ctx, alice, "claims", bob.UserID, platform.RoleDeveloper, ""); err != nil {
		t.Fatal(err)
	}

	t.Run("outsiders get NotFound, never Forbidden", func(t *testing.T) {
		_, err := s.GetProject(ctx, eve, "claims")
		wantKind(t, "another subscription's project", err, fault.NotFound)
		_, err = s.GetSubscription(ctx, eve, "acme")
		wantKind(t, "another's subscription", err, fault.NotFound)
		_, err = s.GetProject(ctx, carol, "claims")
		wantKind(t, "a non-member's project", err, fault.NotFound)
		_, err = s.ListMembers(ctx, carol, "claims")
		wantKind(t, "a non-member's member list", err, fault.NotFound)
		if _, err := s.GetProject(ctx, bob, "claims"); err != nil {
			t.Fatalf("a member reads the project: %v", err)
		}
	})
	t.Run("a subscription owner owns every project", func(t *testing.T) {
		if r, err := s.RoleIn(ctx, dave, "claims"); err != nil || r != platform.RoleOwner {
			t.Fatalf("dave (subscription owner, never a member): %q %v", r, err)
		}
		if r, err := s.RoleIn(ctx, bob, "claims"); err != nil || r != platform.RoleDeveloper {
			t.Fatalf("bob: %q %v", r, err)
		}
	})
	t.Run("a developer cannot change membership", func(t *testing.T) {
		_, _, err := s.PutMember(ctx, bob, "claims", bob.UserID, platform.RoleOwner, "")
		wantKind(t, "bob making himself owner", err, fault.Forbidden)
		wantKind(t, "bob removing alice", s.DeleteMember(ctx, bob, "claims", alice.UserID, ""), fault.Forbidden)
	})
	t.Run("a project keeps an owner", func(t *testing.T) {
		// Subscription owners own every project without a member row; the
		// rule is about the members: carol is the only member owner.
		if _, _, err := s.PutMember(ctx, alice, "claims", carol.UserID, platform.RoleOwner, ""); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.PutMember(ctx, alice, "claims", carol.UserID, platform.RoleDeveloper, "")
		wantKind(t, "demoting the last owner", err, fault.Conflict)
		wantKind(t, "removing the last owner", s.DeleteMember(ctx, alice, "claims", carol.UserID, ""), fault.Conflict)
		// With a second owner, the first may go.
		if _, _, err := s.PutMember(ctx, alice, "claims", bob.UserID, platform.RoleOwner, ""); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.PutMember(ctx, alice, "claims", carol.UserID, platform.RoleAdmin, ""); err != nil {
			t.Fatalf("demoting one of two owners: %v", err)
		}
		wantKind(t, "then demoting the other", func() error {
			_, _, err := s.PutMember(ctx, alice, "claims", bob.UserID, platform.RoleDeveloper, "")
			return err
		}(), fault.Conflict)
	})
	t.Run("updates are conditional", func(t *testing.T) {
		p, err := s.GetProject(ctx, alice, "claims")
		if err != nil {
			t.Fatal(err)
		}
		name := "Claims 2"
		_, err = s.PatchProject(ctx, alice, "claims", platform.ProjectPatch{Name: &name}, `W/"datetime'2000-01-01T00%3A00%3A00Z'"`)
		wantKind(t, "a stale ETag", err, fault.PreconditionFailed)
		if _, err := s.PatchProject(ctx, alice, "claims", platform.ProjectPatch{Name: &name}, p.ETag); err != nil {
			t.Fatalf("the current ETag: %v", err)
		}
		name = "Claims 3"
		_, err = s.PatchProject(ctx, alice, "claims", platform.ProjectPatch{Name: &name}, p.ETag)
		wantKind(t, "the ETag before the last change", err, fault.PreconditionFailed)
	})
	t.Run("admission", func(t *testing.T) {
		if err := s.Admit(ctx, bob); err != nil {
			t.Fatalf("bob: %v", err)
		}
		yes := true
		if _, err := s.PatchUser(ctx, alice, "acme", bob.UserID, platform.UserPatch{Disabled: &yes}, ""); err != nil {
			t.Fatal(err)
		}
		wantKind(t, "bob disabled", s.Admit(ctx, bob), fault.Unauthenticated)
		if err := s.Admit(ctx, carol); err != nil {
			t.Fatalf("carol after bob was disabled: %v", err)
		}
	})
}
