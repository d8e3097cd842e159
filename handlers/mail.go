package handlers

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/platform"
)

// WorkPortalRole is the application role of the Work Portal's service
// identity: it registers e-mail tasks and reads them back.
const WorkPortalRole = "WorkPortal.Invoke"

// Mail serves notifications, e-mail tasks and the inbound webhook, and the
// OutboxSend, EmailCallback and InboxPoll functions.
type Mail struct {
	Platform  *platform.Service
	Outbox    *mail.Outbox
	Sender    *mail.Sender
	Tasks     *mail.Tasks
	Inbound   *mail.Inbound
	Callbacks *mail.Callbacks
	Inbox     Inbox // the task reply mailbox; nil: none is polled
	// Scan reads the notifications table across projects (OutboxRedrive).
	Scan mail.Scanner
	// InboundSecret authenticates the provider's webhook; empty refuses it.
	InboundSecret string
	Idem          *idempotency.Keeper // Idempotency-Key on task registration (nil: ignored)
}

func registerMail(rt *httpapi.Router, m Mail) {
	rt.Handle("GET /api/projects/{p}/notifications", m.notifications)
	rt.Handle("GET /api/projects/{p}/email-settings", m.emailSettings)
	rt.Handle("POST /api/projects/{p}/environments/{env}/email-tasks", keyed(m.Idem, m.createTask))
	rt.Handle("GET /api/projects/{p}/environments/{env}/email-tasks/{id}", m.getTask)
	// Public as far as bearer tokens go: the provider authenticates with the
	// shared secret, checked in the handler.
	rt.Handle("POST /api/inbound-email", m.inbound, httpapi.Public(), httpapi.BodyLimit(mail.MaxInbound))
}

func registerMailFunctions(fr *fnhost.Router, m Mail) {
	fr.Handle("OutboxSend", queueFunc(func(ctx context.Context, ref mail.Ref, n int64) error { return m.Sender.Process(ctx, ref, n) }))
	fr.Handle("EmailCallback", queueFunc(func(ctx context.Context, ref mail.CallbackRef, n int64) error {
		return m.Callbacks.Deliver(ctx, ref, n)
	}))
	fr.Handle("InboxPoll", m.inboxPoll)
	fr.Handle("OutboxRedrive", m.outboxRedrive)
}

// RedriveAge is how long a notification may sit queued and untouched before
// OutboxRedrive queues its message again.
const RedriveAge = 5 * time.Minute

// outboxRedrive is the OutboxRedrive timer function.
func (m Mail) outboxRedrive(ctx context.Context, inv *fnhost.Invocation) (map[string]any, any, error) {
	n, err := m.Outbox.Redrive(ctx, m.Scan, m.Outbox.Now().Add(-RedriveAge), 1000)
	if n > 0 {
		inv.Logf("outbox redrive: %d notifications queued again", n)
	}
	return nil, nil, err
}

// adminOf checks that the caller is an admin or owner of the project.
func (m Mail) adminOf(ctx context.Context, c platform.Caller, project, what string) error {
	return m.Platform.RequireAdmin(ctx, c, project, what)
}

func (m Mail) notifications(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	p := r.PathValue("p")
	if err := m.adminOf(ctx, c, p, "see notifications"); err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	page, err := m.Outbox.List(ctx, p, r.URL.Query().Get("status"), int(limit), r.URL.Query().Get("cursor"))
	return reply(w, http.StatusOK, page, err)
}

// EmailSettings is how replies to task e-mails reach the service, as
// configured at start-up (no secret is shown, only whether it is set).
type EmailSettings struct {
	ReplyDomain string          `json:"replyDomain"`
	RequireAuth bool            `json:"requireAuth"`
	Webhook     WebhookSettings `json:"webhook"`
	IMAP        any             `json:"imap"` // Inbox.Status
}

// WebhookSettings describes the inbound webhook.
type WebhookSettings struct {
	Path      string `json:"path"`
	SecretSet bool   `json:"secretSet"` // without COLLAB_INBOUND_SECRET the webhook refuses every post
}

