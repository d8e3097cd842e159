package security

import (
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/fault"
)

var (
	bob   = Subject{UserID: "bob", Teams: []string{"finance", "claims"}, Role: RoleDeveloper}
	carol = Subject{UserID: "carol", Teams: []string{"finance"}, Role: RoleAdmin}
	dave  = Subject{UserID: "dave", Role: RoleDeveloper}
	alice = Subject{UserID: "alice", Role: RoleOwner}
	erin  = Subject{UserID: "erin", Teams: []string{"auditors"}, Role: RoleDeveloper}
)

func e(path string, p Principal, l Level) Entry { return Entry{Path: path, Principal: p, Level: l} }

// TestStudioSecurityRules: one or more rows per statement of DESIGN §4.3;
// each name quotes or paraphrases the sentence it checks.
func TestStudioSecurityRules(t *testing.T) {
	type row struct {
		name      string
		entries   []Entry
		settings  Settings
		who       Subject
		path      string
		action    Action
		allowed   bool
		level     Level
		decidedBy string // "owner", "default:<role>", or "<principal>@<path>"
	}
	rows := []row{
		// 1. Owners always full; entries naming them have no effect.
		{"owners: full, always (no entries)", nil, Settings{}, alice, "applications/claims", Manage, true, Full, "owner"},
		{"owners: a deny naming the owner has no effect", []Entry{e("applications/claims", User("alice"), Deny)}, Settings{}, alice, "applications/claims", Edit, true, Full, "owner"},
		{"owners: a deny on the main node naming the owner has no effect", []Entry{e("applications", User("alice"), Deny)}, Settings{}, alice, "applications/claims/processes/p1", View, true, Full, "owner"},
		{"owners: full on security elements without any grant", nil, Settings{}, alice, "security/ldap", Manage, true, Full, "owner"},
		{"owners: developer default lowered to deny does not touch owners", nil, Settings{DeveloperDefault: Deny}, alice, "entities/master/customer", Edit, true, Full, "owner"},
		// 2. Nearest node decides; user entry beats team entries on that node; among teams deny wins, else highest.
		{"user entry beats a team deny on the same node", []Entry{e("applications/claims", User("bob"), Modify), e("applications/claims", Team("finance"), Deny)}, Settings{}, bob, "applications/claims", Edit, true, Modify, "user:bob@applications/claims"},
		{"user entry beats a team full on the same node (even if lower)", []Entry{e("applications/claims", User("bob"), Deny), e("applications/claims", Team("finance"), Full)}, Settings{}, bob, "applications/claims", View, false, Deny, "user:bob@applications/claims"},
		{"among team entries deny wins", []Entry{e("applications/claims", Team("finance"), Full), e("applications/claims", Team("claims"), Deny)}, Settings{}, bob, "applications/claims", View, false, Deny, "team:claims@applications/claims"},
		{"among team entries, without deny, the highest wins", []Entry{e("applications/claims", Team("finance"), Modify), e("applications/claims", Team("claims"), Full)}, Settings{}, bob, "applications/claims", Manage, true, Full, "team:claims@applications/claims"},
		{"a team entry of a team the user is not in does not count", []Entry{e("applications/claims", Team("auditors"), Deny)}, Settings{}, bob, "applications/claims", Edit, true, Modify, "default:developer"},
		{"another user's entry does not count", []Entry{e("applications/claims", User("carol"), Deny)}, Settings{}, bob, "applications/claims", Edit, true, Modify, "default:developer"},
		{"nearest wins: a child's modify overrides the parent's deny", []Entry{e("applications/claims", User("bob"), Deny), e("applications/claims/processes/intake", User("bob"), Modify)}, Settings{}, bob, "applications/claims/processes/intake", Edit, true, Modify, "user:bob@applications/claims/processes/intake"},
		{"nearest wins: a child's deny overrides the parent's full", []Entry{e("applications/claims", User("bob"), Full), e("applications/claims/processes/intake", User("bob"), Deny)}, Settings{}, bob, "applications/claims/processes/intake", View, false, Deny, "user:bob@applications/claims/processes/intake"},
		{"nearest wins: the parent still rules its other children", []Entry{e("applications/claims", User("bob"), Deny), e("applications/claims/processes/intake", User("bob"), Modify)}, Settings{}, bob, "applications/claims/processes/payout", View, false, Deny, "user:bob@applications/claims"},
		{"nearest wins: a team entry on the child beats a user entry on the parent", []Entry{e("applications/claims", User("bob"), Full), e("applications/claims/processes/intake", Team("finance"), Deny)}, Settings{}, bob, "applications/claims/processes/intake", Edit, false, Deny, "team:finance@applications/claims/processes/intake"},
		{"the deciding node is the first with an entry for the user or a team: an entry for others below is skipped", []Entry{e("applications/claims", User("bob"), Deny), e("applications/claims/processes/intake", User("carol"), Full)}, Settings{}, bob, "applications/claims/processes/intake", View, false, Deny, "user:bob@applications/claims"},
		{"inheritance: elements under an object inherit from it", []Entry{e("applications/claims/processes/intake", User("bob"), Deny)}, Settings{}, bob, "applications/claims/processes/intake/forms/claimform", View, false, Deny, "user:bob@applications/claims/processes/intake"},
		{"inheritance: process versions inherit from their process", []Entry{e("applications/claims/processes/intake", User("bob"), Full)}, Settings{}, bob, "applications/claims/processes/intake/versions/3", Manage, true, Full, "user:bob@applications/claims/processes/intake"},
		{"inheritance: new processes inherit their application", []Entry{e("applications/claims", Team("finance"), Deny)}, Settings{}, bob, "applications/claims/processes/brand-new", Edit, false, Deny, "team:finance@applications/claims"},
		{"inheritance: a deny on the applications main node covers every application", []Entry{e("applications", User("bob"), Deny)}, Settings{}, bob, "applications/anything/processes/p", View, false, Deny, "user:bob@applications"},
		{"inheritance: a deny on the entities main node makes every entity read-only", []Entry{e("entities", User("bob"), Deny)}, Settings{}, bob, "entities/master/customer", Edit, false, Deny, "user:bob@entities"},
		{"inheritance: an entity group entry covers its entities", []Entry{e("entities/parameter", Team("finance"), Deny)}, Settings{}, bob, "entities/parameter/rates/attributes/pct", Edit, false, Deny, "team:finance@entities/parameter"},
		{"inheritance: a rule group entry covers global functions", []Entry{e("rules/functions", User("bob"), Full)}, Settings{}, bob, "rules/functions/round", Manage, true, Full, "user:bob@rules/functions"},
		{"inheritance: nothing leaks sideways to a sibling application", []Entry{e("applications/claims", User("bob"), Deny)}, Settings{}, bob, "applications/claimsx", Edit, true, Modify, "default:developer"},
		// 3. No entry: role default.
		{"default: admin -> full", nil, Settings{}, carol, "applications/claims", Manage, true, Full, "default:admin"},
		{"default: developer -> modify", nil, Settings{}, bob, "applications/claims", Edit, true, Modify, "default:developer"},
		{"default: developer cannot manage", nil, Settings{}, bob, "applications/claims", Manage, false, Modify, "default:developer"},
		{"default: a per-project setting lowers the developer default to deny", nil, Settings{DeveloperDefault: Deny}, bob, "applications/claims", View, false, Deny, "default:developer"},
		{"default: lowered to deny, developers still view entities read-only", nil, Settings{DeveloperDefault: Deny}, bob, "entities/master/customer", View, true, Deny, "default:developer"},
		{"default: lowered to deny, developers cannot edit rules", nil, Settings{DeveloperDefault: Deny}, bob, "rules/expressions/limit", Edit, false, Deny, "default:developer"},
		{"default: lowering the developer default does not lower admins", nil, Settings{DeveloperDefault: Deny}, carol, "applications/claims", Edit, true, Full, "default:admin"},
		{"default: an explicit modify lifts a developer above a lowered default", []Entry{e("applications/claims", User("bob"), Modify)}, Settings{DeveloperDefault: Deny}, bob, "applications/claims/processes/p", Edit, true, Modify, "user:bob@applications/claims"},
		{"default: an entry can lower an admin", []Entry{e("applications/claims", User("carol"), Deny)}, Settings{}, carol, "applications/claims", View, false, Deny, "user:carol@applications/claims"},
		// The action table.
		{"deny on the applications tree: no view", []Entry{e("applications/claims", User("bob"), Deny)}, Settings{}, bob, "applications/claims", View, false, Deny, "user:bob@applications/claims"},
		{"deny on the applications tree: no modify", []Entry{e("applications/claims", User("bob"), Deny)}, Settings{}, bob, "applications/claims", Edit, false, Deny, "user:bob@applications/claims"},
		{"deny on entities: still visible (read-only, usable in forms)", []Entry{e("entities/master/customer", User("bob"), Deny)}, Settings{}, bob, "entities/master/customer", View, true, Deny, "user:bob@entities/master/customer"},
		{"deny on entities: not writable", []Entry{e("entities/master/customer", User("bob"), Deny)}, Settings{}, bob, "entities/master/customer", Edit, false, Deny, "user:bob@entities/master/customer"},
		{"deny on rules: still visible (usable in expressions)", []Entry{e("rules/application/approve", User("bob"), Deny)}, Settings{}, bob, "rules/application/approve", View, true, Deny, "user:bob@rules/application/approve"},
		{"deny on rules: not writable", []Entry{e("rules/application/approve", User("bob"), Deny)}, Settings{}, bob, "rules/application/approve", Edit, false, Deny, "user:bob@rules/application/approve"},
		{"deny on global expressions: no manage", []Entry{e("rules/expressions", Team("finance"), Deny)}, Settings{}, bob, "rules/expressions/x", Manage, false, Deny, "team:finance@rules/expressions"},
		{"modify: view", []Entry{e("applications/claims", User("dave"), Modify)}, Settings{}, dave, "applications/claims", View, true, Modify, "user:dave@applications/claims"},
		{"modify: modify (create children)", []Entry{e("applications/claims", User("dave"), Modify)}, Settings{}, dave, "applications/claims/processes/new", Edit, true, Modify, "user:dave@applications/claims"},
		{"modify: no manage", []Entry{e("applications/claims", User("dave"), Modify)}, Settings{}, dave, "applications/claims", Manage, false, Modify, "user:dave@applications/claims"},
		{"full: view", []Entry{e("applications/claims", User("dave"), Full)}, Settings{}, dave, "applications/claims", View, true, Full, "user:dave@applications/claims"},
		{"full: modify", []Entry{e("applications/claims", User("dave"), Full)}, Settings{}, dave, "applications/claims", Edit, true, Full, "user:dave@applications/claims"},
		{"full: manage the object and its subtree", []Entry{e("applications/claims", User("dave"), Full)}, Settings{}, dave, "applications/claims/processes/p/versions/1", Manage, true, Full, "user:dave@applications/claims"},
		// Security elements.
		{"security/*: non-owners have no default, even admins", nil, Settings{}, carol, "security/authentication", View, false, Deny, "default:admin"},
		{"security/*: developers neither", nil, Settings{}, bob, "security/ldap", Edit, false, Deny, "default:developer"},
		{"security/*: an owner's full grant lets a developer manage that element", []Entry{e("security/ldap", User("bob"), Full)}, Settings{}, bob, "security/ldap", Manage, true, Full, "user:bob@security/ldap"},
		{"security/*: a grant on one element does not reach another", []Entry{e("security/ldap", User("bob"), Full)}, Settings{}, bob, "security/authorization", View, false, Deny, "default:developer"},
		{"security/*: a modify grant lets a team view and edit, not manage", []Entry{e("security/authorization", Team("finance"), Modify)}, Settings{}, carol, "security/authorization", Manage, false, Modify, "team:finance@security/authorization"},
		{"security/*: an owner needs no grant to view a security element", nil, Settings{}, alice, "security/authorization", View, true, Full, "owner"},
		{"security/*: a full grant on an element reaches its sub-elements", []Entry{e("security/ldap", User("bob"), Full)}, Settings{}, bob, "security/ldap/servers/primary", Manage, true, Full, "user:bob@security/ldap"},
		// More of rule 1: owners are never decided by an entry.
		{"owners: a team deny naming the owner's team has no effect", []Entry{e("rules", Team("finance"), Deny)}, Settings{}, Subject{UserID: "alice", Teams: []string{"finance"}, Role: RoleOwner}, "rules/functions/round", Edit, true, Full, "owner"},
		// More of rule 2.
		{"a user's own modify beats a team deny on the same node, below a parent full", []Entry{e("entities/master", User("bob"), Full), e("entities/master/customer", User("bob"), Modify), e("entities/master/customer", Team("claims"), Deny)}, Settings{}, bob, "entities/master/customer", Manage, false, Modify, "user:bob@entities/master/customer"},
		{"team deny wins over a team full on the same node even for admins", []Entry{e("applications/claims", Team("finance"), Full), e("applications/claims", Team("finance2"), Deny)}, Settings{}, Subject{UserID: "carol", Teams: []string{"finance", "finance2"}, Role: RoleAdmin}, "applications/claims", View, false, Deny, "team:finance2@applications/claims"},
		{"nearest wins over three levels: the deepest entry decides", []Entry{e("applications", Team("finance"), Deny), e("applications/claims", User("bob"), Modify), e("applications/claims/processes/intake/versions/2", Team("claims"), Full)}, Settings{}, bob, "applications/claims/processes/intake/versions/2/forms/f", Manage, true, Full, "team:claims@applications/claims/processes/intake/versions/2"},
		{"a modify on a child lifts bob above a team deny on the main node", []Entry{e("applications", Team("finance"), Deny), e("applications/claims", User("bob"), Modify)}, Settings{}, bob, "applications/claims/processes/intake", Edit, true, Modify, "user:bob@applications/claims"},
		{"an entry on an entity group decides over the developer default lowered to deny", []Entry{e("entities/master", Team("finance"), Modify)}, Settings{DeveloperDefault: Deny}, bob, "entities/master/customer", Edit, true, Modify, "team:finance@entities/master"},
		// More of the action table.
		{"deny on a rule group: its global expressions stay visible", []Entry{e("rules/expressions", User("bob"), Deny)}, Settings{}, bob, "rules/expressions/limit", View, true, Deny, "user:bob@rules/expressions"},
		{"deny on a process version: hidden like the rest of the applications tree", []Entry{e("applications/claims/processes/intake/versions/1", User("bob"), Deny)}, Settings{}, bob, "applications/claims/processes/intake/versions/1", View, false, Deny, "user:bob@applications/claims/processes/intake/versions/1"},
		{"deny on an entity's attribute: still visible, not writable", []Entry{e("entities/application/claim/attributes/amount", User("bob"), Deny)}, Settings{}, bob, "entities/application/claim/attributes/amount", Edit, false, Deny, "user:bob@entities/application/claim/attributes/amount"},
		{"modify on a rule: editable, not manageable", []Entry{e("rules/application/approve", User("dave"), Modify)}, Settings{}, dave, "rules/application/approve", Manage, false, Modify, "user:dave@rules/application/approve"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			ix, err := Build(r.entries, r.settings, "v1")
			if err != nil {
				t.Fatal(err)
			}
			ok, d := ix.Check(r.who, r.path, r.action)
			if ok != r.allowed || d.Level != r.level {
				t.Fatalf("allowed=%v level=%v, want %v %v (%s)", ok, d.Level, r.allowed, r.level, d.Explain())
			}
			got := ""
			switch {
			case d.Owner:
				got = "owner"
			case d.Path != "":
				got = string(d.Principal) + "@" + d.Path
			default:
				got = "default:" + string(d.Default)
			}
			if got != r.decidedBy {
				t.Fatalf("decided by %q, want %q", got, r.decidedBy)
			}
		})
	}
	t.Logf("%d rule cases", len(rows))
}

