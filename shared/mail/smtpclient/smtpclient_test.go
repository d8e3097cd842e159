package smtpclient_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/mail/smtpclient"
	"github.com/studio-collab/collab/shared/mail/smtptest"
)

func message() mail.Message {
	return mail.Message{MessageID: "<n.1@collab.test>", From: "Studio <noreply@collab.test>", To: []string{"<bob@example.com>"},
		ReplyTo: "<reply+k1.abc@reply.collab.test>", Subject: "Grüße", Text: "hello", HTML: "<p>hello</p>",
		InReplyTo: "<orig@example.com>", References: "<orig@example.com>", AutoSubmitted: true}
}

// TestSecurityModesAndAuth: STARTTLS and implicit TLS with AUTH deliver
// (the server's own certificate is trusted through RootCAs); a wrong
// password is a permanent failure; plain text to a TLS-only server fails.
func TestSecurityModesAndAuth(t *testing.T) {
	cases := []struct {
		name      string
		server    smtptest.Options
		security  string
		password  string
		delivered bool
		permanent bool
	}{
		{"starttls with auth", smtptest.Options{Security: smtptest.StartTLS, Username: "u", Password: "p"}, smtpclient.StartTLS, "p", true, false},
		{"implicit tls with auth", smtptest.Options{Security: smtptest.TLS, Username: "u", Password: "p"}, smtpclient.TLS, "p", true, false},
		{"no tls, no auth (MailDev)", smtptest.Options{}, smtpclient.None, "", true, false},
		{"wrong password", smtptest.Options{Security: smtptest.StartTLS, Username: "u", Password: "p"}, smtpclient.StartTLS, "nope", false, true},
		{"starttls demanded, server has none", smtptest.Options{}, smtpclient.StartTLS, "", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := smtptest.Start(t, c.server)
			user := ""
			if c.password != "" {
				user = "u"
			}
			tr, err := smtpclient.New(smtpclient.Config{Host: srv.Host, Port: srv.Port, Security: c.security, Username: user, Password: c.password,
				RootCAs: srv.RootCAs, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			committed := false
			err = tr.Send(context.Background(), message(), func() error { committed = true; return nil })
			if got := len(srv.Messages()) == 1; got != c.delivered || (err == nil) != c.delivered {
				t.Fatalf("delivered %v, err %v", got, err)
			}
			var se *mail.SendError
			if err != nil && (!errors.As(err, &se) || se.Permanent != c.permanent || committed) {
				t.Fatalf("error %#v (committed %v)", err, committed)
			}
			if c.delivered {
				m := srv.Messages()[0]
				for h, want := range map[string]string{"Message-Id": "<n.1@collab.test>", "Reply-To": "<reply+k1.abc@reply.collab.test>",
					"In-Reply-To": "<orig@example.com>", "Auto-Submitted": "auto-replied"} {
					if got := m.Header.Get(h); got != want {
						t.Errorf("%s: %q, want %q", h, got, want)
					}
				}
				if !strings.Contains(m.Header.Get("Subject"), "=?UTF-8?") || !strings.Contains(string(m.Data), "multipart/alternative") {
					t.Errorf("message:\n%s", m.Data)
				}
			}
		})
	}
}

// TestCommitFailureAbandonsTheTransaction: when the commit hook fails the
// end of data is never sent and the server keeps nothing.
func TestCommitFailureAbandonsTheTransaction(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	tr, _ := smtpclient.New(smtpclient.Config{Host: srv.Host, Port: srv.Port, Security: smtpclient.None, Timeout: 5 * time.Second})
	boom := errors.New("storage is down")
	if err := tr.Send(context.Background(), message(), func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	// A later transaction on a new connection works, and only it is kept.
	if err := tr.Send(context.Background(), message(), func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("%d messages kept, want only the completed one", n)
	}
}
