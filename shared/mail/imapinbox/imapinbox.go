// Package imapinbox polls an IMAP mailbox for task replies (the InboxPoll
// timer function), for deployments where no provider posts inbound mail to
// the webhook: github.com/emersion/go-imap/v2 reads the unseen messages and
// hands each raw message to the same inbound pipeline as the webhook.
//
// Invariants: a message is flagged \Seen only after the pipeline has
// recorded its outcome, so a poll that dies re-reads it next time (the
// pipeline's Message-ID check makes the second reading a replay); a message
// over mail.MaxInbound is flagged \Seen and \Flagged without being read, so
// it does not block the mailbox; a message the pipeline refuses for
// anything but a passing outage (a reply it cannot store, a bug) is flagged
// \Seen and \Flagged, reported in Failures, and the poll goes on, so one
// message never blocks every later reply; one poll handles at most Max messages and
// holds one connection for at most Deadline.
package imapinbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/mail"
)

// Config says how to reach the mailbox.
type Config struct {
	Host               string
	Port               int
	Username, Password string
	Security           string // "tls" (default, port 993), "starttls" or "none" (loopback tests)
	Mailbox            string // default INBOX
	RootCAs            *x509.CertPool
	Deadline           time.Duration // of one poll's connection; default 2 minutes
	Max                int           // messages per poll; default 50
	// AuthservID is the receiving mail server's authserv-id: its
	// Authentication-Results field carries the DKIM/SPF verdicts that
	// COLLAB_INBOUND_REQUIRE_AUTH needs (mail.InboundMessage.AuthservID).
	AuthservID string
}

// Receiver is the inbound pipeline (*mail.Inbound).
type Receiver interface {
	Receive(ctx context.Context, m mail.InboundMessage) (mail.Outcome, error)
}

// Poller reads the mailbox.
type Poller struct {
	Config   Config
	Receiver Receiver
}

// Result counts what one poll did.
type Result struct {
	Processed int            `json:"processed"`
	Skipped   int            `json:"skipped"` // too large
	Outcomes  map[string]int `json:"outcomes"`
	// Failures are the messages the pipeline refused for good (flagged
	// \Flagged for an operator): "uid <n>: <error>".
	Failures []string `json:"failures,omitempty"`
}

func (p *Poller) dial() (*imapclient.Client, error) {
	c := p.Config
	port := c.Port
	if port == 0 {
		port = map[bool]int{true: 993, false: 143}[c.Security == "" || c.Security == "tls"]
	}
	addr := net.JoinHostPort(c.Host, strconv.Itoa(port))
	deadline := c.Deadline
	if deadline <= 0 {
		deadline = 2 * time.Minute
	}
	tlsConfig := &tls.Config{ServerName: c.Host, RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12}
	opts := &imapclient.Options{TLSConfig: tlsConfig}
	d := &net.Dialer{Timeout: 30 * time.Second}
	var conn net.Conn
	var err error
	switch c.Security {
	case "", "tls":
		conn, err = tls.DialWithDialer(d, "tcp", addr, tlsConfig)
	case "starttls", "none":
		conn, err = d.Dial("tcp", addr)
	default:
		return nil, fault.E("imapinbox", fault.Invalid, "IMAP security is tls, starttls or none")
	}
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(deadline))
	if c.Security == "starttls" {
		return imapclient.NewStartTLS(conn, opts)
	}
	return imapclient.New(conn, opts), nil
}

// Poll handles the unseen messages of the mailbox, oldest first.
func (p *Poller) Poll(ctx context.Context) (Result, error) {
	const op = "imapinbox.Poll"
	res := Result{Outcomes: map[string]int{}}
	if p.Config.Host == "" {
		return res, nil
	}
	c, err := p.dial()
	if err != nil {
		return res, fault.E(op, fault.Unavailable, "IMAP connection", err)
	}
	defer c.Close()
	if err := c.Login(p.Config.Username, p.Config.Password).Wait(); err != nil {
		return res, fault.E(op, fault.Unavailable, "IMAP login", err)
	}
	box := p.Config.Mailbox
	if box == "" {
		box = "INBOX"
	}
	if _, err := c.Select(box, nil).Wait(); err != nil {
		return res, fault.E(op, fault.Unavailable, "IMAP select "+box, err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, nil).Wait()
	if err != nil {
		return res, fault.E(op, fault.Unavailable, "IMAP search", err)
	}
	max := p.Config.Max
	if max <= 0 {
		max = 50
	}
	uids := found.AllUIDs()
	if len(uids) > max {
		uids = uids[:max]
	}
	for _, uid := range uids {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		set := imap.UIDSetNum(uid)
		sized, err := c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true}).Collect()
		if err != nil || len(sized) != 1 {
			return res, fault.E(op, fault.Unavailable, fmt.Sprintf("IMAP fetch size of %d", uid), err)
		}
		if sized[0].RFC822Size > mail.MaxInbound {
			if err := p.flag(c, set, imap.FlagSeen, imap.FlagFlagged); err != nil {
				return res, err
			}
			res.Skipped++
			continue
		}
		bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
		if err != nil || len(bufs) != 1 || len(bufs[0].BodySection) != 1 {
			return res, fault.E(op, fault.Unavailable, fmt.Sprintf("IMAP fetch of %d", uid), err)
		}
		out, err := p.Receiver.Receive(ctx, mail.InboundMessage{Raw: bufs[0].BodySection[0].Bytes, Source: "imap", AuthservID: p.Config.AuthservID})
		if err != nil && (fault.Is(err, fault.Unavailable) || ctx.Err() != nil) {
			return res, err // a passing outage: left unseen, the next poll tries again
		}
		if err != nil {
			// It would fail the same way every time: flag it, report it, go on.
			if err := p.flag(c, set, imap.FlagSeen, imap.FlagFlagged); err != nil {
				return res, err
			}
			res.Failures = append(res.Failures, fmt.Sprintf("uid %d: %v", uid, err))
			continue
		}
		if err := p.flag(c, set, imap.FlagSeen); err != nil {
			return res, err
		}
		res.Processed++
		res.Outcomes[out.Outcome]++
	}
	_ = c.Logout().Wait()
	return res, nil
}

func (p *Poller) flag(c *imapclient.Client, set imap.UIDSet, flags ...imap.Flag) error {
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: flags}, nil).Close(); err != nil {
		return fault.E("imapinbox.Poll", fault.Unavailable, "IMAP store flags", err)
	}
	return nil
}
