package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Object is one catalog object at one version.
type Object struct {
	Path        string    `json:"path"`
	Kind        string    `json:"kind,omitempty"`
	Version     int64     `json:"version"`
	SHA256      string    `json:"sha256,omitempty"`
	Size        int64     `json:"size"`
	ContentType string    `json:"contentType,omitempty"`
	Seq         int64     `json:"seq"`
	CommittedBy string    `json:"committedBy"`
	CommittedAt time.Time `json:"committedAt"`
	Deleted     bool      `json:"deleted,omitempty"`
}

// Object rows hold the current state and, prefixed with P, the state
// before the commit that wrote it: a reader whose head is below the row's
// sequence (a commit being applied) reads the previous state from the same
// row, and only falls back to the history table if that is too new as well.
var stateProps = []string{"V", "Sha", "Size", "Kind", "CT", "Seq", "By", "At", "Del"}

func (o Object) props(prefix string, m map[string]any) {
	m[prefix+"V"] = o.Version
	m[prefix+"Sha"] = o.SHA256
	m[prefix+"Size"] = o.Size
	m[prefix+"Kind"] = o.Kind
	m[prefix+"CT"] = o.ContentType
	m[prefix+"Seq"] = o.Seq
	m[prefix+"By"] = o.CommittedBy
	m[prefix+"At"] = o.CommittedAt
	m[prefix+"Del"] = o.Deleted
}

func objectFrom(e store.Entity, prefix, path string) Object {
	return Object{Path: path, Version: e.Int64(prefix + "V"), SHA256: e.String(prefix + "Sha"), Size: e.Int64(prefix + "Size"),
		Kind: e.String(prefix + "Kind"), ContentType: e.String(prefix + "CT"), Seq: e.Int64(prefix + "Seq"),
		CommittedBy: e.String(prefix + "By"), CommittedAt: e.Time(prefix + "At"), Deleted: e.Bool(prefix + "Del")}
}

func objectRow(project string, cur, prev Object) store.Entity {
	m := map[string]any{"Path": cur.Path}
	cur.props("", m)
	if prev.Version > 0 {
		prev.props("P", m)
	}
	return store.Entity{PartitionKey: pk(project), RowKey: store.EncodeKey(cur.Path), Props: m}
}

func historyKey(path string, version int64) string {
	return fmt.Sprintf("%s~%010d", store.EncodeKey(path), version)
}

func historyRow(project string, o Object) store.Entity {
	m := map[string]any{"Path": o.Path}
	o.props("", m)
	return store.Entity{PartitionKey: pk(project), RowKey: historyKey(o.Path, o.Version), Props: m}
}

// at resolves an object row at head: the state visible to a reader whose
// applied head is head. ok=false: the object did not exist then;
// history=true: both states in the row are too new, ask the history.
func at(e store.Entity, head int64) (o Object, ok, history bool) {
	path := e.String("Path")
	if e.Int64("Seq") <= head {
		return objectFrom(e, "", path), true, false
	}
	pv := e.Int64("PV")
	if pv == 0 {
		return Object{}, false, false // created by a commit the reader does not see yet
	}
	if e.Int64("PSeq") <= head {
		return objectFrom(e, "P", path), true, false
	}
	return Object{}, false, true
}

// historyAt returns the latest version of path at or below head.
func (s *Service) historyAt(ctx context.Context, project, path string, head int64) (Object, bool, error) {
	es, err := s.t.History.QueryAll(ctx, store.And(store.Eq("PartitionKey", pk(project)),
		store.HasPrefix("RowKey", store.EncodeKey(path)+"~")), 0)
	if err != nil {
		return Object{}, false, fault.E("catalog.history", err)
	}
	var best Object
	found := false
	for _, e := range es {
		o := objectFrom(e, "", path)
		if o.Seq <= head && o.Version > best.Version {
			best, found = o, true
		}
	}
	return best, found, nil
}

// resolve turns object rows into the states visible at head (deleted ones
// included), asking the history where a row is too new.
func (s *Service) resolve(ctx context.Context, project string, rows []store.Entity, head int64) ([]Object, error) {
	out := make([]Object, 0, len(rows))
	for _, e := range rows {
		o, ok, hist := at(e, head)
		if hist {
			var err error
			if o, ok, err = s.historyAt(ctx, project, e.String("Path"), head); err != nil {
				return nil, err
			}
		}
		if ok {
			out = append(out, o)
		}
	}
	return out, nil
}

// rows reads the object rows of paths (absent ones are simply missing from
// the map). Paths close together in key order are read with one range
// query, scattered ones with point reads in parallel.
func (s *Service) rows(ctx context.Context, project string, paths []string) (map[string]store.Entity, error) {
	keys := make([]string, len(paths))
	for i, p := range paths {
		keys[i] = store.EncodeKey(p)
	}
	sort.Strings(keys)
	out := make(map[string]store.Entity, len(paths))
	var mu sync.Mutex
	var singles []string
	// Clusters: runs of keys sharing their first two segments.
	cluster := func(k string) string {
		parts := strings.SplitN(k, "!", 3)
		if len(parts) > 2 {
			parts = parts[:2]
		}
		return strings.Join(parts, "!")
	}
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && cluster(keys[j]) == cluster(keys[i]) {
			j++
		}
		if j-i < 8 {
			singles = append(singles, keys[i:j]...)
			i = j
			continue
		}
		want := make(map[string]bool, j-i)
		for _, k := range keys[i:j] {
			want[k] = true
		}
		es, err := s.t.Objects.QueryAll(ctx, store.And(store.Eq("PartitionKey", pk(project)),
			store.Ge("RowKey", keys[i]), store.Le("RowKey", keys[j-1])), 0)
		if err != nil {
			return nil, fault.E("catalog.rows", err)
		}
		for _, e := range es {
			if want[e.RowKey] {
				out[e.String("Path")] = e
			}
		}
		i = j
	}
	err := parallel(ctx, len(singles), 16, func(ctx context.Context, i int) error {
		e, err := s.t.Objects.Get(ctx, pk(project), singles[i])
		if fault.Is(err, fault.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		mu.Lock()
		out[e.String("Path")] = e
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, fault.E("catalog.rows", err)
	}
	return out, nil
}

// parallel runs fn(0..n-1) on at most width goroutines; the first error
// cancels the rest and is returned.
func parallel(ctx context.Context, n, width int, fn func(ctx context.Context, i int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int)
	)
	for w := 0; w < min(width, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
