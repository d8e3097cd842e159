package catalog_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/store"
)

// emptyFirstPage stands for Azure answering a query with no rows and a
// continuation token, which it may do at any page ("Query timeout and
// pagination", learn.microsoft.com/rest/api/storageservices/
// query-timeout-and-pagination); Azurite never does. Every first page is
// empty, and its token leads to the real first page.
type emptyFirstPage struct {
	store.Table
	injected atomic.Int64
}

const injectedCursor = "injected-empty-page"

func (t *emptyFirstPage) Query(ctx context.Context, f store.Filter, opt store.QueryOptions) (store.Page, error) {
	switch opt.Cursor {
	case "":
		t.injected.Add(1)
		return store.Page{Next: injectedCursor}, nil
	case injectedCursor:
		opt.Cursor = ""
	}
	return t.Table.Query(ctx, f, opt)
}

// TestQueriesFollowEmptyPages: History and the feed read through
// an empty page that carries a continuation token. Before the fix History
// answered NotFound for an object with versions.
func TestQueriesFollowEmptyPages(t *testing.T) {
	w := newWorld(t)
	tables := catalog.OpenTables(w.acct)
	hist, feed := &emptyFirstPage{Table: tables.History}, &emptyFirstPage{Table: tables.Feed}
	tables.History, tables.Feed = hist, feed
	s := catalog.New(tables, w.acct.Container("catalog"), w.now)
	ctx := context.Background()
	const p, path = "pages", "applications/claims/processes/intake"
	for base := range int64(2) {
		if _, err := s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice,
			Changes: []catalog.ChangeRequest{put(t, s, p, path, base, string(rune('a'+base)))}}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := s.History(ctx, p, path, "", 0)
	if err != nil || len(h.Items) != 2 || h.Items[1].Version != 2 {
		t.Fatalf("history through an empty page: %+v %v", h, err)
	}
	page, err := s.Feed(ctx, p, catalog.Position{}, 0, nil)
	if err != nil || len(page.Changes) != 2 {
		t.Fatalf("feed through an empty page: %+v %v", page, err)
	}
	if hist.injected.Load() == 0 || feed.injected.Load() == 0 {
		t.Fatal("no empty page was injected")
	}
}