// TestGrantRules: who may set or remove which entries.
func TestGrantRules(t *testing.T) {
	entries := []Entry{
		e("applications/claims", User("dave"), Full),
		e("applications/claims/processes/secret", User("dave"), Deny),
		e("security/ldap", User("erin"), Full),
	}
	ix, err := Build(entries, Settings{}, "v")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		who     Subject
		entry   Entry
		kind    fault.Kind // Other = allowed
		message string
	}{
		{"owners grant anything", alice, e("applications/billing", User("bob"), Full), fault.Other, ""},
		{"owners grant on security elements", alice, e("security/authentication", Team("finance"), Modify), fault.Other, ""},
		{"owners can deny a main node", alice, e("applications", Team("finance"), Deny), fault.Other, ""},
		{"main nodes accept only deny (applications)", alice, e("applications", User("bob"), Full), fault.Invalid, "only deny"},
		{"main nodes accept only deny (entities)", alice, e("entities", User("bob"), Modify), fault.Invalid, "only deny"},
		{"main nodes accept only deny (rules)", carol, e("rules", Team("finance"), Full), fault.Invalid, "only deny"},
		{"a non-owner with full grants on that node", dave, e("applications/claims", User("bob"), Modify), fault.Other, ""},
		{"a non-owner with full grants below that node", dave, e("applications/claims/processes/intake", User("bob"), Deny), fault.Other, ""},
		{"a non-owner with full never grants above", dave, e("applications", User("bob"), Deny), fault.Forbidden, "Full Control on applications"},
		{"a non-owner with full never grants on a sibling", dave, e("applications/billing", User("bob"), Modify), fault.Forbidden, "Full Control"},
		{"a non-owner cannot grant where a nearer deny removed their full", dave, e("applications/claims/processes/secret/forms/f", User("bob"), Modify), fault.Forbidden, "Full Control"},
		{"developers (modify by default) cannot grant", bob, e("applications/claims", User("dave"), Deny), fault.Forbidden, "you have modify"},
		{"admins (full by default) can grant", carol, e("entities/master/customer", User("bob"), Deny), fault.Other, ""},
		{"only owners on security/*: admins' default does not reach it", carol, e("security/ldap", User("bob"), Modify), fault.Forbidden, "security elements"},
		{"security/*: a holder of full on the element may grant on it", erin, e("security/ldap", User("bob"), Modify), fault.Other, ""},
		{"an invalid path is refused", alice, e("applications//x", User("bob"), Deny), fault.Invalid, "segment"},
		{"an unknown area is refused", alice, e("widgets/x", User("bob"), Deny), fault.Invalid, "starts with"},
		{"an unknown entity group is refused", alice, e("entities/other/x", User("bob"), Deny), fault.Invalid, "groups"},
		{"a bad principal is refused", alice, e("applications/x", Principal("group:x"), Deny), fault.Invalid, "principal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ix.CanGrant(c.who, c.entry)
			if c.kind == fault.Other {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if fault.KindOf(err) != c.kind || !strings.Contains(fault.DetailOf(err), c.message) {
				t.Fatalf("err %v, want %v with %q", err, c.kind, c.message)
			}
		})
	}
	if err := ix.CanRevoke(dave, "applications/claims/processes/intake"); err != nil {
		t.Fatalf("revoke below one's full: %v", err)
	}
	if err := ix.CanRevoke(bob, "applications/claims"); !fault.Is(err, fault.Forbidden) {
		t.Fatalf("developer revoke: %v", err)
	}
}

