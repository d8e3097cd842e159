package catalog_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/fault"
)

// longPath is the i-th distinct path of exactly n bytes under prefix.
func longPath(prefix string, i, n int) string {
	p := prefix
	for len(p) < n-6 {
		p += "/" + strings.Repeat(string(rune('a'+len(p)%26)), min(120, n-6-len(p)-1))
	}
	return p + fmt.Sprintf("/%05d", i)
}

// TestCheckinOverTheKeyLimitIsRefusedBeforeTheClaim: 1,000 changes of the
// longest paths and a content type JSON escapes six-fold (1.4 MB of feed,
// over one row) commit; one byte more of path is refused before anything
// is written (TooLarge, naming the change); after each the next normal
// check-in commits at once. Before the fix both check-ins were claimed and
// then failed in every roll-forward. (TestTenThousandChanges does the same
// with the most changes.)
func TestCheckinOverTheKeyLimitIsRefusedBeforeTheClaim(t *testing.T) {
	const n = 1000
	w := newWorld(t)
	s := w.instance()
	ctx := context.Background()
	const p = "large"
	content := put(t, s, p, "x/x", 0, "the same content everywhere")
	content.Kind = strings.Repeat("k", 64)
	content.ContentType = strings.Repeat("<", 128)
	changes := make([]catalog.ChangeRequest, n)
	for i := range changes {
		c := content
		c.Path = longPath("applications/large", i, catalog.MaxPathBytes)
		changes[i] = c
	}
	normal := func(seq int64) {
		t.Helper()
		c := put(t, s, p, "entities/master/customer", 0, fmt.Sprint("v", seq))
		if seq > 2 {
			c.BaseVersion = 1
		}
		// a fresh instance, no waiting for a lease to run out
		res, err := w.instance().Checkin(ctx, catalog.CheckinRequest{Project: p, Author: bob, Changes: []catalog.ChangeRequest{c}})
		if err != nil || res.Seq != seq {
			t.Fatalf("the next normal check-in: seq %d, %v; want seq %d", res.Seq, err, seq)
		}
	}

	res, err := s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice, Message: strings.Repeat("m", catalog.MaxMessage), Changes: changes})
	if err != nil || res.Seq != 1 || len(res.Objects) != n {
		t.Fatalf("1,000 of the longest changes: seq %d, %d objects, %v", res.Seq, len(res.Objects), err)
	}
	c, err := s.Commit(ctx, p, 1, nil)
	if err != nil || len(c.Changes) != n || c.Changes[n-1].ContentType != content.ContentType || c.Changes[n-1].Path != changes[n-1].Path {
		t.Fatalf("commit 1 reads back %d changes: %v", len(c.Changes), err)
	}
	normal(2)

	long := append([]catalog.ChangeRequest{}, changes[:3]...)
	long[1].Path = longPath("applications/large", 1, catalog.MaxPathBytes+1)
	long[0].BaseVersion, long[2].BaseVersion = 1, 1
	_, err = s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice, Changes: long})
	if !fault.Is(err, fault.TooLarge) || !strings.Contains(fault.DetailOf(err), "changes[1].path is 502 bytes") {
		t.Fatalf("a path over the key limit: %v; want TooLarge naming changes[1].path", err)
	}
	if h, _ := s.Head(ctx, p); h != 2 {
		t.Fatalf("head after the refusal: %d, want 2", h)
	}
	normal(3)
}
