package mail_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/mail"
)

// claimFields is the task the testdata replies answer.
var claimFields = []mail.Field{
	{Name: "Decision", Type: mail.FieldChoice, Required: true, Choices: []string{"Approve", "Reject"}},
	{Name: "Amount", Type: mail.FieldNumber},
	{Name: "Due", Type: mail.FieldDate},
	{Name: "Comment", Type: mail.FieldText},
	{Name: "Urgent", Type: mail.FieldBool},
}

// register registers a task for assignee and returns its reply address.
func (r *rig) register(id, assignee string) string {
	r.t.Helper()
	ctx := context.Background()
	task, _, err := r.tasks.Register(ctx, "claims", "test", mail.TaskSpec{TaskID: id, Assignee: assignee, Subject: "Approve claim 4711",
		Instructions: "Please approve the claim 4711 (car repair, 1,250.50 EUR).", Fields: claimFields,
		ExpiresAt: r.clock.now().Add(72 * time.Hour), CallbackURL: "http://127.0.0.1:1/callback"}, "test")
	if err != nil {
		r.t.Fatal(err)
	}
	addr, err := r.tasks.ReplyTo(ctx, mail.Notification{Kind: mail.KindTaskEmail, Data: map[string]any{"taskRef": task.Ref}})
	if err != nil {
		r.t.Fatal(err)
	}
	return mail.AddrSpec(addr)
}

func fixture(t testing.TB, name, reply string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "replies", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(b, []byte("{{REPLY}}"), []byte(reply))
}

func (r *rig) receive(raw []byte) mail.Outcome {
	r.t.Helper()
	r.clock.advance(time.Second)
	out, err := r.inbound.Receive(context.Background(), mail.InboundMessage{Raw: raw, Source: "test"})
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

func (r *rig) task(id string) (mail.Task, []mail.Attempt) {
	r.t.Helper()
	task, atts, err := r.tasks.Get(context.Background(), "claims", "test", id)
	if err != nil {
		r.t.Fatal(err)
	}
	return task, atts
}

// sentTo drains the outbox and returns the messages delivered since the
// last call, by recipient.
func (r *rig) sentSince(before int) []string {
	r.t.Helper()
	if errs := r.drain(nil); len(errs) != 0 {
		r.t.Fatal(errs)
	}
	var out []string
	for _, m := range r.smtp.Messages()[before:] {
		out = append(out, strings.Join(m.To, ",")+" "+m.Header.Get("Subject"))
	}
	return out
}

// TestRepliesFromMajorClients: replies written the way Outlook, Gmail,
// Apple Mail and others write them, in every transfer encoding and several
// charsets, complete their task with the right values; each gets one
// confirmation and one queued callback.
func TestRepliesFromMajorClients(t *testing.T) {
	cases := []struct {
		file string
		want map[string]any
	}{
		{"outlook.eml", map[string]any{"Decision": "Approve", "Amount": 1250.5, "Comment": "Looks good"}},
		{"outlook-classic.eml", map[string]any{"Decision": "Reject", "Comment": "Please attach the invoice first"}},
		{"gmail.eml", map[string]any{"Decision": "Approve", "Amount": 1250.5}},
		{"ios-mail.eml", map[string]any{"Decision": "Reject", "Comment": "Missing receipt"}},
		{"plain.eml", map[string]any{"Decision": "Approve", "Amount": 99.0, "Due": "2026-12-31", "Urgent": true}},
		{"html-only.eml", map[string]any{"Decision": "Approve", "Amount": 42.0}},
		{"quoted-printable.eml", map[string]any{"Decision": "Approve", "Comment": "It’s fine, approved by the finance team after a long review of the receipts"}},
		{"base64.eml", map[string]any{"Decision": "Reject", "Comment": "Duplicate claim"}},
		{"iso-8859-1.eml", map[string]any{"Decision": "Approve", "Comment": "Genehmigt für München"}},
		{"windows-1252.eml", map[string]any{"Decision": "Approve", "Comment": "“Quoted” € 100 – ok"}},
		{"shift_jis.eml", map[string]any{"Decision": "Approve", "Comment": "承認します"}},
		{"outlook-web.eml", map[string]any{"Decision": "Approve", "Due": "2026-12-31"}},
		{"thunderbird.eml", map[string]any{"Decision": "Approve", "Amount": 980.4}},
		{"android-gmail.eml", map[string]any{"Decision": "Reject", "Urgent": true}},
		{"yahoo.eml", map[string]any{"Decision": "Reject", "Comment": "duplicate of claim 4700"}},
		{"apple-mail-macos.eml", map[string]any{"Decision": "Approve", "Amount": 1250.5}},
		{"html-only-bottom.eml", map[string]any{"Decision": "Reject", "Comment": "the receipt is missing"}},
	}
	r := newRig(t)
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			id := "claim-" + strings.TrimSuffix(c.file, ".eml")
			reply := r.register(id, "bob@example.com")
			before := len(r.sentSince(0))
			out := r.receive(fixture(t, c.file, reply))
			if out.Outcome != mail.OutcomeCompleted {
				t.Fatalf("outcome %+v", out)
			}
			task, atts := r.task(id)
			if task.Status != mail.TaskCompleted || !reflect.DeepEqual(task.Values, c.want) {
				t.Fatalf("values %#v, want %#v", task.Values, c.want)
			}
			if len(atts) != 1 || atts[0].Outcome != mail.OutcomeCompleted || !atts[0].Done {
				t.Fatalf("attempts %+v", atts)
			}
			if sent := r.sentSince(before); len(sent) != 1 || !strings.HasPrefix(sent[0], "bob@example.com Done: ") {
				t.Fatalf("sent %v, want one confirmation to bob", sent)
			}
		})
	}
	if n, _ := r.callbacks.Length(context.Background()); n != len(cases) {
		t.Fatalf("%d callbacks queued, want %d", n, len(cases))
	}
}

