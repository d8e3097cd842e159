// Package storetest is the conformance suite of the portable store: every
// driver runs it against a real service (the Azure driver against Azurite,
// in its own test), so domain code may rely on what it checks and on
// nothing a driver does beyond it. It checks conditional writes and ETags,
// insert-if-absent, typed properties (and the pre-1601 date rule), paging
// and filters (with injection attempts), key encoding in prefix scans,
// batches and their limits, blobs (create-only, If-Match, leases) and
// queues (visibility, pop receipts, message limits).
//
// The layout follows gocloud.dev's drivertest: the driver's test supplies
// a function that opens fresh storage, the suite owns the assertions.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Open returns an account in which layout exists, empty, and which no other
// test uses. The suite makes up unique names for every test.
type Open func(t testing.TB, layout store.Layout) store.Account

// Run runs every conformance test as a subtest of t, in parallel.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a store.Account, l store.Layout)
	}{
		{"TableConditionalWrites", testTableConditionalWrites},
		{"PropertiesRoundTrip", testPropertiesRoundTrip},
		{"QueryPagingAndFilters", testQueryPagingAndFilters},
		{"PrefixScanOverEncodedPaths", testPrefixScanOverEncodedPaths},
		{"Batch", testBatch},
		{"WeirdKeys", testWeirdKeys},
		{"Blobs", testBlobs},
		{"Queues", testQueues},
		{"NoLostUpdates", testNoLostUpdates},
		{"BatchAndMessageLimits", testBatchAndMessageLimits},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := Fresh()
			tc.fn(t, open(t, l), l)
		})
	}
}

// RunBenchmarks runs the suite's benchmarks: one-entity writes and reads.
func RunBenchmarks(b *testing.B, open Open) {
	for _, bm := range []struct {
		name string
		fn   func(b *testing.B, a store.Account, l store.Layout)
	}{{"Insert", benchInsert}, {"Get", benchGet}} {
		b.Run(bm.name, func(b *testing.B) {
			l := Fresh()
			bm.fn(b, open(b, l), l)
		})
	}
}

var nameSeq atomic.Int64

// Fresh returns a layout of one table, one container and one queue with
// names no other test of this process uses (and, with the time in them,
// no earlier run on the same emulator).
func Fresh() store.Layout {
	n := nameSeq.Add(1)
	stamp := time.Now().UnixNano() % 1e6
	return store.Layout{
		Tables:     []string{fmt.Sprintf("t%d%d", stamp, n)},
		Containers: []string{fmt.Sprintf("c%d-%d", stamp, n)},
		Queues:     []string{fmt.Sprintf("q%d-%d", stamp, n)},
	}
}

func testTableConditionalWrites(t *testing.T, a store.Account, l store.Layout) {
	ctx := context.Background()
	tb := a.Table(l.Tables[0])
	e := store.Entity{PartitionKey: "p", RowKey: "r", Props: map[string]any{"n": int64(1)}}

	etag1, err := tb.Insert(ctx, e)
	if err != nil || etag1 == "" {
		t.Fatalf("insert: %v %q", err, etag1)
	}
	if _, err := tb.Insert(ctx, e); !fault.Is(err, fault.Conflict) {
		t.Fatalf("second insert: want Conflict, got %v", err)
	}
	e.Props["n"] = int64(2)
	etag2, err := tb.Update(ctx, e, etag1)
	if err != nil || etag2 == etag1 {
		t.Fatalf("update with current etag: %v", err)
	}
	e.Props["n"] = int64(3)
	if _, err := tb.Update(ctx, e, etag1); !fault.Is(err, fault.PreconditionFailed) {
		t.Fatalf("update with stale etag: want PreconditionFailed, got %v", err)
	}
	got, err := tb.Get(ctx, "p", "r")
	if err != nil || got.Int64("n") != 2 || got.ETag != etag2 {
		t.Fatalf("stale update was applied or etag differs: %+v %v", got, err)
	}
	if err := tb.Delete(ctx, "p", "r", etag1); !fault.Is(err, fault.PreconditionFailed) {
		t.Fatalf("delete with stale etag: want PreconditionFailed, got %v", err)
	}
	if _, err := tb.Merge(ctx, store.Entity{PartitionKey: "p", RowKey: "r", Props: map[string]any{"m": "x"}}, etag2); err != nil {
		t.Fatal(err)
	}
	got, _ = tb.Get(ctx, "p", "r")
	if got.Int64("n") != 2 || got.String("m") != "x" {
		t.Fatalf("merge lost a property: %+v", got.Props)
	}
	if err := tb.Delete(ctx, "p", "r", store.AnyETag); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Get(ctx, "p", "r"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("get after delete: want NotFound, got %v", err)
	}
	if err := tb.Delete(ctx, "p", "r", store.AnyETag); !fault.Is(err, fault.NotFound) {
		t.Fatalf("delete of missing: want NotFound, got %v", err)
	}
	if _, err := tb.Update(ctx, e, store.AnyETag); !fault.Is(err, fault.NotFound) {
		t.Fatalf("update of missing: want NotFound, got %v", err)
	}
}

