package handlers_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers"
	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/internal/app"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/mail/imapinbox"
)

func taskSpec(id, callback string) map[string]any {
	return map[string]any{"taskId": id, "assignee": "Bob <Bob@Example.com>", "subject": "Approve claim 4711",
		"instructions": "Please approve the claim 4711.", "expiresAt": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339),
		"callbackUrl": callback, "fields": []map[string]any{
			{"name": "Decision", "type": "choice", "required": true, "choices": []string{"Approve", "Reject"}},
			{"name": "Amount", "type": "number"}}}
}

// postInbound posts a raw message to the webhook.
func postInbound(t *testing.T, a *handlertest.API, raw []byte, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", a.URL+"/api/inbound-email", bytes.NewReader(raw))
	req.Header.Set("Content-Type", "message/rfc822")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := a.Srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &m)
	return resp, m
}

func basic(secret string) map[string]string {
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("inbound:"+secret))}
}

// TestEmailTaskEndToEnd: the Work Portal registers a task; the task e-mail
// goes out through OutboxSend with a signed Reply-To; a Gmail-style reply
// posted to the webhook completes it; the confirmation goes out; the signed
// callback reaches the Work Portal through EmailCallback; GET shows it all.
func TestEmailTaskEndToEnd(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	var mu sync.Mutex
	var calls []*http.Request
	var bodies [][]byte
	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls, bodies = append(calls, r), append(bodies, b)
		mu.Unlock()
	}))
	defer portal.Close()
	a.Deliver(t, a.Outbox, "OutboxSend") // the fixture's invitations
	before := len(a.SMTP.Messages())
	wp := workPortal(t, a, "wp-app", "WorkPortal.Invoke")
	// One spec for both registrations: its expiry is "now + 48 h" to the
	// second, so two specs made across a second boundary differ (a 409).
	spec := taskSpec("claim-4711", portal.URL+"/tasks/claim-4711")
	resp, task := a.Call(t, wp, "POST", envBase+"/email-tasks", spec, nil)
	if resp.StatusCode != 201 || task["status"] != "open" || task["assignee"] != "bob@example.com" {
		t.Fatalf("%d %v", resp.StatusCode, task)
	}
	if resp, _ := a.Call(t, wp, "POST", envBase+"/email-tasks", spec, nil); resp.StatusCode != 200 {
		t.Fatalf("the same registration again: %d, want 200", resp.StatusCode)
	}
	if st := a.Deliver(t, a.Outbox, "OutboxSend"); len(st) != 1 || st[0] != 200 { // one message: the second registration queued nothing
		t.Fatalf("OutboxSend statuses %v", st)
	}
	ms := a.SMTP.Messages()[before:]
	if len(ms) != 1 || ms[0].To[0] != "bob@example.com" {
		t.Fatalf("sent %+v", ms)
	}
	reply := mail.AddrSpec(ms[0].Header.Get("Reply-To"))
	raw, err := os.ReadFile("../shared/mail/testdata/replies/gmail.eml")
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("{{REPLY}}"), []byte(reply))
	resp, out := postInbound(t, a, raw, basic(handlertest.InboundSecret))
	if resp.StatusCode != 200 || out["outcome"] != "completed" || out["taskId"] != "claim-4711" {
		t.Fatalf("%d %v", resp.StatusCode, out)
	}
	a.Deliver(t, a.Outbox, "OutboxSend")
	if ms := a.SMTP.Messages()[before:]; len(ms) != 2 || !strings.HasPrefix(ms[1].Header.Get("Subject"), "Done:") || ms[1].Header.Get("In-Reply-To") == "" {
		t.Fatalf("confirmation: %+v", ms)
	}
	if st := a.Deliver(t, a.Callbacks, "EmailCallback"); len(st) != 1 || st[0] != 200 {
		t.Fatalf("EmailCallback statuses %v", st)
	}
	mu.Lock()
	if len(calls) != 1 {
		t.Fatalf("%d callbacks", len(calls))
	}
	r, body := calls[0], bodies[0]
	mu.Unlock()
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(handlertest.MailKeys, "t1:"))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(r.Header.Get("X-Collab-Timestamp") + "."))
	mac.Write(body)
	if r.Header.Get("X-Collab-Signature") != "v1="+hex.EncodeToString(mac.Sum(nil)) || r.Header.Get("X-Collab-Key-Id") != "t1" {
		t.Fatalf("callback signature does not verify: %v", r.Header)
	}
	var cb mail.CallbackBody
	if err := json.Unmarshal(body, &cb); err != nil || cb.TaskID != "claim-4711" || cb.Values["Decision"] != "Approve" || cb.Values["Amount"] != 1250.5 {
		t.Fatalf("callback body %s", body)
	}
	got := a.Must(t, wp, "GET", envBase+"/email-tasks/claim-4711", nil, 200)
	atts, _ := got["attempts"].([]any)
	if got["status"] != "completed" || got["outcome"] != "completed" || len(atts) != 1 || got["callback"].(map[string]any)["status"] != "delivered" {
		t.Fatalf("task %v", got)
	}
	// Admins read it too; developers and outsiders do not.
	a.Must(t, carol, "GET", envBase+"/email-tasks/claim-4711", nil, 200)
	a.Must(t, bob, "GET", envBase+"/email-tasks/claim-4711", nil, 403)
	a.Must(t, olga, "GET", envBase+"/email-tasks/claim-4711", nil, 404)
}

