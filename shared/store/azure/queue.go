package azure

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Queue is one storage queue: a store.Queue. Texts are base64-encoded on the wire, the
// encoding the Functions host's queue trigger expects by default
// (host.json extensions.queues.messageEncoding = "base64").
type Queue struct {
	name   string
	client *azqueue.QueueClient
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

// Send enqueues text, invisible for delay, living for ttl (0: the service's
// default of 7 days; -1: forever).
func (q *Queue) Send(ctx context.Context, text string, delay, ttl time.Duration) (string, error) {
	if err := store.CheckMessage("the message to "+q.name, text); err != nil {
		return "", err
	}
	opt := &azqueue.EnqueueMessageOptions{}
	if delay > 0 {
		opt.VisibilityTimeout = to.Ptr(int32(delay / time.Second))
	}
	if ttl != 0 {
		secs := int32(ttl / time.Second)
		if ttl < 0 {
			secs = -1
		}
		opt.TimeToLive = &secs
	}
	resp, err := q.client.EnqueueMessage(ctx, base64.StdEncoding.EncodeToString([]byte(text)), opt)
	if err != nil {
		return "", mapErr("store.Send", q.name, err)
	}
	if len(resp.Messages) == 0 || resp.Messages[0].MessageID == nil {
		return "", nil
	}
	return *resp.Messages[0].MessageID, nil
}

// Receive takes up to max (1–32) messages, hidden from others for
// visibility. A body that is not base64 is returned as it is, so a message
// put there by another tool is still seen (and can be poisoned).
func (q *Queue) Receive(ctx context.Context, max int, visibility time.Duration) ([]store.Message, error) {
	if max < 1 || max > 32 {
		return nil, fault.E("store.Receive", fault.Internal, "max must be 1..32")
	}
	resp, err := q.client.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{
		NumberOfMessages:  to.Ptr(int32(max)),
		VisibilityTimeout: to.Ptr(int32(max64(visibility/time.Second, 1))),
	})
	if err != nil {
		return nil, mapErr("store.Receive", q.name, err)
	}
	out := make([]store.Message, 0, len(resp.Messages))
	for _, m := range resp.Messages {
		msg := store.Message{ID: deref(m.MessageID), PopReceipt: deref(m.PopReceipt), DequeueCount: deref(m.DequeueCount),
			InsertionTime: deref(m.InsertionTime), Expiration: deref(m.ExpirationTime), NextVisible: deref(m.TimeNextVisible)}
		raw := deref(m.MessageText)
		if b, err := base64.StdEncoding.DecodeString(raw); err == nil {
			msg.Text = string(b)
		} else {
			msg.Text = raw
		}
		out = append(out, msg)
	}
	return out, nil
}

// Delete removes a received message; NotFound if its pop receipt is stale.
func (q *Queue) Delete(ctx context.Context, m store.Message) error {
	_, err := q.client.DeleteMessage(ctx, m.ID, m.PopReceipt, nil)
	return mapErr("store.DeleteMessage", q.name, err)
}

// SetVisibility makes a received message visible again after d (0: now),
// returning its new pop receipt.
func (q *Queue) SetVisibility(ctx context.Context, m store.Message, d time.Duration) (string, error) {
	resp, err := q.client.UpdateMessage(ctx, m.ID, m.PopReceipt, base64.StdEncoding.EncodeToString([]byte(m.Text)),
		&azqueue.UpdateMessageOptions{VisibilityTimeout: to.Ptr(int32(d / time.Second))})
	if err != nil {
		return "", mapErr("store.SetVisibility", q.name, err)
	}
	return deref(resp.PopReceipt), nil
}

// Length is the approximate number of messages.
func (q *Queue) Length(ctx context.Context) (int, error) {
	resp, err := q.client.GetProperties(ctx, nil)
	if err != nil {
		return 0, mapErr("store.Length", q.name, err)
	}
	if resp.ApproximateMessagesCount == nil {
		return 0, nil
	}
	return int(*resp.ApproximateMessagesCount), nil
}

// deref is what an SDK response's optional field holds, its zero value when
// the service left it out.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func max64(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}