func testPropertiesRoundTrip(t *testing.T, a store.Account, l store.Layout) {
	ctx := context.Background()
	tb := a.Table(l.Tables[0])
	when := time.Date(2026, 2, 28, 23, 59, 59, 123456700, time.FixedZone("x", 3600))
	props := map[string]any{
		"S":      "héllo 'quoted' / # ?",
		"B":      true,
		"I32":    int32(-7),
		"I64":    int64(1)<<62 + 12345,
		"Neg64":  int64(math.MinInt64 + 1),
		"F":      3.25,
		"FWhole": 2.0,
		"T":      when,
		"Bin":    []byte{0, 1, 2, 255},
		"Int":    42,
	}
	if _, err := tb.Insert(ctx, store.Entity{PartitionKey: "p", RowKey: "types", Props: props}); err != nil {
		t.Fatal(err)
	}
	got, err := tb.Get(ctx, "p", "types")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"S": props["S"], "B": true, "I32": int32(-7), "I64": props["I64"], "Neg64": props["Neg64"],
		"F": 3.25, "T": when.UTC(), "Bin": []byte{0, 1, 2, 255}, "Int": int64(42),
	}
	for k, w := range want {
		g := got.Props[k]
		if fmt.Sprintf("%T", g) != fmt.Sprintf("%T", w) {
			t.Errorf("%s: type %T, want %T", k, g, w)
			continue
		}
		switch wv := w.(type) {
		case []byte:
			if !bytes.Equal(g.([]byte), wv) {
				t.Errorf("%s = %v", k, g)
			}
		case time.Time:
			if !g.(time.Time).Equal(wv) {
				t.Errorf("%s = %v, want %v", k, g, wv)
			}
		default:
			if g != w {
				t.Errorf("%s = %v, want %v", k, g, w)
			}
		}
	}
	if got.Float64("FWhole") != 2.0 || got.Float64("F") != 3.25 {
		t.Errorf("Float64: %v %v", got.Float64("FWhole"), got.Float64("F"))
	}
	if got.Timestamp.IsZero() {
		t.Error("Timestamp not read")
	}
	if _, err := tb.Insert(ctx, store.Entity{PartitionKey: "p", RowKey: "bad", Props: map[string]any{"x y": 1}}); !fault.Is(err, fault.Invalid) {
		t.Errorf("bad property name: %v", err)
	}
	if _, err := tb.Insert(ctx, store.Entity{PartitionKey: "p", RowKey: "bad", Props: map[string]any{"u": uint8(1)}}); !fault.Is(err, fault.Invalid) {
		t.Errorf("unsupported type: %v", err)
	}
	// Azure refuses dates before 1601, Azurite does not: the adapter refuses
	// them here so that a zero time.Time fails locally, not in production.
	if _, err := tb.Insert(ctx, store.Entity{PartitionKey: "p", RowKey: "zero-time", Props: map[string]any{"LeaseUntil": time.Time{}}}); !fault.Is(err, fault.Internal) || !strings.Contains(err.Error(), "before 1601") {
		t.Errorf("zero time: %v", err)
	}
}

