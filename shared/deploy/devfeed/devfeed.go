// Package devfeed is a small table-backed change feed for the deployment
// module's own tests (the service reads the catalog's): commits are
// appended by the tests and read back as a deploy.ChangeSource.
//
// Invariants: sequence numbers are 1, 2, 3, … with no gaps; a commit is one
// table row, claimed by insert-if-absent at the next sequence, so a commit is
// either wholly visible or not at all and two writers never share a
// sequence.
package devfeed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Layout is the feed's table.
var Layout = store.Layout{Tables: []string{"devchanges"}}

// Feed is one project-partitioned change feed in a table.
type Feed struct {
	T   store.Table
	Now func() time.Time
}

// rk orders commits newest first, so the head is the first row.
func rk(seq int64) string { return fmt.Sprintf("%019d", math.MaxInt64-seq) }

type commit struct {
	Seq     int64           `json:"seq"`
	Changes []deploy.Change `json:"changes"`
}

// Head is the project's latest sequence (0 when none).
func (f *Feed) Head(ctx context.Context, project string) (int64, error) {
	p, err := f.T.Query(ctx, store.Eq("PartitionKey", store.EncodeKey(project)), store.QueryOptions{Top: 1})
	if err != nil {
		return 0, fault.E("devfeed.Head", err)
	}
	if len(p.Entities) == 0 {
		return 0, nil
	}
	return p.Entities[0].Int64("Seq"), nil
}

// Append commits changes (path and op each) by author as the next sequence.
func (f *Feed) Append(ctx context.Context, project, author string, changes []deploy.Change) (int64, error) {
	const op = "devfeed.Append"
	if len(changes) == 0 || len(changes) > 1000 {
		return 0, fault.E(op, fault.Invalid, "a commit has 1 to 1000 changes")
	}
	now := time.Now
	if f.Now != nil {
		now = f.Now
	}
	for attempt := 0; attempt < 50; attempt++ {
		head, err := f.Head(ctx, project)
		if err != nil {
			return 0, err
		}
		seq := head + 1
		c := commit{Seq: seq}
		for _, ch := range changes {
			if ch.Op == "" {
				ch.Op = deploy.OpPut
			}
			if ch.Op != deploy.OpPut && ch.Op != deploy.OpDelete {
				return 0, fault.E(op, fault.Invalid, fmt.Sprintf("op %q is not put or delete", ch.Op))
			}
			ch.Seq, ch.CommittedBy, ch.CommittedAt = seq, author, now().UTC()
			c.Changes = append(c.Changes, ch)
		}
		props := map[string]any{"Seq": seq}
		_ = commitDoc.Set(props, c) // TooLarge: the insert is refused
		_, err = f.T.Insert(ctx, store.Entity{PartitionKey: store.EncodeKey(project), RowKey: rk(seq), Props: props})
		if fault.Is(err, fault.Conflict) {
			continue // another writer took this sequence
		}
		if err != nil {
			return 0, fault.E(op, err)
		}
		return seq, nil
	}
	return 0, fault.E(op, fault.Unavailable, "the feed is busy; retry")
}

// commitDoc is a feed row's document.
var commitDoc = store.Doc[commit]{Name: "Doc"}

// Changes implements deploy.ChangeSource.
func (f *Feed) Changes(ctx context.Context, project string, after int64, limit int) ([]deploy.Change, int64, error) {
	es, err := f.T.QueryAll(ctx, store.And(store.Eq("PartitionKey", store.EncodeKey(project)), store.Lt("RowKey", rk(after))), 0)
	if err != nil {
		return nil, 0, fault.E("devfeed.Changes", err)
	}
	var head int64
	var out []deploy.Change
	slices.Reverse(es)
	for _, e := range es {
		c, err := commitDoc.Get(e)
		if err != nil {
			return nil, 0, fault.E("devfeed.Changes", err)
		}
		head = max(head, c.Seq)
		out = append(out, c.Changes...)
	}
	if head == 0 {
		if head, err = f.Head(ctx, project); err != nil {
			return nil, 0, err
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, head, nil
}