// TestEmailTaskAccess: who may register tasks.
func TestEmailTaskAccess(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	cases := []struct {
		who  string
		path string
		want int
	}{
		{workPortal(t, a, "wp-app"), envBase + "/email-tasks", 403},                                                  // a service without the role
		{workPortal(t, a, "wp-app", "WorkPortal.Invoke"), "/api/projects/claims/environments/nope/email-tasks", 404}, // no such environment
		{bob, envBase + "/email-tasks", 403},                                                                         // developers
		{olga, envBase + "/email-tasks", 404},                                                                        // another subscription
		{carol, envBase + "/email-tasks", 201},                                                                       // admins may, to try it locally
	}
	for i, c := range cases {
		resp, body := a.Call(t, c.who, "POST", c.path, taskSpec("t"+string(rune('a'+i)), "http://127.0.0.1:9/cb"), nil)
		if resp.StatusCode != c.want {
			t.Errorf("case %d: %d %v, want %d", i, resp.StatusCode, body, c.want)
		}
	}
	bad := taskSpec("bad", "http://127.0.0.1:9/cb")
	bad["subject"] = "Approve\r\nBcc: evil@example.com"
	a.Must(t, carol, "POST", envBase+"/email-tasks", bad, 400)
}

// TestInboundWebhookAuthAndLimits: the shared secret (constant-time, basic
// auth or header), the content types, the 10 MiB cap.
func TestInboundWebhookAuthAndLimits(t *testing.T) {
	t.Parallel()
	a := handlertest.Start(t)
	msg := []byte("From: x@example.com\r\nTo: nobody@example.com\r\nMessage-ID: <a@b>\r\n\r\nhello\r\n")
	if resp, _ := postInbound(t, a, msg, nil); resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("no secret: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := postInbound(t, a, msg, basic("wrong")); resp.StatusCode != 401 {
		t.Fatalf("wrong secret: %d", resp.StatusCode)
	}
	if resp, out := postInbound(t, a, msg, map[string]string{"X-Inbound-Secret": handlertest.InboundSecret}); resp.StatusCode != 200 || out["outcome"] != "no-token" {
		t.Fatalf("header secret: %d %v", resp.StatusCode, out)
	}
	big := append(append([]byte(nil), msg...), bytes.Repeat([]byte("x"), 20<<20)...)
	if resp, _ := postInbound(t, a, big, basic(handlertest.InboundSecret)); resp.StatusCode != 413 {
		t.Fatalf("20 MiB: %d", resp.StatusCode)
	}
	// The secret is checked before the size (issue 19, finding 7): an
	// unauthenticated 11 MiB body is 401, not 413; before the fix the
	// router refused its Content-Length first.
	eleven := append(append([]byte(nil), msg...), bytes.Repeat([]byte("x"), 11<<20)...)
	for _, hdr := range []map[string]string{nil, basic("wrong")} {
		if resp, _ := postInbound(t, a, eleven, hdr); resp.StatusCode != 401 {
			t.Fatalf("11 MiB without the secret: %d", resp.StatusCode)
		}
	}
	// The same holds for bearer routes: no token, 401 whatever the size.
	if resp, _ := a.Call(t, "", "POST", "/api/subscriptions", map[string]any{"id": strings.Repeat("x", 2<<20)}, nil); resp.StatusCode != 401 {
		t.Fatalf("2 MiB without a token: %d", resp.StatusCode)
	}
	if resp, _ := postInbound(t, a, msg, map[string]string{"Authorization": basic(handlertest.InboundSecret)["Authorization"], "Content-Type": "text/plain"}); resp.StatusCode != 400 {
		t.Fatalf("text/plain: %d", resp.StatusCode)
	}
	// The provider's form: the raw message in "email".
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("dkim", "{@example.com : pass}")
	fw, _ := mw.CreateFormFile("email", "msg.eml")
	_, _ = fw.Write(msg)
	_ = mw.Close()
	hdr := basic(handlertest.InboundSecret)
	hdr["Content-Type"] = mw.FormDataContentType()
	if resp, out := postInbound(t, a, form.Bytes(), hdr); resp.StatusCode != 200 || out["outcome"] != "no-token" {
		t.Fatalf("form: %d %v", resp.StatusCode, out)
	}
	var empty bytes.Buffer
	mw = multipart.NewWriter(&empty)
	_ = mw.WriteField("to", "x@example.com")
	_ = mw.Close()
	hdr["Content-Type"] = mw.FormDataContentType()
	if resp, _ := postInbound(t, a, empty.Bytes(), hdr); resp.StatusCode != 400 {
		t.Fatalf("form without email: %d", resp.StatusCode)
	}
}