// emailSettings shows project admins and owners how replies arrive: the
// console's e-mail screen.
func (m Mail) emailSettings(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	if err := m.adminOf(ctx, c, r.PathValue("p"), "see the e-mail settings"); err != nil {
		return err
	}
	var inbox any
	if m.Inbox != nil {
		inbox = m.Inbox.Status(m.Inbound.RequireAuth)
	}
	httpapi.JSON(w, http.StatusOK, EmailSettings{ReplyDomain: m.Tasks.ReplyDomain, RequireAuth: m.Inbound.RequireAuth,
		Webhook: WebhookSettings{Path: "/api/inbound-email", SecretSet: m.InboundSecret != ""}, IMAP: inbox})
	return nil
}

// taskAccess admits the Work Portal's service identity (WorkPortal.Invoke)
// and the project's admins and owners, on an environment that exists.
func (m Mail) taskAccess(r *http.Request) (context.Context, platform.Caller, error) {
	ctx, c := CallerOf(r)
	p, env := r.PathValue("p"), r.PathValue("env")
	if c.Service {
		if !hasRole(c.Roles, WorkPortalRole) {
			return ctx, c, fault.E("handlers.emailTasks", fault.Forbidden, "the service identity lacks the "+WorkPortalRole+" role")
		}
		if _, err := m.Platform.Environment(ctx, p, env); err != nil {
			if fault.Is(err, fault.NotFound) {
				return ctx, c, fault.E("handlers.emailTasks", fault.NotFound, "environment "+env+" not found")
			}
			return ctx, c, err
		}
		return ctx, c, nil
	}
	if _, err := m.Platform.GetEnvironment(ctx, c, p, env); err != nil {
		return ctx, c, err
	}
	return ctx, c, m.adminOf(ctx, c, p, "register or read e-mail tasks")
}

func hasRole(roles []string, want string) bool {
	for _, r := range roles {
		if strings.EqualFold(r, want) {
			return true
		}
	}
	return false
}

// taskView is a task with its attempts and the latest outcome.
type taskView struct {
	mail.Task
	Outcome  string         `json:"outcome,omitempty"`
	Attempts []mail.Attempt `json:"attempts"`
}

func view(t mail.Task, atts []mail.Attempt) taskView {
	v := taskView{Task: t, Attempts: atts}
	if v.Attempts == nil {
		v.Attempts = []mail.Attempt{}
	}
	for i := len(atts) - 1; i >= 0; i-- {
		if atts[i].Done {
			v.Outcome = atts[i].Outcome
			break
		}
	}
	return v
}

func (m Mail) createTask(w http.ResponseWriter, r *http.Request) error {
	var spec mail.TaskSpec
	if err := httpapi.DecodeJSON(r, &spec); err != nil {
		return err
	}
	ctx, c, err := m.taskAccess(r)
	if err != nil {
		return err
	}
	by := c.Email
	if c.Service {
		by = "service:" + c.PrincipalID
	}
	task, created, err := m.Tasks.Register(ctx, r.PathValue("p"), r.PathValue("env"), spec, by)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", r.URL.Path+"/"+task.ID)
	httpapi.JSON(w, status, view(task, nil))
	return nil
}

