package console_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/studio-collab/collab/web/console/consoletest"
)

// xss is the payload every user-supplied text carries in these tests: shown
// as text it is harmless; parsed as markup it would set window.__xss.
const xss = `<img src=x onerror=window.__xss=1>`

// assertInert checks that the payload is visible as text and did nothing:
// no image element came out of it and window.__xss is unset. It waits for
// the text first: the part of the screen that shows it may still be loading
// when the caller's own wait (a heading, another part) is met.
func assertInert(t *testing.T, tab *consoletest.Tab, where string) {
	t.Helper()
	tab.WaitJS(fmt.Sprintf(`document.body.innerText.includes(%q)`, xss))
	var verdict string
	tab.Eval(fmt.Sprintf(`(() => {
  if (window.__xss !== undefined) return 'window.__xss was set';
  if (document.querySelector('main img, nav img')) return 'an <img> element was created';
  if (!document.body.innerText.includes(%q)) return 'the text is not shown';
  return 'ok';
})()`, xss), &verdict)
	if verdict != "ok" {
		t.Fatalf("%s: %s\n%s", where, verdict, tab.Text())
	}
}

// TestCustomerPortalInviteAndDisable: alice invites dave (his name is an
// XSS attempt), dave accepts through the link the console shows, alice
// sees projects and roles, pages through the users, disables dave, and
// dave's open console is signed out at his next request.
func TestCustomerPortalInviteAndDisable(t *testing.T) {
	a := demo(t, nil)
	for i := range 21 { // more than one page of 20
		a.Must(t, alice, "POST", "/api/subscriptions/demo/users", map[string]any{"email": fmt.Sprintf("extra%02d@example.com", i)}, 201)
	}
	b := consoletest.New(t, a.URL)
	al := b.Laptop("alice")
	al.SignIn(alice)
	al.Nav("Users")
	al.WaitText("Users of this subscription")
	al.WaitText("Claims — developer") // bob's projects and roles, read project by project
	al.Fill("Invite someone", "E-mail", "dave@example.com")
	al.Fill("Invite someone", "Name (optional)", xss)
	al.ClickIn("Invite someone", "Invite")
	al.WaitText("Send them this link")
	al.WaitJS(`!!document.querySelector('input[aria-label="Invitation link for dave@example.com"]')`)
	var link string
	al.Eval(`document.querySelector('input[aria-label="Invitation link for dave@example.com"]').value`, &link)
	if !strings.HasPrefix(link, a.URL+"/console/invitations/") {
		t.Fatalf("invitation link %q", link)
	}
	al.Screenshot("users")

	// A second invitation of an active user is refused next to the field.
	al.Fill("Invite someone", "E-mail", bob)
	al.ClickIn("Invite someone", "Invite")
	al.WaitText("already a user of this subscription")
	if got := al.FieldError("Invite someone", "E-mail"); !strings.Contains(got, "bob@example.com is already a user") {
		t.Fatalf("field error %q", got)
	}
	al.Screenshot("users-invite-problem")

	dave := b.Laptop("dave")
	dave.SignIn("dave@example.com")
	dave.Go(strings.TrimPrefix(link, a.URL))
	dave.Click("Accept the invitation")
	dave.WaitText("you are now a user of subscription demo")
	dave.Click("Go to the overview")
	dave.WaitText("Demo subscription")

	// 25 users by e-mail, 20 a page: page two holds extra16 to extra20, and
	// Previous comes back to the first, where dave (active, named with the
	// payload) is.
	al.Go("/console/subscriptions/demo/users")
	al.WaitText("Page 1")
	al.Click("Next page")
	al.WaitText("Page 2")
	al.WaitText("extra20@example.com")
	if txt := al.Text(); strings.Contains(txt, "extra15@example.com") || strings.Contains(txt, "dave@example.com") {
		t.Fatalf("page 2 repeats page 1:\n%s", txt)
	}
	al.Screenshot("users-page2")
	al.Click("Previous page")
	al.WaitText("Page 1")
	al.WaitText("dave@example.com")
	assertInert(t, al, "users")
	al.Click("Disable dave@example.com")
	al.WaitText("disabled")
	al.Click("Enable dave@example.com") // the button turned into Enable
	al.WaitJS(`!!document.querySelector('button[aria-label="Disable dave@example.com"]')`)
	al.Click("Disable dave@example.com")
	al.WaitJS(`!!document.querySelector('button[aria-label="Enable dave@example.com"]')`)
	al.Screenshot("users-disabled")

	// dave's next request is refused: his console signs him out and says why.
	dave.Nav("Projects")
	dave.WaitText("You were signed out: this user is disabled")
	dave.Screenshot("signed-out-disabled")
}