// token surgery for the attack tests: the blob is handle|expiry|MAC.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func splitToken(t testing.TB, addr string) (kid string, blob []byte, domain string) {
	t.Helper()
	local, domain, _ := strings.Cut(addr, "@")
	kid, body, _ := strings.Cut(strings.TrimPrefix(local, "reply+"), ".")
	blob, err := b32.DecodeString(strings.ToUpper(body))
	if err != nil || len(blob) != 29 {
		t.Fatalf("token %q: %v", addr, err)
	}
	return kid, blob, domain
}

func joinToken(kid string, blob []byte, domain string) string {
	return "reply+" + kid + "." + strings.ToLower(b32.EncodeToString(blob)) + "@" + domain
}

func replyFrom(from, to, msgID, body string) []byte {
	return []byte(fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: Re: Approve claim 4711\r\nMessage-ID: %s\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n\r\n%s\r\n", from, to, msgID, body))
}

// TestAttacks: each hostile or stale reply is refused with its outcome;
// nothing is ever sent to a sender who is not verified; the legitimate
// reply still works afterwards (nothing lost); every attempt is audited.
func TestAttacks(t *testing.T) {
	enc := func(s string) string { return "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte(s)) + "?=" }
	cases := []struct {
		name    string
		msg     func(r *rig, reply, other string) []byte
		outcome string
		replies int // answers to bob
		open    bool
	}{
		{"forged token", func(r *rig, reply, _ string) []byte {
			kid, blob, d := splitToken(t, reply)
			blob[len(blob)-1] ^= 1
			return replyFrom("bob@example.com", joinToken(kid, blob, d), "<forged@x>", "Approve")
		}, mail.OutcomeTokenInvalid, 0, true},
		{"token of another task", func(r *rig, reply, other string) []byte {
			kid, mine, d := splitToken(t, reply)
			_, theirs, _ := splitToken(t, other)
			copy(theirs[:10], mine[:10]) // this task's handle, the other task's MAC
			return replyFrom("bob@example.com", joinToken(kid, theirs, d), "<swap@x>", "Approve")
		}, mail.OutcomeTokenInvalid, 0, true},
		{"unknown key id", func(r *rig, reply, _ string) []byte {
			_, blob, d := splitToken(t, reply)
			return replyFrom("bob@example.com", joinToken("k9", blob, d), "<kid@x>", "Approve")
		}, mail.OutcomeTokenInvalid, 0, true},
		{"no token", func(r *rig, _, _ string) []byte {
			return replyFrom("bob@example.com", "someone@reply.collab.test", "<none@x>", "Approve")
		}, mail.OutcomeNoToken, 0, true},
		{"expired token", func(r *rig, reply, _ string) []byte {
			r.clock.advance(73 * time.Hour)
			return replyFrom("bob@example.com", reply, "<late@x>", "Approve")
		}, mail.OutcomeExpired, 1, true},
		{"wrong sender", func(r *rig, reply, _ string) []byte {
			return replyFrom("Bob <mallory@evil.example>", reply, "<mallory@x>", "Approve")
		}, mail.OutcomeWrongSender, 0, true},
		{"two senders", func(r *rig, reply, _ string) []byte {
			return replyFrom("bob@example.com, mallory@evil.example", reply, "<two@x>", "Approve")
		}, mail.OutcomeWrongSender, 0, true},
		{"auto-responder", func(r *rig, reply, _ string) []byte {
			return append([]byte("Auto-Submitted: auto-replied\r\n"), replyFrom("bob@example.com", reply, "<ooo@x>", "I am out of office")...)
		}, mail.OutcomeAutoReply, 0, true},
		{"invalid fields", func(r *rig, reply, _ string) []byte {
			return replyFrom("bob@example.com", reply, "<bad@x>", "Decision: maybe\r\nAmount: lots")
		}, mail.OutcomeInvalid, 1, true},
		{"CR/LF in display name and subject", func(r *rig, reply, _ string) []byte {
			return []byte("From: " + enc("Bob\r\nBcc: evil@evil.example") + " <bob@example.com>\r\nTo: " + reply +
				"\r\nSubject: " + enc("Re: x\r\nBcc: evil@evil.example\r\nX-Evil: 1") + "\r\nMessage-ID: <crlf@x>\r\n\r\nApprove\r\n")
		}, mail.OutcomeCompleted, 1, false},
		{"20 MiB body", func(r *rig, reply, _ string) []byte {
			return append(replyFrom("bob@example.com", reply, "<big@x>", "Approve"), bytes.Repeat([]byte("A"), 20<<20)...)
		}, mail.OutcomeMalformed, 0, true},
		{"MIME bomb", func(r *rig, reply, _ string) []byte {
			var b strings.Builder
			b.WriteString("From: bob@example.com\r\nTo: " + reply + "\r\nMessage-ID: <bomb@x>\r\nMIME-Version: 1.0\r\n")
			for i := 0; i < 5000; i++ {
				fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i)
			}
			b.WriteString("Content-Type: text/plain\r\n\r\nApprove\r\n")
			return []byte(b.String())
		}, mail.OutcomeMalformed, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			reply := r.register("claim-1", "bob@example.com")
			other := r.register("claim-2", "carol@example.com")
			before := len(r.sentSince(0)) // the two task e-mails
			out := r.receive(c.msg(r, reply, other))
			if out.Outcome != c.outcome {
				t.Fatalf("outcome %+v, want %s", out, c.outcome)
			}
			sent := r.sentSince(before)
			if len(sent) != c.replies {
				t.Fatalf("sent %v, want %d answers", sent, c.replies)
			}
			for _, s := range sent {
				if !strings.HasPrefix(s, "bob@example.com ") {
					t.Fatalf("an answer went to %q: only the verified assignee is ever answered", s)
				}
			}
			for _, m := range r.smtp.Messages() {
				head, _, _ := strings.Cut(string(m.Data), "\r\n\r\n")
				if regexp.MustCompile(`(?im)^(bcc|x-evil):`).MatchString(head) {
					t.Fatalf("an injected header:\n%s", head)
				}
			}
			task, _ := r.task("claim-1")
			if (task.Status != mail.TaskCompleted) != c.open {
				t.Fatalf("task status %s after %s", task.Status, c.name)
			}
			scope := "project:claims"
			if c.outcome == mail.OutcomeTokenInvalid || c.outcome == mail.OutcomeNoToken || c.outcome == mail.OutcomeMalformed {
				scope = mail.InboundScope
			}
			if got := r.auditOutcomes(scope); len(got) != 1 || got[0] != c.outcome {
				t.Fatalf("audited %v in %s", got, scope)
			}
			if c.open && task.Status == mail.TaskOpen {
				// Nothing lost: the assignee's genuine reply still completes the task.
				if out := r.receive(replyFrom("bob@example.com", reply, "<genuine@x>", "Approve")); out.Outcome != mail.OutcomeCompleted {
					t.Fatalf("the genuine reply after the attack: %+v", out)
				}
			}
		})
	}
}

