package mail

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/secevent"
)

// CallbackRef is the body of an emailcallbacks message.
type CallbackRef struct {
	Ref string `json:"ref"`
}

// CallbackBody is what the Work Portal receives when a task completes.
type CallbackBody struct {
	Project     string         `json:"project"`
	Env         string         `json:"env"`
	TaskID      string         `json:"taskId"`
	Status      string         `json:"status"`
	Values      map[string]any `json:"values"`
	Assignee    string         `json:"assignee"`
	CompletedAt time.Time      `json:"completedAt"`
}

// Signature headers of a callback. The signature is hex HMAC-SHA256, with
// the key named by X-Collab-Key-Id, over "<timestamp>.<body>"; receivers
// check it and refuse timestamps older than a few minutes.
const (
	HeaderSignature = "X-Collab-Signature"
	HeaderTimestamp = "X-Collab-Timestamp"
	HeaderKeyID     = "X-Collab-Key-Id"
)

// SignCallback returns the signature header value of body at ts.
func SignCallback(k *Keys, ts time.Time, body []byte) (kid, sig string) {
	msg := append([]byte(strconv.FormatInt(ts.Unix(), 10)+"."), body...)
	kid, mac := k.Sign(msg)
	return kid, "v1=" + hex.EncodeToString(mac)
}

// Callbacks delivers completions to the tasks' callback URLs.
type Callbacks struct {
	Tasks       *Tasks
	Keys        *Keys // signing keys (COLLAB_EMAIL_CALLBACK_KEYS)
	Client      *http.Client
	MaxAttempts int
	Now         func() time.Time
	// Events records a callback the egress policy refused (nil: none).
	Events secevent.Recorder
}

// CallbackClient is the HTTP client for callbacks: a deadline, no
// redirects, and connections only where the egress policy lets them (in
// Azure no loopback, private or link-local address, checked on the address
// actually dialled; never a metadata endpoint).
func CallbackClient(timeout time.Duration, p egress.Policy) *http.Client {
	c := egress.Client(p, timeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func (c *Callbacks) now() time.Time {
	if c.Now == nil {
		return time.Now().UTC()
	}
	return c.Now().UTC()
}

// Deliver posts the completion of the task ref names. A nil error
// acknowledges the message; an error has the host retry it. The last
// attempt records the callback as failed, visible on the task.
func (c *Callbacks) Deliver(ctx context.Context, ref CallbackRef, dequeueCount int64) error {
	const op = "mail.Callback"
	task, err := c.Tasks.load(ctx, ref.Ref)
	if fault.Is(err, fault.NotFound) {
		return nil
	}
	if err != nil {
		return fault.E(op, err)
	}
	if task.Status != TaskCompleted || task.Callback == nil || task.Callback.Status != CallbackPending {
		return nil // delivered, failed for good, or nothing to say
	}
	if c.Keys == nil {
		return fault.E(op, fault.Unavailable, "no callback signing key is configured (COLLAB_EMAIL_CALLBACK_KEYS)")
	}
	body, _ := json.Marshal(CallbackBody{Project: task.Project, Env: task.Env, TaskID: task.ID, Status: task.Status,
		Values: task.Values, Assignee: task.Assignee, CompletedAt: task.CompletedAt})
	ts := c.now()
	kid, sig := SignCallback(c.Keys, ts, body)
	if !c.Tasks.callbackSchemeAllowed(task.CallbackURL) {
		// Checked again at delivery, not only at registration: a policy
		// that says https is never relaxed by a row written under another.
		return c.record(ctx, task, false, true, "the callback URL is not https: insecure callbacks are refused outside local development")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, task.CallbackURL, bytes.NewReader(body))
	if err != nil {
		return c.record(ctx, task, false, true, "bad callback URL: "+err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderKeyID, kid)
	req.Header.Set(HeaderSignature, sig)
	req.Header.Set("Idempotency-Key", "email-task:"+task.Ref+":completed")
	resp, err := c.Client.Do(req)
	if e, refused := secevent.EgressEvent(task.Project, "email-tasks/"+task.Env+"/"+task.ID+" callback", err); refused {
		secevent.Emit(ctx, c.Events, e)
	}
	var why string
	ok := false
	if err != nil {
		why = err.Error()
	} else {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		ok = resp.StatusCode >= 200 && resp.StatusCode < 300
		why = "the callback answered " + resp.Status
	}
	max := c.MaxAttempts
	if max <= 0 {
		max = DefaultMaxAttempts
	}
	final := ok || dequeueCount >= int64(max)
	if err := c.record(ctx, task, ok, final, why); err != nil {
		return err
	}
	if !final {
		return fault.E(op, fault.Unavailable, "callback failed; the host retries: "+why)
	}
	return nil
}

// record writes the callback's state on the task (conditionally; a lost
// race means another delivery recorded its own).
func (c *Callbacks) record(ctx context.Context, task Task, ok, final bool, why string) error {
	cb := *task.Callback
	cb.Attempts++
	switch {
	case ok:
		cb.Status, cb.DeliveredAt, cb.LastError = CallbackDelivered, c.now(), ""
	case final:
		cb.Status, cb.LastError = CallbackFailed, why
	default:
		cb.LastError = why
	}
	task.Callback = &cb
	e, err := taskEntity(task)
	if err != nil {
		return fault.E("mail.Callback", err)
	}
	if _, err := c.Tasks.Table.Update(ctx, e, task.ETag); err != nil && !fault.Is(err, fault.PreconditionFailed) {
		return fault.E("mail.Callback", err)
	}
	return nil
}
