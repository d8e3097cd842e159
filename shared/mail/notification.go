package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Layout is the storage e-mail needs: notifications and e-mail tasks, the
// outbox queue and the queue of task callbacks.
var Layout = store.Layout{Tables: []string{"notifications", "emailtasks"}, Queues: []string{OutboxQueue, CallbackQueue}}

// Queue names (the Functions host reads them from function.json).
const (
	OutboxQueue   = "outbox"
	CallbackQueue = "emailcallbacks"
)

// The notification kinds; each has a text and an HTML template.
const (
	KindInvitation       = "invitation"
	KindWindowAnnounced  = "window-announced"
	KindWindowOpened     = "window-opened"
	KindWindowEnded      = "window-ended"
	KindWindowFailed     = "window-failed"
	KindDeploymentFailed = "deployment-failed"
	KindJobFailing       = "job-failing"
	KindTaskEmail        = "task-email"
	KindTaskConfirmation = "task-confirmation"
	KindTaskReplyError   = "task-reply-error"
	KindSecurityAlert    = "security-alert"
)

// kindData lists, per kind, the Data keys its templates need; Enqueue
// refuses a notification without them, so a template never renders a hole.
var kindData = map[string][]string{
	KindInvitation:       {"subscription", "acceptUrl", "expiresAt"},
	KindWindowAnnounced:  {"env", "start", "end"},
	KindWindowOpened:     {"env", "end"},
	KindWindowEnded:      {"env"},
	KindWindowFailed:     {"env", "error"},
	KindDeploymentFailed: {"env", "error"},
	KindJobFailing:       {"env", "job", "failures", "lastError"},
	KindTaskEmail:        {"taskRef", "subject", "fields", "expiresAt"},
	KindTaskConfirmation: {"subject", "values"},
	KindTaskReplyError:   {"taskRef", "subject", "problems"},
	KindSecurityAlert:    {"subscription", "title", "kind", "count", "windowStart", "windowEnd", "consoleUrl"},
}

// Kinds lists every kind, sorted as declared.
func Kinds() []string {
	return []string{KindInvitation, KindWindowAnnounced, KindWindowOpened, KindWindowEnded, KindWindowFailed,
		KindDeploymentFailed, KindJobFailing, KindTaskEmail, KindTaskConfirmation, KindTaskReplyError, KindSecurityAlert}
}

// SubscriptionScope is the Project of notifications that belong to a
// subscription rather than a project (invitations). Project ids are slugs
// without ':', so the two never collide.
func SubscriptionScope(sub string) string { return "subscription:" + sub }

// Notification is one e-mail to send. ID is chosen by the caller and
// deterministic ("window-announced:<env>:<windowId>"), so that queuing the
// same event twice is a no-op.
type Notification struct {
	ID      string         `json:"id"`
	Project string         `json:"project"`
	Kind    string         `json:"kind"`
	To      []string       `json:"to"`
	Data    map[string]any `json:"data,omitempty"`
}

// Status of a notification.
const (
	StatusQueued     = "queued"     // waiting for the sender (or for a retry)
	StatusSending    = "sending"    // claimed by a sender until LeaseUntil
	StatusCommitting = "committing" // the whole message is with the SMTP server; only the end-of-data is left
	StatusSent       = "sent"
	StatusFailed     = "failed"
)

// Record is a notification with its delivery state, as stored and shown.
type Record struct {
	Notification
	Status     string    `json:"status"`
	Attempts   int       `json:"attempts"`
	MessageID  string    `json:"messageId,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	UpdatedAt  time.Time `json:"updatedAt"`
	SentAt     time.Time `json:"sentAt,omitzero"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	LastError  string    `json:"lastError,omitempty"`
	// Unconfirmed marks a send that was handed to the SMTP server but whose
	// answer was never recorded (a crash or a lost connection at the end of
	// data): it is counted as sent and never repeated (docs/mail.md).
	Unconfirmed bool   `json:"unconfirmed,omitempty"`
	Enqueued    bool   `json:"enqueued"`
	ETag        string `json:"-"`
}

