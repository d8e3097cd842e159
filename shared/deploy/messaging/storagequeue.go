package messaging

import (
	"context"
	"encoding/json"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/fault"
)

// Sender is what the Storage queue adapter needs (store.Queue has it).
type Sender interface {
	Send(ctx context.Context, text string, delay, ttl time.Duration) (string, error)
}

// MaxStorageDelay is the longest a Storage queue hides a message (7 days,
// less a minute of margin).
const MaxStorageDelay = 7*24*time.Hour - time.Minute

// StorageQueue is the local deploy.Queue: a Storage queue whose text is the
// local envelope (LocalEnvelope), since a Storage message has no metadata
// of its own.
type StorageQueue struct {
	Q   Sender
	Now func() time.Time
}

// LocalEnvelope is the text of a local deployment message.
type LocalEnvelope struct {
	ID         string            `json:"id"`
	SessionID  string            `json:"sessionId"`
	NotBefore  time.Time         `json:"notBefore,omitzero"`
	Properties map[string]string `json:"properties,omitempty"`
	Body       json.RawMessage   `json:"body"`
}

// Send enqueues m, hidden until its NotBefore.
func (q StorageQueue) Send(ctx context.Context, m deploy.Message) error {
	if !json.Valid(m.Body) {
		return fault.E("messaging.StorageQueue", fault.Internal, "a deployment message body is JSON")
	}
	text, _ := json.Marshal(LocalEnvelope{ID: m.ID, SessionID: m.SessionID, NotBefore: m.NotBefore, Properties: m.Properties, Body: m.Body})
	now := time.Now
	if q.Now != nil {
		now = q.Now
	}
	var delay time.Duration
	if !m.NotBefore.IsZero() {
		delay = m.NotBefore.Sub(now())
		if delay > 0 {
			delay = (delay + time.Second - 1) / time.Second * time.Second // never early
		}
		delay = min(max(delay, 0), MaxStorageDelay)
	}
	if _, err := q.Q.Send(ctx, string(text), delay, delay+7*24*time.Hour); err != nil {
		return fault.E("messaging.StorageQueue", err)
	}
	return nil
}

// DecodeLocal reads a local message's text back into the message.
func DecodeLocal(text string) (deploy.Message, error) {
	var e LocalEnvelope
	if err := json.Unmarshal([]byte(text), &e); err != nil || len(e.Body) == 0 {
		return deploy.Message{}, fault.E("messaging.DecodeLocal", fault.Invalid, "not a local deployment message")
	}
	return deploy.Message{ID: e.ID, SessionID: e.SessionID, NotBefore: e.NotBefore, Properties: e.Properties, Body: e.Body}, nil
}
