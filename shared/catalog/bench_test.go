package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

var benchSeq atomic.Int64

func benchService(b testing.TB) (*Service, *azure.Account) {
	b.Helper()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(b).ConnectionString(),
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

// distinctChanges is n puts of round's paths, each with content of its
// own, uploaded through uploader (another instance than the one that
// commits, as when a client's uploads and its check-in reach two
// instances): the committing instance knows none of the blobs and checks
// every one.
func distinctChanges(b *testing.B, uploader *Service, n, round int) []ChangeRequest {
	cs := make([]ChangeRequest, n)
	err := parallel(context.Background(), n, pointWidth, func(ctx context.Context, i int) error {
		content := fmt.Appendf(nil, `{"process":"benchmark","round":%d,"n":%d}`, round, i)
		sum := sha256.Sum256(content)
		h := hex.EncodeToString(sum[:])
		if _, err := uploader.PutBlob(ctx, "bench", h, content); err != nil {
			return err
		}
		cs[i] = ChangeRequest{Op: OpPut, Path: fmt.Sprintf("applications/app%d/processes/p%04d", round, i), SHA256: h,
			Size: int64(len(content)), Kind: "process", ContentType: "application/json"}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return cs
}

// BenchmarkCheckin1000: one check-in of 1,000 new objects, the whole
// protocol (locks, blobs, head, base versions, record, claim, feed, history
// and object rows, applied). Every object has content of its own, uploaded
// through another instance, so the check-in verifies 1,000 blobs it has
// never seen (one content hash uploaded by the same instance made that
// check cost nothing). Compare with BenchmarkCheckin1000RawWrites.
func BenchmarkCheckin1000(b *testing.B) {
	s, acct := benchService(b)
	uploader := New(OpenTables(acct), acct.Container("catalog"), nil)
	ctx := context.Background()
	// Warm up (connections, Azurite's first batches) outside the timer, as
	// the raw baselines do: a lone cold iteration costs about 3x a warm one.
	if _, err := s.Checkin(ctx, CheckinRequest{Project: "bench", Author: Author{ID: "u", Email: "u@example.com"}, Changes: distinctChanges(b, uploader, 1000, -1)}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cs := distinctChanges(b, uploader, 1000, i)
		b.StartTimer()
		if _, err := s.Checkin(ctx, CheckinRequest{Project: "bench", Author: Author{ID: "u", Email: "u@example.com"}, Changes: cs}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckin1000Update: one check-in changing 1,000 existing
// objects. Each object row is replaced with its ETag, one request per row
// (pointWidth at a time), because Azurite ignores If-Match inside a batch.
// Compare with BenchmarkCheckin1000UpdateRawWrites.
func BenchmarkCheckin1000Update(b *testing.B) {
	s, _ := benchService(b)
	ctx := context.Background()
	who := Author{ID: "u", Email: "u@example.com"}
	cs := benchChanges(b, s, 1000, 0)
	if _, err := s.Checkin(ctx, CheckinRequest{Project: "bench", Author: who, Changes: cs}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range cs {
			cs[j].BaseVersion = int64(i + 1)
		}
		if _, err := s.Checkin(ctx, CheckinRequest{Project: "bench", Author: who, Changes: cs}); err != nil {
			b.Fatal(err)
		}
	}
}

// rawCommit is the rows of commit seq, 1,000 puts of round's paths at
// version v, built outside the timer.
func rawCommit(b *testing.B, s *Service, round int, seq, v int64) (rec *record, feed, history, objects []store.Entity) {
	cs := benchChanges(b, s, 1000, round)
	rec = &record{Project: "bench", Seq: seq, By: "u@example.com", At: time.Now().UTC(), Changes: make([]recChange, len(cs))}
	objects, history = make([]store.Entity, len(cs)), make([]store.Entity, len(cs))
	for j, c := range cs {
		rec.Changes[j] = recChange{Op: c.Op, Path: c.Path, Kind: c.Kind, Version: v, SHA256: c.SHA256, Size: c.Size, ContentType: c.ContentType}
		o := rec.object(rec.Changes[j])
		objects[j], history[j] = objectRow("bench", o, Object{}), historyRow("bench", o)
	}
	feed, err := feedRows(rec)
	if err != nil {
		b.Fatal(err)
	}
	return rec, feed, history, objects
}

// BenchmarkCheckin1000RawWrites: the raw Azurite writes a check-in of
// 1,000 new objects needs and nothing else, the cheapest requests that
// store its rows: the commit record blob, then one feed row, 1,000 history
// rows and 1,000 object rows in batches of 100 inserts, four at a time (on
// Azurite a batch of inserts is faster than a batch of upserts, and stays
// so as the table grows). No reads, no head, no fencing.
func BenchmarkCheckin1000RawWrites(b *testing.B) {
	s, _ := benchService(b)
	for i := -1; i < b.N; i++ { // -1 warms up
		b.StopTimer()
		rec, feed, history, objects := rawCommit(b, s, i, int64(i+2), 1)
		b.StartTimer()
		rawWrites(b, s, rec, feed, history, objects, false)
		if i < 0 {
			b.ResetTimer()
		}
	}
}

// BenchmarkCheckin1000UpdateRawWrites: the raw writes a check-in changing
// 1,000 existing objects needs: the record blob, the feed row and 1,000 new
// history rows in batches of inserts, and the 1,000 object rows replaced
// by unconditional batches of 100 upserts, four at a time.
func BenchmarkCheckin1000UpdateRawWrites(b *testing.B) {
	s, _ := benchService(b)
	ctx := context.Background()
	_, _, _, objects := rawCommit(b, s, 0, 1, 1)
	if err := rawBatches(ctx, s.t.Objects, objects, false); err != nil {
		b.Fatal(err)
	}
	for i := -1; i < b.N; i++ { // -1 warms up
		b.StopTimer()
		rec, feed, history, objects := rawCommit(b, s, 0, int64(i+3), int64(i+3))
		b.StartTimer()
		rawWrites(b, s, rec, feed, history, objects, true)
		if i < 0 {
			b.ResetTimer()
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

// rawWrites stores a commit's record and rows with raw batches; object
// rows are upserted when they exist already (replace), else inserted.
func rawWrites(b *testing.B, s *Service, rec *record, feed, history, objects []store.Entity, replace bool) {
	ctx := context.Background()
	if _, err := s.putRecord(ctx, rec); err != nil {
		b.Fatal(err)
	}
	for _, w := range []struct {
		t      store.Table
		rows   []store.Entity
		upsert bool
	}{{s.t.Feed, feed, false}, {s.t.History, history, false}, {s.t.Objects, objects, replace}} {
		if err := rawBatches(ctx, w.t, w.rows, w.upsert); err != nil {
			b.Fatal(err)
		}
	}
}

// rawBatches writes rows of one partition in batches of 100 inserts (or
// upserts), four at a time.
func rawBatches(ctx context.Context, t store.Table, rows []store.Entity, upsert bool) error {
	n := (len(rows) + batchRows - 1) / batchRows
	return parallel(ctx, n, batchWidth, func(ctx context.Context, i int) error {
		part := rows[i*batchRows : min(len(rows), (i+1)*batchRows)]
		ops := make([]store.BatchOp, len(part))
		for j := range part {
			if upsert {
				ops[j] = store.BatchOp{Upsert: &part[j]}
			} else {
				ops[j] = store.BatchOp{Insert: &part[j]}
			}
		}
		return t.Batch(ctx, ops)
	})
}

// BenchmarkList1000: one 1,000-item page of the objects listing (head
// read, one query, one decode per row, resolving each row at the head),
// the read behind GET /api/projects/{p}/objects. cpu-ns/op is this
// process's CPU time (user+system) per page: the handler's share, without
// Azurite's.
func BenchmarkList1000(b *testing.B) {
	s, _ := benchService(b)
	ctx := context.Background()
	if _, err := s.Checkin(ctx, CheckinRequest{Project: "bench", Author: Author{ID: "u", Email: "u@example.com"}, Changes: benchChanges(b, s, 1000, 0)}); err != nil {
		b.Fatal(err)
	}
	list := func() {
		pg, err := s.List(ctx, "bench", "", "", 1000, nil)
		if err != nil || len(pg.Items) != 1000 {
			b.Fatalf("%d items, %v", len(pg.Items), err)
		}
	}
	list() // warm up: connections, Azurite's first query
	b.ReportAllocs()
	cpu0 := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		list()
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
