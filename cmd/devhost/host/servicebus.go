package host

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/deploy/messaging"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/fnhost/manifest"
	"github.com/studio-collab/collab/shared/store"
)

// sbQueue is the devhost's stand-in for a session-enabled Service Bus queue
// and the Functions Service Bus trigger reading it, so that a
// serviceBusTrigger function (DeployRequests) runs locally through the same
// code path as in Azure.
//
// The wire is the Storage queue of the same name on Azurite, where the local
// sender (shared/deploy/messaging.StorageQueue) writes each message as a
// LocalEnvelope: id, session, properties, body, held back by the queue until
// its NotBefore (a scheduled message). The stand-in then behaves as Service Bus:
//   - duplicate detection: a message id seen within DuplicateWindow is dropped;
//   - sessions: one message of a session in flight at a time, in the order the
//     messages became available; other sessions in parallel, up to
//     MaxConcurrentSessions;
//   - peek-lock: a failed delivery (non-2xx) is abandoned and delivered again
//     with DeliveryCount+1, at the head of its session; after
//     MaxDeliveryCount deliveries it goes to <queue>-deadletter (the stand-in
//     for the $DeadLetterQueue sub-queue), never lost;
//   - the message stays in the Storage queue, its lock renewed, until it is
//     completed or dead-lettered, so a crash of the devhost loses nothing
//     (it is delivered again, as after a lost lock).
type sbQueue struct {
	h    *Host
	f    *manifest.Function
	wire store.Queue
	dead store.Queue
	lock time.Duration // how long a received message stays hidden; renewed at half

	mu       sync.Mutex
	seen     map[string]time.Time // message id -> when accepted (duplicate detection)
	held     map[string]bool      // storage ids in memory (a redelivered storage message is not a new one)
	sessions map[string]*sbSession
	seq      int64
	busy     int // sessions with a delivery in flight
	wake     chan struct{}
}

type sbSession struct {
	queue  []*sbMessage
	flight bool
}

type sbMessage struct {
	env        deploy.Message
	stored     store.Message
	seq        int64
	enqueued   time.Time
	deliveries int64
}

func newSBQueue(h *Host, f *manifest.Function) *sbQueue {
	return &sbQueue{h: h, f: f, wire: h.account.Queue(f.Queue), dead: h.account.Queue(f.Queue + "-deadletter"),
		lock: time.Minute, seen: map[string]time.Time{}, held: map[string]bool{}, sessions: map[string]*sbSession{},
		wake: make(chan struct{}, 1)}
}

func (q *sbQueue) run(ctx context.Context) {
	if err := q.h.account.Bootstrap(ctx, store.Layout{Queues: []string{q.f.Queue, q.f.Queue + "-deadletter"}}); err != nil {
		q.h.log.Warn("could not create the Service Bus stand-in's queues (will keep trying)", "function", q.f.Name, "error", err.Error())
	}
	go q.renew(ctx)
	wait := q.h.opt.MinPoll
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		case <-time.After(wait):
		}
		n, err := q.receive(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				q.h.log.Warn("Service Bus stand-in: receive failed", "function", q.f.Name, "queue", q.f.Queue, "error", err.Error())
			}
			wait = q.h.opt.MaxPoll
		case n == 0:
			wait = min(wait*2, q.h.opt.MaxPoll)
		default:
			wait = q.h.opt.MinPoll
		}
		q.dispatch(ctx)
	}
}

// receive moves newly visible envelopes from the wire into their sessions.
func (q *sbQueue) receive(ctx context.Context) (int, error) {
	msgs, err := q.wire.Receive(ctx, 32, q.lock)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	for _, m := range msgs {
		env, derr := messaging.DecodeLocal(m.Text)
		q.mu.Lock()
		redelivered := q.held[m.ID]
		q.mu.Unlock()
		switch {
		case redelivered:
			// Our own lock lapsed (renewal failed): the message is already in memory.
			q.updateReceipt(m)
			continue
		case derr != nil:
			// Service Bus would not have accepted it; keep it for a person to read.
			q.deadLetter(ctx, m, "not a local Service Bus envelope: "+derr.Error())
			continue
		}
		q.mu.Lock()
		for id, at := range q.seen {
			if now.Sub(at) > q.h.opt.DuplicateWindow {
				delete(q.seen, id)
			}
		}
		_, dup := q.seen[env.ID]
		if !dup {
			q.seen[env.ID] = now
			q.seq++
			s := q.sessions[env.SessionID]
			if s == nil {
				s = &sbSession{}
				q.sessions[env.SessionID] = s
			}
			s.queue = append(s.queue, &sbMessage{env: env, stored: m, seq: q.seq, enqueued: m.InsertionTime})
			q.held[m.ID] = true
		}
		q.mu.Unlock()
		if dup {
			// Duplicate detection: accepted by the sender, dropped by the queue.
			q.h.log.Info("Service Bus stand-in: duplicate message dropped", "function", q.f.Name, "messageId", env.ID)
			if err := q.wire.Delete(ctx, m); err != nil {
				q.h.log.Warn("Service Bus stand-in: could not drop a duplicate", "function", q.f.Name, "error", err.Error())
			}
		}
	}
	return len(msgs), nil
}

