package mail

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Field types of an e-mail task.
const (
	FieldChoice = "choice"
	FieldBool   = "bool"
	FieldText   = "text"
	FieldNumber = "number"
	FieldDate   = "date"
)

// Field is one answer a task asks for.
type Field struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Required bool     `json:"required,omitempty"`
	Choices  []string `json:"choices,omitempty"`
}

// TaskSpec is what the Work Portal registers.
type TaskSpec struct {
	TaskID       string    `json:"taskId"`
	Assignee     string    `json:"assignee"`
	Subject      string    `json:"subject"`
	Instructions string    `json:"instructions,omitempty"`
	Fields       []Field   `json:"fields"`
	ExpiresAt    time.Time `json:"expiresAt"`
	CallbackURL  string    `json:"callbackUrl"`
}

// Task statuses.
const (
	TaskOpen      = "open"
	TaskCompleted = "completed"
	TaskExpired   = "expired" // shown for an open task past its expiry; never stored
)

// Callback delivery states.
const (
	CallbackPending   = "pending"
	CallbackDelivered = "delivered"
	CallbackFailed    = "failed"
)

// CallbackState is where the completion's callback is.
type CallbackState struct {
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"lastError,omitempty"`
	DeliveredAt time.Time `json:"deliveredAt,omitzero"`
}

// Task is a registered e-mail task.
type Task struct {
	Project      string         `json:"project"`
	Env          string         `json:"env"`
	ID           string         `json:"taskId"`
	Ref          string         `json:"ref"` // the handle: row key and part of the reply token
	Assignee     string         `json:"assignee"`
	Subject      string         `json:"subject"`
	Instructions string         `json:"instructions,omitempty"`
	Fields       []Field        `json:"fields"`
	ExpiresAt    time.Time      `json:"expiresAt"`
	CallbackURL  string         `json:"callbackUrl"`
	Status       string         `json:"status"`
	Values       map[string]any `json:"values,omitempty"`
	CompletedAt  time.Time      `json:"completedAt,omitzero"`
	CompletedBy  string         `json:"completedBy,omitempty"` // the Message-ID of the reply
	Callback     *CallbackState `json:"callback,omitempty"`
	CreatedAt    time.Time      `json:"createdAt"`
	CreatedBy    string         `json:"createdBy"`
	ETag         string         `json:"-"`
}

// Attempt is one reply received for a task, with its outcome.
type Attempt struct {
	Key       string    `json:"id"`
	At        time.Time `json:"at"`
	MessageID string    `json:"messageId"`
	From      string    `json:"from"`
	Outcome   string    `json:"outcome"`
	Problems  []string  `json:"problems,omitempty"`
	Done      bool      `json:"done"` // false while it is being processed
	ETag      string    `json:"-"`
}

// Tasks registers e-mail tasks and reads them. Safe for concurrent use.
type Tasks struct {
	Table       store.Table // emailtasks: one partition per task (the task row and its attempts)
	Outbox      *Outbox
	Keys        *Keys  // reply token keys; nil: tasks are not configured
	ReplyDomain string // the domain of reply addresses
	// AllowInsecureCallbacks accepts http:// callback URLs (locally, at
	// registration and delivery); under the cloud policy callbacks must be
	// https.
	AllowInsecureCallbacks bool
	Now                    func() time.Time
}

func (t *Tasks) now() time.Time {
	if t.Now == nil {
		return time.Now().UTC()
	}
	return t.Now().UTC()
}

const taskRow = "task"

var (
	taskIDPattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
	fieldNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9 _-]{0,63}$`)
)

// MaxCallbackURL caps a task's callbackUrl. With the other caps of
// validate (subject 200, instructions 10,000, 30 fields of 20 choices of
// 64 characters) a task and its e-mail are under 300 KB of JSON, which
// their rows store (store.SetDoc).
const MaxCallbackURL = 2048

// MaxTaskLifetime bounds expiresAt; reply tokens carry 32-bit expiries.
const MaxTaskLifetime = 366 * 24 * time.Hour

