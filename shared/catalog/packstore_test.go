package catalog_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/store"
)

// TestPackStore: contents uploaded as packs are found by Missing and read
// back exactly, from several packs, through the point-read and the ranged
// index lookups, beside a lone blob and a blob stored before the index (the
// compatibility rule); a fresh instance (nothing cached) sees the same.
func TestPackStore(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	s := w.instance()
	var all []catalog.Blob
	for p := range 3 {
		var blobs []catalog.Blob
		for i := range 150 {
			b := []byte(fmt.Sprintf("pack %d content %d %s", p, i, bytes.Repeat([]byte{byte(i)}, i*50)))
			blobs = append(blobs, catalog.Blob{SHA256: sum(b), Data: b})
		}
		blobs = append(blobs, blobs[0]) // a duplicate inside a pack
		n, err := s.PutBlobs(ctx, "p1", blobs)
		if err != nil || n != 150 {
			t.Fatalf("pack %d: stored %d, %v", p, n, err)
		}
		all = append(all, blobs[:150]...)
	}
	lone := []byte("a lone upload")
	if _, err := s.PutBlob(ctx, "p1", sum(lone), lone); err != nil {
		t.Fatal(err)
	}
	// Content stored before the index: a lone blob without a row.
	old := []byte("from before the index")
	if _, err := w.acct.Container("catalog").Put(ctx, "c/p1/"+sum(old), old, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	all = append(all, catalog.Blob{SHA256: sum(lone), Data: lone}, catalog.Blob{SHA256: sum(old), Data: old})
	absent := sum([]byte("never uploaded"))

	for _, fresh := range []bool{false, true} {
		if fresh {
			s = w.instance()
		}
		for _, n := range []int{3, len(all)} { // point reads, then the ranged query
			var sums []string
			want := map[string][]byte{}
			for _, b := range all[len(all)-n:] {
				sums = append(sums, b.SHA256)
				want[b.SHA256] = b.Data
			}
			miss, err := s.Missing(ctx, "p1", append(sums, absent))
			if err != nil || len(miss) != 1 || miss[0] != absent {
				t.Fatalf("fresh=%v n=%d: missing %v %v", fresh, n, miss, err)
			}
			got := map[string][]byte{}
			err = s.ReadBlobs(ctx, "p1", sums, func(h string, b []byte) error { got[h] = bytes.Clone(b); return nil })
			if err != nil || len(got) != n {
				t.Fatalf("fresh=%v n=%d: read %d, %v", fresh, n, len(got), err)
			}
			for h, b := range want {
				if !bytes.Equal(got[h], b) {
					t.Fatalf("fresh=%v n=%d: %s read back %d bytes, want %d", fresh, n, h, len(got[h]), len(b))
				}
			}
		}
	}
	// Another project does not see them.
	if miss, _ := s.Missing(ctx, "p2", []string{all[0].SHA256}); len(miss) != 1 {
		t.Fatalf("p2 sees p1's content: %v", miss)
	}
}