func (m Mail) getTask(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := m.taskAccess(r)
	if err != nil {
		return err
	}
	task, atts, err := m.Tasks.Get(ctx, r.PathValue("p"), r.PathValue("env"), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpapi.JSON(w, http.StatusOK, view(task, atts))
	return nil
}

// inboundAuthorized compares the presented secret (basic auth password, any
// user name, or the X-Inbound-Secret header) with the configured one in
// constant time: both are hashed first, so neither length nor content leaks.
func (m Mail) inboundAuthorized(r *http.Request) bool {
	if m.InboundSecret == "" {
		return false
	}
	presented := r.Header.Get("X-Inbound-Secret")
	if _, pw, ok := r.BasicAuth(); ok {
		presented = pw
	}
	a, b := sha256.Sum256([]byte(presented)), sha256.Sum256([]byte(m.InboundSecret))
	return presented != "" && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// inbound is the provider webhook: message/rfc822 (the raw message), or
// multipart/form-data with the raw message in field "email" and the
// provider's "to", "envelope", "dkim" and "SPF" fields.
func (m Mail) inbound(w http.ResponseWriter, r *http.Request) error {
	const op = "handlers.inbound"
	if m.InboundSecret == "" {
		return fault.E(op, fault.Unavailable, "inbound e-mail is not configured (COLLAB_INBOUND_SECRET)")
	}
	if !m.inboundAuthorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="inbound-email", charset="UTF-8"`)
		return fault.E(op, fault.Unauthenticated, "the inbound e-mail secret is missing or wrong", mail.ErrWrongSecret)
	}
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	msg := mail.InboundMessage{Source: "webhook"}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case err != nil:
		return fault.E(op, fault.Invalid, "Content-Type must be message/rfc822 or multipart/form-data")
	case mt == "message/rfc822":
		msg.Raw = body
		msg.DKIM, msg.SPF = r.Header.Get("X-Inbound-DKIM"), r.Header.Get("X-Inbound-SPF")
		msg.EnvelopeFrom = r.Header.Get("X-Inbound-Envelope-From")
	case mt == "multipart/form-data":
		if err := readForm(body, params["boundary"], &msg); err != nil {
			return err
		}
	default:
		return fault.E(op, fault.Invalid, "Content-Type must be message/rfc822 or multipart/form-data, not "+mt)
	}
	out, err := m.Inbound.Receive(r.Context(), msg)
	if err != nil {
		return err
	}
	// Every message that was read gets 200, refused or not: the provider
	// delivered it, and a retry would change nothing.
	httpapi.JSON(w, http.StatusOK, out)
	return nil
}

// readForm reads the provider's form (SendGrid's Inbound Parse in raw mode
// and the like) from an already capped body.
func readForm(body []byte, boundary string, msg *mail.InboundMessage) error {
	const op = "handlers.inbound"
	if boundary == "" {
		return fault.E(op, fault.Invalid, "multipart/form-data without a boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for parts := 0; ; parts++ {
		if parts > 100 {
			return fault.E(op, fault.Invalid, "too many form fields")
		}
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fault.E(op, fault.Invalid, "the form does not parse", err)
		}
		v, err := io.ReadAll(io.LimitReader(p, mail.MaxInbound+1))
		if err != nil {
			return fault.E(op, fault.Invalid, "the form does not parse", err)
		}
		switch p.FormName() {
		case "email":
			msg.Raw = v
		case "dkim":
			msg.DKIM = string(v)
		case "SPF", "spf":
			msg.SPF = string(v)
		case "envelope":
			var env struct {
				To   []string `json:"to"`
				From string   `json:"from"`
			}
			if json.Unmarshal(v, &env) == nil {
				msg.Recipients, msg.EnvelopeFrom = env.To, env.From
			}
		}
	}
	if msg.Raw == nil {
		return fault.E(op, fault.Invalid, "the form has no \"email\" field with the raw message")
	}
	return nil
}

// queueFunc adapts a queue consumer to a queue-triggered function: the
// message (binding "msg") decoded into T and the host's dequeue count.
func queueFunc[T any](consume func(ctx context.Context, msg T, dequeueCount int64) error) fnhost.Func {
	return func(ctx context.Context, inv *fnhost.Invocation) (map[string]any, any, error) {
		var msg T
		if err := inv.Bind("msg", &msg); err != nil {
			return nil, nil, err
		}
		var meta fnhost.QueueMetadata
		_ = inv.Meta(&meta)
		return nil, nil, consume(ctx, msg, meta.DequeueCount)
	}
}

// Inbox is the task reply mailbox as the handlers use it (the IMAP poller,
// adapted by the composition root): what the e-mail settings show, and one
// poll of the InboxPoll function.
type Inbox interface {
	// Status says whether and how the mailbox is polled (no secret).
	Status(requireAuth bool) any
	// Poll reads the mailbox once (nothing without a host), logging what it
	// did with logf.
	Poll(ctx context.Context, logf func(format string, args ...any)) error
}

// inboxPoll is the InboxPoll timer function.
func (m Mail) inboxPoll(ctx context.Context, inv *fnhost.Invocation) (map[string]any, any, error) {
	if m.Inbox == nil {
		return nil, nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	return nil, nil, m.Inbox.Poll(ctx, inv.Logf)
}
