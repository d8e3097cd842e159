package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/catalog"
)

var errCrash = errors.New("injected crash")

// checkSnapshot reads the feed and the listing on r and returns a problem
// when either shows part of a commit. Every commit of the crash test
// changes all of paths, so a consistent snapshot has every object at the
// listing's head, and every commit up to the feed's head has len(paths)
// changes, numbered 1..head without gaps.
func checkSnapshot(ctx context.Context, r *catalog.Service, project string, paths []string) error {
	list, err := r.List(ctx, project, "", "", 0, nil)
	if err != nil {
		return err
	}
	if list.Head > 0 {
		if len(list.Items) != len(paths) {
			return fmt.Errorf("head %d: listing has %d objects, want %d", list.Head, len(list.Items), len(paths))
		}
		for _, o := range list.Items {
			if o.Seq != list.Head || o.Version != list.Head {
				return fmt.Errorf("head %d: %s is at seq %d version %d: a half-visible commit", list.Head, o.Path, o.Seq, o.Version)
			}
		}
	}
	feed, err := r.Feed(ctx, project, catalog.Position{}, 0, nil)
	if err != nil {
		return err
	}
	per := map[int64]int{}
	for _, c := range feed.Changes {
		per[c.Seq]++
	}
	for seq := int64(1); seq <= feed.Head; seq++ {
		if per[seq] != len(paths) {
			return fmt.Errorf("feed head %d: commit %d has %d changes, want %d", feed.Head, seq, per[seq], len(paths))
		}
	}
	if len(per) != int(feed.Head) {
		return fmt.Errorf("feed head %d but %d commits in the feed", feed.Head, len(per))
	}
	return nil
}

// TestCrashAfterEachStep stops a check-in after each step of the protocol
// in turn, replaces the process by a fresh instance once the claim's lease
// is over, and checks that the commit either left no trace or was rolled
// forward, that a reader running throughout never saw part of a commit,
// and that the retry with the same key yields the same single commit.
func TestCrashAfterEachStep(t *testing.T) {
	paths := []string{"applications/a/processes/p", "entities/master/e", "rules/functions/f"}
	req := func(t *testing.T, s *catalog.Service, base int64, key string) catalog.CheckinRequest {
		in := catalog.CheckinRequest{Project: "crash", Author: alice, Key: key, Message: fmt.Sprintf("v%d", base+1)}
		for _, p := range paths {
			in.Changes = append(in.Changes, put(t, s, "crash", p, base, fmt.Sprintf("%s@%d", p, base+1)))
		}
		return in
	}
	for i, step := range catalog.Steps {
		t.Run(step, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			first := w.instance()
			if _, err := first.Checkin(ctx, req(t, first, 0, "")); err != nil {
				t.Fatal(err)
			}

			stop := make(chan struct{})
			var wg sync.WaitGroup
			var readerErr error
			reads := 0
			wg.Add(1)
			go func() { // a reader on its own instance, throughout
				defer wg.Done()
				r := w.instance()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := checkSnapshot(ctx, r, "crash", paths); err != nil {
						readerErr = err
						return
					}
					reads++
				}
			}()

			crashing := w.instance()
			crashing.Fault = func(s string) error {
				if s == step {
					return errCrash
				}
				return nil
			}
			if _, err := crashing.Checkin(ctx, req(t, crashing, 1, "k-2")); !errors.Is(err, errCrash) {
				t.Fatalf("the crashing check-in: %v", err)
			}
			claimed := i >= slices.Index(catalog.Steps, catalog.StepClaim)
			// Until the claimant's lease is over, readers see the old head
			// whatever rows the crashed instance wrote.
			fresh := w.instance()
			if err := checkSnapshot(ctx, fresh, "crash", paths); err != nil {
				t.Fatalf("right after the crash: %v", err)
			}
			if h, err := fresh.Head(ctx, "crash"); err != nil || (step != catalog.StepApplied && h != 1) {
				t.Fatalf("head during the lease: %d %v", h, err)
			}
			w.advance(3 * time.Minute)
			h, err := fresh.Head(ctx, "crash")
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int64{true: 2, false: 1}[claimed]; h != want {
				t.Fatalf("after the lease: head %d, want %d (claimed: %v)", h, want, claimed)
			}
			// The client retries with the same key: one commit, the same answer.
			res, err := fresh.Checkin(ctx, req(t, fresh, 1, "k-2"))
			if err != nil || res.Seq != 2 {
				t.Fatalf("retry: %+v %v", res, err)
			}
			if res, err := fresh.Checkin(ctx, req(t, fresh, 2, "k-3")); err != nil || res.Seq != 3 {
				t.Fatalf("next check-in: %+v %v", res, err)
			}
			close(stop)
			wg.Wait()
			if readerErr != nil {
				t.Fatalf("the reader saw: %v", readerErr)
			}
			if err := checkSnapshot(ctx, w.instance(), "crash", paths); err != nil {
				t.Fatal(err)
			}
			for _, p := range paths {
				hist, err := fresh.History(ctx, "crash", p, "", 0)
				if err != nil || len(hist.Items) != 3 {
					t.Fatalf("%s history: %+v %v", p, hist, err)
				}
			}
			t.Logf("%s: %d consistent reads during the crash and recovery", step, reads)
		})
	}
}
