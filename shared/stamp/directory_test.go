package stamp_test

import (
	"context"
	"testing"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/stamp"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azurite"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

func directory(t *testing.T) *stamp.Directory {
	t.Helper()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: "st" + t.Name()[4:]})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(context.Background(), stamp.Layout); err != nil {
		t.Fatal(err)
	}
	return stamp.NewDirectory(acct.Table(stamp.TableName), nil)
}

// TestWrittenOnce: a home is written once; the same claim again (a retry
// after a crash before the stamp's own write) holds, another is a conflict
// and changes nothing.
func TestWrittenOnce(t *testing.T) {
	ctx := context.Background()
	d := directory(t)
	steps := []struct {
		name string
		do   func() error
		want fault.Kind
	}{
		{"claim north for a", func() error { return d.ClaimSubscription(ctx, "north", "a") }, fault.Other},
		{"the same claim again holds", func() error { return d.ClaimSubscription(ctx, "north", "a") }, fault.Other},
		{"north for b is a conflict", func() error { return d.ClaimSubscription(ctx, "north", "b") }, fault.Conflict},
		{"project p in north", func() error { return d.ClaimProject(ctx, "p", "north") }, fault.Other},
		{"project p again in north holds", func() error { return d.ClaimProject(ctx, "p", "north") }, fault.Other},
		{"project p in south is a conflict", func() error { return d.ClaimProject(ctx, "p", "south") }, fault.Conflict},
	}
	for _, s := range steps {
		err := s.do()
		if (s.want == fault.Other) != (err == nil) || (err != nil && fault.KindOf(err) != s.want) {
			t.Errorf("%s: %v", s.name, err)
		}
	}
	if home, err := d.HomeOf(ctx, "north"); err != nil || home != "a" {
		t.Fatalf("north: %q %v", home, err)
	}
	if sub, err := d.SubscriptionOf(ctx, "p"); err != nil || sub != "north" {
		t.Fatalf("p: %q %v", sub, err)
	}
	if _, err := d.HomeOf(ctx, "nobody"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

// TestDirectoryDown: an unreadable directory is 503, never "served here".
func TestDirectoryDown(t *testing.T) {
	acct, err := azure.Open(azure.Config{ConnectionString: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" +
		azurite.NewKey() + ";TableEndpoint=http://127.0.0.1:1/devstoreaccount1;" +
		"BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;QueueEndpoint=http://127.0.0.1:1/devstoreaccount1", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	s := &stamp.Stamps{Self: "b", URLs: map[string]string{"b": "https://b.example"}, Dir: stamp.NewDirectory(acct.Table(stamp.TableName), nil)}
	if err := s.ServeProject(context.Background(), "p"); !fault.Is(err, fault.Unavailable) {
		t.Fatalf("project: %v", err)
	}
	if err := s.ServeSubscription(context.Background(), "s"); !fault.Is(err, fault.Unavailable) {
		t.Fatalf("subscription: %v", err)
	}
}

// TestKnownRowsOutliveTheDirectory: a row read once is served from memory
// (rows never change) when the directory's storage is gone; an id never
// read fails instead of being taken as "no home".
func TestKnownRowsOutliveTheDirectory(t *testing.T) {
	srv := azuritetest.Fresh(t)
	acct, err := azure.Open(azure.Config{ConnectionString: srv.ConnectionString(), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := acct.Bootstrap(ctx, stamp.Layout); err != nil {
		t.Fatal(err)
	}
	d := stamp.NewDirectory(acct.Table(stamp.TableName), nil)
	if err := d.ClaimSubscription(ctx, "north", "a"); err != nil {
		t.Fatal(err)
	}
	if err := d.ClaimProject(ctx, "p", "north"); err != nil {
		t.Fatal(err)
	}
	s := &stamp.Stamps{Self: "b", URLs: map[string]string{"a": "https://a.example", "b": "https://b.example"}, Dir: d}
	if err := s.ServeProject(ctx, "p"); !fault.Is(err, fault.Misdirected) {
		t.Fatalf("before the outage: %v", err)
	}
	_ = srv.Stop()
	if err := s.ServeProject(ctx, "p"); !fault.Is(err, fault.Misdirected) {
		t.Fatalf("a known project during the outage: %v", err)
	}
	if err := s.ServeProject(ctx, "q"); !fault.Is(err, fault.Unavailable) {
		t.Fatalf("an unknown project during the outage: %v", err)
	}
}
