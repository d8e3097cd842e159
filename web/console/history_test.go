package console_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/studio-collab/collab/web/console/consoletest"
)

// TestCommitDiffAndRevert (issue 17): an owner opens a commit, sees its
// diff (JSON keys, text lines), is offered Revert with a confirmation that
// names what it will change, reverts, and lands on the new commit; an
// object's page shows what a version changed; a developer denied one of the
// commit's paths is not offered Revert.
func TestCommitDiffAndRevert(t *testing.T) {
	a := demo(t, nil)
	const (
		form  = "applications/claims/processes/intake.json"
		rule  = "rules/functions/total.txt"
		added = "entities/master/customer.json"
	)
	push(t, a, alice, "first", map[string]put{form: {content: []byte(`{"name":"Intake","sla":5}`)}, rule: {content: []byte("a\nb\nc\n")}})
	second := push(t, a, alice, "rename and total", map[string]put{
		form: {content: []byte(`{"name":"Intake form","sla":5,"owner":"ann"}`), base: 1}, rule: {content: []byte("a\nB\nc\n"), base: 1},
		added: {content: []byte(`{"fields":["id"]}`)},
	})
	a.Must(t, alice, "PUT", "/api/projects/claims/security/entries", map[string]any{"path": "applications/claims", "principal": "user:" + userID(bob), "level": "deny"}, 200)

	b := consoletest.New(t, a.URL)
	al := b.Laptop("alice")
	al.SignIn(alice)
	al.Go("/console/projects/claims/catalog/commits/2")
	al.WaitText("Keys changed in " + form)
	al.WaitText("/owner")
	al.WaitText("-b")
	al.WaitText("+B")
	// The Revert offer comes after its own security check: wait for it.
	al.WaitText("Revert makes a new commit")
	text := al.Text()
	if !strings.Contains(text, "Revert makes a new commit that will put back v1 of "+form) ||
		!strings.Contains(text, "delete "+added) || !strings.Contains(text, "put back v1 of "+rule) {
		t.Fatalf("the revert's explanation:\n%s", text)
	}
	al.Screenshot("commit-diff")
	al.Confirm("Revert commit #2")
	al.WaitAnnounced("Reverted commit #2 as commit #3.")
	al.WaitText("Revert commit 2: rename and total")
	al.WaitText("Commit #3")
	if s := al.Text(); !strings.Contains(s, "/owner") || !strings.Contains(s, "+b") {
		t.Fatalf("the new commit's diff:\n%s", s)
	}
	o := a.Must(t, alice, "GET", "/api/projects/claims/catalog/object?path="+form, nil, 200)
	if o["version"] != 3.0 {
		t.Fatalf("after the revert: %v", o)
	}
	a.Must(t, alice, "GET", "/api/projects/claims/catalog/object?path="+added, nil, 404)

	// An object's page shows what its version changed.
	al.Go("/console/projects/claims/catalog/object?path=" + form)
	al.WaitText("Changes in version 3")
	al.WaitText("From version 2 to 3:")
	al.WaitText("/owner")
	// Restore version 2 from the history: a new commit.
	al.Confirm("Restore version 2")
	al.WaitAnnounced("Restored version 2 of " + form + " as commit #4.")
	al.WaitText("Restore " + form + " to version 2")
	if o := a.Must(t, alice, "GET", "/api/projects/claims/catalog/object?path="+form, nil, 200); o["version"] != 4.0 {
		t.Fatalf("after the restore: %v", o)
	}

	// Bob is denied applications/claims: commit 2 shows him only what he
	// may see, and no Revert.
	bo := b.Laptop("bob")
	bo.SignIn(bob)
	bo.Go(fmt.Sprintf("/console/projects/claims/catalog/commits/%d", second))
	bo.WaitText("+B")
	// Commit 2 has a change bob may not see, so the page decides "no Revert"
	// without a call of its own: what is drawn with the diff is final.
	if s := bo.Text(); strings.Contains(s, form) || strings.Contains(s, "Revert commit") {
		t.Fatalf("bob's view of commit 2:\n%s", s)
	}
	if p := b.TakeProblems(); len(p) > 0 {
		t.Fatalf("browser problems: %v", p)
	}
}