// TestReplayAndReplyAfterCompletion: the same Message-ID again is a replay
// (no answer); another reply after completion is told the task is closed,
// once; the completion and its confirmation happen once.
func TestReplayAndReplyAfterCompletion(t *testing.T) {
	r := newRig(t)
	reply := r.register("claim-1", "bob@example.com")
	before := len(r.sentSince(0))
	msg := replyFrom("bob@example.com", reply, "<once@example.com>", "Approve")
	for i, want := range []string{mail.OutcomeCompleted, mail.OutcomeReplay, mail.OutcomeReplay} {
		if out := r.receive(msg); out.Outcome != want {
			t.Fatalf("delivery %d: %+v, want %s", i+1, out, want)
		}
	}
	if out := r.receive(replyFrom("bob@example.com", reply, "<again@example.com>", "Reject")); out.Outcome != mail.OutcomeTaskClosed || !out.Replied {
		t.Fatalf("after completion: %+v", out)
	}
	sent := r.sentSince(before)
	if len(sent) != 2 || !strings.Contains(sent[0], "Done:") || !strings.Contains(sent[1], "Not done:") {
		t.Fatalf("sent %v", sent)
	}
	task, atts := r.task("claim-1")
	if task.Values["Decision"] != "Approve" || len(atts) != 2 {
		t.Fatalf("task %+v attempts %+v", task, atts)
	}
	if n, _ := r.callbacks.Length(context.Background()); n != 1 {
		t.Fatalf("%d callbacks", n)
	}
	want := []string{mail.OutcomeCompleted, mail.OutcomeReplay, mail.OutcomeReplay, mail.OutcomeTaskClosed}
	if got := r.auditOutcomes("project:claims"); !reflect.DeepEqual(got, want) {
		t.Fatalf("audited %v", got)
	}
}

