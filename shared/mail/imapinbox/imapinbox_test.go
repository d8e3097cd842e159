package imapinbox_test

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/mail/imapinbox"
)

// recorder is a Receiver that records what it got and can fail once, or
// always refuse one message.
type recorder struct {
	mu     sync.Mutex
	got    []string
	failAt int    // fail the n-th message (1-based) once
	refuse string // refuse this Message-ID every time (Invalid)
}

func (r *recorder) Receive(_ context.Context, m mail.InboundMessage) (mail.Outcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAt > 0 && len(r.got)+1 == r.failAt {
		r.failAt = 0
		return mail.Outcome{}, fault.E("test", fault.Unavailable, "storage is down")
	}
	p, _ := mail.Parse(m.Raw)
	if p.MessageID == r.refuse {
		return mail.Outcome{}, fault.E("test", fault.Invalid, "the answers cannot be stored")
	}
	r.got = append(r.got, p.MessageID+" "+m.Source)
	return mail.Outcome{Outcome: mail.OutcomeCompleted}, nil
}

// server runs go-imap's in-memory server on loopback with one user.
func server(t *testing.T) (string, *imapmemserver.User) {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("tasks", "secret")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), user
}

func appendMsg(t *testing.T, addr, raw string) {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("tasks", "secret").Wait(); err != nil {
		t.Fatal(err)
	}
	cmd := c.Append("INBOX", int64(len(raw)), nil)
	_, _ = cmd.Write([]byte(raw))
	_ = cmd.Close()
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func msg(id string) string {
	return "From: bob@example.com\r\nTo: tasks@example.com\r\nSubject: Re: x\r\nMessage-ID: <" + id + "@example.com>\r\n\r\nApprove\r\n"
}

// TestPollReadsUnseenOnce: the poller hands each unseen message to the
// pipeline once, marks it seen, and leaves a message whose processing
// failed unseen for the next poll.
func TestPollReadsUnseenOnce(t *testing.T) {
	addr, _ := server(t)
	host, port, _ := net.SplitHostPort(addr)
	for _, id := range []string{"m1", "m2", "m3"} {
		appendMsg(t, addr, msg(id))
	}
	rec := &recorder{failAt: 2}
	p := &imapinbox.Poller{Config: imapinbox.Config{Host: host, Port: atoi(port), Username: "tasks", Password: "secret", Security: "none"}, Receiver: rec}
	res, err := p.Poll(context.Background())
	if err == nil || res.Processed != 1 {
		t.Fatalf("first poll: %+v %v, want one processed then the failure", res, err)
	}
	res, err = p.Poll(context.Background())
	if err != nil || res.Processed != 2 {
		t.Fatalf("second poll: %+v %v", res, err)
	}
	res, err = p.Poll(context.Background())
	if err != nil || res.Processed != 0 {
		t.Fatalf("third poll: %+v %v", res, err)
	}
	want := "<m1@example.com> imap,<m2@example.com> imap,<m3@example.com> imap"
	if got := strings.Join(rec.got, ","); got != want {
		t.Fatalf("received %s", got)
	}
}

// TestPollSkipsOversizedMessages: a message over the inbound cap is flagged
// and never read.
func TestPollSkipsOversizedMessages(t *testing.T) {
	addr, _ := server(t)
	host, port, _ := net.SplitHostPort(addr)
	appendMsg(t, addr, msg("big")+string(bytes.Repeat([]byte("x"), mail.MaxInbound)))
	rec := &recorder{}
	p := &imapinbox.Poller{Config: imapinbox.Config{Host: host, Port: atoi(port), Username: "tasks", Password: "secret", Security: "none"}, Receiver: rec}
	res, err := p.Poll(context.Background())
	if err != nil || res.Skipped != 1 || len(rec.got) != 0 {
		t.Fatalf("%+v %v %v", res, err, rec.got)
	}
	if res, _ := p.Poll(context.Background()); res.Skipped != 0 {
		t.Fatal("the oversized message was looked at again")
	}
}

// TestPollMovesPastARefusedMessage: a message the pipeline refuses for
// good is flagged and reported, and the replies after it are processed in
// the same poll; it is not read again. Before the fix the poll stopped at
// it, every time, and no later reply was ever read.
func TestPollMovesPastARefusedMessage(t *testing.T) {
	addr, _ := server(t)
	host, port, _ := net.SplitHostPort(addr)
	for _, id := range []string{"m1", "bad", "m3"} {
		appendMsg(t, addr, msg(id))
	}
	rec := &recorder{refuse: "<bad@example.com>"}
	p := &imapinbox.Poller{Config: imapinbox.Config{Host: host, Port: atoi(port), Username: "tasks", Password: "secret", Security: "none"}, Receiver: rec}
	res, err := p.Poll(context.Background())
	if err != nil || res.Processed != 2 || len(res.Failures) != 1 || !strings.Contains(res.Failures[0], "cannot be stored") {
		t.Fatalf("poll: %+v %v", res, err)
	}
	if res, err := p.Poll(context.Background()); err != nil || res.Processed != 0 || len(res.Failures) != 0 {
		t.Fatalf("the refused message was read again: %+v %v", res, err)
	}
	if got := strings.Join(rec.got, ","); got != "<m1@example.com> imap,<m3@example.com> imap" {
		t.Fatalf("received %s", got)
	}
}

// TestWrongPasswordIsUnavailable: a login failure is reported, not hidden.
func TestWrongPasswordIsUnavailable(t *testing.T) {
	addr, _ := server(t)
	host, port, _ := net.SplitHostPort(addr)
	p := &imapinbox.Poller{Config: imapinbox.Config{Host: host, Port: atoi(port), Username: "tasks", Password: "nope", Security: "none"}, Receiver: &recorder{}}
	if _, err := p.Poll(context.Background()); !fault.Is(err, fault.Unavailable) {
		t.Fatalf("got %v", err)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
