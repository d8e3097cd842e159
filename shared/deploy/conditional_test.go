package deploy_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/store"
)

// interleaved runs before, once, right before the first window write it
// forwards: another instance's write lands between this instance's read of
// the window and its conditional write, every time (not only when two
// goroutines happen to collide, as in TestRaceTwoInstances).
type interleaved struct {
	store.Table
	once   sync.Once
	before func()
}

func (i *interleaved) Update(ctx context.Context, e store.Entity, ifMatch string) (string, error) {
	i.once.Do(i.before)
	return i.Table.Update(ctx, e, ifMatch)
}

// TestWindowTransitionIsConditional: instance 1 reads a scheduled window to
// reschedule it; before its write, instance 0 cancels the window. The
// reschedule's write carries the ETag it read, so it loses, reads the
// window again and refuses (a cancelled window cannot be moved): the
// cancel stands. A transition written without If-Match (or with "*")
// would put the cancelled window back to scheduled, losing the cancel.
func TestWindowTransitionIsConditional(t *testing.T) {
	w := newWorld(t, 2)
	_, err := w.svc().PutPolicy(t.Context(), "claims", "test", saturdayPolicy)
	must(t, err)
	w.commit(entityPath)
	w.pump(0)
	win := w.window("test", "w000001")
	eq(t, "state before", win.State, deploy.Scheduled)

	var cancelErr error
	w.svcs[1].T.Windows = &interleaved{Table: w.svcs[1].T.Windows, before: func() {
		_, cancelErr = w.svcs[0].Cancel(t.Context(), "claims", "test", win.ID, "alice@example.com")
	}}
	_, err = w.svcs[1].Reschedule(t.Context(), "claims", "test", win.ID, start.Add(3*time.Hour), "", "carol@example.com")
	must(t, cancelErr)
	if err == nil || !strings.Contains(err.Error(), "only a scheduled or announced window can be moved") {
		t.Fatalf("rescheduling a window cancelled since it was read: %v", err)
	}
	got := w.window("test", win.ID)
	eq(t, "state after", got.State, deploy.Cancelled)
	eq(t, "start after", got.Start, win.Start)
	var whys []string
	for _, tr := range got.History {
		whys = append(whys, tr.Why)
	}
	if joined := strings.Join(whys, "; "); !strings.Contains(joined, "cancelled by alice@example.com") || strings.Contains(joined, "rescheduled") {
		t.Fatalf("history %q", joined)
	}
}
