package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Fenced writes: every row a commit writes is written so that a late or
// repeated writer cannot change what another writer wrote after it
// (docs/catalog.md, "No write goes backwards").

const (
	batchRows  = 100 // the table service's limit per batch
	batchWidth = 4   // batches in flight at once
	pointWidth = 16  // single-entity operations in flight at once
)

// insertBatches inserts rows of one partition, up to 100 and 4 MiB to a
// batch (large feed rows go a few to a batch). A batch of inserts is
// insert-if-absent as a whole: storage refuses it, writing nothing, when
// one of its rows exists (Azure and Azurite alike;
// TestBatchInsertNeverReplaces), so a stale batch never replaces a row. A
// batch that fails for that or any other reason is redone row by row with
// one, which decides what a present row means.
func insertBatches(ctx context.Context, t store.Table, rows []store.Entity, one func(ctx context.Context, i int) error) error {
	bounds := []int{0} // batch b is rows[bounds[b]:bounds[b+1]]
	size := 0
	for i, e := range rows {
		n, err := store.BatchBytes(e)
		if err != nil {
			return err
		}
		if i > bounds[len(bounds)-1] && (i-bounds[len(bounds)-1] == batchRows || size+n > store.MaxBatchBytes) {
			bounds, size = append(bounds, i), 0
		}
		size += n
	}
	bounds = append(bounds, len(rows))
	if len(rows) == 0 {
		return nil
	}
	return parallel(ctx, len(bounds)-1, batchWidth, func(ctx context.Context, b int) error {
		lo, hi := bounds[b], bounds[b+1]
		ops := make([]store.BatchOp, hi-lo)
		for j := range ops {
			ops[j] = store.BatchOp{Insert: &rows[lo+j]}
		}
		if t.Batch(ctx, ops) == nil {
			return nil
		}
		return parallel(ctx, hi-lo, pointWidth, func(ctx context.Context, j int) error { return one(ctx, lo+j) })
	})
}

// insertRows inserts immutable rows (feed, history): a row already there
// was written by another attempt at the same commit and is left as it is.
// Each such row has one possible content (a feed row is keyed by its
// commit, a history row by the one commit that made that version), so
// "present" means "done".
func insertRows(ctx context.Context, t store.Table, rows []store.Entity) error {
	return insertBatches(ctx, t, rows, func(ctx context.Context, i int) error {
		_, err := t.Insert(ctx, rows[i])
		if fault.Is(err, fault.Conflict) {
			return nil
		}
		return err
	})
}

// insertFeed is insertRows for a commit's feed rows, which also checks that
// a row already there is this commit's (written by an earlier applier of
// it). A row of another commit under the same number means the head row
// lost updates that the feed kept: a storage failover that replicated the
// feed row but not the head's last writes. The commit is then refused,
// never written over the other and never given a second number; the claim
// stays, so every later check-in of the project is refused the same way
// until an operator has looked (infra/README.md, "The catalog after a
// failover").
func insertFeed(ctx context.Context, t store.Table, rows []store.Entity) error {
	return insertBatches(ctx, t, rows, func(ctx context.Context, i int) error {
		_, err := t.Insert(ctx, rows[i])
		if !fault.Is(err, fault.Conflict) {
			return err
		}
		got, err := t.Get(ctx, rows[i].PartitionKey, rows[i].RowKey)
		if err != nil {
			return err
		}
		mine := rows[i]
		at, gotAt := mine.Time("At"), got.Time("At")
		if got.String("By") == mine.String("By") && got.Int64("Count") == mine.Int64("Count") &&
			got.String("Msg") == mine.String("Msg") && gotAt.Sub(at).Abs() < time.Millisecond {
			return nil // this commit's row, from an earlier applier
		}
		return fault.E("catalog.feed", fault.Internal, fmt.Sprintf(
			"commit %d: the history already holds another commit with this number (by %s at %s) beyond the head: "+
				"the head lost updates in a storage failover; check-ins of this project are refused until an operator "+
				"reconciles it, and no number is given twice", mine.Int64("Seq"), got.String("By"), gotAt.UTC().Format(time.RFC3339)))
	})
}

