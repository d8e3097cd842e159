package store

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
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

var nameSeq atomic.Int64

// fresh returns an account on the package's Azurite and unique names for a
// test's table, container and queue, already bootstrapped.
func fresh(t testing.TB) (*Account, Layout) {
	t.Helper()
	a, err := Open(Config{ConnectionString: azuritetest.Server(t).ConnectionString()})
	if err != nil {
		t.Fatal(err)
	}
	n := nameSeq.Add(1)
	l := Layout{
		Tables:     []string{fmt.Sprintf("t%d%d", time.Now().UnixNano()%1e6, n)},
		Containers: []string{fmt.Sprintf("c%d-%d", time.Now().UnixNano()%1e6, n)},
		Queues:     []string{fmt.Sprintf("q%d-%d", time.Now().UnixNano()%1e6, n)},
	}
	if err := a.Bootstrap(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return a, l
}

func TestTableConditionalWrites(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
	tb := a.Table(l.Tables[0])
	e := Entity{PartitionKey: "p", RowKey: "r", Props: map[string]any{"n": int64(1)}}

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
	if _, err := tb.Merge(ctx, Entity{PartitionKey: "p", RowKey: "r", Props: map[string]any{"m": "x"}}, etag2); err != nil {
		t.Fatal(err)
	}
	got, _ = tb.Get(ctx, "p", "r")
	if got.Int64("n") != 2 || got.String("m") != "x" {
		t.Fatalf("merge lost a property: %+v", got.Props)
	}
	if err := tb.Delete(ctx, "p", "r", AnyETag); err != nil {
		t.Fatal(err)
	}
	if _, err := tb.Get(ctx, "p", "r"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("get after delete: want NotFound, got %v", err)
	}
	if err := tb.Delete(ctx, "p", "r", AnyETag); !fault.Is(err, fault.NotFound) {
		t.Fatalf("delete of missing: want NotFound, got %v", err)
	}
	if _, err := tb.Update(ctx, e, AnyETag); !fault.Is(err, fault.NotFound) {
		t.Fatalf("update of missing: want NotFound, got %v", err)
	}
}

func TestPropertiesRoundTrip(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
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
	if _, err := tb.Insert(ctx, Entity{PartitionKey: "p", RowKey: "types", Props: props}); err != nil {
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
	if _, err := tb.Insert(ctx, Entity{PartitionKey: "p", RowKey: "bad", Props: map[string]any{"x y": 1}}); !fault.Is(err, fault.Invalid) {
		t.Errorf("bad property name: %v", err)
	}
	if _, err := tb.Insert(ctx, Entity{PartitionKey: "p", RowKey: "bad", Props: map[string]any{"u": uint8(1)}}); !fault.Is(err, fault.Invalid) {
		t.Errorf("unsupported type: %v", err)
	}
	// Azure refuses dates before 1601, Azurite does not: the adapter refuses
	// them here so that a zero time.Time fails locally, not in production.
	if _, err := tb.Insert(ctx, Entity{PartitionKey: "p", RowKey: "zero-time", Props: map[string]any{"LeaseUntil": time.Time{}}}); !fault.Is(err, fault.Internal) || !strings.Contains(err.Error(), "before 1601") {
		t.Errorf("zero time: %v", err)
	}
}

func TestQueryPagingAndFilters(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
	tb := a.Table(l.Tables[0])
	rows := []string{"a", "a'b", "a' or RowKey ne '", "b", "c", "d", "e"}
	for i, rk := range rows {
		if _, err := tb.Insert(ctx, Entity{PartitionKey: "p", RowKey: EncodeKey(rk), Props: map[string]any{"Raw": rk, "N": int64(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	// Paging: 2 per page over 7 rows gives 4 pages and every row once.
	seen := map[string]int{}
	opt := QueryOptions{Top: 2}
	pages := 0
	for {
		p, err := tb.Query(ctx, Eq("PartitionKey", "p"), opt)
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
		f    Filter
		want []string
	}{
		{"quote in a value matches that row only", And(Eq("PartitionKey", "p"), Eq("Raw", "a'b")), []string{"a'b"}},
		{"an injection attempt is a literal", Eq("Raw", "a' or RowKey ne '"), []string{"a' or RowKey ne '"}},
		{"injection on the key side", Eq("RowKey", "x' or PartitionKey eq 'p"), nil},
		{"int64 comparison", And(Ge("N", int64(5)), Lt("N", int64(100))), []string{"d", "e"}},
		{"or of two", Or(Eq("Raw", "b"), Eq("Raw", "c")), []string{"b", "c"}},
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
	if _, err := tb.Query(ctx, Filter{}, QueryOptions{Cursor: "not-a-cursor"}); !fault.Is(err, fault.Invalid) {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestPrefixScanOverEncodedPaths(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
	tb := a.Table(l.Tables[0])
	paths := []string{"applications", "applications/claims", "applications/claims/processes/p1",
		"applications/claims-old", "applications/claimsx", "entities/master/x"}
	for _, p := range paths {
		if _, err := tb.Insert(ctx, Entity{PartitionKey: "proj", RowKey: EncodeKey(p)}); err != nil {
			t.Fatal(err)
		}
	}
	es, err := tb.QueryAll(ctx, And(Eq("PartitionKey", "proj"), HasPrefix("RowKey", EncodeKey("applications/claims/"))), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 {
		t.Fatalf("subtree of applications/claims: %d rows", len(es))
	}
	if p, _ := DecodeKey(es[0].RowKey); p != "applications/claims/processes/p1" {
		t.Fatalf("got %q", p)
	}
}

func TestBatchAndBootstrapIdempotent(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
	if err := a.Bootstrap(ctx, l, l); err != nil {
		t.Fatalf("second bootstrap: %v", err)
	}
	if err := a.Bootstrap(ctx, Layout{Tables: []string{"bad-name"}}); !fault.Is(err, fault.Invalid) {
		t.Fatalf("bad table name: %v", err)
	}
	if err := a.Bootstrap(ctx, Layout{Queues: []string{"Upper"}}); !fault.Is(err, fault.Invalid) {
		t.Fatalf("bad queue name: %v", err)
	}
	tb := a.Table(l.Tables[0])
	var ops []BatchOp
	for i := 0; i < 100; i++ {
		ops = append(ops, BatchOp{Upsert: &Entity{PartitionKey: "b", RowKey: fmt.Sprintf("%03d", i)}})
	}
	if err := tb.Batch(ctx, ops); err != nil {
		t.Fatal(err)
	}
	es, _ := tb.QueryAll(ctx, Eq("PartitionKey", "b"), 0)
	if len(es) != 100 {
		t.Fatalf("batch wrote %d", len(es))
	}
	if err := tb.Batch(ctx, append(ops, ops[0])); err == nil {
		t.Fatal("101 operations accepted")
	}
	if err := tb.Batch(ctx, []BatchOp{{Upsert: &Entity{PartitionKey: "x", RowKey: "1"}}, {Upsert: &Entity{PartitionKey: "y", RowKey: "1"}}}); err == nil {
		t.Fatal("mixed partitions accepted")
	}
}

func TestBlobs(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
	c := a.Container(l.Containers[0])
	data := []byte(`{"form":"claim"}`)
	info, err := c.Put(ctx, "sha/abc", data, PutOptions{ContentType: "application/json", CreateOnly: true})
	if err != nil || info.ETag == "" {
		t.Fatalf("put: %v", err)
	}
	if _, err := c.Put(ctx, "sha/abc", []byte("other"), PutOptions{CreateOnly: true}); !fault.Is(err, fault.Conflict) {
		t.Fatalf("create-only second put: want Conflict, got %v", err)
	}
	// Conditional replace: the current ETag wins, a stale one is refused.
	doc1, err := c.Put(ctx, "acl/p1", []byte("v1"), PutOptions{CreateOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	doc2, err := c.Put(ctx, "acl/p1", []byte("v2"), PutOptions{IfMatch: doc1.ETag})
	if err != nil || doc2.ETag == doc1.ETag {
		t.Fatalf("conditional replace: %v", err)
	}
	if _, err := c.Put(ctx, "acl/p1", []byte("v3"), PutOptions{IfMatch: doc1.ETag}); !fault.Is(err, fault.PreconditionFailed) {
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

func TestQueues(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
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

func pollReceive(t *testing.T, q *Queue) Message {
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
	return Message{}
}

// TestNoLostUpdates: 16 writers increment one counter with ETag-conditional
// updates, retrying on PreconditionFailed. The final value equals the number
// of successful updates: conditional writes serialise them.
func TestNoLostUpdates(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
	tb := a.Table(l.Tables[0])
	if _, err := tb.Insert(ctx, Entity{PartitionKey: "c", RowKey: "counter", Props: map[string]any{"n": int64(0)}}); err != nil {
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

func TestPingReportsOutageWithinDeadline(t *testing.T) {
	srv := azuritetest.Fresh(t)
	a, err := Open(Config{ConnectionString: srv.ConnectionString()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	res := a.Ping(ctx)
	cancel()
	for svc, err := range res {
		if err != nil {
			t.Fatalf("%s down while up: %v", svc, err)
		}
	}
	if len(res) != 3 {
		t.Fatalf("ping covered %d services", len(res))
	}
	_ = srv.Stop()
	start := time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res = a.Ping(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("ping took %v after the outage", took)
	}
	for _, svc := range []string{"tables", "blobs", "queues"} {
		if !fault.Is(res[svc], fault.Unavailable) {
			t.Errorf("%s: want Unavailable, got %v", svc, res[svc])
		}
	}
}

// TestMissingStorageIsUnavailable: a table that was never bootstrapped is
// "storage not ready" (503, retryable), not "no such object" (404), and
// store errors carry no path a caller could see.
func TestMissingStorageIsUnavailable(t *testing.T) {
	ctx := context.Background()
	a, _ := fresh(t)
	_, err := a.Table("neverbootstrapped").Get(ctx, "p", "r")
	if !fault.Is(err, fault.Unavailable) || fault.PathOf(err) != "" || fault.DetailOf(err) != "storage is not ready" {
		t.Fatalf("missing table: kind %v path %q detail %q", fault.KindOf(err), fault.PathOf(err), fault.DetailOf(err))
	}
	if _, _, err := a.Container("neverbootstrapped").Get(ctx, "x"); !fault.Is(err, fault.Unavailable) {
		t.Fatalf("missing container: %v", err)
	}
	if _, err := a.Table("neverbootstrapped").Insert(ctx, Entity{PartitionKey: "p", RowKey: "r"}); !fault.Is(err, fault.Unavailable) {
		t.Fatalf("insert into a missing table: %v", err)
	}
}

func TestNamePrefixIsolates(t *testing.T) {
	ctx := context.Background()
	cs := azuritetest.Server(t).ConnectionString()
	n := nameSeq.Add(1)
	a1, _ := Open(Config{ConnectionString: cs, NamePrefix: fmt.Sprintf("iso%da", n)})
	a2, _ := Open(Config{ConnectionString: cs, NamePrefix: fmt.Sprintf("iso%db", n)})
	for _, a := range []*Account{a1, a2} {
		if err := a.Bootstrap(ctx, Layout{Tables: []string{"things"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a1.Table("things").Insert(ctx, Entity{PartitionKey: "p", RowKey: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a2.Table("things").Get(ctx, "p", "r"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("a row of one prefix is visible through another: %v", err)
	}
	if _, err := Open(Config{ConnectionString: cs, NamePrefix: "bad-prefix"}); !fault.Is(err, fault.Invalid) {
		t.Fatalf("bad prefix: %v", err)
	}
}

func TestOpenRefusesBadConfig(t *testing.T) {
	cases := []Config{
		{ConnectionString: "AccountName=x"},
		{ConnectionString: "AccountName=x;AccountKey=!!notbase64"},
		{TableServiceURL: "https://x"},
	}
	for _, c := range cases {
		if _, err := Open(c); !fault.Is(err, fault.Invalid) {
			t.Errorf("%+v: want Invalid, got %v", c, err)
		}
	}
}

func BenchmarkInsert(b *testing.B) {
	a, l := fresh(b)
	tb := a.Table(l.Tables[0])
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tb.Insert(ctx, Entity{PartitionKey: "bench", RowKey: fmt.Sprintf("%09d", i), Props: map[string]any{"v": int64(i)}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	a, l := fresh(b)
	tb := a.Table(l.Tables[0])
	ctx := context.Background()
	if _, err := tb.Insert(ctx, Entity{PartitionKey: "bench", RowKey: "x", Props: map[string]any{"v": int64(1)}}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tb.Get(ctx, "bench", "x"); err != nil {
			b.Fatal(err)
		}
	}
}