// TestNotificationsOutageThenFailed: with the SMTP server down, OutboxSend
// fails and the host retries; after the last retry the notification is
// failed, and owners and admins see it at /notifications?status=failed.
func TestNotificationsOutageThenFailed(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	a.Deliver(t, a.Outbox, "OutboxSend") // the fixture's invitations
	a.SMTP.Stop()
	a.Must(t, carol, "POST", envBase+"/email-tasks", taskSpec("claim-1", "http://127.0.0.1:9/cb"), 201)
	for try := 1; try <= mail.DefaultMaxAttempts; try++ {
		st := a.Deliver(t, a.Outbox, "OutboxSend")
		want := 500
		if try == mail.DefaultMaxAttempts {
			want = 200
		}
		if len(st) != 1 || st[0] != want {
			t.Fatalf("try %d: statuses %v, want [%d]", try, st, want)
		}
	}
	page := a.Must(t, dave, "GET", "/api/projects/claims/notifications?status=failed", nil, 200)
	items, _ := page["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("failed notifications %v", page)
	}
	n := items[0].(map[string]any)
	if n["kind"] != "task-email" || n["status"] != "failed" || n["attempts"] != 5.0 || !strings.Contains(n["lastError"].(string), "after 5 attempts") {
		t.Fatalf("notification %v", n)
	}
	if page := a.Must(t, carol, "GET", "/api/projects/claims/notifications?status=sent", nil, 200); len(page["items"].([]any)) != 0 {
		t.Fatalf("sent %v", page)
	}
	a.Must(t, bob, "GET", "/api/projects/claims/notifications", nil, 403)
	a.Must(t, olga, "GET", "/api/projects/claims/notifications", nil, 404)
	a.Must(t, carol, "GET", "/api/projects/claims/notifications?status=lost", nil, 400)
}