func testQueryPagingAndFilters(t *testing.T, a store.Account, l store.Layout) {
	ctx := context.Background()
	tb := a.Table(l.Tables[0])
	rows := []string{"a", "a'b", "a' or RowKey ne '", "b", "c", "d", "e"}
	for i, rk := range rows {
		if _, err := tb.Insert(ctx, store.Entity{PartitionKey: "p", RowKey: store.EncodeKey(rk), Props: map[string]any{"Raw": rk, "N": int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	// Paging: 2 per page over 7 rows gives 4 pages and every row once.
	seen := map[string]int{}
	opt := store.QueryOptions{Top: 2}
	pages := 0
	for {
		p, err := tb.Query(ctx, store.Eq("PartitionKey", "p"), opt)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range p.Entities {
			seen[e.String("Raw")]++
		}
		if p.Next == "" {
			break
		}
		opt.Cursor = p.Next
	}
	if pages != 4 || len(seen) != len(rows) {
		t.Fatalf("pages %d seen %v", pages, seen)
	}
	cases := []struct {
		name string
		f    store.Filter
		want []string
	}{
		{"quote in a value matches that row only", store.And(store.Eq("PartitionKey", "p"), store.Eq("Raw", "a'b")), []string{"a'b"}},
		{"an injection attempt is a literal", store.Eq("Raw", "a' or RowKey ne '"), []string{"a' or RowKey ne '"}},
		{"injection on the key side", store.Eq("RowKey", "x' or PartitionKey eq 'p"), nil},
		{"int64 comparison", store.And(store.Ge("N", int64(5)), store.Lt("N", int64(100))), []string{"d", "e"}},
		{"or of two", store.Or(store.Eq("Raw", "b"), store.Eq("Raw", "c")), []string{"b", "c"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			es, err := tb.QueryAll(ctx, c.f, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range es {
				got = append(got, e.String("Raw"))
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("%s: got %q want %q", c.f, got, c.want)
			}
		})
	}
	if _, err := tb.Query(ctx, store.Filter{}, store.QueryOptions{Cursor: "not-a-cursor"}); !fault.Is(err, fault.Invalid) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func testPrefixScanOverEncodedPaths(t *testing.T, a store.Account, l store.Layout) {
	ctx := context.Background()
	tb := a.Table(l.Tables[0])
	paths := []string{"applications", "applications/claims", "applications/claims/processes/p1",
		"applications/claims-old", "applications/claimsx", "entities/master/x"}
	for _, p := range paths {
		if _, err := tb.Insert(ctx, store.Entity{PartitionKey: "proj", RowKey: store.EncodeKey(p)}); err != nil {
			t.Fatal(err)
		}
	}
	es, err := tb.QueryAll(ctx, store.And(store.Eq("PartitionKey", "proj"), store.HasPrefix("RowKey", store.EncodeKey("applications/claims/"))), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 {
		t.Fatalf("subtree of applications/claims: %d rows", len(es))
	}
	if p, _ := store.DecodeKey(es[0].RowKey); p != "applications/claims/processes/p1" {
		t.Fatalf("got %q", p)
	}
}

// testWeirdKeys: text a table key may not hold raw ('/', '\\', '#', '?',
// control characters, quotes, percent signs, invalid UTF-8) is stored under
// EncodeKey and found again by point read and by query, and DecodeKey gives
// it back.
func testWeirdKeys(t *testing.T, a store.Account, l store.Layout) {
	ctx := context.Background()
	tb := a.Table(l.Tables[0])
	weird := []string{"a/b", `back\slash`, "hash#tag", "what?", "tab\tnew\nline", "quote'd", "100%", "bang!tilde~",
		"\x7f\u0080del", "ünïcødé/日本", "bad\xffutf8", " leading and trailing "}
	for i, w := range weird {
		k := store.EncodeKey(w)
		if _, err := tb.Insert(ctx, store.Entity{PartitionKey: store.EncodeKey("p/" + w), RowKey: k, Props: map[string]any{"I": int64(i)}}); err != nil {
			t.Fatalf("%q: %v", w, err)
		}
		e, err := tb.Get(ctx, store.EncodeKey("p/"+w), k)
		if err != nil || e.Int64("I") != int64(i) {
			t.Fatalf("%q read back: %+v %v", w, e, err)
		}
		if back, err := store.DecodeKey(e.RowKey); err != nil || back != w {
			t.Fatalf("%q decoded as %q (%v)", w, back, err)
		}
		es, err := tb.QueryAll(ctx, store.And(store.Eq("PartitionKey", store.EncodeKey("p/"+w)), store.Eq("RowKey", k)), 0)
		if err != nil || len(es) != 1 {
			t.Fatalf("%q by query: %d rows, %v", w, len(es), err)
		}
	}
}

func testBatch(t *testing.T, a store.Account, l store.Layout) {
	ctx := context.Background()
	tb := a.Table(l.Tables[0])
	var ops []store.BatchOp
	for i := 0; i < 100; i++ {
		ops = append(ops, store.BatchOp{Upsert: &store.Entity{PartitionKey: "b", RowKey: fmt.Sprintf("%03d", i)}})
	}
	if err := tb.Batch(ctx, ops); err != nil {
		t.Fatal(err)
	}
	es, _ := tb.QueryAll(ctx, store.Eq("PartitionKey", "b"), 0)
	if len(es) != 100 {
		t.Fatalf("batch wrote %d", len(es))
	}
	if err := tb.Batch(ctx, append(ops, ops[0])); err == nil {
		t.Fatal("101 operations accepted")
	}
	if err := tb.Batch(ctx, []store.BatchOp{{Upsert: &store.Entity{PartitionKey: "x", RowKey: "1"}}, {Upsert: &store.Entity{PartitionKey: "y", RowKey: "1"}}}); err == nil {
		t.Fatal("mixed partitions accepted")
	}
}

func testBlobs(t *testing.T, a store.Account, l store.Layout) {
	ctx := context.Background()
	c := a.Container(l.Containers[0])
	data := []byte(`{"form":"claim"}`)
	info, err := c.Put(ctx, "sha/abc", data, store.PutOptions{ContentType: "application/json", CreateOnly: true})
	if err != nil || info.ETag == "" {
		t.Fatalf("put: %v", err)
	}
	if _, err := c.Put(ctx, "sha/abc", []byte("other"), store.PutOptions{CreateOnly: true}); !fault.Is(err, fault.Conflict) {
		t.Fatalf("create-only second put: want Conflict, got %v", err)
	}
	// Conditional replace: the current ETag wins, a stale one is refused.
	doc1, err := c.Put(ctx, "acl/p1", []byte("v1"), store.PutOptions{CreateOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	doc2, err := c.Put(ctx, "acl/p1", []byte("v2"), store.PutOptions{IfMatch: doc1.ETag})
	if err != nil || doc2.ETag == doc1.ETag {
		t.Fatalf("conditional replace: %v", err)
	}
	if _, err := c.Put(ctx, "acl/p1", []byte("v3"), store.PutOptions{IfMatch: doc1.ETag}); !fault.Is(err, fault.PreconditionFailed) {
		t.Fatalf("stale If-Match: want PreconditionFailed, got %v", err)
	}
	if b, _, _ := c.Get(ctx, "acl/p1"); string(b) != "v2" {
		t.Fatalf("stale write applied: %q", b)
	}
	if st, err := c.Stat(ctx, "acl/p1"); err != nil || st.ETag != doc2.ETag {
		t.Fatalf("Stat ETag %q, want %q (%v)", st.ETag, doc2.ETag, err)
	}
	got, gi, err := c.Get(ctx, "sha/abc")
	if err != nil || !bytes.Equal(got, data) || gi.ContentType != "application/json" {
		t.Fatalf("get: %q %+v %v", got, gi, err)
	}
	if ok, err := c.Exists(ctx, "sha/none"); ok || err != nil {
		t.Fatalf("exists of missing: %v %v", ok, err)
	}
	if _, _, err := c.Get(ctx, "sha/none"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("get missing: %v", err)
	}
	// Leases: one holder at a time.
	lease, err := c.AcquireLease(ctx, "sha/abc", 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AcquireLease(ctx, "sha/abc", 15*time.Second); !fault.Is(err, fault.Conflict) {
		t.Fatalf("second lease: want Conflict, got %v", err)
	}
	if err := lease.Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if err := lease.Release(ctx); err != nil {
		t.Fatal(err)
	}
	l2, err := c.AcquireLease(ctx, "sha/abc", 15*time.Second)
	if err != nil {
		t.Fatalf("lease after release: %v", err)
	}
	_ = l2.Release(ctx)
	if err := c.Delete(ctx, "sha/abc"); err != nil {
		t.Fatal(err)
	}
}

func testQueues(t *testing.T, a store.Account, l store.Layout) {
	ctx := context.Background()
	q := a.Queue(l.Queues[0])
	if _, err := q.Send(ctx, `{"seq":1} ünïcode`, 0, 0); err != nil {
		t.Fatal(err)
	}
	ms, err := q.Receive(ctx, 32, time.Second)
	if err != nil || len(ms) != 1 || ms[0].Text != `{"seq":1} ünïcode` || ms[0].DequeueCount != 1 {
		t.Fatalf("receive: %+v %v", ms, err)
	}
	// Invisible while received.
	if again, _ := q.Receive(ctx, 1, time.Second); len(again) != 0 {
		t.Fatal("message visible while held")
	}
	pop, err := q.SetVisibility(ctx, ms[0], 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = pop
	ms2 := pollReceive(t, q)
	if ms2.DequeueCount != 2 || ms2.Text != ms[0].Text {
		t.Fatalf("second receive: %+v", ms2)
	}
	if err := q.Delete(ctx, ms[0]); !fault.Is(err, fault.Conflict) {
		t.Fatalf("delete with a stale pop receipt: want Conflict, got %v", err)
	}
	if err := q.Delete(ctx, ms2); err != nil {
		t.Fatal(err)
	}
	if n, err := q.Length(ctx); err != nil || n != 0 {
		t.Fatalf("length %d %v", n, err)
	}
}

func pollReceive(t *testing.T, q store.Queue) store.Message {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ms, err := q.Receive(context.Background(), 1, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 1 {
			return ms[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no message within 5 s")
	return store.Message{}
}

// TestNoLostUpdates: 16 writers increment one counter with ETag-conditional
// updates, retrying on PreconditionFailed. The final value equals the number
// of successful updates: conditional writes serialise them.
func testNoLostUpdates(t *testing.T, a store.Account, l store.Layout) {
	ctx := context.Background()
	tb := a.Table(l.Tables[0])
	if _, err := tb.Insert(ctx, store.Entity{PartitionKey: "c", RowKey: "counter", Props: map[string]any{"n": int64(0)}}); err != nil {
		t.Fatal(err)
	}
	var ok, stale atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				for attempt := 0; attempt < 200; attempt++ {
					e, err := tb.Get(ctx, "c", "counter")
					if err != nil {
						t.Error(err)
						return
					}
					e.Props["n"] = e.Int64("n") + 1
					if _, err := tb.Update(ctx, e, e.ETag); err == nil {
						ok.Add(1)
						break
					} else if fault.Is(err, fault.PreconditionFailed) {
						stale.Add(1)
						continue
					} else {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	e, _ := tb.Get(ctx, "c", "counter")
	if e.Int64("n") != ok.Load() || ok.Load() != 160 {
		t.Fatalf("counter %d, successful updates %d (stale %d)", e.Int64("n"), ok.Load(), stale.Load())
	}
	t.Logf("160 increments, %d refused as stale and retried", stale.Load())
}

func testBatchAndMessageLimits(t *testing.T, a store.Account, l store.Layout) {
	ctx := context.Background()
	tb := a.Table(l.Tables[0])
	ops := make([]store.BatchOp, store.MaxBatchOps+1)
	for i := range ops {
		ops[i] = store.BatchOp{Insert: &store.Entity{PartitionKey: "p", RowKey: string(rune('a'+i%26)) + strings.Repeat("z", i/26)}}
	}
	if err := tb.Batch(ctx, ops); !fault.Is(err, fault.TooLarge) || !strings.Contains(fault.DetailOf(err), "100 operations") {
		t.Fatalf("101 operations: %v", err)
	}
	// 70 rows of 60 KiB: under 100 operations, over 4 MiB.
	big := make([]store.BatchOp, 70)
	for i := range big {
		big[i] = store.BatchOp{Insert: &store.Entity{PartitionKey: "p", RowKey: strings.Repeat("r", i+1), Props: map[string]any{"B": make([]byte, 60<<10)}}}
	}
	if err := tb.Batch(ctx, big); !fault.Is(err, fault.TooLarge) || !strings.Contains(fault.DetailOf(err), "bytes") {
		t.Fatalf("a 5 MiB batch: %v", err)
	}
	if err := tb.Batch(ctx, big[:40]); err != nil {
		t.Fatalf("a batch under 4 MiB: %v", err)
	}
	q := a.Queue(l.Queues[0])
	if _, err := q.Send(ctx, strings.Repeat("m", store.MaxMessageText), 0, 0); err != nil {
		t.Fatalf("a message at the limit: %v", err)
	}
	if _, err := q.Send(ctx, strings.Repeat("m", store.MaxMessageText+1), 0, 0); !fault.Is(err, fault.TooLarge) {
		t.Fatalf("a message past the limit: %v", err)
	}
}

func benchInsert(b *testing.B, a store.Account, l store.Layout) {
	tb := a.Table(l.Tables[0])
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tb.Insert(ctx, store.Entity{PartitionKey: "bench", RowKey: fmt.Sprintf("%09d", i), Props: map[string]any{"v": int64(i)}}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchGet(b *testing.B, a store.Account, l store.Layout) {
	tb := a.Table(l.Tables[0])
	ctx := context.Background()
	if _, err := tb.Insert(ctx, store.Entity{PartitionKey: "bench", RowKey: "x", Props: map[string]any{"v": int64(1)}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tb.Get(ctx, "bench", "x"); err != nil {
			b.Fatal(err)
		}
	}
}
