package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// TestTenThousandChanges: the largest check-in is atomic and commits. Its
// 10,000 changes have the longest paths the catalog takes (501 bytes), the
// longest kind, and a content type JSON escapes six-fold (so the feed
// splits by bytes). One stale path among them refuses all of them; then all
// commit under one sequence while a reader sees either none or all of them,
// and the next normal check-in commits at once. Before the fix such a
// check-in was claimed and then failed in every roll-forward (a feed row
// over its cap), wedging the project.
func TestTenThousandChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 rows")
	}
	// Its own Azurite, beside the package's other tests: 10,000 rows keep one
	// emulator busy for most of a minute.
	t.Parallel()
	w := newWorldOn(t, azuritetest.Fresh(t))
	s := w.instance()
	// No crash here: a long lease keeps a loaded machine from turning a slow
	// apply into a takeover.
	s.Lease = 30 * time.Minute
	ctx := context.Background()
	const p = "big"
	path := func(i int) string { return longPath("applications/big/processes", i, catalog.MaxPathBytes) }
	seed := put(t, s, p, path(0), 0, "v1")
	if _, err := s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice, Changes: []catalog.ChangeRequest{seed}}); err != nil {
		t.Fatal(err)
	}
	content := put(t, s, p, "x/x", 0, "the same content everywhere")
	content.Kind, content.ContentType = strings.Repeat("k", 64), strings.Repeat("<", 128)
	changes := make([]catalog.ChangeRequest, catalog.MaxChanges)
	for i := range changes {
		c := content
		c.Path = path(i)
		changes[i] = c
	}
	// p00000 exists at version 1: base 0 is stale, and nothing commits.
	_, err := s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice, Changes: changes})
	var ce *catalog.ConflictError
	if !errors.As(err, &ce) || len(ce.Conflicts) != 1 {
		t.Fatalf("one stale path: %v", err)
	}
	if h, _ := s.Head(ctx, p); h != 1 {
		t.Fatalf("head after the refusal: %d", h)
	}
	changes[0].BaseVersion = 1

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seen []int
	var readerErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := w.instance()
		// Paced: an unpaced reader lists as fast as the driver decodes, and
		// since rows are decoded once (issue 23) that saturated the one
		// Azurite process until the check-in's writes timed out.
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			page, err := r.List(ctx, p, "applications/big", "", 0, nil)
			if err != nil {
				readerErr = err
				return
			}
			v2 := 0
			for _, o := range page.Items {
				if o.Seq == 2 {
					v2++
				}
			}
			// The first page holds 1,000 objects; at head 1 none is from commit 2, at head 2 all are.
			if (page.Head == 1 && v2 != 0) || (page.Head == 2 && v2 != len(page.Items)) {
				readerErr = fmt.Errorf("head %d: %d of %d listed objects from commit 2", page.Head, v2, len(page.Items))
				return
			}
			seen = append(seen, int(page.Head))
		}
	}()
	res, err := s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice, Key: "big", Changes: changes})
	close(stop)
	wg.Wait()
	if err != nil || res.Seq != 2 || len(res.Objects) != catalog.MaxChanges || res.Objects[0].Version != 2 || res.Objects[9999].Version != 1 {
		t.Fatalf("10,000 changes: seq %d, %d objects, %v", res.Seq, len(res.Objects), err)
	}
	if readerErr != nil {
		t.Fatal(readerErr)
	}
	t.Logf("%d consistent reads during the check-in", len(seen))
	if page, _ := w.instance().List(ctx, p, "applications/big", "", 0, nil); page.Head != 2 || len(page.Items) != 1000 || page.Items[999].Seq != 2 {
		t.Fatalf("after: head %d, %d items", page.Head, len(page.Items))
	}
	// The feed pages through the one commit in pages of 1,000.
	pos, n := catalog.Position{Seq: 1}, 0
	for pages := 0; pos.Seq < 2; pages++ {
		pg, err := s.Feed(ctx, p, pos, 1000, nil)
		if err != nil || pages > 10 {
			t.Fatalf("feed page %d: %v", pages, err)
		}
		n += len(pg.Changes)
		if pos, err = catalog.ParsePosition(pg.Next); err != nil {
			t.Fatal(err)
		}
	}
	if n != catalog.MaxChanges {
		t.Fatalf("feed: %d changes", n)
	}
	if ch, head, _ := s.Changes(ctx, p, 1, 10); len(ch) != catalog.MaxChanges || head != 2 || ch[9999].ContentType != content.ContentType {
		t.Fatalf("Changes returns the whole commit: %d", len(ch))
	}
	normal := put(t, s, p, "entities/master/customer", 0, "c1")
	if res, err := w.instance().Checkin(ctx, catalog.CheckinRequest{Project: p, Author: bob, Changes: []catalog.ChangeRequest{normal}}); err != nil || res.Seq != 3 {
		t.Fatalf("the next normal check-in: %+v %v", res, err)
	}
}
