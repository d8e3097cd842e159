package azure

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azuritetest"
	"github.com/studio-collab/collab/shared/store/storetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

// open is the conformance suite's way in: an account on the package's
// Azurite with layout bootstrapped.
func open(t testing.TB, l store.Layout) store.Account {
	t.Helper()
	a, err := Open(Config{ConnectionString: azuritetest.Server(t).ConnectionString()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Bootstrap(context.Background(), l); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestConformance runs the portable store's suite against Azurite.
func TestConformance(t *testing.T) { storetest.Run(t, open) }

// fresh is an account with a fresh layout of one table, container and queue.
func fresh(t testing.TB) (*Account, store.Layout) {
	t.Helper()
	l := storetest.Fresh()
	return open(t, l).(*Account), l
}

var nameSeq atomic.Int64

func TestBootstrapIdempotentAndStrict(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
	if err := a.Bootstrap(ctx, l, l); err != nil {
		t.Fatalf("second bootstrap: %v", err)
	}
	if err := a.Bootstrap(ctx, store.Layout{Tables: []string{"bad-name"}}); !fault.Is(err, fault.Invalid) {
		t.Fatalf("bad table name: %v", err)
	}
	if err := a.Bootstrap(ctx, store.Layout{Queues: []string{"Upper"}}); !fault.Is(err, fault.Invalid) {
		t.Fatalf("bad queue name: %v", err)
	}
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
	if _, err := a.Table("neverbootstrapped").Insert(ctx, store.Entity{PartitionKey: "p", RowKey: "r"}); !fault.Is(err, fault.Unavailable) {
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
		if err := a.Bootstrap(ctx, store.Layout{Tables: []string{"things"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a1.Table("things").Insert(ctx, store.Entity{PartitionKey: "p", RowKey: "r"}); err != nil {
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

// BenchmarkStore runs the suite's benchmarks against Azurite.
func BenchmarkStore(b *testing.B) { storetest.RunBenchmarks(b, open) }

// countingTransport counts the requests per host:port it carries.
type countingTransport struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.URL.Host]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestTransportCarriesEveryService: Config.Transport carries all
// three services (the transport a deployment tunes), not only of one.
func TestTransportCarriesEveryService(t *testing.T) {
	ctx := context.Background()
	ct := &countingTransport{n: map[string]int{}}
	l := storetest.Fresh()
	a, err := Open(Config{ConnectionString: azuritetest.Server(t).ConnectionString(), Transport: &http.Client{Transport: ct}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Bootstrap(ctx, l); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Table(l.Tables[0]).Upsert(ctx, store.Entity{PartitionKey: "p", RowKey: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Container(l.Containers[0]).Put(ctx, "b", []byte("x"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Queue(l.Queues[0]).Send(ctx, "m", 0, 0); err != nil {
		t.Fatal(err)
	}
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if len(ct.n) != 3 {
		t.Fatalf("requests by host: %v; want the table, blob and queue endpoints", ct.n)
	}
}