// Ref names a notification; it is the body of an outbox message.
type Ref struct {
	Project string `json:"project"`
	ID      string `json:"id"`
}

// Scanner reads the notifications table across projects (Redrive).
type Scanner interface {
	QueryAll(ctx context.Context, f store.Filter, limit int) ([]store.Entity, error)
}

// Outbox queues notifications. Safe for concurrent use.
type Outbox struct {
	Table store.Table
	Queue store.Queue
	Now   func() time.Time
}

func (o *Outbox) now() time.Time {
	if o.Now == nil {
		return time.Now().UTC()
	}
	return o.Now().UTC()
}

func keys(project, id string) (string, string) { return store.EncodeKey(project), store.EncodeKey(id) }

// Validate checks a notification before it is queued.
func (n *Notification) Validate() error {
	const op = "mail.Notification"
	switch {
	case n.ID == "" || len(n.ID) > 400 || hasControl(n.ID):
		return fault.E(op, fault.Invalid, "the notification id must be 1-400 characters without control characters")
	case n.Project == "" || len(n.Project) > 200 || hasControl(n.Project):
		return fault.E(op, fault.Invalid, "the notification needs a project")
	}
	req, ok := kindData[n.Kind]
	if !ok {
		return fault.E(op, fault.Invalid, fmt.Sprintf("unknown notification kind %q", n.Kind))
	}
	if len(n.To) == 0 || len(n.To) > 50 {
		return fault.E(op, fault.Invalid, "a notification has 1-50 recipients")
	}
	for i, to := range n.To {
		a, err := ParseAddress(to)
		if err != nil {
			return fault.E(op, fault.Invalid, fmt.Sprintf("recipient %d: %v", i+1, fault.DetailOf(err)))
		}
		n.To[i] = a
	}
	for _, k := range req {
		if _, ok := n.Data[k]; !ok {
			return fault.E(op, fault.Invalid, fmt.Sprintf("a %s notification needs data %q", n.Kind, k))
		}
	}
	return nil
}

// Enqueue queues n once: it inserts the notification row if absent, then
// puts a message on the outbox queue. A notification whose ID exists is
// left alone, except that a row still queued whose message was never sent
// (the previous Enqueue stopped in between) gets its message now; a
// duplicate message is harmless because the sender claims the row.
func (o *Outbox) Enqueue(ctx context.Context, n Notification) error {
	const op = "mail.Enqueue"
	n.To = append([]string(nil), n.To...)
	if err := n.Validate(); err != nil {
		return err
	}
	// Data goes through JSON once here, so what the sender renders is what
	// was stored, whatever types the caller used.
	if n.Data != nil {
		b, err := json.Marshal(n.Data)
		if err != nil {
			return fault.E(op, fault.Invalid, "data is not JSON-encodable", err)
		}
		n.Data = nil
		if err := json.Unmarshal(b, &n.Data); err != nil {
			return fault.E(op, fault.Internal, err)
		}
	}
	now := o.now()
	rec := Record{Notification: n, Status: StatusQueued, CreatedAt: now, UpdatedAt: now}
	e, err := recordEntity(rec)
	if err != nil {
		return err
	}
	etag, err := o.Table.Insert(ctx, e)
	if fault.Is(err, fault.Conflict) {
		cur, gerr := o.Get(ctx, n.Project, n.ID)
		if gerr != nil {
			return fault.E(op, gerr)
		}
		if cur.Status != StatusQueued || cur.Enqueued {
			return nil // a duplicate: already queued or done
		}
		rec, etag = cur, cur.ETag
	} else if err != nil {
		return fault.E(op, err)
	}
	if err := o.send(ctx, Ref{Project: n.Project, ID: n.ID}, 0); err != nil {
		return fault.E(op, err)
	}
	rec.Enqueued, rec.UpdatedAt = true, o.now()
	if e, err = recordEntity(rec); err != nil {
		return err
	}
	// Losing this race means the sender already moved the row on: fine.
	if _, err := o.Table.Update(ctx, e, etag); err != nil && !fault.Is(err, fault.PreconditionFailed) {
		return fault.E(op, err)
	}
	return nil
}

