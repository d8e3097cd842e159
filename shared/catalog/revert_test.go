package catalog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/catalog/diff"
	"github.com/studio-collab/collab/shared/fault"
)

// commitAll checks in changes as alice and returns the new seq.
func commitAll(t *testing.T, s *catalog.Service, p, msg string, cs ...catalog.ChangeRequest) int64 {
	t.Helper()
	res, err := s.Checkin(context.Background(), catalog.CheckinRequest{Project: p, Author: alice, Message: msg, Changes: cs})
	if err != nil {
		t.Fatalf("%s: %v", msg, err)
	}
	return res.Seq
}

func contentAt(t *testing.T, s *catalog.Service, p, path string) string {
	t.Helper()
	_, b, err := s.Content(context.Background(), p, path, 0)
	if fault.Is(err, fault.NotFound) {
		return "<absent>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func del(path string, base int64) catalog.ChangeRequest {
	return catalog.ChangeRequest{Op: "delete", Path: path, BaseVersion: base}
}

const (
	pa = "applications/claims/processes/intake.json"
	pb = "entities/master/customer.json"
	pc = "rules/functions/total.txt"
)

// TestRevert: each row sets up commits, reverts one, and says what the
// objects hold afterwards (or which error kind refuses the revert).
func TestRevert(t *testing.T) {
	all := catalog.Access{View: func(string) bool { return true }, Modify: func(string) bool { return true }}
	cases := []struct {
		name  string
		setup func(t *testing.T, s *catalog.Service, p string) int64 // returns the commit to revert
		force bool
		acc   catalog.Access
		err   fault.Kind
		list  []string // the paths the error lists
		want  map[string]string
	}{
		{name: "a put goes back to the version before it",
			setup: func(t *testing.T, s *catalog.Service, p string) int64 {
				commitAll(t, s, p, "one", put(t, s, p, pa, 0, `{"a":1}`))
				return commitAll(t, s, p, "two", put(t, s, p, pa, 1, `{"a":2}`))
			}, want: map[string]string{pa: `{"a":1}`}},
		{name: "an added object is deleted, a deleted one comes back",
			setup: func(t *testing.T, s *catalog.Service, p string) int64 {
				commitAll(t, s, p, "one", put(t, s, p, pa, 0, `{"a":1}`))
				return commitAll(t, s, p, "two", del(pa, 1), put(t, s, p, pb, 0, `{"b":1}`))
			}, want: map[string]string{pa: `{"a":1}`, pb: "<absent>"}},
		{name: "a later commit refuses it, listing the path",
			setup: func(t *testing.T, s *catalog.Service, p string) int64 {
				commitAll(t, s, p, "one", put(t, s, p, pa, 0, `{"a":1,"b":1}`), put(t, s, p, pc, 0, "x\n"))
				n := commitAll(t, s, p, "two", put(t, s, p, pa, 1, `{"a":2,"b":1}`), put(t, s, p, pc, 1, "y\n"))
				commitAll(t, s, p, "three", put(t, s, p, pa, 2, `{"a":2,"b":2}`))
				return n
			}, err: fault.Conflict, list: []string{pa}, want: map[string]string{pa: `{"a":2,"b":2}`, pc: "y\n"}},
		{name: "force merges the later commit key by key",
			setup: func(t *testing.T, s *catalog.Service, p string) int64 {
				commitAll(t, s, p, "one", put(t, s, p, pa, 0, `{"a":1,"b":1}`), put(t, s, p, pc, 0, "x\n"))
				n := commitAll(t, s, p, "two", put(t, s, p, pa, 1, `{"a":2,"b":1}`), put(t, s, p, pc, 1, "y\n"))
				commitAll(t, s, p, "three", put(t, s, p, pa, 2, `{"a":2,"b":2}`))
				return n
			}, force: true, want: map[string]string{pa: `{"a":1,"b":2}`, pc: "x\n"}},
		{name: "force still refuses what cannot merge, and reverts nothing",
			setup: func(t *testing.T, s *catalog.Service, p string) int64 {
				commitAll(t, s, p, "one", put(t, s, p, pa, 0, `{"a":1}`), put(t, s, p, pc, 0, "x\n"))
				n := commitAll(t, s, p, "two", put(t, s, p, pa, 1, `{"a":2}`), put(t, s, p, pc, 1, "y\n"))
				commitAll(t, s, p, "three", put(t, s, p, pa, 2, `{"a":3}`))
				return n
			}, force: true, err: fault.Conflict, list: []string{pa}, want: map[string]string{pa: `{"a":3}`, pc: "y\n"}},
		{name: "force: deleted since and modified by the revert cannot merge",
			setup: func(t *testing.T, s *catalog.Service, p string) int64 {
				commitAll(t, s, p, "one", put(t, s, p, pa, 0, `{"a":1}`))
				n := commitAll(t, s, p, "two", put(t, s, p, pa, 1, `{"a":2}`))
				commitAll(t, s, p, "three", del(pa, 2))
				return n
			}, force: true, err: fault.Conflict, list: []string{pa}, want: map[string]string{pa: "<absent>"}},
		{name: "a path the caller may not modify refuses the whole revert",
			setup: func(t *testing.T, s *catalog.Service, p string) int64 {
				commitAll(t, s, p, "one", put(t, s, p, pa, 0, `{"a":1}`), put(t, s, p, pb, 0, `{"b":1}`))
				return commitAll(t, s, p, "two", put(t, s, p, pa, 1, `{"a":2}`), put(t, s, p, pb, 1, `{"b":2}`))
			}, acc: catalog.Access{View: func(string) bool { return true }, Modify: func(path string) bool { return path != pb }},
			err: fault.Forbidden, list: []string{pb}, want: map[string]string{pa: `{"a":2}`, pb: `{"b":2}`}},
		{name: "a hidden path is counted, not named",
			setup: func(t *testing.T, s *catalog.Service, p string) int64 {
				return commitAll(t, s, p, "one", put(t, s, p, pa, 0, `{"a":1}`), put(t, s, p, pb, 0, `{"b":1}`))
			}, acc: catalog.Access{View: func(path string) bool { return path != pa }, Modify: func(path string) bool { return path != pa }},
			err: fault.Forbidden, list: []string{"(1 path(s) you cannot see)"}, want: map[string]string{pb: `{"b":1}`}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			s := w.instance()
			p := "rev" + string(rune('a'+i))
			seq := c.setup(t, s, p)
			acc := c.acc
			if acc.Modify == nil {
				acc = all
			}
			res, err := s.Revert(context.Background(), catalog.RevertRequest{Project: p, Author: bob, Seq: seq, Force: c.force, Access: acc, Key: "k1"})
			if c.err != 0 {
				if fault.KindOf(err) != c.err {
					t.Fatalf("err %v, want %s", err, c.err)
				}
				var got []string
				var ce *catalog.ConflictError
				var fe *catalog.ForbiddenError
				switch {
				case errors.As(err, &ce):
					for _, x := range ce.Conflicts {
						got = append(got, x.Path)
					}
				case errors.As(err, &fe):
					got = fe.Paths
				}
				if len(got) != len(c.list) || (len(got) > 0 && got[0] != c.list[0]) {
					t.Fatalf("listed %v, want %v", got, c.list)
				}
			} else if err != nil || res.Undoes != seq {
				t.Fatalf("revert: %+v %v", res, err)
			}
			for path, want := range c.want {
				if got := contentAt(t, s, p, path); got != want {
					t.Fatalf("%s holds %s, want %s", path, got, want)
				}
			}
		})
	}
}

