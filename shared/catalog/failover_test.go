package catalog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/store"
)

// TestLostHeadUpdateIsRefusedNotRenumbered plays a storage failover that
// kept commit 2's feed row but lost the head's last updates (head back at
// commit 1): the next check-in would take number 2 again. It is refused,
// commit 2's row is left as it was, and the project stays refused (never
// renumbered) until an operator reconciles it (infra/README.md).
func TestLostHeadUpdateIsRefusedNotRenumbered(t *testing.T) {
	w := newWorld(t)
	s := w.instance()
	ctx := context.Background()
	const p = "claims"
	heads := w.acct.Table("catalogheads")
	if _, err := s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice, Message: "one",
		Changes: []catalog.ChangeRequest{put(t, s, p, "rules/functions/a", 0, "a1")}}); err != nil {
		t.Fatal(err)
	}
	before, err := heads.Get(ctx, p, "head")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice, Message: "two",
		Changes: []catalog.ChangeRequest{put(t, s, p, "rules/functions/a", 1, "a2")}}); err != nil {
		t.Fatal(err)
	}
	// The failover: the head row as it was after commit 1.
	if _, err := heads.Update(ctx, store.Entity{PartitionKey: before.PartitionKey, RowKey: before.RowKey, Props: before.Props}, "*"); err != nil {
		t.Fatal(err)
	}
	s = w.instance()
	for i := 0; i < 2; i++ {
		w.advance(3 * time.Minute) // past the refused claim's lease: the next one rolls it forward, and is refused too
		_, err = s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: bob, Message: "after the failover",
			Changes: []catalog.ChangeRequest{put(t, s, p, "rules/functions/b", 0, "b1")}})
		if kindOf(err) != "internal" || !strings.Contains(err.Error(), "another commit with this number") {
			t.Fatalf("check-in %d after the lost head update: %v", i+1, err)
		}
	}
	if h, _ := s.Head(ctx, p); h != 1 {
		t.Fatalf("head %d, want 1 (nothing applied under a taken number)", h)
	}
	// Commit 2's row is still alice's "two".
	feed, err := w.acct.Table("catalogfeed").QueryAll(ctx, store.Eq("PartitionKey", p), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(feed) != 2 || feed[1].String("Msg") != "two" || feed[1].String("By") != alice.Email {
		t.Fatalf("feed rows after the refusal: %d, last %v", len(feed), feed[len(feed)-1].Props["Msg"])
	}
}

// TestMissingFeedRowsAreReported: a head beyond its feed rows (a failover
// that replicated the head but not a commit's row) is reported by readers,
// not skipped.
func TestMissingFeedRowsAreReported(t *testing.T) {
	w := newWorld(t)
	s := w.instance()
	ctx := context.Background()
	const p = "claims"
	for i, c := range []string{"a1", "a2", "a3"} {
		if _, err := s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice,
			Changes: []catalog.ChangeRequest{put(t, s, p, "rules/functions/a", int64(i), c)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Feed(ctx, p, catalog.Position{}, 0, nil); err != nil {
		t.Fatalf("a whole feed: %v", err)
	}
	feed := w.acct.Table("catalogfeed")
	rows, err := feed.QueryAll(ctx, store.Eq("PartitionKey", p), 10)
	if err != nil || len(rows) != 3 {
		t.Fatalf("rows %d %v", len(rows), err)
	}
	for _, c := range []struct {
		name string
		row  store.Entity
	}{{"a commit in the middle", rows[1]}, {"the last commit", rows[2]}} {
		if err := feed.Delete(ctx, c.row.PartitionKey, c.row.RowKey, "*"); err != nil {
			t.Fatal(err)
		}
		_, err := s.Feed(ctx, p, catalog.Position{}, 0, nil)
		if kindOf(err) != "internal" || !strings.Contains(err.Error(), "no rows for commit 2") {
			t.Errorf("%s missing: %v", c.name, err)
		}
	}
}
