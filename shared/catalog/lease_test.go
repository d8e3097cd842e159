package catalog_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// heldTable holds every batch of rows until released, as a slow machine
// holds a large commit's writes; entered says a batch is held.
type heldTable struct {
	store.Table
	entered chan<- struct{}
	release <-chan struct{}
}

func (h heldTable) Batch(ctx context.Context, ops []store.BatchOp) error {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	select {
	case <-h.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.Table.Batch(ctx, ops)
}

// renewTable reports every head write that keeps a commit claimed (a
// lease renewal) with the lease it sets.
type renewTable struct {
	store.Table
	renewed chan<- time.Time
}

func (r renewTable) Update(ctx context.Context, e store.Entity, ifMatch string) (string, error) {
	etag, err := r.Table.Update(ctx, e, ifMatch)
	if until, ok := e.Props["LeaseUntil"].(time.Time); ok && err == nil && e.Props["Claimed"] != e.Props["Applied"] {
		r.renewed <- until
	}
	return etag, err
}

// TestLongCommitKeepsItsLease: a claimant whose writes take longer than
// its lease (a 10,000-change check-in on a loaded machine) renews the lease
// while it works, so no reader or writer takes the commit over and the
// claimant finishes it itself. The clock is the test's: it moves two
// leases on, half a lease at a time, and each step waits for the renewal.
// Before the keeper, the reader took the commit over at the first lease's
// end and the claimant failed ("the commit's lease ran out" or "taken over
// by another instance"), as TestTenThousandChanges did under load.
func TestLongCommitKeepsItsLease(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	entered, release, renewed := make(chan struct{}, 1), make(chan struct{}), make(chan time.Time, 64)
	tables := catalog.OpenTables(w.acct)
	tables.History = heldTable{Table: tables.History, entered: entered, release: release}
	tables.Heads = renewTable{Table: tables.Heads, renewed: renewed}
	s := catalog.New(tables, w.acct.Container("catalog"), w.now)
	const p = "long"
	done := checkinHeldAtHistory(t, s, p, "applications/long/processes/p1", entered)
	const deadline = 2 * time.Minute // a bound for a condition, never a time waited
	reader := w.instance()
	last := w.now()
	for range 4 { // two leases, half a lease at a time
		w.advance(s.Lease / 2)
		select {
		case until := <-renewed:
			if !until.After(last) {
				t.Fatalf("a renewal set the lease to %v, not after %v", until, last)
			}
			last = until
		case <-time.After(deadline):
			t.Fatal("the claimant did not renew its lease while it worked")
		}
		if h, err := reader.Head(ctx, p); err != nil || h != 0 {
			t.Fatalf("a reader saw head %d (%v) while the claimant still worked: it took the commit over", h, err)
		}
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the claimant could not finish its own commit: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("the check-in did not finish")
	}
	if h, err := reader.Head(ctx, p); err != nil || h != 1 {
		t.Fatalf("head after the commit: %d, %v", h, err)
	}
}

// TestRetryDuringTheLeaseIsTold503 (issue 19, finding 3): a check-in whose
// instance died after claiming its sequence holds the head for its lease.
// A retry with the same key within the lease waits at most Wait, then is
// answered Unavailable with a *BusyError naming when to come back (the HTTP
// layer sends 503 and Retry-After), instead of holding the request open
// for the whole lease; once the lease ends the retry rolls the commit
// forward and gets it, one commit.
func TestRetryDuringTheLeaseIsTold503(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const p = "busy"
	crashing := w.instance()
	crashing.Fault = func(step string) error {
		if step == catalog.StepClaim {
			return errCrash
		}
		return nil
	}
	in := catalog.CheckinRequest{Project: p, Author: alice, Key: "k-1", Message: "one",
		Changes: []catalog.ChangeRequest{put(t, crashing, p, "applications/a/processes/p", 0, "v1")}}
	if _, err := crashing.Checkin(ctx, in); !errors.Is(err, errCrash) {
		t.Fatalf("the crashing check-in: %v", err)
	}
	retry := w.instance()
	retry.Wait = 50 * time.Millisecond // of the world's clock, which runs
	_, err := retry.Checkin(ctx, in)
	var busy *catalog.BusyError
	if kindOf(err) != "unavailable" || !errors.As(err, &busy) || busy.RetryAfter() < time.Second || busy.RetryAfter() > 10*time.Second {
		t.Fatalf("retry within the lease: %v", err)
	}
	w.advance(retry.Lease)
	res, err := retry.Checkin(ctx, in)
	if err != nil || res.Seq != 1 {
		t.Fatalf("retry after the lease: %+v %v", res, err)
	}
	if h, err := retry.Head(ctx, p); err != nil || h != 1 {
		t.Fatalf("head %d %v, want one commit", h, err)
	}
}

// lostAnswerTable writes the first lease renewal and then answers it as a
// lost race, as the storage client does when a renewal's answer times out
// and its retry of the same conditional write meets the ETag the write
// itself changed.
type lostAnswerTable struct {
	store.Table
	claims *atomic.Int32 // head writes that keep a commit claimed
	lied   chan<- struct{}
}

func (l lostAnswerTable) Update(ctx context.Context, e store.Entity, ifMatch string) (string, error) {
	etag, err := l.Table.Update(ctx, e, ifMatch)
	if err == nil && e.Props["Claimed"] != e.Props["Applied"] && l.claims.Add(1) == 1 { // a new project's claim is an insert: the first such update is a renewal
		close(l.lied)
		return "", fault.E("store.update", fault.PreconditionFailed, "the entity's ETag does not match (the retry of a written update)")
	}
	return etag, err
}

// TestRenewalWhoseAnswerWasLost: a renewal that was written but answered
// "precondition failed" (its answer lost, the retry refused) does not make
// the claimant believe its commit was taken over; it finishes the commit
// itself. Before the keeper read the head again, the check-in failed with
// "the commit was taken over by another instance" (TestCatalogCheckinLimits
// failed so once under load).
func TestRenewalWhoseAnswerWasLost(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	entered, release, lied := make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	tables := catalog.OpenTables(w.acct)
	tables.History = heldTable{Table: tables.History, entered: entered, release: release}
	tables.Heads = lostAnswerTable{Table: tables.Heads, claims: new(atomic.Int32), lied: lied}
	s := catalog.New(tables, w.acct.Container("catalog"), w.now)
	const p = "lost"
	done := checkinHeldAtHistory(t, s, p, "applications/lost/processes/p1", entered)
	const deadline = 2 * time.Minute // a bound for a condition, never a time waited
	w.advance(s.Lease / 2)           // the keeper renews
	select {
	case <-lied:
	case <-time.After(deadline):
		t.Fatal("the claimant did not renew its lease")
	}
	w.advance(s.Lease / 2) // and renews again, from the ETag it read back
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the claimant lost its own commit to a lost answer: %v", err)
		}
	case <-time.After(deadline):
		t.Fatal("the check-in did not finish")
	}
	if h, err := w.instance().Head(ctx, p); err != nil || h != 1 {
		t.Fatalf("head after the commit: %d, %v", h, err)
	}
}

// checkinHeldAtHistory starts a one-object check-in of path and returns once
// it is held at its history write (entered), with the channel its result
// arrives on.
func checkinHeldAtHistory(t *testing.T, s *catalog.Service, p, path string, entered <-chan struct{}) <-chan error {
	t.Helper()
	change := put(t, s, p, path, 0, "v1")
	done := make(chan error, 1)
	go func() {
		_, err := s.Checkin(context.Background(), catalog.CheckinRequest{Project: p, Author: alice, Changes: []catalog.ChangeRequest{change}})
		done <- err
	}()
	select {
	case <-entered:
	case err := <-done:
		t.Fatalf("the check-in ended before its history write: %v", err)
	case <-time.After(2 * time.Minute): // a bound for a condition, never a time waited
		t.Fatal("the check-in never reached its history write")
	}
	return done
}