// TestProviderVerdict: with the verdict required, a DKIM pass for another
// domain or a missing verdict is auth-failed (nothing sent); an aligned DKIM
// pass, or an SPF pass for an aligned envelope sender, completes.
func TestProviderVerdict(t *testing.T) {
	cases := []struct {
		dkim, spf, envFrom, want string
	}{
		{"", "", "", mail.OutcomeAuthFailed},
		{"{@evil.example : pass}", "", "", mail.OutcomeAuthFailed},
		{"{@example.com : fail}", "pass", "bounce@evil.example", mail.OutcomeAuthFailed},
		{"{@example.com : pass}", "", "", mail.OutcomeCompleted},
		{"{@mail.example.com : fail, @example.com : pass}", "", "", mail.OutcomeCompleted},
		{"", "pass", "bounces@example.com", mail.OutcomeCompleted},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			r := newRig(t)
			r.inbound.RequireAuth = true
			reply := r.register("claim-1", "bob@example.com")
			before := len(r.sentSince(0))
			out, err := r.inbound.Receive(context.Background(), mail.InboundMessage{Raw: replyFrom("bob@example.com", reply, "<v@x>", "Approve"),
				DKIM: c.dkim, SPF: c.spf, EnvelopeFrom: c.envFrom})
			if err != nil || out.Outcome != c.want {
				t.Fatalf("%+v %v, want %s", out, err, c.want)
			}
			if sent := r.sentSince(before); c.want == mail.OutcomeAuthFailed && len(sent) != 0 {
				t.Fatalf("answered an unverified sender: %v", sent)
			}
		})
	}
}

