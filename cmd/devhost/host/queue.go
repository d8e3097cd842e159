package host

import (
	"context"
	"time"

	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/fnhost/manifest"
)

// poll delivers a queue trigger's messages as the Functions host does:
// receive a batch, invoke per message, delete on success; on failure make
// the message visible again after visibilityTimeout, or, once it has been
// dequeued maxDequeueCount times, copy it to <queue>-poison and delete it.
func (h *Host) poll(ctx context.Context, f *manifest.Function) {
	q := h.account.Queue(f.Queue)
	poison := h.account.Queue(f.Queue + "-poison")
	opts := h.app.Host.Queues
	batch := max(1, min(opts.BatchSize, 32))
	// The message stays hidden while its invocation runs; the function timeout bounds that.
	hold := h.app.Host.FunctionTimeout + 30*time.Second
	wait := h.opt.MinPoll
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		msgs, err := q.Receive(ctx, batch, hold)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("queue poll failed", "function", f.Name, "queue", f.Queue, "error", err.Error())
			}
			wait = h.opt.MaxPoll
			continue
		}
		if len(msgs) == 0 {
			wait = min(wait*2, h.opt.MaxPoll)
			continue
		}
		wait = h.opt.MinPoll
		done := make(chan struct{}, len(msgs))
		for _, m := range msgs {
			go func() {
				defer func() { done <- struct{}{} }()
				body, err := fnhost.QueueInvocation(f.Binding, fnhost.QueueMessage{ID: m.ID, PopReceipt: m.PopReceipt, Text: m.Text,
					DequeueCount: m.DequeueCount, InsertionTime: m.InsertionTime, ExpirationTime: m.Expiration, NextVisibleTime: m.NextVisible}, h.sys(f))
				if err == nil {
					err = h.invoke(ctx, f, "queue", body, "queue", f.Queue, "dequeueCount", m.DequeueCount)
				}
				switch {
				case err == nil:
					if derr := q.Delete(ctx, m); derr != nil {
						h.log.Warn("delete after success failed; the message will be delivered again", "function", f.Name, "error", derr.Error())
					}
				case m.DequeueCount >= opts.MaxDequeueCount:
					if _, perr := poison.Send(ctx, m.Text, 0, -1); perr != nil {
						h.log.Error("could not poison message; it stays in its queue", "function", f.Name, "error", perr.Error())
						return
					}
					if derr := q.Delete(ctx, m); derr != nil {
						h.log.Warn("poisoned message not deleted from its queue", "function", f.Name, "error", derr.Error())
					}
					h.log.Warn("message moved to poison queue", "function", f.Name, "queue", f.Queue+"-poison", "dequeueCount", m.DequeueCount)
				default:
					if _, verr := q.SetVisibility(ctx, m, opts.VisibilityTimeout); verr != nil {
						h.log.Warn("could not release failed message; it reappears after its hold", "function", f.Name, "error", verr.Error())
					}
				}
			}()
		}
		for range msgs {
			<-done
		}
	}
}