// dispatch starts a delivery for every idle session with a message ready.
func (q *sbQueue) dispatch(ctx context.Context) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ids := make([]string, 0, len(q.sessions))
	for id := range q.sessions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	now := time.Now()
	for _, id := range ids {
		s := q.sessions[id]
		if q.busy >= q.h.opt.MaxConcurrentSessions {
			return
		}
		if s.flight || len(s.queue) == 0 || s.queue[0].env.NotBefore.After(now) {
			continue
		}
		s.flight = true
		q.busy++
		m := s.queue[0]
		m.deliveries++
		q.h.wg.Add(1)
		go func() {
			defer q.h.wg.Done()
			q.settle(ctx, id, m, q.deliver(ctx, m))
		}()
	}
}

func (q *sbQueue) deliver(ctx context.Context, m *sbMessage) error {
	props := map[string]any{}
	for k, v := range m.env.Properties {
		props[k] = v
	}
	body, err := fnhost.ServiceBusInvocation(q.f.Binding, fnhost.ServiceBusMessage{
		MessageID: m.env.ID, SessionID: m.env.SessionID, ContentType: "application/json", Subject: m.env.Properties["kind"],
		LockToken: newID(), DeliveryCount: m.deliveries, SequenceNumber: m.seq, EnqueuedTime: m.enqueued,
		ExpiresAt: m.enqueued.Add(14 * 24 * time.Hour), Properties: props, Body: string(m.env.Body),
	}, q.h.sys(q.f))
	if err != nil {
		return err
	}
	return q.h.invoke(ctx, q.f, "serviceBus", body, "queue", q.f.Queue, "messageId", m.env.ID, "sessionId", m.env.SessionID, "deliveryCount", m.deliveries)
}

// settle completes, abandons or dead-letters a delivered message.
func (q *sbQueue) settle(ctx context.Context, session string, m *sbMessage, err error) {
	done := err == nil || m.deliveries >= int64(q.h.opt.MaxDeliveryCount)
	if ctx.Err() != nil {
		done = false // stopping: the message stays in the wire and comes back next run
	}
	if done {
		q.mu.Lock()
		stored := m.stored
		q.mu.Unlock()
		if err == nil {
			if derr := q.wire.Delete(ctx, stored); derr != nil {
				q.h.log.Warn("Service Bus stand-in: complete failed; the message will be delivered again", "function", q.f.Name, "error", derr.Error())
			}
		} else {
			q.deadLetter(ctx, stored, fmt.Sprintf("MaxDeliveryCountExceeded: %d deliveries failed; last: %v", m.deliveries, err))
		}
	}
	q.mu.Lock()
	s := q.sessions[session]
	s.flight = false
	q.busy--
	if done {
		s.queue = s.queue[1:]
		delete(q.held, m.stored.ID)
		if len(s.queue) == 0 {
			delete(q.sessions, session)
		}
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// deadLetter copies a message to <queue>-deadletter, then removes it from
// the wire: it is never lost, and a person can read why.
func (q *sbQueue) deadLetter(ctx context.Context, m store.Message, reason string) {
	if _, err := q.dead.Send(ctx, m.Text, 0, -1); err != nil {
		q.h.log.Error("Service Bus stand-in: could not dead-letter; the message stays in its queue", "function", q.f.Name, "error", err.Error())
		return
	}
	if err := q.wire.Delete(ctx, m); err != nil {
		q.h.log.Warn("Service Bus stand-in: dead-lettered message not deleted from its queue", "function", q.f.Name, "error", err.Error())
	}
	q.h.log.Warn("Service Bus stand-in: message dead-lettered", "function", q.f.Name, "queue", q.f.Queue+"-deadletter", "reason", reason)
}

// renew keeps the messages in memory hidden in the wire (Service Bus's lock
// renewal), every half lock.
func (q *sbQueue) renew(ctx context.Context) {
	t := time.NewTicker(q.lock / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		q.mu.Lock()
		var ms []store.Message
		for _, s := range q.sessions {
			for _, m := range s.queue {
				ms = append(ms, m.stored)
			}
		}
		q.mu.Unlock()
		for _, m := range ms {
			pop, err := q.wire.SetVisibility(ctx, m, q.lock)
			if err != nil {
				continue // the next receive notices (held) if the lock lapsed
			}
			m.PopReceipt = pop
			q.updateReceipt(m)
		}
	}
}

func (q *sbQueue) updateReceipt(m store.Message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, s := range q.sessions {
		for _, sm := range s.queue {
			if sm.stored.ID == m.ID {
				sm.stored.PopReceipt = m.PopReceipt
			}
		}
	}
}
