package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/store"
)

// azureEpoch is the earliest Edm.DateTime Azure accepts (Azurite does not
// check it).
var azureEpoch = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// snapshot maps every row of the catalog's tables to its ETag, and fails
// on a time Azure would refuse.
func snapshot(t *testing.T, s *Service) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, tb := range map[string]store.Table{"heads": s.t.Heads, "objects": s.t.Objects, "history": s.t.History,
		"feed": s.t.Feed, "keys": s.t.Keys} {
		es, err := tb.QueryAll(context.Background(), store.Filter{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			out[name+"/"+e.PartitionKey+"/"+e.RowKey] = e.ETag
			for k, v := range e.Props {
				if tm, ok := v.(time.Time); ok && tm.Before(azureEpoch) {
					t.Errorf("%s/%s: %s is %v, before what Azure accepts", name, e.RowKey, k, tm)
				}
			}
		}
	}
	return out
}

// TestReplayWritesNothing: applying a commit again once it and a later
// commit are applied (a zombie waking up at any step, or a second
// applier) changes no row at all, whether the replay starts from the rows
// as they were before the commit (what a frozen claimant holds) or reads
// them afresh (what a taker does): every row keeps its ETag.
func TestReplayWritesNothing(t *testing.T) {
	s, _ := benchService(t)
	ctx := context.Background()
	who := Author{ID: "u", Email: "u@example.com"}
	content := []byte("x")
	if _, err := s.PutBlob(ctx, "replay", sumHex(content), content); err != nil {
		t.Fatal(err)
	}
	change := func(path string, base int64) ChangeRequest {
		return ChangeRequest{Op: OpPut, Path: path, BaseVersion: base, SHA256: sumHex(content), Size: 1}
	}
	paths := []string{"applications/a/processes/p", "entities/master/e"}
	for i := range 12 { // enough rows in one cluster for a range read
		paths = append(paths, fmt.Sprintf("rules/functions/f%02d", i))
	}
	mk := func(base int64) []ChangeRequest {
		cs := make([]ChangeRequest, len(paths))
		for i, p := range paths {
			cs[i] = change(p, base)
		}
		return cs
	}
	if _, err := s.Checkin(ctx, CheckinRequest{Project: "replay", Author: who, Changes: mk(0)[:1]}); err != nil {
		t.Fatal(err)
	}
	stale, err := s.readHead(ctx, "replay")
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.rows(ctx, "replay", paths) // what a claimant of commit 2 holds
	if err != nil {
		t.Fatal(err)
	}
	cs := mk(0)
	cs[0].BaseVersion = 1
	if _, err := s.Checkin(ctx, CheckinRequest{Project: "replay", Author: who, Key: "k2", Changes: cs}); err != nil {
		t.Fatal(err)
	}
	cs = mk(1)
	cs[0].BaseVersion = 2
	if _, err := s.Checkin(ctx, CheckinRequest{Project: "replay", Author: who, Key: "k3", Changes: cs}); err != nil {
		t.Fatal(err)
	}
	key, err := s.t.Keys.Get(ctx, pk("replay"), "k2")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.loadRecord(ctx, key.String("Record"))
	if err != nil || rec.Seq != 2 {
		t.Fatalf("record of commit 2: %+v %v", rec, err)
	}
	want := snapshot(t, s)
	for name, known := range map[string]map[string]store.Entity{"from the rows before the commit": before, "reading the rows": nil} {
		t.Run(name, func(t *testing.T) {
			zombie := head{Claimed: 2, Applied: 1, Pending: key.String("Record"), LeaseUntil: time.Now().Add(time.Hour), ETag: stale.ETag}
			if err := s.apply(ctx, zombie, rec, maps.Clone(known)); err != nil {
				t.Fatalf("replay: %v", err)
			}
			got := snapshot(t, s)
			for k, etag := range want {
				if got[k] != etag {
					t.Errorf("%s was rewritten by the replay", k)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d rows after the replay, %d before", len(got), len(want))
			}
		})
	}
}

func sumHex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
