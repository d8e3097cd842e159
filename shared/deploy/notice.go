package deploy

import (
	"context"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// TableNotifier records notices in the notifications table, one row per
// notice id (insert-if-absent), the way programmed jobs record theirs. It
// stands in for the e-mail outbox until that module is wired: the outbox
// then takes the same Notice, idempotent on the same id.
type TableNotifier struct {
	T   store.Table
	Now func() time.Time
}

// Notify records n once; a second notice with the same id is a no-op.
func (t TableNotifier) Notify(ctx context.Context, n Notice) error {
	now := time.Now
	if t.Now != nil {
		now = t.Now
	}
	doc := map[string]any{"id": n.ID, "kind": n.Kind, "to": n.To, "project": n.Project, "data": n.Data, "at": now().UTC(), "status": "queued"}
	props := map[string]any{"Kind": n.Kind}
	if err := (store.Doc[map[string]any]{Name: "Doc"}).Set(props, doc); err != nil {
		return fault.E("deploy.TableNotifier", err)
	}
	_, err := t.T.Insert(ctx, store.Entity{PartitionKey: store.EncodeKey(n.Project), RowKey: store.EncodeKey(n.ID), Props: props})
	if err != nil && !fault.Is(err, fault.Conflict) {
		return fault.E("deploy.TableNotifier", err)
	}
	return nil
}