func (o *Outbox) send(ctx context.Context, ref Ref, delay time.Duration) error {
	b, _ := json.Marshal(ref)
	_, err := o.Queue.Send(ctx, string(b), delay, 0)
	return err
}

// Get reads a notification; NotFound when absent.
func (o *Outbox) Get(ctx context.Context, project, id string) (Record, error) {
	pk, rk := keys(project, id)
	e, err := o.Table.Get(ctx, pk, rk)
	if err != nil {
		return Record{}, fault.E("mail.Get", err)
	}
	return decodeRecord(e)
}

// Page is one page of notifications.
type Page struct {
	Items []Record `json:"items"`
	Next  string   `json:"next,omitempty"`
}

// List returns a project's notifications, by ID, optionally of one status.
func (o *Outbox) List(ctx context.Context, project, status string, limit int, cursor string) (Page, error) {
	const op = "mail.List"
	switch status {
	case "", StatusQueued, StatusSending, StatusCommitting, StatusSent, StatusFailed:
	default:
		return Page{}, fault.E(op, fault.Invalid, "status is queued, sending, committing, sent or failed")
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	f := store.Eq("PartitionKey", store.EncodeKey(project))
	if status != "" {
		f = store.And(f, store.Eq("Status", status))
	}
	p, err := o.Table.Query(ctx, f, store.QueryOptions{Top: int32(limit), Cursor: cursor})
	if err != nil {
		return Page{}, fault.E(op, err)
	}
	out := Page{Items: make([]Record, 0, len(p.Entities)), Next: p.Next}
	for _, e := range p.Entities {
		r, err := decodeRecord(e)
		if err != nil {
			return Page{}, err
		}
		out.Items = append(out.Items, r)
	}
	return out, nil
}

// recordDoc is a notification row's document.
var recordDoc = store.Doc[Record]{Name: "Doc"}

func recordEntity(r Record) (store.Entity, error) {
	pk, rk := keys(r.Project, r.ID)
	e := store.Entity{PartitionKey: pk, RowKey: rk, Props: map[string]any{"Status": r.Status, "Kind": r.Kind, "Created": r.CreatedAt}}
	if err := recordDoc.Set(e.Props, r); err != nil {
		return store.Entity{}, fault.E("mail.record", fault.TooLarge, fmt.Sprintf("the notification is over %d bytes encoded", store.MaxChunkedBytes), err)
	}
	if err := store.CheckEntity(e); err != nil {
		return store.Entity{}, fault.E("mail.record", err)
	}
	return e, nil
}

func decodeRecord(e store.Entity) (Record, error) {
	r, err := recordDoc.Get(e)
	if err != nil {
		return Record{}, fault.E("mail.decodeRecord", err)
	}
	r.ETag = e.ETag
	return r, nil
}

// Redrive puts a message on the outbox again for every notification that
// is still queued and was last touched before olderThan: a row whose
// Enqueue stopped between the row and the message (and whose caller never
// retried), or whose message was lost (poisoned while storage was down).
// The sender's claim makes a redriven duplicate harmless. It returns how
// many it requeued; at most limit per run.
func (o *Outbox) Redrive(ctx context.Context, scan Scanner, olderThan time.Time, limit int) (int, error) {
	const op = "mail.Redrive"
	es, err := scan.QueryAll(ctx, store.Eq("Status", StatusQueued), limit)
	if err != nil {
		return 0, fault.E(op, err)
	}
	n := 0
	for _, e := range es {
		rec, err := decodeRecord(e)
		if err != nil {
			return n, err
		}
		if !rec.UpdatedAt.Before(olderThan) {
			continue
		}
		if err := o.send(ctx, Ref{Project: rec.Project, ID: rec.ID}, 0); err != nil {
			return n, fault.E(op, err)
		}
		rec.Enqueued, rec.UpdatedAt = true, o.now()
		if e, err := recordEntity(rec); err == nil {
			_, _ = o.Table.Update(ctx, e, rec.ETag) // a lost race means the sender moved it on
		}
		n++
	}
	return n, nil
}
