package console_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/web/console/consoletest"
)

// replyToTask posts bob's Gmail-style reply ("Approve", "Amount: 1250.50")
// to the task e-mail sent last to the inbound webhook, as the provider would.
func replyToTask(t *testing.T, a *handlertest.API) {
	t.Helper()
	var reply string
	for _, m := range a.SMTP.Messages() {
		if m.Header.Get("Reply-To") != "" && m.To[0] == bob {
			reply = mail.AddrSpec(m.Header.Get("Reply-To"))
		}
	}
	if reply == "" {
		t.Fatal("no task e-mail to bob was sent")
	}
	raw, err := os.ReadFile("../../shared/mail/testdata/replies/gmail.eml")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", a.URL+"/api/inbound-email", bytes.NewReader(bytes.ReplaceAll(raw, []byte("{{REPLY}}"), []byte(reply))))
	req.Header.Set("Content-Type", "message/rfc822")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("inbound:"+handlertest.InboundSecret)))
	resp, err := a.Srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"completed"`) {
		t.Fatalf("the reply: %d %s", resp.StatusCode, body)
	}
}

// TestEmailNotificationsAndTasks: a task registered by the Work Portal (its
// subject an XSS attempt) is e-mailed through the outbox; alice sees the
// notification queued, then sent, filters by status, and looks the task up
// by id (an unknown id shown by its field), then sees bob's reply complete
// it with its answers, and how replies arrive (webhook; IMAP off and why); bob, a developer, has no E-mail screen and the API's
// refusal is what he sees if he goes there.
func TestEmailNotificationsAndTasks(t *testing.T) {
	a := demo(t, nil)
	a.Must(t, carol, "POST", "/api/projects/claims/environments/test/email-tasks", map[string]any{
		"taskId": "claim-4711", "assignee": bob, "subject": xss + " Approve claim 4711", "instructions": "Reply with the decision.",
		"fields":    []map[string]any{{"name": "Decision", "type": "choice", "required": true, "choices": []string{"Approve", "Reject"}}, {"name": "Amount", "type": "number"}},
		"expiresAt": a.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339), "callbackUrl": "http://127.0.0.1:9/tasks/claim-4711",
	}, 201)

	b := consoletest.New(t, a.URL)
	al := b.Laptop("alice")
	al.SignIn(alice)
	al.Nav("E-mail")
	al.WaitText("Notifications")
	al.WaitText("task-email")
	al.WaitText("queued")
	if n := a.Deliver(t, a.Outbox, "OutboxSend"); len(n) == 0 {
		t.Fatal("nothing was queued in the outbox")
	}
	al.Choose("", "Status", "sent")
	al.Click("Filter by status")
	al.WaitText("Notifications sent")
	al.WaitText("task-email")
	al.WaitText(bob)
	tablesFit(t, al, "e-mail notifications") // the Message-ID column stays in the card (finding 10)
	al.Screenshot("email-notifications")
	al.Choose("", "Status", "failed")
	al.Click("Filter by status")
	al.WaitText("No notification is failed.")

	// How replies arrive: the webhook, and the mailbox off with the reason.
	al.WaitText("How replies arrive")
	for _, want := range []string{"POST /api/inbound-email", "IMAP mailbox\noff COLLAB_IMAP_HOST is not set", "reply+<token>@"} {
		al.WaitText(want)
	}

	// A task by id: the unknown one by its field, then the real one.
	al.Choose("#main", "Environment", "test")
	al.Fill("#main", "Task id", "claim-0000")
	al.Click("Look up")
	al.WaitJS(`[...document.querySelectorAll('.field-error')].some((e) => !e.hidden)`)
	if got := al.FieldError("#main", "Task id"); !strings.HasPrefix(got, "invalid: ") {
		t.Fatalf("unknown task: %q", got)
	}
	al.Fill("#main", "Task id", "claim-4711")
	al.Click("Look up")
	al.WaitText("Fields the reply fills in")
	for _, want := range []string{"Approve claim 4711", "Decision", "choice (required)", "Approve, Reject", "Reply with the decision.", "No reply yet."} {
		if !strings.Contains(al.Text(), want) {
			t.Fatalf("task view lacks %q:\n%s", want, al.Text())
		}
	}
	assertInert(t, al, "task subject")

	// bob's reply completes it: the answers and the reply show.
	replyToTask(t, a)
	al.Go("/console/projects/claims/email?env=test&task=claim-4711")
	al.WaitText("completed")
	for _, want := range []string{"Approve, Reject\tApprove", "number\t\t1250.5", "Replies received, oldest first"} {
		al.WaitText(want)
	}
	assertInert(t, al, "completed task")
	al.Screenshot("email-task")

	bo := b.Laptop("bob")
	bo.SignIn(bob)
	var nav string
	bo.Eval(`document.getElementById('nav').innerText`, &nav)
	if strings.Contains(nav, "E-mail") {
		t.Fatalf("a developer's navigation offers E-mail:\n%s", nav)
	}
	bo.Go("/console/projects/claims/email")
	bo.WaitText("only project admins and owners see notifications")
}
