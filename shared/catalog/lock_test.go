package catalog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/catalog"
)

func TestLocks(t *testing.T) {
	w := newWorld(t)
	s := w.instance()
	ctx := context.Background()
	const p = "locks"
	l, err := s.Lock(ctx, p, alice, "applications/claims/processes/intake", time.Minute)
	if err != nil || l.Holder != alice.Email || l.ID == "" {
		t.Fatalf("lock: %+v %v", l, err)
	}
	cases := []struct {
		name string
		who  catalog.Author
		path string
		want string
	}{
		{"the same path, someone else", bob, "applications/claims/processes/intake", "locked"},
		{"an ancestor", bob, "applications/claims", "locked"},
		{"a descendant", bob, "applications/claims/processes/intake/forms/f", "locked"},
		{"a sibling", bob, "applications/claims/processes/payouts", ""},
		{"a prefix that is not an ancestor", bob, "applications/claims/processes/intake2", ""},
		{"the holder again (renews)", alice, "applications/claims/processes/intake", ""},
		{"the holder, a descendant", alice, "applications/claims/processes/intake/forms/g", ""},
	}
	for _, c := range cases {
		_, err := s.Lock(ctx, p, c.who, c.path, time.Minute)
		if got := map[bool]string{true: "", false: kindOf(err)}[err == nil]; got != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		var le *catalog.LockedError
		if c.want == "locked" && (!errors.As(err, &le) || le.Locked[0].Holder != alice.Email) {
			t.Errorf("%s: the answer does not name the holder: %v", c.name, err)
		}
	}
	// A check-in under alice's lock is refused for bob, allowed for alice.
	_, err = s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: bob,
		Changes: []catalog.ChangeRequest{put(t, s, p, "applications/claims/processes/intake/forms/x", 0, "x")}})
	var le *catalog.LockedError
	if !errors.As(err, &le) || kindOf(err) != "locked" || le.Locked[0].Path != "applications/claims/processes/intake/forms/x" {
		t.Fatalf("check-in under a lock: %v", err)
	}
	if _, err := s.Checkin(ctx, catalog.CheckinRequest{Project: p, Author: alice,
		Changes: []catalog.ChangeRequest{put(t, s, p, "applications/claims/processes/intake/forms/x", 0, "x")}}); err != nil {
		t.Fatalf("the holder's check-in: %v", err)
	}
	// Renew and release: holder only, or whoever may force.
	if _, err := s.Renew(ctx, p, bob, l.ID, time.Minute); kindOf(err) != "forbidden" {
		t.Fatalf("bob renews alice's lock: %v", err)
	}
	if r, err := s.Renew(ctx, p, alice, l.ID, 10*time.Minute); err != nil || !r.ExpiresAt.After(l.ExpiresAt) {
		t.Fatalf("renew: %+v %v", r, err)
	}
	if err := s.Unlock(ctx, p, bob, l.ID, func(string) bool { return false }); kindOf(err) != "forbidden" {
		t.Fatalf("bob unlocks: %v", err)
	}
	list, _ := s.Locks(ctx, p, "applications/claims", nil)
	if len(list) != 4 { // intake, intake/forms/g, intake2, payouts
		t.Fatalf("locks: %+v", list)
	}
	if err := s.Unlock(ctx, p, bob, l.ID, func(string) bool { return true }); err != nil {
		t.Fatalf("forced unlock: %v", err)
	}
	// Expired locks stop counting at once, before any sweep.
	w.advance(11 * time.Minute)
	if _, err := s.Lock(ctx, p, bob, "applications/claims", time.Minute); err != nil {
		t.Fatalf("lock over expired ones: %v", err)
	}
	w.advance(2 * time.Minute)
	if list, _ := s.Locks(ctx, p, "", nil); len(list) != 0 {
		t.Fatalf("expired locks listed: %+v", list)
	}
	n, err := s.SweepLocks(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, err := s.Renew(ctx, p, bob, l.ID, time.Minute); kindOf(err) != "not-found" {
		t.Fatalf("renew a released lock: %v", err)
	}
	if _, err := s.Lock(ctx, p, bob, "applications/x", 8*24*time.Hour); kindOf(err) != "invalid" {
		t.Fatalf("ttl over the limit: %v", err)
	}
}

// TestConcurrentLocks: of many users locking overlapping paths at once,
// exactly one wins.
func TestConcurrentLocks(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	paths := []string{"applications/a", "applications/a/processes/p", "applications/a/processes/p/forms/f"}
	errs := make(chan error, 12)
	for i := 0; i < 12; i++ {
		go func() {
			s := w.instance()
			who := catalog.Author{ID: string(rune('a' + i)), Email: string(rune('a'+i)) + "@example.com"}
			_, err := s.Lock(ctx, "race", who, paths[i%3], time.Minute)
			errs <- err
		}()
	}
	won := 0
	for i := 0; i < 12; i++ {
		err := <-errs
		switch {
		case err == nil:
			won++
		case kindOf(err) != "locked":
			t.Errorf("unexpected: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d winners", won)
	}
}