// validate checks and normalizes a spec.
func (t *Tasks) validate(s *TaskSpec) error {
	const op = "mail.Register"
	bad := func(format string, args ...any) error {
		return fault.E(op, fault.Invalid, fmt.Sprintf(format, args...))
	}
	if !taskIDPattern.MatchString(s.TaskID) {
		return bad("taskId is 1-128 letters, digits and . _ : -, starting with a letter or digit")
	}
	a, err := ParseAddress(s.Assignee)
	if err != nil {
		return bad("assignee: %s", fault.DetailOf(err))
	}
	s.Assignee = AddrSpec(a)
	if strings.TrimSpace(s.Subject) == "" || len(s.Subject) > 200 || hasControl(s.Subject) {
		return bad("subject is 1-200 characters without line breaks or control characters")
	}
	if len(s.Instructions) > 10000 {
		return bad("instructions are at most 10,000 characters")
	}
	if len(s.Fields) == 0 || len(s.Fields) > 30 {
		return bad("a task has 1-30 fields")
	}
	seen := map[string]bool{}
	for i := range s.Fields {
		f := &s.Fields[i]
		if !fieldNamePattern.MatchString(f.Name) || strings.TrimSpace(f.Name) != f.Name {
			return bad("field %d: the name is 1-64 letters, digits, spaces, _ and -, starting with a letter", i+1)
		}
		if seen[normName(f.Name)] {
			return bad("field %q appears twice", f.Name)
		}
		seen[normName(f.Name)] = true
		switch f.Type {
		case FieldChoice:
			if len(f.Choices) == 0 || len(f.Choices) > 20 {
				return bad("field %q: a choice has 1-20 choices", f.Name)
			}
			cs := map[string]bool{}
			for _, c := range f.Choices {
				if strings.TrimSpace(c) != c || c == "" || len(c) > 64 || hasControl(c) || strings.Contains(c, ":") || cs[strings.ToLower(c)] {
					return bad("field %q: choices are distinct, 1-64 characters, without ':' or surrounding spaces", f.Name)
				}
				cs[strings.ToLower(c)] = true
			}
		case FieldBool, FieldText, FieldNumber, FieldDate:
			if len(f.Choices) > 0 {
				return bad("field %q: only choice fields have choices", f.Name)
			}
		default:
			return bad("field %q: type is choice, bool, text, number or date", f.Name)
		}
	}
	now := t.now()
	if !s.ExpiresAt.After(now) || s.ExpiresAt.Sub(now) > MaxTaskLifetime {
		return bad("expiresAt must be in the future and within 366 days")
	}
	s.ExpiresAt = s.ExpiresAt.UTC().Truncate(time.Second)
	if len(s.CallbackURL) > MaxCallbackURL {
		return bad("callbackUrl is at most %d bytes", MaxCallbackURL)
	}
	u, err := url.Parse(s.CallbackURL)
	if err != nil || u.Host == "" || u.User != nil || !t.callbackSchemeAllowed(s.CallbackURL) {
		if t.AllowInsecureCallbacks {
			return bad("callbackUrl must be an absolute http or https URL without credentials")
		}
		return bad("callbackUrl must be an absolute https URL without credentials")
	}
	if err := egress.NeverHost(u.Hostname()); err != nil {
		return bad("callbackUrl: %v", err)
	}
	return nil
}

// callbackSchemeAllowed: https always, http only when insecure callbacks
// are allowed (COLLAB_ENVIRONMENT=local).
func (t *Tasks) callbackSchemeAllowed(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http" && t.AllowInsecureCallbacks)
}

// normName is how field names match in replies: case, spaces, _ and - do
// not count.
func normName(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s)
}

// taskDoc and attemptDoc are the documents of a task's rows.
var (
	taskDoc    = store.Doc[Task]{Name: "Doc"}
	attemptDoc = store.Doc[Attempt]{Name: "Doc"}
)

// taskEntity is a task's row. Its size is checked here, so callers learn
// that a task (with its answers) does not fit before they write anything.
func taskEntity(t Task) (store.Entity, error) {
	e := store.Entity{PartitionKey: t.Ref, RowKey: taskRow, Props: map[string]any{"Status": t.Status}}
	if err := taskDoc.Set(e.Props, t); err != nil {
		return store.Entity{}, fault.E("mail.task", err)
	}
	if err := store.CheckEntity(e); err != nil {
		return store.Entity{}, fault.E("mail.task", err)
	}
	return e, nil
}

