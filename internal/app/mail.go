package app

import (
	"context"
	"fmt"
	"time"

	"github.com/studio-collab/collab/handlers"
	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/mail/imapinbox"
	"github.com/studio-collab/collab/shared/mail/smtpclient"
	"github.com/studio-collab/collab/shared/settings"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
)

// Mail are the e-mail domain services of one storage account.
type Mail struct {
	Outbox    *mail.Outbox
	Sender    *mail.Sender
	Tasks     *mail.Tasks
	Inbound   *mail.Inbound
	Callbacks *mail.Callbacks
	Poller    *imapinbox.Poller
	Scan      store.Table // the notifications table, for OutboxRedrive
	// InboundSecret authenticates the inbound webhook (COLLAB_INBOUND_SECRET).
	InboundSecret string
}

// newMail builds the e-mail services on storage; Configure adds what comes
// from settings (SMTP, keys, secrets).
func newMail(acct *azure.Account, log *audit.Log, now func() time.Time) Mail {
	ob := &mail.Outbox{Table: acct.Table("notifications"), Queue: acct.Queue(mail.OutboxQueue), Now: now}
	tasks := &mail.Tasks{Table: acct.Table("emailtasks"), Outbox: ob, Now: now}
	tpl, err := mail.LoadTemplates()
	if err != nil {
		panic(err) // embedded templates: a test keeps them parseable
	}
	return Mail{Outbox: ob, Tasks: tasks,
		Sender:    &mail.Sender{Outbox: ob, Templates: tpl, ReplyTo: tasks.ReplyTo},
		Inbound:   &mail.Inbound{Tasks: tasks, Callbacks: acct.Queue(mail.CallbackQueue), Audit: log, Now: now},
		Callbacks: &mail.Callbacks{Tasks: tasks, Client: mail.CallbackClient(CallbackTimeout, egress.NewPolicy(nil)), Now: now},
		Poller:    &imapinbox.Poller{},
		Scan:      acct.Table("notifications"),
	}
}

// Configure applies the e-mail settings: the SMTP transport and sender, the
// reply and callback keys, the inbound secret and policy, the IMAP mailbox.
// Under the cloud policy (cloud: COLLAB_ENVIRONMENT is not "local")
// callbacks must be https; locally they may use http. Where they may connect
// is the service's egress policy (Services.UseEgress).
func (m *Mail) Configure(cfg settings.Mail, cloud bool) error {
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return fmt.Errorf("COLLAB_SMTP_FROM: %w", err)
	}
	m.Sender.From = from
	if cfg.SMTPHost != "" {
		tr, err := smtpclient.New(smtpclient.Config{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername,
			Password: cfg.SMTPPassword, Security: cfg.SMTPSecurity, Timeout: cfg.SMTPTimeout})
		if err != nil {
			return err
		}
		m.Sender.Transport = tr
		// A claim outlives a whole transaction (connect, TLS, auth, data) with room to spare.
		m.Sender.Lease = 4*cfg.SMTPTimeout + 30*time.Second
	}
	if cfg.TokenKeys != "" {
		if m.Tasks.Keys, err = mail.ParseKeys(cfg.TokenKeys); err != nil {
			return fmt.Errorf("COLLAB_EMAIL_TOKEN_KEYS: %w", err)
		}
	}
	if cfg.CallbackKeys != "" {
		if m.Callbacks.Keys, err = mail.ParseKeys(cfg.CallbackKeys); err != nil {
			return fmt.Errorf("COLLAB_EMAIL_CALLBACK_KEYS: %w", err)
		}
	}
	m.Tasks.ReplyDomain = cfg.ReplyDomain
	m.Tasks.AllowInsecureCallbacks = !cloud
	m.Inbound.RequireAuth = cfg.InboundRequireAuth
	m.InboundSecret = cfg.InboundSecret
	m.Poller.Receiver = m.Inbound
	m.Poller.Config = imapinbox.Config{Host: cfg.IMAP.Host, Port: cfg.IMAP.Port, Username: cfg.IMAP.Username,
		Password: cfg.IMAP.Password, Security: cfg.IMAP.Security, Mailbox: cfg.IMAP.Mailbox, AuthservID: cfg.IMAP.AuthservID}
	return nil
}

// IMAPInbox is the IMAP poller as the handlers' Inbox.
func IMAPInbox(p *imapinbox.Poller) handlers.Inbox { return imapInbox{p} }

type imapInbox struct{ p *imapinbox.Poller }

func (i imapInbox) Status(requireAuth bool) any { return i.p.Config.Status(requireAuth) }

func (i imapInbox) Poll(ctx context.Context, logf func(format string, args ...any)) error {
	if i.p.Config.Host == "" {
		return nil
	}
	res, err := i.p.Poll(ctx)
	logf("inbox poll: %d processed, %d skipped, %v", res.Processed, res.Skipped, res.Outcomes)
	for _, f := range res.Failures {
		logf("inbox poll: message refused for good, flagged in the mailbox: %s", f)
	}
	return err
}
