package catalog

import (
	"context"
	"sync"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// keeper renews the lease of a claim while its claimant applies the commit:
// once a quarter of the lease has passed (by the Service's clock, looked at
// every Poll) it moves LeaseUntil to now+Lease with a conditional write of
// the head row (If-Match: the claim's latest ETag). A commit of
// 10,000 changes on a slow, loaded machine can take longer than one lease;
// without renewal its claimant stopped at its next lease check ("the
// commit's lease ran out") or a reader took the commit over while it still
// worked, and the claimant's last head write found it "taken over".
//
// Crash safety is unchanged: a renewal is a conditional write of the same
// row the claim and a takeover write, so it succeeds only while no one took
// the commit over, and it never changes Claimed, Applied or Pending. A
// crashed claimant renews nothing and its lease runs out as before; a
// Service.Fault hook stands for the whole process stopping or freezing
// there, so the keeper pauses while a hook runs (the zombie test freezes a
// claimant that way). Storage calls time out (azure.Config.TryTimeout), so a
// claimant stuck in the network ends its apply and stops renewing. As
// before, the lease decides only who works: every write of the apply stays
// fenced (docs/catalog.md, the zombie).
type keeper struct {
	s       *Service
	project string

	mu     sync.Mutex // held during a renewal, and while a Fault hook runs
	h      head       // the claim as last written by this claimant
	lost   error      // set when a renewal found the claim taken over
	stop   chan struct{}
	done   chan struct{}
	closed bool
}

// keep starts renewing claim h of project until finish.
func (s *Service) keep(ctx context.Context, project string, h head) *keeper {
	k := &keeper{s: s, project: project, h: h, stop: make(chan struct{}), done: make(chan struct{})}
	go k.run(ctx)
	return k
}

func (k *keeper) run(ctx context.Context) {
	defer close(k.done)
	tick := time.NewTicker(max(k.s.Poll, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		k.mu.Lock()
		if now := k.s.now(); k.lost == nil && !now.Before(k.h.LeaseUntil.Add(-k.s.Lease*3/4)) {
			next := k.h
			next.LeaseUntil = now.Add(k.s.Lease)
			switch got, err := k.s.writeHead(ctx, k.project, k.h, next, k.s.instance); {
			case err == nil:
				k.h = got
			case lostRace(err):
				if cur, ok := k.landed(ctx, next); ok {
					k.h = cur // the renewal was written; only its answer was lost
					break
				}
				k.lost = fault.E("catalog.apply", fault.Unavailable, "the commit was taken over by another instance", err)
			}
			// Any other error: the lease still has three quarters left; try
			// again at the next tick.
		}
		k.mu.Unlock()
	}
}

// landed tells whether a renewal that answered "lost race" was in fact
// written: its answer can be lost (a timeout) and the storage client's retry
// of the same conditional write then finds the ETag it changed itself. The
// head row still holds this claim, written by this instance with exactly the
// lease the renewal set (a takeover writes its own instance and lease), so
// the claim is still this claimant's, at the row's new ETag.
func (k *keeper) landed(ctx context.Context, next head) (head, bool) {
	cur, err := k.s.readHead(ctx, k.project)
	if err != nil {
		return head{}, false
	}
	same := cur.By == k.s.instance && cur.Claimed == next.Claimed && cur.Applied == next.Applied &&
		cur.Pending == next.Pending && cur.LeaseUntil.Truncate(time.Millisecond).Equal(next.LeaseUntil.Truncate(time.Millisecond))
	return cur, same
}

// leaseLeft refuses to start a write phase once the claim's lease is nearly
// over (past it another instance may take the commit over) or taken over.
// This saves work only; correctness does not depend on it (the writes are
// fenced).
func (k *keeper) leaseLeft() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lost != nil {
		return k.lost
	}
	return k.s.leaseLeft(k.h)
}

// fault runs the Fault hook of step with the renewals paused: a hook that
// blocks freezes the whole claimant, as a GC pause or a VM freeze would.
func (k *keeper) fault(step string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.s.fault(step)
}

// finish stops the renewals and returns the claim as last written.
func (k *keeper) finish() head {
	k.mu.Lock()
	if !k.closed {
		k.closed = true
		close(k.stop)
	}
	k.mu.Unlock()
	<-k.done
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.h
}