// TestSecurityGrantRevokeAndTheDevelopersView: alice denies bob on an
// application; bob's own view of his access changes from Modify to Deny
// with the entry that decided, then back after the revoke.
func TestSecurityGrantRevokeAndTheDevelopersView(t *testing.T) {
	a := demo(t, nil)
	b := consoletest.New(t, a.URL)
	const at = "/console/projects/claims/security?path=applications%2Fclaims"
	bo := b.Laptop("bob")
	bo.SignIn(bob)
	bo.Go(at)
	bo.WaitText("No entry on the path: the developer default applies.")
	if txt := bo.Text(); !strings.Contains(txt, "Your level on applications/claims: modify") || !strings.Contains(txt, "You cannot manage security here") {
		t.Fatalf("bob before:\n%s", txt)
	}
	bo.Screenshot("security-developer-before")

	al := b.Laptop("alice")
	al.SignIn(alice)
	al.Go(at)
	al.WaitText("Grant access")
	// A main node takes only Deny: the API's problem shows by the Level field.
	al.Choose("Grant", "Path", "applications")
	al.Choose("Grant", "Who", "bob@example.com (developer)")
	al.Choose("Grant", "Level", "full")
	al.ClickIn("Grant", "Grant")
	al.WaitText("only deny can be set on it")
	if got := al.FieldError("Grant", "Level"); !strings.Contains(got, "applications is a main node: only deny can be set on it") {
		t.Fatalf("level error %q", got)
	}
	al.Choose("Grant", "Path", "applications/claims")
	al.Choose("Grant", "Level", "deny")
	al.ClickIn("Grant", "Grant")
	al.WaitText("Entries on applications/claims and below")
	al.WaitJS(`!!document.querySelector('button[aria-label="Revoke deny of bob@example.com on applications/claims"]')`)
	// The explanation of someone else's effective level (owners and admins).
	al.Choose("Check someone", "Member", "bob@example.com")
	al.Choose("Check someone", "Action", "modify")
	al.ClickIn("Check someone", "Check")
	al.WaitText("bob@example.com has deny on applications/claims, the nearest node with an entry for this user: it decides.")
	al.Screenshot("security-owner")

	bo.Click("Check again")
	bo.WaitText("Your level on applications/claims: deny")
	bo.WaitText("bob@example.com has deny on applications/claims")
	bo.Screenshot("security-developer-denied")

	al.Confirm("Revoke deny of bob@example.com on applications/claims")
	al.WaitText("No entry here")
	bo.Click("Check again")
	bo.WaitText("Your level on applications/claims: modify")
}

