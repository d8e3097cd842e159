package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/store"
)

// countingTable counts the rows its queries return.
type countingTable struct {
	store.Table
	rows atomic.Int64
}

func (c *countingTable) Query(ctx context.Context, f store.Filter, opt store.QueryOptions) (store.Page, error) {
	p, err := c.Table.Query(ctx, f, opt)
	c.rows.Add(int64(len(p.Entities)))
	return p, err
}

// laterCommits appends n single-change commits after the head of project,
// writing only what the feed reads (the feed rows and the head), raw: the
// history a page must not pay for. It returns the new head.
func laterCommits(tb testing.TB, s *Service, project string, n int) int64 {
	tb.Helper()
	ctx := context.Background()
	h, err := s.readHead(ctx, project)
	if err != nil {
		tb.Fatal(err)
	}
	var rows []store.Entity
	for i := 1; i <= n; i++ {
		rec := &record{Project: project, Seq: h.Applied + int64(i), By: "u@example.com", At: time.Now().UTC(),
			Changes: []recChange{{Op: OpPut, Path: "applications/later/processes/p", Kind: "process", Version: int64(i), SHA256: "ab", Size: 1}}}
		fr, err := feedRows(rec)
		if err != nil {
			tb.Fatal(err)
		}
		rows = append(rows, fr...)
	}
	if err := rawBatches(ctx, s.t.Feed, rows, false); err != nil {
		tb.Fatal(err)
	}
	to := h.Applied + int64(n)
	if _, err := s.writeHead(ctx, project, h, head{Claimed: to, Applied: to}, "u@example.com"); err != nil {
		tb.Fatal(err)
	}
	return to
}

// TestFeedPageCostFollowsTheAnswer: a page that the project's first commit
// (1,000 changes, one feed row) fills reads a handful of rows, however many
// commits follow it (issue 23: the metadata query read 1,000 rows of later
// commits for it).
func TestFeedPageCostFollowsTheAnswer(t *testing.T) {
	s, _ := benchService(t)
	ctx := context.Background()
	if _, err := s.Checkin(ctx, CheckinRequest{Project: "p", Author: Author{ID: "u", Email: "u@example.com"}, Changes: testChanges(t, s, 1000)}); err != nil {
		t.Fatal(err)
	}
	counter := &countingTable{Table: s.t.Feed}
	s.t.Feed = counter
	read := func() int64 {
		counter.rows.Store(0)
		pg, err := s.Feed(ctx, "p", Position{}, 1000, nil)
		if err != nil || len(pg.Changes) != 1000 || pg.Next != "1" {
			t.Fatalf("page: %d changes, next %q, %v", len(pg.Changes), pg.Next, err)
		}
		return counter.rows.Load()
	}
	alone := read()
	s.t.Feed = counter.Table
	head := laterCommits(t, s, "p", 2000)
	s.t.Feed = counter
	after := read()
	if after > alone+firstMetaPage {
		t.Fatalf("the same page read %d rows with 1 commit, %d with %d later commits", alone, after, head-1)
	}
	// And a page of the later commits is whole and in order.
	pg, err := s.Feed(ctx, "p", Position{Seq: 1}, 1000, nil)
	if err != nil || len(pg.Changes) != 1000 || pg.Changes[0].Seq != 2 || pg.Changes[999].Seq != 1001 || pg.Next != "1001" {
		t.Fatalf("page of later commits: %d changes, next %q, %v", len(pg.Changes), pg.Next, err)
	}
}

// testChanges is n puts of one small content, uploaded once.
func testChanges(tb testing.TB, s *Service, n int) []ChangeRequest {
	tb.Helper()
	content := []byte(`{"process":"feed","steps":[1]}`)
	sum := sha256.Sum256(content)
	h := hex.EncodeToString(sum[:])
	if _, err := s.PutBlob(context.Background(), "p", h, content); err != nil {
		tb.Fatal(err)
	}
	cs := make([]ChangeRequest, n)
	for i := range cs {
		cs[i] = ChangeRequest{Op: OpPut, Path: fmt.Sprintf("applications/first/processes/p%04d", i), SHA256: h,
			Size: int64(len(content)), Kind: "process", ContentType: "application/json"}
	}
	return cs
}

// BenchmarkFeedPageAfterHistory: the same 1,000-change page (the project's
// first commit, one feed row) read alone, then with 2,000 later commits
// after it. Its cost follows the answer: the two rows are within noise.
func BenchmarkFeedPageAfterHistory(b *testing.B) {
	s, _ := benchService(b)
	ctx := context.Background()
	if _, err := s.Checkin(ctx, CheckinRequest{Project: "p", Author: Author{ID: "u", Email: "u@example.com"}, Changes: testChanges(b, s, 1000)}); err != nil {
		b.Fatal(err)
	}
	page := func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			pg, err := s.Feed(ctx, "p", Position{}, 1000, nil)
			if err != nil || len(pg.Changes) != 1000 {
				b.Fatalf("%d changes, %v", len(pg.Changes), err)
			}
		}
	}
	b.Run("1-feed-row", page)
	laterCommits(b, s, "p", 2000)
	b.Run("2000-later-commits", page)
}