// Register records a task and queues its e-mail. Registering the same task
// again with the same spec is a no-op that answers the task (created false);
// another spec under the same id is a Conflict.
func (t *Tasks) Register(ctx context.Context, project, env string, spec TaskSpec, createdBy string) (Task, bool, error) {
	const op = "mail.Register"
	if t.Keys == nil || t.ReplyDomain == "" {
		return Task{}, false, fault.E(op, fault.Unavailable, "e-mail tasks are not configured (COLLAB_EMAIL_TOKEN_KEYS, COLLAB_EMAIL_REPLY_DOMAIN)")
	}
	if err := t.validate(&spec); err != nil {
		return Task{}, false, err
	}
	task := Task{Project: project, Env: env, ID: spec.TaskID, Ref: handleOf(project, env, spec.TaskID), Assignee: spec.Assignee,
		Subject: spec.Subject, Instructions: spec.Instructions, Fields: spec.Fields, ExpiresAt: spec.ExpiresAt,
		CallbackURL: spec.CallbackURL, Status: TaskOpen, CreatedAt: t.now(), CreatedBy: createdBy}
	// Every row this registration writes is built and sized first: a task
	// stored whose e-mail cannot be would never be sent (issue 25).
	row, err := taskEntity(task)
	if err != nil {
		return Task{}, false, fault.E(op, fault.TooLarge, "the task is too large to store; shorten the instructions or the choices", err)
	}
	if _, err := recordEntity(Record{Notification: t.taskEmail(task)}); err != nil {
		return Task{}, false, fault.E(op, fault.TooLarge, "the task e-mail would be too large; shorten the instructions or the choices", err)
	}
	created := true
	etag, err := t.Table.Insert(ctx, row)
	switch {
	case fault.Is(err, fault.Conflict):
		cur, gerr := t.load(ctx, task.Ref)
		if gerr != nil {
			return Task{}, false, fault.E(op, gerr)
		}
		if cur.Project != project || cur.Env != env || cur.ID != spec.TaskID {
			return Task{}, false, fault.E(op, fault.Internal, "task handle collision")
		}
		if !sameSpec(cur, task) {
			return Task{}, false, fault.E(op, fault.Conflict, "a task with this taskId exists with other details")
		}
		task, created = cur, false
	case err != nil:
		return Task{}, false, fault.E(op, err)
	default:
		task.ETag = etag
	}
	if task.Status == TaskOpen {
		if err := t.Outbox.Enqueue(ctx, t.taskEmail(task)); err != nil {
			return Task{}, false, fault.E(op, err)
		}
	}
	return task, created, nil
}

func sameSpec(a, b Task) bool {
	return a.Assignee == b.Assignee && a.Subject == b.Subject && a.Instructions == b.Instructions &&
		reflect.DeepEqual(a.Fields, b.Fields) && a.ExpiresAt.Equal(b.ExpiresAt) && a.CallbackURL == b.CallbackURL
}

// fieldData is the fields as templates read them.
func fieldData(fs []Field) []map[string]any {
	out := make([]map[string]any, len(fs))
	for i, f := range fs {
		out[i] = map[string]any{"name": f.Name, "type": f.Type, "required": f.Required, "choices": f.Choices}
	}
	return out
}

func (t *Tasks) taskEmail(task Task) Notification {
	return Notification{ID: "task-email:" + task.Env + ":" + task.ID, Project: task.Project, Kind: KindTaskEmail, To: []string{task.Assignee},
		Data: map[string]any{"taskRef": task.Ref, "taskId": task.ID, "subject": task.Subject, "instructions": task.Instructions,
			"fields": fieldData(task.Fields), "expiresAt": task.ExpiresAt}}
}

func (t *Tasks) load(ctx context.Context, ref string) (Task, error) {
	tk, etag, err := taskDoc.Read(ctx, t.Table, ref, taskRow)
	if err != nil {
		return Task{}, err
	}
	tk.ETag = etag
	return tk, nil
}

// view sets the status a reader sees (expired for an open task past expiry).
func (t *Tasks) view(task Task) Task {
	if task.Status == TaskOpen && !t.now().Before(task.ExpiresAt) {
		task.Status = TaskExpired
	}
	return task
}

// Get reads a task of an environment with its attempts, oldest first.
func (t *Tasks) Get(ctx context.Context, project, env, id string) (Task, []Attempt, error) {
	const op = "mail.GetTask"
	task, err := t.load(ctx, handleOf(project, env, id))
	if fault.Is(err, fault.NotFound) || (err == nil && (task.Project != project || task.Env != env || task.ID != id)) {
		return Task{}, nil, fault.E(op, fault.NotFound, "task "+id+" not found")
	}
	if err != nil {
		return Task{}, nil, fault.E(op, err)
	}
	es, err := t.Table.QueryAll(ctx, store.And(store.Eq("PartitionKey", task.Ref), store.Ne("RowKey", taskRow)), 500)
	if err != nil {
		return Task{}, nil, fault.E(op, err)
	}
	atts := make([]Attempt, 0, len(es))
	for _, e := range es {
		a, err := attemptDoc.Get(e)
		if err != nil {
			return Task{}, nil, fault.E(op, err)
		}
		atts = append(atts, a)
	}
	sort.Slice(atts, func(i, j int) bool { return atts[i].At.Before(atts[j].At) })
	return t.view(task), atts, nil
}

// ReplyTo is the Sender's hook: the reply address of the task a task e-mail
// or a reply error is about.
func (t *Tasks) ReplyTo(ctx context.Context, n Notification) (string, error) {
	if n.Kind != KindTaskEmail && n.Kind != KindTaskReplyError {
		return "", nil
	}
	ref, _ := n.Data["taskRef"].(string)
	if t.Keys == nil || t.ReplyDomain == "" {
		return "", fault.E("mail.ReplyTo", fault.Unavailable, "e-mail tasks are not configured")
	}
	task, err := t.load(ctx, ref)
	if err != nil {
		return "", fault.E("mail.ReplyTo", err)
	}
	return ParseAddress(t.Keys.replyLocal(task) + "@" + t.ReplyDomain)
}
