package imapinbox_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/mail/imapinbox"
	"github.com/studio-collab/collab/shared/mail/imapinbox/dovecottest"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// These tests run the poller against a real Dovecot (dovecottest): new
// mail, a reply that completes its task, \Seen, a message that fails
// validation, a server restart, and a mailbox of 1,000 messages.

func TestMain(m *testing.M) { azuritetest.Main(m) }

func poller(s *dovecottest.Server, r imapinbox.Receiver) *imapinbox.Poller {
	return &imapinbox.Poller{Config: imapinbox.Config{Host: s.Host, Port: s.Port, Username: s.User, Password: s.Password,
		Security: "none", Deadline: time.Minute}, Receiver: r}
}

// unseen returns the UIDs of the mailbox's unseen messages and the number
// of messages, read over a connection of its own.
func unseen(t *testing.T, s *dovecottest.Server) (uids []imap.UID, total uint32) {
	t.Helper()
	c, err := imapclient.DialInsecure(fmt.Sprintf("%s:%d", s.Host, s.Port), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(s.User, s.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	return found.AllUIDs(), sel.NumMessages
}

// counter is a Receiver that counts and can fail while down is set.
type counter struct {
	mu   sync.Mutex
	ids  []string
	down bool
}

func (c *counter) Receive(_ context.Context, m mail.InboundMessage) (mail.Outcome, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return mail.Outcome{}, fault.E("test", fault.Unavailable, "storage is down")
	}
	p, err := mail.Parse(m.Raw)
	if err != nil {
		return mail.Outcome{Outcome: mail.OutcomeMalformed}, nil
	}
	c.ids = append(c.ids, p.MessageID)
	return mail.Outcome{Outcome: mail.OutcomeNoToken}, nil
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
}

// TestDovecotNewMailIsReadOnceAndSeen: new messages are handed over once,
// flagged \Seen after their outcome, and a message whose processing failed
// stays unseen for the next poll.
func TestDovecotNewMailIsReadOnceAndSeen(t *testing.T) {
	s := dovecottest.Start(t)
	for _, id := range []string{"d1", "d2", "d3"} {
		s.Deliver([]byte(msg(id)))
	}
	rec := &counter{}
	p := poller(s, rec)
	if u, total := unseen(t, s); len(u) != 3 || total != 3 {
		t.Fatalf("before: %d unseen of %d", len(u), total)
	}
	rec.down = true
	if res, err := p.Poll(context.Background()); !fault.Is(err, fault.Unavailable) || res.Processed != 0 {
		t.Fatalf("poll while the pipeline is down: %+v %v", res, err)
	}
	if u, _ := unseen(t, s); len(u) != 3 {
		t.Fatalf("a message that was not processed was flagged seen: %d unseen", len(u))
	}
	rec.down = false
	res, err := p.Poll(context.Background())
	if err != nil || res.Processed != 3 || res.Outcomes[mail.OutcomeNoToken] != 3 {
		t.Fatalf("poll: %+v %v", res, err)
	}
	if u, total := unseen(t, s); len(u) != 0 || total != 3 {
		t.Fatalf("after: %d unseen of %d, want 0 of 3 (\\Seen set, nothing deleted)", len(u), total)
	}
	s.Deliver([]byte(msg("d4")))
	res, err = p.Poll(context.Background())
	if err != nil || res.Processed != 1 {
		t.Fatalf("poll after new mail: %+v %v", res, err)
	}
	if got := strings.Join(rec.ids, ","); got != "<d1@example.com>,<d2@example.com>,<d3@example.com>,<d4@example.com>" {
		t.Fatalf("received %s", got)
	}
}

// TestDovecotReconnectsAfterRestart: a poll while the server is down fails
// as Unavailable (the host retries the timer); once it is back, the next
// poll reads what arrived meanwhile.
func TestDovecotReconnectsAfterRestart(t *testing.T) {
	s := dovecottest.Start(t)
	rec := &counter{}
	p := poller(s, rec)
	s.Deliver([]byte(msg("r1")))
	if res, err := p.Poll(context.Background()); err != nil || res.Processed != 1 {
		t.Fatalf("first poll: %+v %v", res, err)
	}
	s.Stop()
	if _, err := p.Poll(context.Background()); !fault.Is(err, fault.Unavailable) {
		t.Fatalf("poll with the server down: %v, want Unavailable", err)
	}
	s.Deliver([]byte(msg("r2")))
	s.Restart()
	res, err := p.Poll(context.Background())
	if err != nil || res.Processed != 1 || rec.count() != 2 {
		t.Fatalf("poll after the restart: %+v %v (%d received)", res, err, rec.count())
	}
}

// TestDovecotLargeMailboxPollsAreBounded: with 1,000 unseen messages one
// poll handles Max of them, each message once; the mailbox drains over
// successive polls.
func TestDovecotLargeMailboxPollsAreBounded(t *testing.T) {
	s := dovecottest.Start(t)
	const n, max = 1000, 100
	for i := 0; i < n; i++ {
		s.Deliver([]byte(msg(fmt.Sprintf("big%04d", i))))
	}
	rec := &counter{}
	p := poller(s, rec)
	p.Config.Max = max
	res, err := p.Poll(context.Background())
	if err != nil || res.Processed != max {
		t.Fatalf("first poll: %+v %v, want %d processed", res, err, max)
	}
	if u, total := unseen(t, s); len(u) != n-max || total != n {
		t.Fatalf("%d unseen of %d after one poll", len(u), total)
	}
	polls := 1
	for rec.count() < n {
		if polls++; polls > n/max+1 {
			t.Fatalf("%d polls and %d of %d messages read", polls, rec.count(), n)
		}
		if res, err := p.Poll(context.Background()); err != nil || res.Processed == 0 || res.Processed > max {
			t.Fatalf("poll %d: %+v %v", polls, res, err)
		}
	}
	seen := map[string]bool{}
	for _, id := range rec.ids {
		if seen[id] {
			t.Fatalf("%s read twice", id)
		}
		seen[id] = true
	}
	if u, _ := unseen(t, s); len(u) != 0 {
		t.Fatalf("%d left unseen", len(u))
	}
}

// pipeline is the real inbound pipeline on this test's storage.
type pipeline struct {
	tasks   *mail.Tasks
	inbound *mail.Inbound
	now     time.Time
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	prefix := fmt.Sprintf("i%x", time.Now().UnixNano()&0xffffffff)
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	qo, qc := prefix+"-outbox", prefix+"-cb"
	if err := acct.Bootstrap(context.Background(), store.Layout{Tables: append(mail.Layout.Tables, "audit"), Queues: []string{qo, qc}}); err != nil {
		t.Fatal(err)
	}
	pl := &pipeline{now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	now := func() time.Time { return pl.now }
	keys, err := mail.ParseKeys("k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if err != nil {
		t.Fatal(err)
	}
	ob := &mail.Outbox{Table: acct.Table("notifications"), Queue: acct.Queue(qo), Now: now}
	pl.tasks = &mail.Tasks{Table: acct.Table("emailtasks"), Outbox: ob, Keys: keys, ReplyDomain: "reply.collab.test", AllowInsecureCallbacks: true, Now: now}
	pl.inbound = &mail.Inbound{Tasks: pl.tasks, Callbacks: acct.Queue(qc), Audit: audit.New(acct.Table("audit"), now), Now: now}
	return pl
}

// register registers a task for bob and returns its reply address.
func (pl *pipeline) register(t *testing.T, id string) string {
	t.Helper()
	ctx := context.Background()
	task, _, err := pl.tasks.Register(ctx, "claims", "test", mail.TaskSpec{TaskID: id, Assignee: "bob@example.com", Subject: "Approve claim " + id,
		Instructions: "Please approve the claim.", Fields: []mail.Field{{Name: "Decision", Type: mail.FieldChoice, Required: true, Choices: []string{"Approve", "Reject"}}},
		ExpiresAt: pl.now.Add(72 * time.Hour), CallbackURL: "http://127.0.0.1:1/callback"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := pl.tasks.ReplyTo(ctx, mail.Notification{Kind: mail.KindTaskEmail, Data: map[string]any{"taskRef": task.Ref}})
	if err != nil {
		t.Fatal(err)
	}
	return mail.AddrSpec(addr)
}

func reply(authResults, to, id, body string) []byte {
	return []byte(authResults + "From: Bob Builder <bob@example.com>\r\nTo: " + to + "\r\nSubject: Re: Approve claim\r\nMessage-ID: <" + id +
		"@example.com>\r\nDate: Tue, 24 Nov 2026 09:30:00 +0000\r\n\r\n" + body)
}

// TestDovecotRepliesCompleteTasks: through the real pipeline, a
// bottom-posted reply read from the mailbox completes its task; a reply
// that fails validation is answered and flagged \Seen like any other, so
// it is not read again; with COLLAB_INBOUND_REQUIRE_AUTH, the receiving
// server's Authentication-Results (its configured authserv-id) let a reply
// through, and the same pass under another authserv-id does not.
func TestDovecotRepliesCompleteTasks(t *testing.T) {
	s := dovecottest.Start(t)
	pl := newPipeline(t)
	pl.inbound.RequireAuth = true
	const mx = "mx.collab.test"
	pass := "Authentication-Results: " + mx + "; dkim=pass header.d=example.com; spf=pass smtp.mailfrom=bob@example.com\r\n"
	forged := "Authentication-Results: mx.evil.example; dkim=pass header.d=example.com\r\n"
	ok, bad, unauth := pl.register(t, "c1"), pl.register(t, "c2"), pl.register(t, "c3")
	quote := "On Tue, 24 Nov 2026 at 09:00, Studio Collaboration <noreply@collab.test> wrote:\r\n> Please approve the claim.\r\n> Decision: Approve, Reject (required)\r\n\r\n"
	s.Deliver(reply(pass, ok, "ok1", quote+"Approve\r\n"))
	s.Deliver(reply(pass, bad, "bad1", quote+"Maybe later\r\n"))
	s.Deliver(reply(forged, unauth, "un1", "Approve\r\n"))
	p := poller(s, pl.inbound)
	p.Config.AuthservID = mx
	res, err := p.Poll(context.Background())
	if err != nil || res.Processed != 3 {
		t.Fatalf("poll: %+v %v", res, err)
	}
	want := map[string]int{mail.OutcomeCompleted: 1, mail.OutcomeInvalid: 1, mail.OutcomeAuthFailed: 1}
	if fmt.Sprint(res.Outcomes) != fmt.Sprint(want) {
		t.Fatalf("outcomes %v, want %v", res.Outcomes, want)
	}
	for id, status := range map[string]string{"c1": mail.TaskCompleted, "c2": mail.TaskOpen, "c3": mail.TaskOpen} {
		task, atts, err := pl.tasks.Get(context.Background(), "claims", "test", id)
		if err != nil || task.Status != status || len(atts) != 1 {
			t.Fatalf("task %s: %s with %d attempts (%v), want %s", id, task.Status, len(atts), err, status)
		}
		if id == "c1" && task.Values["Decision"] != "Approve" {
			t.Fatalf("values %v", task.Values)
		}
	}
	if u, _ := unseen(t, s); len(u) != 0 {
		t.Fatalf("%d messages left unseen", len(u))
	}
	if res, err := p.Poll(context.Background()); err != nil || res.Processed != 0 {
		t.Fatalf("a second poll read again: %+v %v", res, err)
	}
}
