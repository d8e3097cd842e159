package mail_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/store"
)

func notice(id string) mail.Notification {
	return mail.Notification{ID: id, Project: "claims", Kind: mail.KindJobFailing, To: []string{"Bob <Bob@Example.com>"},
		Data: map[string]any{"env": "test", "job": "sync", "failures": 5, "lastError": "work portal answered 500"}}
}

func (r *rig) sendOnce(id string) {
	r.t.Helper()
	if err := r.outbox.Enqueue(context.Background(), notice(id)); err != nil {
		r.t.Fatal(err)
	}
}

// TestDeliveredOnceAfterCrashFollowingAccept: the sender's process dies
// after the SMTP server accepted the message and before "sent" is recorded.
// The host retries the message: while the claim's lease runs the retry only
// re-queues itself; after it, the notification is recorded as sent
// (unconfirmed) without a second SMTP transaction. The server counts one
// delivery of that Message-ID.
func TestDeliveredOnceAfterCrashFollowingAccept(t *testing.T) {
	r := newRig(t)
	r.sendOnce("job-disabled:a")
	dying := *r.sender
	dying.Outbox = &mail.Outbox{Table: faultyTable{r.outbox.Table, func(st string) bool { return st == mail.StatusSent }}, Queue: r.queue, Now: r.clock.now}
	if errs := r.drain(&dying); len(errs) != 1 || !fault.Is(errs[0], fault.Unavailable) {
		t.Fatalf("the dying attempt answered %v, want one Unavailable error (the host retries)", errs)
	}
	if got := r.record("claims", "job-disabled:a"); got.Status != mail.StatusCommitting || got.Attempts != 1 {
		t.Fatalf("after the crash: %s, attempt %d", got.Status, got.Attempts)
	}
	// The host's retry comes while the lease still runs: it re-queues itself
	// for later instead of racing a claimant that may be alive.
	ref := mail.Ref{Project: "claims", ID: "job-disabled:a"}
	if err := r.sender.Process(context.Background(), ref, 2); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.queue.Length(context.Background()); n != 1 {
		t.Fatalf("%d messages queued, want the one re-queued for after the lease", n)
	}
	r.clock.advance(2 * time.Minute)
	for i := int64(3); i < 6; i++ { // and any number of further retries and duplicates
		if err := r.sender.Process(context.Background(), ref, i); err != nil {
			t.Fatal(err)
		}
	}
	got := r.record("claims", "job-disabled:a")
	if got.Status != mail.StatusSent || !got.Unconfirmed || got.Attempts != 1 {
		t.Fatalf("after the retries: %+v", got)
	}
	d := r.smtp.Deliveries()
	if len(d) != 1 || d[got.MessageID] != 1 {
		t.Fatalf("deliveries by Message-ID %v, want exactly one of %s", d, got.MessageID)
	}
}

// TestCrashBeforeEndOfDataSendsOnRetry: the process dies before it could
// record the commit point; the transaction is abandoned without its end of
// data, the server keeps nothing, and the retry after the lease sends it.
func TestCrashBeforeEndOfDataSendsOnRetry(t *testing.T) {
	r := newRig(t)
	r.sendOnce("n1")
	dying := *r.sender
	dying.Outbox = &mail.Outbox{Table: faultyTable{r.outbox.Table, func(st string) bool { return st == mail.StatusCommitting }}, Queue: r.queue, Now: r.clock.now}
	if errs := r.drain(&dying); len(errs) != 1 {
		t.Fatalf("errors %v", errs)
	}
	if n := len(r.smtp.Messages()); n != 0 {
		t.Fatalf("the server kept %d messages of an abandoned transaction", n)
	}
	r.clock.advance(2 * time.Minute)
	if err := r.sender.Process(context.Background(), mail.Ref{Project: "claims", ID: "n1"}, 2); err != nil {
		t.Fatal(err)
	}
	got := r.record("claims", "n1")
	if got.Status != mail.StatusSent || got.Unconfirmed || got.Attempts != 2 {
		t.Fatalf("%+v", got)
	}
	if d := r.smtp.Deliveries(); d[got.MessageID] != 1 || len(d) != 1 {
		t.Fatalf("deliveries %v", d)
	}
}

// TestConcurrentSendersSendOnce: five instances get the same notification
// at once (duplicate messages); the ETag claim lets one send it.
func TestConcurrentSendersSendOnce(t *testing.T) {
	r := newRig(t)
	r.sendOnce("n2")
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.sender.Process(context.Background(), mail.Ref{Project: "claims", ID: "n2"}, 1)
		}()
	}
	wg.Wait()
	if got := r.record("claims", "n2"); got.Status != mail.StatusSent || got.Attempts != 1 {
		t.Fatalf("%+v", got)
	}
	if n := len(r.smtp.Messages()); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
}

