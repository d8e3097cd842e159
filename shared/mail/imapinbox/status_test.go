package imapinbox_test

import (
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/mail/imapinbox"
)

// TestStatusSaysOnOrOffAndWhy: the start-up log line and the console show
// whether the mailbox is polled, why, and what would make every mailbox
// reply fail; never the password.
func TestStatusSaysOnOrOffAndWhy(t *testing.T) {
	cases := []struct {
		name        string
		cfg         imapinbox.Config
		requireAuth bool
		on          bool
		why, warn   string
	}{
		{"no host", imapinbox.Config{}, true, false, "COLLAB_IMAP_HOST is not set", ""},
		{"defaults", imapinbox.Config{Host: "imap.example.com", Username: "u", Password: "pw-secret"}, false, true,
			"INBOX at imap.example.com:993 (tls) as u every minute, at most 50 a poll", ""},
		{"starttls port and trusted id", imapinbox.Config{Host: "h", Username: "u", Security: "starttls", Mailbox: "Replies", Max: 20, AuthservID: "mx.example.com"}, true, true,
			"Replies at h:143 (starttls) as u every minute, at most 20 a poll; Authentication-Results trusted from mx.example.com", ""},
		{"auth required without an id", imapinbox.Config{Host: "h", Username: "u"}, true, true, "h:993", "every mailbox reply will be auth-failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.cfg.Status(c.requireAuth)
			if s.On != c.on || !strings.Contains(s.Why, c.why) || (c.warn == "") != (s.Warning == "") || !strings.Contains(s.Warning, c.warn) {
				t.Fatalf("%+v", s)
			}
			if strings.Contains(s.Why+s.Warning, "pw-secret") {
				t.Fatal("the password is shown")
			}
		})
	}
}