func TestPathLimits(t *testing.T) {
	long := "applications/" + strings.Repeat("a", 129)
	deep := "applications" + strings.Repeat("/x", 16)
	cases := []struct {
		path string
		ok   bool
	}{
		{"applications", true}, {"applications/claims/processes/p/versions/1.0-b", true}, {"entities/master/customer", true},
		{"rules/functions/round", true}, {"security/ldap", true},
		{"", false}, {"/applications", false}, {"applications/", false}, {"applications/.hidden", false},
		{long, false}, {deep, false}, {"applications/a b", false}, {"applications/ü", false},
		{"rules/other/x", false}, {"Applications/x", false},
		{"applications/" + strings.Repeat("a", 128), true}, {"applications" + strings.Repeat("/x", 15), true},
	}
	for _, c := range cases {
		if err := ValidatePath(c.path); (err == nil) != c.ok {
			t.Errorf("ValidatePath(%q) = %v", c.path, err)
		}
	}
	if _, err := Build([]Entry{e("applications", User("x"), Modify)}, Settings{}, ""); !fault.Is(err, fault.Invalid) {
		t.Fatal("Build accepted modify on a main node")
	}
	if _, err := Build(nil, Settings{DeveloperDefault: Full}, ""); !fault.Is(err, fault.Invalid) {
		t.Fatal("Build accepted a developer default of full")
	}
}
