package catalog_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azurite"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

var prefixSeq atomic.Int64

// world is one storage account (a fresh set of tables) and a clock that
// tests move forward.
type world struct {
	acct   *azure.Account
	offset atomic.Int64
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return newWorldOn(t, azuritetest.Server(t))
}

// newWorldOn is newWorld on another Azurite: a test that loads the emulator
// for a long time runs on one of its own, beside the others.
func newWorldOn(t testing.TB, srv *azurite.Server) *world {
	t.Helper()
	acct, err := azure.Open(azure.Config{ConnectionString: srv.ConnectionString(),
		NamePrefix: fmt.Sprintf("c%d%d", time.Now().UnixNano()%1e7, prefixSeq.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(context.Background(), catalog.Layout); err != nil {
		t.Fatal(err)
	}
	return &world{acct: acct}
}

func (w *world) now() time.Time          { return time.Now().Add(time.Duration(w.offset.Load())) }
func (w *world) advance(d time.Duration) { w.offset.Add(int64(d)) }

// instance is a fresh process: a new Service with nothing in memory.
func (w *world) instance() *catalog.Service {
	return catalog.New(catalog.OpenTables(w.acct), w.acct.Container("catalog"), w.now)
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

var (
	alice = catalog.Author{ID: "u-alice", Email: "alice@example.com"}
	bob   = catalog.Author{ID: "u-bob", Email: "bob@example.com"}
)

// put uploads content and returns a put change based on base.
func put(t testing.TB, s *catalog.Service, project, path string, base int64, content string) catalog.ChangeRequest {
	t.Helper()
	h := sum([]byte(content))
	if _, err := s.PutBlob(context.Background(), project, h, []byte(content)); err != nil {
		t.Fatal(err)
	}
	return catalog.ChangeRequest{Op: "put", Path: path, BaseVersion: base, SHA256: h, Size: int64(len(content)), Kind: "process", ContentType: "application/json"}
}

func kindOf(err error) string { return fault.KindOf(err).String() }

func TestCheckinLifecycle(t *testing.T) {
	w := newWorld(t)
	s := w.instance()
	ctx := context.Background()
	const p = "claims"
	a, b := "applications/claims/processes/intake", "entities/master/customer"

	res, err := s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice, Message: "first",
		Changes: []catalog.ChangeRequest{put(t, s, p, a, 0, `{"v":1}`), put(t, s, p, b, 0, `{"c":1}`)}})
	if err != nil || res.Seq != 1 || len(res.Objects) != 2 || res.Objects[0].Version != 1 {
		t.Fatalf("first check-in: %+v %v", res, err)
	}
	// Stale bases: every stale path is listed, nothing is committed.
	_, err = s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: bob,
		Changes: []catalog.ChangeRequest{put(t, s, p, a, 0, `{"v":2}`), put(t, s, p, b, 3, `{"c":2}`), put(t, s, p, "rules/functions/f", 0, "f")}})
	var ce *catalog.ConflictError
	if !errors.As(err, &ce) || kindOf(err) != "conflict" || len(ce.Conflicts) != 2 || ce.Conflicts[0].Path != a ||
		ce.Conflicts[0].CurrentVersion != 1 || ce.Conflicts[0].CommittedBy != alice.Email || ce.Conflicts[1].Path != b {
		t.Fatalf("conflict: %v %+v", err, ce)
	}
	if h, _ := s.Head(ctx, p); h != 1 {
		t.Fatalf("head after a refused check-in: %d", h)
	}
	// Missing content: 422 with the hashes.
	_, err = s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: bob,
		Changes: []catalog.ChangeRequest{{Op: "put", Path: "rules/functions/g", SHA256: sum([]byte("never uploaded"))}}})
	var me *catalog.MissingError
	if !errors.As(err, &me) || kindOf(err) != "unprocessable" || len(me.Hashes) != 1 {
		t.Fatalf("missing blob: %v", err)
	}
	// Update, delete, re-create.
	if res, err = s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: bob, Message: "second",
		Changes: []catalog.ChangeRequest{put(t, s, p, a, 1, `{"v":2}`), {Op: "delete", Path: b, BaseVersion: 1}}}); err != nil || res.Seq != 2 {
		t.Fatalf("second: %+v %v", res, err)
	}
	if _, err := s.Object(ctx, p, b); kindOf(err) != "not-found" {
		t.Fatalf("deleted object: %v", err)
	}
	if _, err = s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: bob,
		Changes: []catalog.ChangeRequest{{Op: "delete", Path: b, BaseVersion: 2}}}); kindOf(err) != "conflict" {
		t.Fatalf("deleting a deleted object: %v", err)
	}
	if res, err = s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice,
		Changes: []catalog.ChangeRequest{put(t, s, p, b, 0, `{"c":3}`)}}); err != nil || res.Objects[0].Version != 3 {
		t.Fatalf("re-create: %+v %v", res, err)
	}
	// Reads.
	o, err := s.Object(ctx, p, a)
	if err != nil || o.Version != 2 || o.Seq != 2 || o.CommittedBy != bob.Email || o.SHA256 != sum([]byte(`{"v":2}`)) {
		t.Fatalf("object: %+v %v", o, err)
	}
	o1, data, err := s.Content(ctx, p, a, 1)
	if err != nil || string(data) != `{"v":1}` || o1.Version != 1 {
		t.Fatalf("content v1: %q %v", data, err)
	}
	list, err := s.List(ctx, p, "applications", "", 0, nil)
	if err != nil || len(list.Items) != 1 || list.Items[0].Path != a || list.Head != 3 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if list, _ := s.List(ctx, p, "", "", 0, func(path string) bool { return path != a }); len(list.Items) != 1 || list.Items[0].Path != b {
		t.Fatalf("filtered list: %+v", list)
	}
	hist, err := s.History(ctx, p, b, "", 0)
	if err != nil || len(hist.Items) != 3 || !hist.Items[1].Deleted || hist.Items[2].Version != 3 {
		t.Fatalf("history: %+v %v", hist, err)
	}
	feed, err := s.Feed(ctx, p, catalog.Position{}, 0, nil)
	if err != nil || len(feed.Changes) != 5 || feed.Next != "3" || feed.Head != 3 || feed.Changes[3].Op != "delete" {
		t.Fatalf("feed: %+v %v", feed, err)
	}
	// Paging inside a commit: limit 1 walks 2 changes of commit 1 with a cursor.
	pg, _ := s.Feed(ctx, p, catalog.Position{}, 1, nil)
	if pg.Next != "0:1" || len(pg.Changes) != 1 {
		t.Fatalf("page 1: %+v", pg)
	}
	pos, _ := catalog.ParsePosition(pg.Next)
	pg, _ = s.Feed(ctx, p, pos, 1, nil)
	if pg.Next != "1" || pg.Changes[0].Path != b || pg.Changes[0].Seq != 1 {
		t.Fatalf("page 2: %+v", pg)
	}
	ch, head, err := s.Changes(ctx, p, 1, 1)
	if err != nil || head != 3 || len(ch) != 2 || ch[0].Seq != 2 || ch[1].Seq != 2 {
		t.Fatalf("Changes keeps commit 2 whole: %+v %v", ch, err)
	}
	c, err := s.Commit(ctx, p, 2, nil)
	if err != nil || c.Message != "second" || len(c.Changes) != 2 {
		t.Fatalf("commit 2: %+v %v", c, err)
	}
	if _, err := s.Commit(ctx, p, 4, nil); kindOf(err) != "not-found" {
		t.Fatalf("commit past head: %v", err)
	}
	// Blob checks.
	if _, err := s.PutBlob(ctx, p, sum([]byte("x")), []byte("y")); kindOf(err) != "invalid" {
		t.Fatalf("hash mismatch: %v", err)
	}
	miss, err := s.Missing(ctx, p, []string{sum([]byte(`{"v":1}`)), sum([]byte("nope"))})
	if err != nil || len(miss) != 1 || miss[0] != sum([]byte("nope")) {
		t.Fatalf("missing: %v %v", miss, err)
	}
	// A fresh instance (nothing cached) answers the same.
	if miss, _ := w.instance().Missing(ctx, p, []string{sum([]byte(`{"v":1}`))}); len(miss) != 0 {
		t.Fatalf("missing on a fresh instance: %v", miss)
	}
}