// TestNotificationsPaging: the list pages with a cursor.
func TestNotificationsPaging(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	for _, id := range []string{"t1", "t2", "t3"} {
		a.Must(t, carol, "POST", envBase+"/email-tasks", taskSpec(id, "http://127.0.0.1:9/cb"), 201)
	}
	seen := 0
	path := "/api/projects/claims/notifications?limit=2"
	for pages := 0; ; pages++ {
		page := a.Must(t, carol, "GET", path, nil, 200)
		seen += len(page["items"].([]any))
		next, _ := page["next"].(string)
		if next == "" {
			if pages != 1 || seen != 3 {
				t.Fatalf("%d pages, %d items", pages+1, seen)
			}
			return
		}
		path = "/api/projects/claims/notifications?limit=2&cursor=" + next
	}
}

// TestInvitationGoesThroughTheOutbox: inviting someone e-mails them the
// link with the token the inviter got back.
func TestInvitationGoesThroughTheOutbox(t *testing.T) {
	t.Parallel()
	a := handlertest.Start(t)
	a.Must(t, alice, "POST", "/api/subscriptions", map[string]any{"id": "acme"}, 201)
	inv := a.Must(t, alice, "POST", "/api/subscriptions/acme/users", map[string]any{"email": "newcomer@example.com", "name": "New Comer"}, 201)
	a.Deliver(t, a.Outbox, "OutboxSend")
	ms := a.SMTP.Messages()
	if len(ms) != 1 || ms[0].To[0] != "newcomer@example.com" {
		t.Fatalf("sent %+v", ms)
	}
	want := a.URL + "/api/invitations/" + inv["token"].(string) + "/accept"
	if !bytes.Contains(ms[0].Data, []byte(want)) && !bytes.Contains(bytes.ReplaceAll(ms[0].Data, []byte("=\r\n"), nil), []byte(want)) {
		t.Fatalf("the invitation does not carry %s:\n%s", want, ms[0].Data)
	}
	a.Must(t, "newcomer@example.com", "POST", "/api/invitations/"+inv["token"].(string)+"/accept", nil, 200)
}

// TestEmailSettingsShowHowRepliesArrive: owners and admins see whether the
// mailbox is polled and why, never its password; others are refused.
func TestEmailSettingsShowHowRepliesArrive(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	got := a.Must(t, carol, "GET", "/api/projects/claims/email-settings", nil, 200)
	imapState := got["imap"].(map[string]any)
	if imapState["on"] != false || !strings.Contains(imapState["why"].(string), "COLLAB_IMAP_HOST is not set") ||
		got["webhook"].(map[string]any)["secretSet"] != true || got["replyDomain"] != "reply.collab.test" {
		t.Fatalf("settings %v", got)
	}
	a.Must(t, bob, "GET", "/api/projects/claims/email-settings", nil, 403)
	a.Must(t, olga, "GET", "/api/projects/claims/email-settings", nil, 404)

	b := handlertest.StartWith(t, func(d *handlers.Deps) {
		d.Mail.Inbox = app.IMAPInbox(&imapinbox.Poller{Config: imapinbox.Config{Host: "imap.example.com", Username: "tasks@example.com", Password: "hunter2-secret"}})
		d.Mail.Inbound.RequireAuth = true
	})
	b.Must(t, alice, "POST", "/api/subscriptions", map[string]any{"id": "acme", "name": "Acme"}, 201)
	b.Must(t, alice, "POST", "/api/subscriptions/acme/projects", map[string]any{"id": "claims", "name": "Claims"}, 201)
	raw := b.Must(t, alice, "GET", "/api/projects/claims/email-settings", nil, 200)
	imapState = raw["imap"].(map[string]any)
	if imapState["on"] != true || imapState["port"] != 993.0 || imapState["security"] != "tls" || imapState["mailbox"] != "INBOX" ||
		!strings.Contains(imapState["why"].(string), "imap.example.com:993") || !strings.Contains(imapState["warning"].(string), "COLLAB_IMAP_AUTHSERV_ID") {
		t.Fatalf("settings %v", raw)
	}
	if b, _ := json.Marshal(raw); strings.Contains(string(b), "hunter2") {
		t.Fatalf("the password is shown: %s", b)
	}
}