// putObjects writes the object rows of commit rec, each through a
// compare-and-swap against the row as last read (known, keyed by path;
// absent = no row): a row whose Seq is rec.Seq or more was written by this
// commit or a later one and is left alone; a row below is replaced if its
// ETag still matches, its state becoming the previous one; a missing row
// is inserted if still missing. An object row's Seq therefore only grows.
// New rows go in batches of inserts, replacements one by one (Azurite
// ignores If-Match inside a batch), pointWidth at a time.
func (s *Service) putObjects(ctx context.Context, rec *record, known map[string]store.Entity) error {
	var fresh, update []int
	for i, c := range rec.Changes {
		e, ok := known[c.Path]
		switch {
		case !ok:
			fresh = append(fresh, i)
		case e.Int64("Seq") < rec.Seq:
			update = append(update, i)
		}
	}
	rows := make([]store.Entity, len(fresh))
	for j, i := range fresh {
		rows[j] = objectRow(rec.Project, rec.object(rec.Changes[i]), Object{})
	}
	err := insertBatches(ctx, s.t.Objects, rows, func(ctx context.Context, j int) error {
		return s.putObject(ctx, rec, rec.Changes[fresh[j]], nil)
	})
	if err != nil {
		return err
	}
	return parallel(ctx, len(update), pointWidth, func(ctx context.Context, j int) error {
		c := rec.Changes[update[j]]
		e := known[c.Path]
		return s.putObject(ctx, rec, c, &e)
	})
}

// putObject is the compare-and-swap of one object row, from e (nil: the
// row was absent when read). A refused write means the row changed since:
// read it again and decide again. Only appliers of this commit and of later
// ones write the row, so this ends within a try or two.
func (s *Service) putObject(ctx context.Context, rec *record, c recChange, e *store.Entity) error {
	const op = "catalog.putObject"
	o := rec.object(c)
	for range 10 {
		var err error
		switch {
		case e == nil:
			_, err = s.t.Objects.Insert(ctx, objectRow(rec.Project, o, Object{}))
		case e.Int64("Seq") >= rec.Seq:
			return nil
		default:
			_, err = s.t.Objects.Update(ctx, objectRow(rec.Project, o, objectFrom(*e, "", c.Path)), e.ETag)
		}
		if err == nil {
			return nil
		}
		if !lostRace(err) && !fault.Is(err, fault.NotFound) {
			return fault.E(op, err)
		}
		got, err := s.t.Objects.Get(ctx, pk(rec.Project), store.EncodeKey(c.Path))
		switch {
		case fault.Is(err, fault.NotFound):
			e = nil
		case err != nil:
			return fault.E(op, err)
		default:
			e = &got
		}
	}
	return fault.E(op, fault.Unavailable, fault.Path(c.Path), "the object row keeps changing; retry")
}

// fenceLocks runs after a lock is granted or renewed, before the answer: it
// moves the project's head on (a conditional rewrite, so its ETag changes)
// unless a commit is claimed. A check-in reads the head, then the locks,
// then claims with that head's ETag; so a check-in that read the locks
// before this lock was written either fails its claim (the head moved:
// it validates again and sees the lock) or claimed before this fence, and
// then its commit precedes the lock. A claimed head needs no move: the
// next claim starts from the head its applier writes after now, and reads
// the locks after that.
func (s *Service) fenceLocks(ctx context.Context, project string) error {
	const op = "catalog.fenceLocks"
	for range 50 {
		h, err := s.readHead(ctx, project)
		if err != nil {
			return err
		}
		if h.Claimed > h.Applied {
			return nil
		}
		_, err = s.writeHead(ctx, project, h, head{Claimed: h.Claimed, Applied: h.Applied}, "lock/"+s.instance)
		if lostRace(err) {
			continue
		}
		if err != nil {
			return fault.E(op, err)
		}
		return nil
	}
	return fault.E(op, fault.Unavailable, "the project's head is changing too fast; retry")
}