// TestNoAnswerAfterEndOfDataIsNotRepeated: the server takes the message
// and the connection drops before its answer; the sender cannot know, counts
// it as sent (unconfirmed) and never repeats it.
func TestNoAnswerAfterEndOfDataIsNotRepeated(t *testing.T) {
	r := newRig(t)
	r.smtp.DropAfterData(1)
	r.sendOnce("n3")
	if errs := r.drain(nil); len(errs) != 0 {
		t.Fatal(errs)
	}
	got := r.record("claims", "n3")
	if got.Status != mail.StatusSent || !got.Unconfirmed {
		t.Fatalf("%+v", got)
	}
	r.clock.advance(time.Hour)
	_ = r.sender.Process(context.Background(), mail.Ref{Project: "claims", ID: "n3"}, 2)
	if n := len(r.smtp.Messages()); n != 1 {
		t.Fatalf("%d deliveries", n)
	}
}

// TestOutageRetriesThenFailed: with the SMTP server down every attempt
// fails and asks the host to retry; the attempt the host would poison after
// marks the notification failed, with the error, and acknowledges.
func TestOutageRetriesThenFailed(t *testing.T) {
	r := newRig(t)
	r.smtp.Stop()
	r.sendOnce("n4")
	ref := mail.Ref{Project: "claims", ID: "n4"}
	for i := int64(1); i <= mail.DefaultMaxAttempts; i++ {
		err := r.sender.Process(context.Background(), ref, i)
		got := r.record("claims", "n4")
		if i < mail.DefaultMaxAttempts {
			if err == nil || got.Status != mail.StatusQueued || got.Attempts != int(i) || got.LastError == "" {
				t.Fatalf("attempt %d: err %v, %+v", i, err, got)
			}
			continue
		}
		if err != nil || got.Status != mail.StatusFailed || !strings.Contains(got.LastError, "after 5 attempts") {
			t.Fatalf("last attempt: err %v, %+v", err, got)
		}
	}
	page, err := r.outbox.List(context.Background(), "claims", mail.StatusFailed, 10, "")
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != "n4" {
		t.Fatalf("failed list %+v %v", page, err)
	}
}

// TestRefusals: a temporary refusal is retried and then sent; a permanent
// refusal fails at once.
func TestRefusals(t *testing.T) {
	r := newRig(t)
	r.smtp.FailNext(1, 451)
	r.sendOnce("temp")
	if errs := r.drain(nil); len(errs) != 1 {
		t.Fatalf("errors %v", errs)
	}
	if err := r.sender.Process(context.Background(), mail.Ref{Project: "claims", ID: "temp"}, 2); err != nil {
		t.Fatal(err)
	}
	if got := r.record("claims", "temp"); got.Status != mail.StatusSent || got.Attempts != 2 {
		t.Fatalf("%+v", got)
	}
	r.smtp.RefuseRecipient("bob@example.com", 550)
	r.sendOnce("perm")
	if errs := r.drain(nil); len(errs) != 0 {
		t.Fatalf("errors %v", errs)
	}
	if got := r.record("claims", "perm"); got.Status != mail.StatusFailed || got.Attempts != 1 || !strings.Contains(got.LastError, "550") {
		t.Fatalf("%+v", got)
	}
}

// failingQueue fails its first Send, like an outage between the row and
// the message.
type failingQueue struct {
	store.Queue
	mu    sync.Mutex
	fails int
}

func (q *failingQueue) Send(ctx context.Context, text string, delay, ttl time.Duration) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fails > 0 {
		q.fails--
		return "", errors.New("queue unavailable")
	}
	return q.Queue.Send(ctx, text, delay, ttl)
}

// TestEnqueueIsIdempotent: the same ID twice is one row and one message;
// a row whose message was never sent gets it on the next Enqueue.
func TestEnqueueIsIdempotent(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.sendOnce("dup")
	r.sendOnce("dup")
	if n, _ := r.queue.Length(ctx); n != 1 {
		t.Fatalf("%d messages for one notification", n)
	}
	broken := &mail.Outbox{Table: r.outbox.Table, Queue: &failingQueue{Queue: r.queue, fails: 1}, Now: r.clock.now}
	if err := broken.Enqueue(ctx, notice("half")); err == nil {
		t.Fatal("an Enqueue whose message failed reported success")
	}
	if got := r.record("claims", "half"); got.Status != mail.StatusQueued || got.Enqueued {
		t.Fatalf("%+v", got)
	}
	if err := broken.Enqueue(ctx, notice("half")); err != nil {
		t.Fatal(err)
	}
	if err := broken.Enqueue(ctx, notice("half")); err != nil {
		t.Fatal(err)
	}
	if n, _ := r.queue.Length(ctx); n != 2 {
		t.Fatalf("%d messages, want 2 (dup once, half once)", n)
	}
	if errs := r.drain(nil); len(errs) != 0 {
		t.Fatal(errs)
	}
	if n := len(r.smtp.Messages()); n != 2 {
		t.Fatalf("%d deliveries", n)
	}
}