// TestCrashAfterCompletionIsResumed: the process dies after the task was
// completed and before the confirmation; the provider delivers the message
// again after the processing lease and the confirmation still goes out, once.
func TestCrashAfterCompletionIsResumed(t *testing.T) {
	r := newRig(t)
	reply := r.register("claim-1", "bob@example.com")
	before := len(r.sentSince(0))
	dead := *r.inbound
	dead.Callbacks = &failingQueue{Queue: r.callbacks, fails: 1}
	msg := replyFrom("bob@example.com", reply, "<crash@example.com>", "Approve")
	if _, err := dead.Receive(context.Background(), mail.InboundMessage{Raw: msg}); err == nil {
		t.Fatal("the dying delivery reported success")
	}
	if _, err := r.inbound.Receive(context.Background(), mail.InboundMessage{Raw: msg}); err == nil {
		t.Fatal("a delivery during the processing lease should be told to retry later")
	}
	r.clock.advance(3 * time.Minute)
	if out := r.receive(msg); out.Outcome != mail.OutcomeCompleted {
		t.Fatalf("%+v", out)
	}
	if sent := r.sentSince(before); len(sent) != 1 {
		t.Fatalf("sent %v", sent)
	}
	if n, _ := r.callbacks.Length(context.Background()); n != 1 {
		t.Fatalf("%d callbacks", n)
	}
}

