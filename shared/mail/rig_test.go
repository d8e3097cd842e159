package mail_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/mail/smtpclient"
	"github.com/studio-collab/collab/shared/mail/smtptest"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

var seq atomic.Int64

// clock is a fake clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// rig is one test's storage (own table prefix and queues), SMTP server,
// clock and the mail services on them.
type rig struct {
	t         testing.TB
	acct      *azure.Account
	clock     *clock
	smtp      *smtptest.Server
	queue     store.Queue // this test's outbox queue
	callbacks store.Queue
	outbox    *mail.Outbox
	sender    *mail.Sender
	tasks     *mail.Tasks
	inbound   *mail.Inbound
	audit     *audit.Log
}

const testKeys = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=,k0:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="

func newRig(t testing.TB) *rig {
	t.Helper()
	n := seq.Add(1)
	prefix := fmt.Sprintf("m%x%d", time.Now().UnixNano()&0xffffff, n)
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	qname, cname := strings.ToLower(prefix)+"-outbox", strings.ToLower(prefix)+"-cb"
	if err := acct.Bootstrap(context.Background(), store.Layout{Tables: append(mail.Layout.Tables, "audit"), Queues: []string{qname, cname}}); err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, acct: acct, clock: &clock{}, queue: acct.Queue(qname), callbacks: acct.Queue(cname)}
	r.clock.ns.Store(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).UnixNano())
	r.smtp = smtptest.Start(t, smtptest.Options{})
	tr, err := smtpclient.New(smtpclient.Config{Host: r.smtp.Host, Port: r.smtp.Port, Security: smtpclient.None, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := mail.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	r.outbox = &mail.Outbox{Table: acct.Table("notifications"), Queue: r.queue, Now: r.clock.now}
	keys, err := mail.ParseKeys(testKeys)
	if err != nil {
		t.Fatal(err)
	}
	r.tasks = &mail.Tasks{Table: acct.Table("emailtasks"), Outbox: r.outbox, Keys: keys, ReplyDomain: "reply.collab.test",
		AllowInsecureCallbacks: true, Now: r.clock.now}
	r.sender = &mail.Sender{Outbox: r.outbox, Transport: tr, Templates: tpl, From: "Studio Collaboration <noreply@collab.test>",
		Lease: time.Minute, ReplyTo: r.tasks.ReplyTo}
	r.audit = audit.New(acct.Table("audit"), r.clock.now)
	r.inbound = &mail.Inbound{Tasks: r.tasks, Callbacks: r.callbacks, Audit: r.audit, Now: r.clock.now}
	return r
}

// drain receives the rig's outbox messages and processes each once with
// sender s (nil: the rig's), as the host would; it returns the errors.
func (r *rig) drain(s *mail.Sender) []error {
	r.t.Helper()
	if s == nil {
		s = r.sender
	}
	var errs []error
	for {
		msgs, err := r.queue.Receive(context.Background(), 32, time.Minute)
		if err != nil {
			r.t.Fatal(err)
		}
		if len(msgs) == 0 {
			return errs
		}
		for _, m := range msgs {
			var ref mail.Ref
			if err := json.Unmarshal([]byte(m.Text), &ref); err != nil {
				r.t.Fatal(err)
			}
			if err := s.Process(context.Background(), ref, m.DequeueCount); err != nil {
				errs = append(errs, err)
			}
			_ = r.queue.Delete(context.Background(), m)
		}
	}
}

func (r *rig) record(project, id string) mail.Record {
	r.t.Helper()
	rec, err := r.outbox.Get(context.Background(), project, id)
	if err != nil {
		r.t.Fatal(err)
	}
	return rec
}

// faultyTable fails the writes fail says to fail, as a process that died
// at that point would not write them.
type faultyTable struct {
	store.Table
	fail func(status string) bool
}

func (f faultyTable) Update(ctx context.Context, e store.Entity, ifMatch string) (string, error) {
	if f.fail(e.String("Status")) {
		return "", fault.E("test", fault.Unavailable, "the process died here")
	}
	return f.Table.Update(ctx, e, ifMatch)
}

// auditOutcomes lists the outcomes audited in scope, oldest first.
func (r *rig) auditOutcomes(scope string) []string {
	r.t.Helper()
	p, err := r.audit.List(context.Background(), scope, time.Time{}, 1000, "")
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for i := len(p.Entries) - 1; i >= 0; i-- {
		var after map[string]any
		_ = json.Unmarshal(p.Entries[i].After, &after)
		out = append(out, fmt.Sprint(after["outcome"]))
	}
	return out
}

func jsonRound(in any, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
