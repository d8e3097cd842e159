package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// Message is one message of the deployment queue, whatever carries it.
// ID is the duplicate-detection id (Service Bus drops a second message with
// the same id within its window; locally the worker's own bookkeeping makes a
// duplicate a no-op). SessionID keeps one environment's messages in order on
// one consumer. NotBefore delays delivery (scheduled messages for window
// times); zero means now.
type Message struct {
	ID         string
	SessionID  string
	Body       []byte
	NotBefore  time.Time
	Properties map[string]string
}

// Queue sends deployment messages. Two adapters implement it
// (shared/deploy/messaging): a Storage queue locally and Service Bus in
// Azure; deploytest.QueueContract is the contract both pass.
type Queue interface {
	Send(ctx context.Context, m Message) error
}

// Message kinds.
const (
	MsgRequest = "deploy-request" // catch an environment up to a commit
	MsgWindow  = "window-due"     // drive a window whose time has come
)

// Envelope is a message body.
type Envelope struct {
	Kind    string `json:"kind"`
	Project string `json:"project"`
	Env     string `json:"env"`
	Seq     int64  `json:"seq,omitempty"`
	Window  string `json:"window,omitempty"`
}

// RequestMessage is the message of a deployment request: id
// "<project>/<env>:<seq>".
func RequestMessage(project, env string, seq int64) Message {
	return envelopeMessage(fmt.Sprintf("%s:%d", EnvKey(project, env), seq), Envelope{Kind: MsgRequest, Project: project, Env: env, Seq: seq}, time.Time{})
}

// WindowMessage is a scheduled nudge for a window at a given time; its id
// carries the time, so a rescheduled window gets a new message rather than a
// duplicate of the old one.
func WindowMessage(project, env, window, phase string, at time.Time) Message {
	id := fmt.Sprintf("%s:%s:%s:%d", EnvKey(project, env), window, phase, at.Unix())
	return envelopeMessage(id, Envelope{Kind: MsgWindow, Project: project, Env: env, Window: window}, at)
}

func envelopeMessage(id string, e Envelope, at time.Time) Message {
	b, _ := json.Marshal(e)
	return Message{ID: id, SessionID: EnvKey(e.Project, e.Env), Body: b, NotBefore: at,
		Properties: map[string]string{"kind": e.Kind, "project": e.Project, "env": e.Env}}
}

// DecodeEnvelope reads and checks a message body; a malformed one is
// Invalid (the host retries it, then poisons it).
func DecodeEnvelope(b []byte) (Envelope, error) {
	const op = "deploy.DecodeEnvelope"
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fault.E(op, fault.Invalid, "the message is not a deployment envelope", err)
	}
	if e.Project == "" || e.Env == "" {
		return e, fault.E(op, fault.Invalid, "the message names no project or environment")
	}
	switch e.Kind {
	case MsgRequest:
		if e.Seq < 1 {
			return e, fault.E(op, fault.Invalid, "a deployment request needs a sequence >= 1")
		}
	case MsgWindow:
		if e.Window == "" {
			return e, fault.E(op, fault.Invalid, "a window message names no window")
		}
	default:
		return e, fault.E(op, fault.Invalid, fmt.Sprintf("unknown message kind %q", e.Kind))
	}
	return e, nil
}