func TestValidation(t *testing.T) {
	w := newWorld(t)
	s := w.instance()
	ctx := context.Background()
	h := sum([]byte("x"))
	cases := []struct {
		name string
		cs   []catalog.ChangeRequest
		want string
	}{
		{"no changes", nil, "invalid"},
		{"bad path", []catalog.ChangeRequest{{Op: "put", Path: "nowhere/x", SHA256: h}}, "invalid"},
		{"bad op", []catalog.ChangeRequest{{Op: "move", Path: "rules/functions/x", SHA256: h}}, "invalid"},
		{"bad hash", []catalog.ChangeRequest{{Op: "put", Path: "rules/functions/x", SHA256: "abc"}}, "invalid"},
		{"twice", []catalog.ChangeRequest{{Op: "put", Path: "rules/functions/x", SHA256: h}, {Op: "put", Path: "rules/functions/x", SHA256: h}}, "invalid"},
		{"negative base", []catalog.ChangeRequest{{Op: "put", Path: "rules/functions/x", SHA256: h, BaseVersion: -1}}, "invalid"},
		{"10,001 changes", make([]catalog.ChangeRequest, catalog.MaxChanges+1), "too-large"},
	}
	for _, c := range cases {
		_, err := s.Checkin(ctx, catalog.CheckinRequest{Project: "p", Author: alice, Changes: c.cs})
		if kindOf(err) != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
}

// TestCommittedHook: the hook hears every acknowledged commit, and a hook
// that panics does not fail the check-in.
func TestCommittedHook(t *testing.T) {
	w := newWorld(t)
	s := w.instance()
	ctx := context.Background()
	var heard []int64
	s.Subscribe(catalog.CommittedFunc(func(_ context.Context, project string, seq int64) {
		heard = append(heard, seq)
		if seq == 2 {
			panic("a broken hook")
		}
	}))
	for i := int64(0); i < 3; i++ {
		if _, err := s.Checkin(ctx, catalog.CheckinRequest{Project: "hook", Author: alice,
			Changes: []catalog.ChangeRequest{put(t, s, "hook", "rules/functions/f", i, fmt.Sprint(i))}}); err != nil {
			t.Fatalf("check-in %d: %v", i+1, err)
		}
	}
	if fmt.Sprint(heard) != "[1 2 3]" {
		t.Fatalf("heard %v", heard)
	}
	// A refused check-in is not announced.
	_, _ = s.Checkin(ctx, catalog.CheckinRequest{Project: "hook", Author: alice,
		Changes: []catalog.ChangeRequest{put(t, s, "hook", "rules/functions/f", 0, "stale")}})
	if len(heard) != 3 {
		t.Fatalf("heard %v", heard)
	}
}
