// Package smtpclient is the SMTP Transport of shared/mail, on
// github.com/wneessen/go-mail: it dials, secures (STARTTLS or implicit TLS)
// and authenticates with go-mail's client, composes the MIME message with
// go-mail's Msg, and runs the mail transaction itself on go-mail's SMTP
// connection so that it can call the sender's commit hook after the content
// and before the end-of-data, the one point the exactly-once protocol needs
// (docs/mail.md).
//
// Invariants: a failure of the commit hook closes the connection without the
// end-of-data, so the server discards the transaction; an answer after the
// end-of-data decides the outcome (2xx sent, 4xx retry, 5xx permanent); no
// answer at all is reported as mail.SendError{Unknown: true}.
package smtpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/textproto"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/mail"
)

// Security modes.
const (
	StartTLS = "starttls" // connect in clear, then STARTTLS (mandatory)
	TLS      = "tls"      // implicit TLS from the first byte (port 465)
	None     = "none"     // no TLS: MailDev and test servers on loopback only
)

// Config says how to reach the SMTP server.
type Config struct {
	Host     string
	Port     int
	Username string // empty: no AUTH
	Password string
	Security string         // StartTLS (default), TLS or None
	Timeout  time.Duration  // per connection and command; default 30 s
	RootCAs  *x509.CertPool // nil: the system roots (tests pass their own)
	HELO     string         // the name to greet with; default go-mail's (the host name)
}

// Transport sends over SMTP; one connection per message (notifications are
// few, and a fresh connection keeps each attempt independent).
type Transport struct{ cfg Config }

// New checks cfg and returns the transport.
func New(cfg Config) (*Transport, error) {
	if cfg.Host == "" {
		return nil, fault.E("smtpclient.New", fault.Invalid, "no SMTP host")
	}
	switch cfg.Security {
	case "":
		cfg.Security = StartTLS
	case StartTLS, TLS, None:
	default:
		return nil, fault.E("smtpclient.New", fault.Invalid, fmt.Sprintf("SMTP security %q: starttls, tls or none", cfg.Security))
	}
	if cfg.Port == 0 {
		cfg.Port = map[string]int{StartTLS: 587, TLS: 465, None: 25}[cfg.Security]
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &Transport{cfg: cfg}, nil
}

func (t *Transport) client() (*gomail.Client, error) {
	c := t.cfg
	opts := []gomail.Option{gomail.WithPort(c.Port), gomail.WithTimeout(c.Timeout),
		gomail.WithTLSConfig(&tls.Config{ServerName: c.Host, RootCAs: c.RootCAs, MinVersion: tls.VersionTLS12})}
	switch c.Security {
	case StartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLS:
		opts = append(opts, gomail.WithSSL())
	case None:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if c.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover), gomail.WithUsername(c.Username), gomail.WithPassword(c.Password))
	}
	if c.HELO != "" {
		opts = append(opts, gomail.WithHELO(c.HELO))
	}
	return gomail.NewClient(c.Host, opts...)
}

// compose builds the go-mail message. Addresses were parsed by
// mail.ParseAddress; go-mail parses them again with net/mail and encodes
// display names and the subject (RFC 2047).
func compose(m mail.Message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, err
	}
	if err := msg.To(m.To...); err != nil {
		return nil, err
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, err
		}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(strings.TrimSuffix(strings.TrimPrefix(m.MessageID, "<"), ">"))
	msg.SetDate()
	if m.InReplyTo != "" {
		msg.SetGenHeader(gomail.HeaderInReplyTo, m.InReplyTo)
		msg.SetGenHeader(gomail.HeaderReferences, m.References)
	}
	if m.AutoSubmitted {
		msg.SetGenHeader("Auto-Submitted", "auto-replied")
		msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// Send delivers m in one SMTP transaction, calling commit just before the
// end-of-data.
func (t *Transport) Send(ctx context.Context, m mail.Message, commit func() error) error {
	msg, err := compose(m)
	if err != nil {
		return &mail.SendError{Permanent: true, Err: fmt.Errorf("compose: %w", err)}
	}
	from, err := msg.GetSender(false)
	if err != nil {
		return &mail.SendError{Permanent: true, Err: err}
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return &mail.SendError{Permanent: true, Err: err}
	}
	c, err := t.client()
	if err != nil {
		return &mail.SendError{Permanent: true, Err: err}
	}
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return classify("connect", err)
	}
	done := false
	defer func() {
		if done {
			_ = c.CloseWithSMTPClient(sc) // QUIT
		} else {
			_ = sc.Close() // drop the connection: no end-of-data, nothing taken
		}
	}()
	if err := sc.Mail(from); err != nil {
		return classify("MAIL FROM", err)
	}
	for _, r := range rcpts {
		if err := sc.Rcpt(r); err != nil {
			return classify("RCPT TO "+r, err)
		}
	}
	w, err := sc.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := msg.WriteTo(w); err != nil {
		return classify("writing the message", err)
	}
	if err := commit(); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		var tp *textproto.Error
		if errors.As(err, &tp) {
			return classify("end of data", err)
		}
		return &mail.SendError{Unknown: true, Err: fmt.Errorf("end of data: %w", err)}
	}
	done = true
	return nil
}

// classify turns an SMTP or network error into a mail.SendError: a reply
// code 5xx is permanent, 4xx and network errors are worth a retry.
func classify(step string, err error) error {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return &mail.SendError{Code: tp.Code, Permanent: tp.Code >= 500, Err: fmt.Errorf("%s: %w", step, err)}
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		return &mail.SendError{Code: se.ErrorCode(), Permanent: !se.IsTemp() && se.ErrorCode() >= 500, Err: fmt.Errorf("%s: %w", step, err)}
	}
	return &mail.SendError{Err: fmt.Errorf("%s: %w", step, err)}
}
