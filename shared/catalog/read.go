package catalog

import (
	"context"
	"fmt"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

func notFound(op, path string) error {
	return fault.E(op, fault.NotFound, fault.Path(path), "no object at "+path)
}

// Object returns the current state of path at the applied head; a deleted
// object is NotFound.
func (s *Service) Object(ctx context.Context, project, path string) (Object, error) {
	o, err := s.ObjectAt(ctx, project, path, 0)
	if err == nil && o.Deleted {
		return Object{}, notFound("catalog.Object", path)
	}
	return o, err
}

// ObjectAt returns version v of path (0 = the current one, tombstones
// included), as long as it is at or below the applied head.
func (s *Service) ObjectAt(ctx context.Context, project, path string, v int64) (Object, error) {
	const op = "catalog.Object"
	head, err := s.Head(ctx, project)
	if err != nil {
		return Object{}, err
	}
	if v > 0 {
		e, err := s.t.History.Get(ctx, pk(project), historyKey(path, v))
		if fault.Is(err, fault.NotFound) {
			return Object{}, fault.E(op, fault.NotFound, fault.Path(path), fmt.Sprintf("%s has no version %d", path, v))
		}
		if err != nil {
			return Object{}, fault.E(op, err)
		}
		o := objectFrom(e, "", path)
		if o.Seq > head {
			return Object{}, fault.E(op, fault.NotFound, fault.Path(path), fmt.Sprintf("%s has no version %d", path, v))
		}
		return o, nil
	}
	e, err := s.t.Objects.Get(ctx, pk(project), store.EncodeKey(path))
	if fault.Is(err, fault.NotFound) {
		return Object{}, notFound(op, path)
	}
	if err != nil {
		return Object{}, fault.E(op, err)
	}
	objs, err := s.resolve(ctx, project, []store.Entity{e}, head)
	if err != nil {
		return Object{}, err
	}
	if len(objs) == 0 {
		return Object{}, notFound(op, path)
	}
	return objs[0], nil
}

// ObjectPage is a page of a listing.
type ObjectPage struct {
	Items []Object `json:"items"`
	Next  string   `json:"next,omitempty"`
	Head  int64    `json:"head"`
}

// List lists the live objects at or under prefix ("" = all) at the applied
// head, in path order, keeping those visible says the caller may see.
// A page reads at most limit rows; follow Next.
func (s *Service) List(ctx context.Context, project, prefix, cursor string, limit int, visible func(path string) bool) (ObjectPage, error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	head, err := s.Head(ctx, project)
	if err != nil {
		return ObjectPage{}, err
	}
	f := store.Eq("PartitionKey", pk(project))
	if prefix != "" {
		k := store.EncodeKey(prefix)
		f = store.And(f, store.Or(store.Eq("RowKey", k), store.HasPrefix("RowKey", k+"!")))
	}
	page, err := s.t.Objects.Query(ctx, f, store.QueryOptions{Top: int32(limit), Cursor: cursor})
	if err != nil {
		return ObjectPage{}, fault.E("catalog.List", err)
	}
	objs, err := s.resolve(ctx, project, page.Entities, head)
	if err != nil {
		return ObjectPage{}, err
	}
	out := ObjectPage{Items: []Object{}, Next: page.Next, Head: head}
	for _, o := range objs {
		if !o.Deleted && (visible == nil || visible(o.Path)) {
			out.Items = append(out.Items, o)
		}
	}
	return out, nil
}

// HistoryPage is a page of an object's versions, oldest first.
type HistoryPage struct {
	Items []Object `json:"items"`
	Next  string   `json:"next,omitempty"`
}

// History lists the versions of path at or below the applied head.
func (s *Service) History(ctx context.Context, project, path, cursor string, limit int) (HistoryPage, error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	head, err := s.Head(ctx, project)
	if err != nil {
		return HistoryPage{}, err
	}
	f := store.And(store.Eq("PartitionKey", pk(project)), store.HasPrefix("RowKey", store.EncodeKey(path)+"~"))
	// Azure may answer a page with no rows and a continuation token (a
	// partition boundary, a time-out: "Query timeout and pagination",
	// learn.microsoft.com/rest/api/storageservices/query-timeout-and-pagination);
	// only a page without a token is the end, so follow it.
	var page store.Page
	for next := cursor; ; {
		var err error
		page, err = s.t.History.Query(ctx, f, store.QueryOptions{Top: int32(limit), Cursor: next})
		if err != nil {
			return HistoryPage{}, fault.E("catalog.History", err)
		}
		if len(page.Entities) > 0 || page.Next == "" {
			break
		}
		next = page.Next
	}
	out := HistoryPage{Items: []Object{}, Next: page.Next}
	for _, e := range page.Entities {
		if o := objectFrom(e, "", path); o.Seq <= head {
			out.Items = append(out.Items, o)
		}
	}
	if len(out.Items) == 0 && cursor == "" {
		return HistoryPage{}, notFound("catalog.History", path)
	}
	return out, nil
}