// TestTaskEmailCarriesTheReplyToken: the task e-mail goes to the assignee
// with a Reply-To whose token verifies, and lists the fields.
func TestTaskEmailCarriesTheReplyToken(t *testing.T) {
	r := newRig(t)
	reply := r.register("claim-1", "bob@example.com")
	r.sentSince(0)
	ms := r.smtp.Messages()
	if len(ms) != 1 {
		t.Fatalf("%d messages", len(ms))
	}
	if got := mail.AddrSpec(ms[0].Header.Get("Reply-To")); got != reply || len(strings.SplitN(got, "@", 2)[0]) > 64 {
		t.Fatalf("Reply-To %q, want %q (local part at most 64)", got, reply)
	}
	if !bytes.Contains(ms[0].Data, []byte("Decision: Approve, Reject (required)")) {
		t.Fatalf("body:\n%s", ms[0].Data)
	}
	// Registering again with the same spec is a no-op; another spec is a conflict.
	_, created, err := r.tasks.Register(context.Background(), "claims", "test", mail.TaskSpec{TaskID: "claim-1", Assignee: "bob@example.com",
		Subject: "Approve claim 4711", Instructions: "Please approve the claim 4711 (car repair, 1,250.50 EUR).", Fields: claimFields,
		ExpiresAt: r.clock.now().Add(72 * time.Hour).Add(-0), CallbackURL: "http://127.0.0.1:1/callback"}, "test")
	if err == nil && created {
		t.Fatal("registered twice")
	}
	if r.sentSince(1); len(r.smtp.Messages()) != 1 {
		t.Fatal("the task e-mail went out twice")
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestAmbiguousReplyCompletesNothing: a reply that answers Approve above the
// quote and Reject below it completes nothing; its sender gets one answer
// saying what was unclear, and a clear reply afterwards completes the task.
func TestAmbiguousReplyCompletesNothing(t *testing.T) {
	r := newRig(t)
	reply := r.register("claim-ambiguous", "bob@example.com")
	before := len(r.sentSince(0))
	out := r.receive(fixture(t, "ambiguous.eml", reply))
	if out.Outcome != mail.OutcomeAmbiguous || len(out.Problems) != 1 || !strings.Contains(out.Problems[0], `"Approve" and "Reject"`) || !out.Replied {
		t.Fatalf("outcome %+v", out)
	}
	if task, _ := r.task("claim-ambiguous"); task.Status == mail.TaskCompleted {
		t.Fatalf("an ambiguous reply completed the task: %+v", task)
	}
	sent := r.sentSince(before)
	if len(sent) != 1 || !strings.HasPrefix(sent[0], "bob@example.com Not done: ") {
		t.Fatalf("sent %v, want one answer to bob", sent)
	}
	p, err := mail.Parse(r.smtp.Messages()[before].Data)
	if err != nil || !strings.Contains(p.Text, "Decision is answered two different ways") {
		t.Fatalf("the answer does not say what was unclear (%v):\n%s", err, p.Text)
	}
	if n, _ := r.callbacks.Length(context.Background()); n != 0 {
		t.Fatalf("%d callbacks queued for an ambiguous reply", n)
	}
	out = r.receive(replyFrom("bob@example.com", reply, "<clear-1@example.com>", "Reject\n"))
	if out.Outcome != mail.OutcomeCompleted {
		t.Fatalf("the clear reply: %+v", out)
	}
}

// TestAuthenticationResultsTrustedOnlyFromConfiguredServer: a mailbox
// reply's Authentication-Results satisfy COLLAB_INBOUND_REQUIRE_AUTH only
// when the first field with the configured authserv-id says pass, aligned
// with From; a field with another id, one the sender wrote below the
// server's, a pass hidden in a comment, or no configured id at all count
// for nothing. Field layouts: RFC 8601 §2.2 and Appendix B examples.
func TestAuthenticationResultsTrustedOnlyFromConfiguredServer(t *testing.T) {
	const mx = "mx.collab.test"
	cases := []struct {
		name, authserv string
		fields         []string
		want           string
	}{
		{"DKIM pass from the configured server", mx, []string{mx + "; dkim=pass header.d=example.com header.s=s1; spf=fail smtp.mailfrom=x@evil.example"}, mail.OutcomeCompleted},
		{"DKIM pass with header.i", mx, []string{mx + " 1; dkim=pass (2048-bit key) header.i=@example.com"}, mail.OutcomeCompleted},
		{"SPF pass aligned", mx, []string{mx + "; spf=pass smtp.mailfrom=bounces@example.com; dkim=none"}, mail.OutcomeCompleted},
		{"DMARC pass", mx, []string{mx + "; dkim=pass header.d=esp.example; dmarc=pass (p=reject) header.from=example.com"}, mail.OutcomeCompleted},
		{"authserv-id compares without case", mx, []string{"MX.Collab.Test; dkim=pass header.d=example.com"}, mail.OutcomeCompleted},
		{"no configured id: headers ignored", "", []string{mx + "; dkim=pass header.d=example.com"}, mail.OutcomeAuthFailed},
		{"another server's pass", mx, []string{"mx.evil.example; dkim=pass header.d=example.com"}, mail.OutcomeAuthFailed},
		{"the sender's forged field below the server's", mx, []string{mx + "; dkim=fail header.d=example.com; spf=softfail smtp.mailfrom=bob@example.com", mx + "; dkim=pass header.d=example.com"}, mail.OutcomeAuthFailed},
		{"DKIM pass for another domain", mx, []string{mx + "; dkim=pass header.d=evil.example"}, mail.OutcomeAuthFailed},
		{"SPF pass for an unaligned envelope", mx, []string{mx + "; spf=pass smtp.mailfrom=bounce@evil.example"}, mail.OutcomeAuthFailed},
		{"a pass only inside a comment", mx, []string{mx + "; dkim=fail (dkim=pass header.d=example.com; spf=pass) header.d=example.com"}, mail.OutcomeAuthFailed},
		{"no field at all", mx, nil, mail.OutcomeAuthFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			r.inbound.RequireAuth = true
			reply := r.register("claim-1", "bob@example.com")
			raw := replyFrom("bob@example.com", reply, "<ar@x>", "Approve")
			var head string
			for _, f := range c.fields {
				head += "Authentication-Results: " + f + "\r\n"
			}
			out, err := r.inbound.Receive(context.Background(), mail.InboundMessage{Raw: append([]byte(head), raw...), Source: "imap", AuthservID: c.authserv})
			if err != nil || out.Outcome != c.want {
				t.Fatalf("%+v %v, want %s", out, err, c.want)
			}
		})
	}
}