func TestRevertLockedIdempotentAudited(t *testing.T) {
	w := newWorld(t)
	s := w.instance()
	ctx := context.Background()
	const p = "revlock"
	var audited []catalog.Undo
	s.AuditWith(catalog.UndoneFunc(func(_ context.Context, project string, who catalog.Author, u catalog.Undo) error {
		if project != p || who != bob {
			t.Errorf("audited %s %v", project, who)
		}
		audited = append(audited, u)
		return nil
	}))
	all := catalog.Access{View: func(string) bool { return true }, Modify: func(string) bool { return true }}
	commitAll(t, s, p, "one", put(t, s, p, pa, 0, `{"a":1}`))
	two := commitAll(t, s, p, "two", put(t, s, p, pa, 1, `{"a":2}`))

	l, err := s.Lock(ctx, p, alice, "applications/claims", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Revert(ctx, catalog.RevertRequest{Project: p, Author: bob, Seq: two, Access: all, Key: "k"})
	var le *catalog.LockedError
	if fault.KindOf(err) != fault.Locked || !errors.As(err, &le) || le.Locked[0].Path != pa {
		t.Fatalf("under alice's lock: %v", err)
	}
	if err := s.Unlock(ctx, p, alice, l.ID, nil); err != nil {
		t.Fatal(err)
	}
	first, err := s.Revert(ctx, catalog.RevertRequest{Project: p, Author: bob, Seq: two, Access: all, Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Revert(ctx, catalog.RevertRequest{Project: p, Author: bob, Seq: two, Access: all, Key: "k"})
	if err != nil || again.Seq != first.Seq {
		t.Fatalf("retry with the same key: %+v %v, first %d", again, err, first.Seq)
	}
	if h, _ := s.Head(ctx, p); h != first.Seq {
		t.Fatalf("head %d after a retried revert, want %d", h, first.Seq)
	}
	cm, err := s.Commit(ctx, p, first.Seq, nil)
	if err != nil || cm.Message != "Revert commit 2: two" || cm.CommittedBy != bob.Email {
		t.Fatalf("the revert commit: %+v %v", cm, err)
	}
	// A second revert with a new key finds nothing left to undo.
	if _, err := s.Revert(ctx, catalog.RevertRequest{Project: p, Author: bob, Seq: two, Access: all, Key: "k2"}); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("reverting twice: %v", err)
	}
	if len(audited) < 1 || audited[0].Action != "catalog.revert" || audited[0].Undoes != two || audited[0].Seq != first.Seq {
		t.Fatalf("audit %+v", audited)
	}
	// The revert of the revert is a redo.
	if _, err := s.Revert(ctx, catalog.RevertRequest{Project: p, Author: bob, Seq: first.Seq, Access: all}); err != nil {
		t.Fatal(err)
	}
	if got := contentAt(t, s, p, pa); got != `{"a":2}` {
		t.Fatalf("after reverting the revert: %s", got)
	}
}

func TestRestoreAndDiff(t *testing.T) {
	w := newWorld(t)
	s := w.instance()
	ctx := context.Background()
	const p = "restore"
	var audited []catalog.Undo
	s.AuditWith(catalog.UndoneFunc(func(_ context.Context, _ string, _ catalog.Author, u catalog.Undo) error {
		audited = append(audited, u)
		return nil
	}))
	all := catalog.Access{View: func(string) bool { return true }, Modify: func(string) bool { return true }}
	commitAll(t, s, p, "one", put(t, s, p, pa, 0, `{"a":1,"b":[1,2]}`), put(t, s, p, pc, 0, "x\ny\n"))
	two := commitAll(t, s, p, "two", put(t, s, p, pa, 1, `{"b":[2,1],"a":1,"c":"ñ"}`), put(t, s, p, pc, 1, "x\nz\n"))
	commitAll(t, s, p, "three", del(pc, 2))

	d, err := s.Diff(ctx, p, pa, catalog.Ref{}, catalog.Ref{})
	if err != nil || d.Diff.Kind != diff.KindJSON || len(d.Diff.Keys) != 2 || d.Diff.Keys[0].Key != "/b" || d.Diff.Keys[1].Key != "/c" {
		t.Fatalf("diff of the current version: %+v %v", d, err)
	}
	d, err = s.Diff(ctx, p, pc, catalog.Ref{Commit: 1}, catalog.Ref{Commit: two})
	if err != nil || d.Diff.Kind != diff.KindText || d.Diff.Added != 1 || d.Diff.Removed != 1 {
		t.Fatalf("diff between commits: %+v %v", d, err)
	}
	cd, err := s.CommitDiff(ctx, p, two, func(path string) bool { return path != pc })
	if err != nil || len(cd.Files) != 1 || cd.Files[0].Path != pa || cd.Message != "two" || cd.Hidden != 1 {
		t.Fatalf("commit diff filtered: %+v %v", cd, err)
	}
	if _, err := catalog.ParseRef("x1"); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("ParseRef: %v", err)
	}

	res, err := s.Restore(ctx, catalog.RestoreRequest{Project: p, Author: bob, Path: pc, Version: 1, Access: all, Key: "r"})
	if err != nil || contentAt(t, s, p, pc) != "x\ny\n" {
		t.Fatalf("restore: %+v %v", res, err)
	}
	if _, err := s.Restore(ctx, catalog.RestoreRequest{Project: p, Author: bob, Path: pc, Version: 1, Access: all, Key: "r2"}); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("restoring what is there: %v", err)
	}
	no := catalog.Access{View: func(string) bool { return true }, Modify: func(string) bool { return false }}
	if _, err := s.Restore(ctx, catalog.RestoreRequest{Project: p, Author: bob, Path: pa, Version: 1, Access: no}); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("restore without modify: %v", err)
	}
	if len(audited) != 1 || audited[0].Action != "catalog.restore" || audited[0].Version != 1 || audited[0].Undoes != 3 {
		t.Fatalf("audit %+v", audited)
	}
}
