package devfeed

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

// TestAppendIsGapless: writers appending at once get 1..n, each commit
// whole, read back in order and in pages.
func TestAppendIsGapless(t *testing.T) {
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: fmt.Sprintf("feed%d", time.Now().UnixNano()%1e9)}) // fresh per run, so -count=N repeats cleanly
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(t.Context(), Layout); err != nil {
		t.Fatal(err)
	}
	f := &Feed{T: acct.Table("devchanges")}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Append(t.Context(), "claims", "bob@example.com", []deploy.Change{{Path: fmt.Sprintf("a/%d/x", i)}, {Path: fmt.Sprintf("a/%d/y", i), Op: deploy.OpDelete}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	all, head, err := f.Changes(t.Context(), "claims", 0, 0)
	if err != nil || head != 8 || len(all) != 16 {
		t.Fatalf("%d changes, head %d, %v", len(all), head, err)
	}
	for i, c := range all {
		if c.Seq != int64(i/2+1) || c.CommittedBy != "bob@example.com" {
			t.Fatalf("change %d: %+v", i, c)
		}
	}
	page, _, _ := f.Changes(t.Context(), "claims", 5, 3)
	if len(page) != 3 || page[0].Seq != 6 || page[2].Seq != 7 {
		t.Fatalf("page after 5: %+v", page)
	}
	if _, err := f.Append(t.Context(), "claims", "bob", []deploy.Change{{Path: "a", Op: "patch"}}); err == nil {
		t.Fatal("op patch accepted")
	}
	if none, head, _ := f.Changes(t.Context(), "other", 0, 10); len(none) != 0 || head != 0 {
		t.Fatalf("another project: %v %d", none, head)
	}
}