// TestJobsRunNowAndHistory: carol creates a job (a bad schedule first,
// shown by its field), previews it, runs it now; the run is followed until
// the tick performs it, and its error (the Scheduler's answer, an XSS
// attempt) shows as text in the history.
func TestJobsRunNowAndHistory(t *testing.T) {
	a := demo(t, nil)
	sched := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, xss)
	}))
	defer sched.Close()
	a.Must(t, carol, "PATCH", "/api/projects/claims/environments/development", map[string]any{"schedulerUrl": sched.URL}, 200)

	b := consoletest.New(t, a.URL)
	ca := b.Laptop("carol")
	ca.SignIn(carol)
	ca.Nav("Jobs")
	ca.WaitText("No job in this environment.")
	ca.Fill("New job", "Name", "nightly-close")
	ca.Fill("New job", "Schedule (NCRONTAB)", "* 99 * * *")
	ca.Fill("New job", "Scheduler path", "/jobs/close")
	ca.ClickIn("New job", "Create job")
	ca.WaitText(`bad token "99"`)
	if got := ca.FieldError("New job", "Schedule (NCRONTAB)"); !strings.Contains(got, `hour field: bad token "99"`) {
		t.Fatalf("schedule error %q", got)
	}
	ca.Fill("New job", "Schedule (NCRONTAB)", "0 30 2 * * *")
	ca.Fill("New job", "Time zone (IANA)", "America/Bogota")
	ca.Click("Preview the next runs")
	ca.WaitText("Next runs in America/Bogota:")
	ca.ClickIn("New job", "Create job")
	ca.WaitText("nightly-close")
	ca.Click("Run now nightly-close")
	ca.WaitText("queued; the next scheduler tick")
	ca.Screenshot("jobs-run-queued")
	a.Tick(t)
	ca.WaitText("nightly-close: run failed")
	ca.WaitText("the Scheduler answered 502")
	assertInert(t, ca, "jobs history")
	ca.Screenshot("jobs")

	// bob reads the jobs and the history but cannot run them.
	bo := b.Laptop("bob")
	bo.SignIn(bob)
	bo.Go("/console/projects/claims/jobs?env=development&job=nightly-close")
	bo.WaitText("History of nightly-close")
	bo.WaitText("failed")
	var runButtons int
	bo.Eval(`document.querySelectorAll('button[aria-label^="Run "]').length`, &runButtons)
	if runButtons != 0 {
		t.Fatalf("a developer is offered %d Run now buttons", runButtons)
	}
}

// TestProjectsTeamsMembersAndAudit: names typed by people (a project's name
// and description, a team's name) are XSS attempts; every screen that
// shows them, the audit log's details included, shows them as text.
func TestProjectsTeamsMembersAndAudit(t *testing.T) {
	a := demo(t, nil)
	b := consoletest.New(t, a.URL)
	al := b.Laptop("alice")
	al.SignIn(alice)

	al.Nav("Projects")
	al.WaitText("Projects you can open")
	al.Fill("New project", "Id", "Bad Id")
	al.ClickIn("New project", "Create project")
	al.WaitText("id must be")
	if got := al.FieldError("New project", "Id"); !strings.HasPrefix(got, "invalid: id must be 2–40") {
		t.Fatalf("id error %q", got)
	}
	al.Fill("New project", "Id", "intake")
	al.Fill("New project", "Name", xss)
	al.Fill("New project", "Description", xss)
	al.ClickIn("New project", "Create project")
	al.WaitText("intake")
	assertInert(t, al, "projects")
	al.Screenshot("projects")

	al.Go("/console/projects/claims/teams")
	al.WaitText("Finance")
	al.Fill("New team", "Id", "reviewers")
	al.Fill("New team", "Name", xss)
	al.ClickIn("New team", "Create team")
	al.WaitText("reviewers")
	assertInert(t, al, "teams")
	al.Choose("", "Member to add to "+xss, "carol@example.com")
	al.Click("Add the chosen member to " + xss)
	al.WaitJS(`!!document.querySelector('button[aria-label="Remove carol@example.com from ` + strings.ReplaceAll(xss, `"`, `\"`) + `"]')`)
	al.Screenshot("teams")

	al.Nav("Members")
	al.WaitText("Subscription Owners are owners of every project")
	al.Choose("", "Role of carol@example.com", "developer")
	al.Click("Save role of carol@example.com")
	al.WaitAnnounced("carol@example.com is now developer.")
	al.Fill("Add a member", "E-mail of a subscription user", "nobody@example.com")
	al.ClickIn("Add a member", "Add")
	al.WaitJS(`[...document.querySelectorAll('.field-error')].some((e) => !e.hidden && e.textContent.length > 0)`)
	al.Screenshot("members")

	al.Go("/console/projects/claims/security?path=applications")
	al.WaitText("Grant access")
	assertInert(t, al, "security (team names in the Who list are options, not markup)")

	al.Go("/console/projects/claims/audit")
	al.WaitText("team.create")
	var opened int
	al.Eval(`[...document.querySelectorAll('main details')].map((d) => { d.open = true; return 1; }).length`, &opened)
	assertInert(t, al, "project audit")
	al.Screenshot("audit-project")
	al.Go("/console/subscriptions/demo/audit")
	al.WaitText("user.invite")
	al.Screenshot("audit-subscription")
}
