package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// refusals counts the conditional writes storage refused on a table: a
// stale ETag (412) or a row that already exists (409).
type refusals struct {
	store.Table
	n atomic.Int64
}

func (r *refusals) count(err error) error {
	if fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.Conflict) {
		r.n.Add(1)
	}
	return err
}

func (r *refusals) Insert(ctx context.Context, e store.Entity) (string, error) {
	etag, err := r.Table.Insert(ctx, e)
	return etag, r.count(err)
}

func (r *refusals) Update(ctx context.Context, e store.Entity, ifMatch string) (string, error) {
	etag, err := r.Table.Update(ctx, e, ifMatch)
	return etag, r.count(err)
}

// pauseAt returns a Fault hook that freezes the check-in at step (once)
// until resume is closed, and the channel that is closed when it freezes.
func pauseAt(step string, resume <-chan struct{}) (func(string) error, <-chan struct{}) {
	paused := make(chan struct{})
	var once atomic.Bool
	return func(s string) error {
		if s == step && once.CompareAndSwap(false, true) {
			close(paused)
			<-resume
		}
		return nil
	}, paused
}

type answer struct {
	res catalog.Result
	err error
}

// checkinPaused starts s.Checkin(req) and returns once it is frozen (paused
// is closed, see pauseAt), with the channel its answer will come on.
func checkinPaused(t *testing.T, s *catalog.Service, req catalog.CheckinRequest, paused <-chan struct{}) <-chan answer {
	t.Helper()
	done := make(chan answer, 1)
	go func() {
		res, err := s.Checkin(context.Background(), req)
		done <- answer{res, err}
	}()
	select {
	case <-paused:
	case a := <-done:
		t.Fatalf("the check-in finished without pausing: %+v %v", a.res, a.err)
	}
	return done
}

// TestZombieApplierCannotRegressObjects reproduces the lost update a
// claimant paused past its lease could cause. The zombie claims commit 2,
// writes its feed and history rows and reads the object rows, and freezes
// right before writing them (a GC pause or a VM freeze: after any lease
// check). Its lease runs out; another instance takes commit 2 over and
// finishes it, then commits 3 on the same paths (one updated, one created
// by commit 2). The zombie wakes up and writes. The object rows must still
// be commit 3's, and storage must have refused the zombie's writes.
func TestZombieApplierCannotRegressObjects(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	const p = "zombie"
	upd, made := "applications/a/processes/p", "entities/master/e"
	first := w.instance()
	if _, err := first.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice,
		Changes: []catalog.ChangeRequest{put(t, first, p, upd, 0, "p@1")}}); err != nil {
		t.Fatal(err)
	}

	tables := catalog.OpenTables(w.acct)
	objects := &refusals{Table: tables.Objects}
	tables.Objects = objects
	zombie := catalog.New(tables, w.acct.Container("catalog"), w.now)
	resume := make(chan struct{})
	var paused <-chan struct{}
	zombie.Fault, paused = pauseAt(catalog.PauseObjects, resume)
	zreq := catalog.CheckinRequest{Project: p, Author: bob, Key: "zombie-2", Message: "the zombie's commit",
		Changes: []catalog.ChangeRequest{put(t, zombie, p, upd, 1, "p@2"), put(t, zombie, p, made, 0, "e@1")}}
	done := checkinPaused(t, zombie, zreq, paused)

	w.advance(3 * time.Minute) // the zombie's lease is over
	other := w.instance()
	res, err := other.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice, Message: "newer",
		Changes: []catalog.ChangeRequest{put(t, other, p, upd, 2, "p@3"), put(t, other, p, made, 1, "e@2")}})
	if err != nil || res.Seq != 3 {
		t.Fatalf("the newer check-in (rolls commit 2 forward first): %+v %v", res, err)
	}

	close(resume)
	z := <-done
	// Commit 2 was applied from the zombie's own record, so its answer is true.
	if z.err != nil || z.res.Seq != 2 {
		t.Fatalf("the zombie's answer: %+v %v", z.res, z.err)
	}
	if n := objects.n.Load(); n < 2 {
		t.Errorf("storage refused %d of the zombie's object writes, want one per path", n)
	}

	r := w.instance()
	want := map[string]struct {
		version int64
		content string
	}{upd: {3, "p@3"}, made: {2, "e@2"}}
	for path, wt := range want {
		o, data, err := r.Content(ctx, p, path, 0)
		if err != nil || o.Seq != 3 || o.Version != wt.version || string(data) != wt.content {
			t.Errorf("%s after the zombie woke: seq %d version %d %q %v; want seq 3 version %d %q (a lost update)",
				path, o.Seq, o.Version, data, err, wt.version, wt.content)
		}
		hist, err := r.History(ctx, p, path, "", 0)
		if err != nil || len(hist.Items) != int(wt.version) || hist.Items[len(hist.Items)-1].Seq != 3 {
			t.Errorf("%s history: %+v %v", path, hist.Items, err)
		}
	}
	list, err := r.List(ctx, p, "", "", 0, nil)
	if err != nil || list.Head != 3 || len(list.Items) != 2 || list.Items[0].Seq != 3 || list.Items[1].Seq != 3 {
		t.Errorf("listing: %+v %v", list, err)
	}
	feed, err := r.Feed(ctx, p, catalog.Position{}, 0, nil)
	if err != nil || fmt.Sprint(seqs(feed.Changes)) != "[1 2 2 3 3]" {
		t.Errorf("feed: %+v %v", feed, err)
	}
	if c, err := r.Commit(ctx, p, 2, nil); err != nil || c.Message != "the zombie's commit" || len(c.Changes) != 2 {
		t.Errorf("commit 2: %+v %v", c, err)
	}
	// Writers see the newest versions: bases 3 and 2 are current.
	res, err = r.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice,
		Changes: []catalog.ChangeRequest{put(t, r, p, upd, 3, "p@4"), put(t, r, p, made, 2, "e@3")}})
	if err != nil || res.Seq != 4 {
		t.Fatalf("a check-in on the newest versions: %+v %v", res, err)
	}
	// The zombie's key answers its commit.
	if res, err := r.Checkin(ctx, zreq); err != nil || res.Seq != 2 {
		t.Fatalf("the zombie's request retried: %+v %v", res, err)
	}
}

