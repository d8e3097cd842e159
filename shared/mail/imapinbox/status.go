package imapinbox

import (
	"fmt"
	"net"
	"strconv"
)

// Status is what the poller is configured to do, in words a person can
// act on: the start-up log line and the console's e-mail screen show it.
// It never holds the password.
type Status struct {
	On         bool   `json:"on"`
	Why        string `json:"why"`
	Warning    string `json:"warning,omitempty"`
	Host       string `json:"host,omitempty"`
	Port       int    `json:"port,omitempty"`
	Security   string `json:"security,omitempty"`
	Username   string `json:"username,omitempty"`
	Mailbox    string `json:"mailbox,omitempty"`
	AuthservID string `json:"authservId,omitempty"`
	MaxPerPoll int    `json:"maxPerPoll,omitempty"`
}

// Status describes c; requireAuth is COLLAB_INBOUND_REQUIRE_AUTH, which
// mailbox replies can meet only through the configured authserv-id.
func (c Config) Status(requireAuth bool) Status {
	if c.Host == "" {
		return Status{Why: "COLLAB_IMAP_HOST is not set: no mailbox is polled; replies arrive only through the webhook POST /api/inbound-email"}
	}
	s := Status{On: true, Host: c.Host, Port: c.Port, Security: c.Security, Username: c.Username, Mailbox: c.Mailbox,
		AuthservID: c.AuthservID, MaxPerPoll: c.Max}
	if s.Security == "" {
		s.Security = "tls"
	}
	if s.Port == 0 {
		s.Port = map[bool]int{true: 993, false: 143}[s.Security == "tls"]
	}
	if s.Mailbox == "" {
		s.Mailbox = "INBOX"
	}
	if s.MaxPerPoll <= 0 {
		s.MaxPerPoll = 50
	}
	s.Why = fmt.Sprintf("COLLAB_IMAP_HOST is set: InboxPoll reads the unseen messages of %s at %s (%s) as %s every minute, at most %d a poll",
		s.Mailbox, net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), s.Security, s.Username, s.MaxPerPoll)
	switch {
	case requireAuth && c.AuthservID == "":
		s.Warning = "COLLAB_INBOUND_REQUIRE_AUTH is true but COLLAB_IMAP_AUTHSERV_ID is not set: every mailbox reply will be auth-failed (set it to your mail server's authserv-id)"
	case c.AuthservID != "":
		s.Why += "; Authentication-Results trusted from " + c.AuthservID
	}
	return s
}
