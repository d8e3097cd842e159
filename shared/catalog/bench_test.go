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
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

var benchSeq atomic.Int64

func benchService(b *testing.B) (*Service, *store.Account) {
	b.Helper()
	acct, err := store.Open(store.Config{ConnectionString: azuritetest.Server(b).ConnectionString(),
		NamePrefix: fmt.Sprintf("b%d%d", time.Now().UnixNano()%1e7, benchSeq.Add(1))})
	if err != nil {
		b.Fatal(err)
	}
	if err := acct.Bootstrap(context.Background(), Layout); err != nil {
		b.Fatal(err)
	}
	return New(OpenTables(acct), acct.Container("catalog"), nil), acct
}

func benchChanges(b *testing.B, s *Service, n, round int) []ChangeRequest {
	content := []byte(`{"process":"benchmark","steps":[1,2,3]}`)
	sum := sha256.Sum256(content)
	h := hex.EncodeToString(sum[:])
	if _, err := s.PutBlob(context.Background(), "bench", h, content); err != nil {
		b.Fatal(err)
	}
	cs := make([]ChangeRequest, n)
	for i := range cs {
		cs[i] = ChangeRequest{Op: OpPut, Path: fmt.Sprintf("applications/app%d/processes/p%04d", round, i), SHA256: h,
			Size: int64(len(content)), Kind: "process", ContentType: "application/json"}
	}
	return cs
}

// BenchmarkCheckin1000: one check-in of 1,000 new objects, the whole
// protocol (locks, blobs, head, base versions, record, claim, feed, history
// and object rows, applied). Compare with BenchmarkCheckin1000RawWrites.
func BenchmarkCheckin1000(b *testing.B) {
	s, _ := benchService(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cs := benchChanges(b, s, 1000, i)
		b.StartTimer()
		if _, err := s.Checkin(ctx, CheckinRequest{Project: "bench", Author: Author{ID: "u", Email: "u@example.com"}, Changes: cs}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckin1000RawWrites: the raw Azurite writes a 1,000-object
// check-in needs and nothing else: the commit record blob, one feed row,
// 1,000 history rows and 1,000 object rows, in batches of 100.
func BenchmarkCheckin1000RawWrites(b *testing.B) {
	s, _ := benchService(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cs := benchChanges(b, s, 1000, i)
		rec := &record{Project: "bench", Seq: int64(i + 1), By: "u@example.com", At: time.Now().UTC(), Changes: make([]recChange, len(cs))}
		objects, history := make([]store.Entity, len(cs)), make([]store.Entity, len(cs))
		for j, c := range cs {
			rec.Changes[j] = recChange{Op: c.Op, Path: c.Path, Kind: c.Kind, Version: 1, SHA256: c.SHA256, Size: c.Size, ContentType: c.ContentType}
			o := rec.object(rec.Changes[j])
			objects[j], history[j] = objectRow("bench", o, Object{}), historyRow("bench", o)
		}
		feed, err := feedRows(rec)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.putRecord(ctx, rec); err != nil {
			b.Fatal(err)
		}
		for _, w := range []struct {
			t    Table
			rows []store.Entity
		}{{s.t.Feed, feed}, {s.t.History, history}, {s.t.Objects, objects}} {
			if err := upsertAll(ctx, w.t, w.rows); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// feedOf1000Commits builds a project whose feed is 1,000 commits of one
// change each: the worst case for a page (one row per change).
func feedOf1000Commits(b *testing.B) *Service {
	s, _ := benchService(b)
	ctx := context.Background()
	cs := benchChanges(b, s, 1000, 0)
	for i := range cs {
		if _, err := s.Checkin(ctx, CheckinRequest{Project: "bench", Author: Author{ID: "u", Email: "u@example.com"}, Changes: cs[i : i+1]}); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkFeedPage1000: a 1,000-change page of the feed (head read,
// query, decoding, a visibility check per change). Compare with
// BenchmarkFeedRawQuery1000 on the same rows.
func BenchmarkFeedPage1000(b *testing.B) {
	s := feedOf1000Commits(b)
	ctx := context.Background()
	visible := func(string) bool { return true }
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pg, err := s.Feed(ctx, "bench", Position{}, 1000, visible)
		if err != nil || len(pg.Changes) != 1000 {
			b.Fatalf("%d changes, %v", len(pg.Changes), err)
		}
	}
}

// BenchmarkFeedRawQuery1000: one raw Azurite query of the same 1,000 feed
// rows, decoded by the store adapter and nothing more.
func BenchmarkFeedRawQuery1000(b *testing.B) {
	s := feedOf1000Commits(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pg, err := s.t.Feed.Query(ctx, store.Eq("PartitionKey", pk("bench")), store.QueryOptions{Top: 1000})
		if err != nil || len(pg.Entities) != 1000 {
			b.Fatalf("%d rows, %v", len(pg.Entities), err)
		}
	}
}