func seqs(cs []catalog.Change) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.Seq
	}
	return out
}

// TestLockRacesCheckin: locks and check-ins serialise. A lock granted
// after a check-in checked the locks but before it claimed its sequence
// stops that check-in (423, nothing committed); a lock granted after the
// claim comes after the commit, which goes through whole, and the lock
// then refuses the next check-in.
func TestLockRacesCheckin(t *testing.T) {
	cases := []struct {
		name   string
		pause  string // where bob's check-in is frozen while alice locks
		locked bool   // bob's check-in is refused
	}{
		{"the lock lands between the lock check and the claim", catalog.StepRecord, true},
		{"the lock lands after the claim", catalog.StepClaim, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			const p = "race"
			path := "applications/a/processes/p"
			first := w.instance()
			if _, err := first.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: bob,
				Changes: []catalog.ChangeRequest{put(t, first, p, path, 0, "v1")}}); err != nil {
				t.Fatal(err)
			}
			writer := w.instance()
			resume := make(chan struct{})
			var paused <-chan struct{}
			writer.Fault, paused = pauseAt(c.pause, resume)
			req := catalog.CheckinRequest{Project: p, Author: bob, Changes: []catalog.ChangeRequest{put(t, writer, p, path, 1, "v2")}}
			done := checkinPaused(t, writer, req, paused)
			l, err := w.instance().Lock(ctx, p, alice, "applications/a", time.Hour)
			if err != nil {
				t.Fatalf("alice's lock: %v", err)
			}
			close(resume)
			a := <-done
			r := w.instance()
			head, err := r.Head(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if c.locked {
				var le *catalog.LockedError
				if !errors.As(a.err, &le) || kindOf(a.err) != "locked" || le.Locked[0].Holder != alice.Email {
					t.Fatalf("bob's check-in under a lock granted before its claim: %+v %v", a.res, a.err)
				}
				if head != 1 {
					t.Fatalf("head %d: the refused check-in committed", head)
				}
			} else {
				if a.err != nil || a.res.Seq != 2 || head != 2 {
					t.Fatalf("bob's check-in claimed before the lock: %+v %v (head %d)", a.res, a.err, head)
				}
				// The lock came after commit 2: the next check-in under it is refused.
				_, err := r.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: bob,
					Changes: []catalog.ChangeRequest{put(t, r, p, path, 2, "v3")}})
				if kindOf(err) != "locked" {
					t.Fatalf("the next check-in under alice's lock: %v", err)
				}
			}
			if got, err := r.LockByID(ctx, p, l.ID); err != nil || got.Holder != alice.Email {
				t.Fatalf("alice's lock afterwards: %+v %v", got, err)
			}
		})
	}
}

// TestBatchInsertNeverReplaces pins the storage behaviour the commit's
// batched inserts rely on (docs/catalog.md): a batch of inserts with one
// row already present replaces nothing and writes nothing, on Azurite as
// on Azure, so a stale batch insert is harmless.
func TestBatchInsertNeverReplaces(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	tb := w.acct.Table("catalogobjects")
	row := func(i int, v int64) store.Entity {
		return store.Entity{PartitionKey: "p", RowKey: fmt.Sprintf("r%03d", i), Props: map[string]any{"V": v}}
	}
	if _, err := tb.Insert(ctx, row(5, 1)); err != nil {
		t.Fatal(err)
	}
	ops := make([]store.BatchOp, 10)
	for i := range ops {
		e := row(i, 2)
		ops[i] = store.BatchOp{Insert: &e}
	}
	if err := tb.Batch(ctx, ops); err == nil {
		t.Fatal("a batch inserting an existing row succeeded")
	}
	for i := range ops {
		e, err := tb.Get(ctx, "p", fmt.Sprintf("r%03d", i))
		switch {
		case i == 5 && (err != nil || e.Int64("V") != 1):
			t.Errorf("the existing row: %v %v (replaced by a batch insert)", e.Props, err)
		case i != 5 && !fault.Is(err, fault.NotFound):
			t.Errorf("row %d: %v %v (a failed batch wrote part of itself)", i, e.Props, err)
		}
	}
}