// TestEnqueueRefusesBadInput: unknown kinds, missing data, and addresses
// carrying line breaks or control characters are refused before anything
// is stored.
func TestEnqueueRefusesBadInput(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		name string
		mod  func(n *mail.Notification)
	}{
		{"unknown kind", func(n *mail.Notification) { n.Kind = "spam" }},
		{"missing data", func(n *mail.Notification) { delete(n.Data, "job") }},
		{"no recipient", func(n *mail.Notification) { n.To = nil }},
		{"CR LF in a display name", func(n *mail.Notification) { n.To = []string{"\"Bob\r\nBcc: evil@example.com\" <bob@example.com>"} }},
		{"LF in an address", func(n *mail.Notification) { n.To = []string{"bob@example.com\nBcc: evil@example.com"} }},
		{"not an address", func(n *mail.Notification) { n.To = []string{"bob"} }},
		{"empty id", func(n *mail.Notification) { n.ID = "" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := notice("bad")
			c.mod(&n)
			if err := r.outbox.Enqueue(context.Background(), n); !fault.Is(err, fault.Invalid) {
				t.Fatalf("got %v, want Invalid", err)
			}
		})
	}
	if _, err := r.outbox.Get(context.Background(), "claims", "bad"); !fault.Is(err, fault.NotFound) {
		t.Fatal("a refused notification was stored")
	}
}

// TestHeadersCarryNoInjectedLines: data with CR/LF (a job name, an error)
// ends up in the subject; the message has exactly the headers we write, one
// recipient, an encoded display name and our Message-ID.
func TestHeadersCarryNoInjectedLines(t *testing.T) {
	r := newRig(t)
	n := notice("inj")
	n.To = []string{"Zoë Ünïcode <zoe@example.com>"}
	n.Data["job"] = "sync\r\nBcc: evil@example.com\r\nX-Evil: 1"
	if err := r.outbox.Enqueue(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if errs := r.drain(nil); len(errs) != 0 {
		t.Fatal(errs)
	}
	ms := r.smtp.Messages()
	if len(ms) != 1 || len(ms[0].To) != 1 || ms[0].To[0] != "zoe@example.com" {
		t.Fatalf("recipients %+v", ms)
	}
	head, _, _ := strings.Cut(string(ms[0].Data), "\r\n\r\n")
	if regexp.MustCompile(`(?im)^(bcc|x-evil):`).MatchString(head) {
		t.Fatalf("an injected header line:\n%s", head)
	}
	if !strings.Contains(head, "=?UTF-8?q?Zo=C3=AB") && !strings.Contains(head, "=?UTF-8?Q?Zo=C3=AB") && !strings.Contains(head, "=?utf-8?q?Zo=C3=AB") {
		t.Fatalf("display name not encoded:\n%s", head)
	}
	if subj := ms[0].Header.Get("Subject"); !strings.Contains(subj, "sync Bcc: evil@example.com X-Evil: 1") {
		t.Fatalf("subject %q", subj)
	}
	if got := r.record("claims", "inj"); ms[0].MessageID != got.MessageID || !strings.HasSuffix(got.MessageID, "@collab.test>") {
		t.Fatalf("Message-ID %q, recorded %q", ms[0].MessageID, got.MessageID)
	}
}

// TestMaxAttemptsIsTheHostsDequeueCount: the sender gives up on the attempt
// after which the Functions host would poison the message.
func TestMaxAttemptsIsTheHostsDequeueCount(t *testing.T) {
	b, err := os.ReadFile("../../host.json")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"maxDequeueCount":\s*(\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("host.json has no maxDequeueCount")
	}
	if n, _ := strconv.Atoi(string(m[1])); n != mail.DefaultMaxAttempts {
		t.Fatalf("host.json maxDequeueCount %d, mail.DefaultMaxAttempts %d", n, mail.DefaultMaxAttempts)
	}
}

// TestRedriveRequeuesStrandedNotifications: a row whose message never went
// out (the caller gave up after the queue failed) is requeued by the sweep
// once it is old enough, and then sent once; recent and finished rows are
// left alone.
func TestRedriveRequeuesStrandedNotifications(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	broken := &mail.Outbox{Table: r.outbox.Table, Queue: &failingQueue{Queue: r.queue, fails: 1}, Now: r.clock.now}
	if err := broken.Enqueue(ctx, notice("stranded")); err == nil {
		t.Fatal("expected the queue failure")
	}
	r.sendOnce("fine")
	if errs := r.drain(nil); len(errs) != 0 {
		t.Fatal(errs)
	}
	scan := r.acct.Table("notifications")
	if n, err := r.outbox.Redrive(ctx, scan, r.clock.now().Add(-time.Minute), 100); err != nil || n != 0 {
		t.Fatalf("a fresh row was redriven: %d %v", n, err)
	}
	r.clock.advance(2 * time.Minute)
	if n, err := r.outbox.Redrive(ctx, scan, r.clock.now().Add(-time.Minute), 100); err != nil || n != 1 {
		t.Fatalf("redriven %d, %v; want the stranded one", n, err)
	}
	if errs := r.drain(nil); len(errs) != 0 {
		t.Fatal(errs)
	}
	if got := r.record("claims", "stranded"); got.Status != mail.StatusSent {
		t.Fatalf("%+v", got)
	}
	if d := r.smtp.Deliveries(); len(d) != 2 {
		t.Fatalf("deliveries %v", d)
	}
}
