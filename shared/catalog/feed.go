package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Change is one entry of the change feed.
type Change struct {
	Seq         int64     `json:"seq"`
	Path        string    `json:"path"`
	Op          string    `json:"op"` // "put" | "delete"
	Version     int64     `json:"version"`
	SHA256      string    `json:"sha256,omitempty"`
	Kind        string    `json:"kind,omitempty"`
	Size        int64     `json:"size,omitempty"`
	ContentType string    `json:"contentType,omitempty"`
	CommittedBy string    `json:"committedBy"`
	CommittedAt time.Time `json:"committedAt"`
}

// A feed row holds at most feedChunk changes and feedChunkBytes of them as
// JSON: a 1,000-change page of short paths is one or two entities, and a
// commit of long paths and long content types is split by bytes, so every
// row fits the table service's limits whatever the check-in (issue 25: a
// count-only split made rows that storage refused after the claim).
const (
	feedChunk      = 1000
	feedChunkBytes = store.MaxChunkedBytes
)

func feedKey(seq int64, chunk int) string { return fmt.Sprintf("%019d-%04d", seq, chunk) }

// feedRows are the immutable feed rows of a commit: its metadata on every
// row, its changes split by count and bytes. The split depends on the
// record only, so every applier of a commit writes the same rows.
func feedRows(rec *record) ([]store.Entity, error) {
	type part struct{ first, n int }
	var parts []part
	var docs [][]byte
	var cur []byte
	start := 0
	for i, c := range rec.Changes {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fault.E("catalog.feedRows", fault.Internal, err)
		}
		if i > start && (i-start == feedChunk || len(cur)+1+len(b)+1 > feedChunkBytes) {
			docs, parts = append(docs, append(cur, ']')), append(parts, part{start, i - start})
			cur, start = nil, i
		}
		if cur == nil {
			cur = append(cur, '[')
		} else {
			cur = append(cur, ',')
		}
		cur = append(cur, b...)
	}
	if cur == nil {
		cur = append(cur, '[')
	}
	docs, parts = append(docs, append(cur, ']')), append(parts, part{start, len(rec.Changes) - start})
	out := make([]store.Entity, 0, len(parts))
	for i, pt := range parts {
		props := map[string]any{"Seq": rec.Seq, "Chunk": int32(i), "Chunks": int32(len(parts)), "First": int32(pt.first),
			"Count": int32(len(rec.Changes)), "By": rec.By, "At": rec.At, "Msg": rec.Message}
		if err := store.SetChunked(props, "Changes", docs[i]); err != nil {
			return nil, fault.E("catalog.feedRows", err)
		}
		out = append(out, store.Entity{PartitionKey: pk(rec.Project), RowKey: feedKey(rec.Seq, i), Props: props})
	}
	return out, nil
}

// Position is a place in the feed: after every change of commits up to Seq,
// plus the first Offset changes of commit Seq+1.
type Position struct {
	Seq    int64
	Offset int
}

// String is the cursor clients send back as since: "12", or "12:1000"
// inside a large commit.
func (p Position) String() string {
	if p.Offset == 0 {
		return strconv.FormatInt(p.Seq, 10)
	}
	return fmt.Sprintf("%d:%d", p.Seq, p.Offset)
}

// ParsePosition reads a since cursor ("" = the beginning).
func ParsePosition(s string) (Position, error) {
	if s == "" {
		return Position{}, nil
	}
	a, b, inside := strings.Cut(s, ":")
	seq, err := strconv.ParseInt(a, 10, 64)
	if err != nil || seq < 0 {
		return Position{}, fault.E("catalog.ParsePosition", fault.Invalid, "since is a sequence number or a cursor from next")
	}
	p := Position{Seq: seq}
	if inside {
		if p.Offset, err = strconv.Atoi(b); err != nil || p.Offset <= 0 {
			return Position{}, fault.E("catalog.ParsePosition", fault.Invalid, "since is a sequence number or a cursor from next")
		}
	}
	return p, nil
}

// scan reads raw feed changes from p up to head. whole=true stops only at a
// commit boundary once limit changes are read (so a commit is never split);
// whole=false stops at exactly limit changes.
func (s *Service) scan(ctx context.Context, project string, p Position, head int64, limit int, whole bool) ([]Change, Position, error) {
	out := []Change{}
	if p.Seq >= head {
		return out, p, nil
	}
	f := store.And(store.Eq("PartitionKey", pk(project)), store.Ge("RowKey", feedKey(p.Seq+1, 0)), store.Lt("RowKey", feedKey(head+1, 0)))
	lo, hi, n, err := s.rowsToRead(ctx, f, p, limit, whole)
	if err != nil {
		return out, p, err
	}
	if n == 0 { // p is below the head, so the row of commit p.Seq+1 should be there
		return nil, p, missingRows(p, head)
	}
	f = store.And(store.Eq("PartitionKey", pk(project)), store.Ge("RowKey", lo), store.Le("RowKey", hi))
	opt := store.QueryOptions{Top: int32(min(n, 1000))}
	start := p
	for {
		page, err := s.t.Feed.Query(ctx, f, opt)
		if err != nil {
			return nil, p, fault.E("catalog.feed", err)
		}
		for _, e := range page.Entities {
			seq, first, count := e.Int64("Seq"), int(e.Int64("First")), int(e.Int64("Count"))
			// Rows up to the head are gapless unless storage lost some
			// (a failover replicated the head before them): say so
			// rather than skip a commit.
			if seq > p.Seq+1 || (seq == p.Seq+1 && first > p.Offset) {
				return nil, p, missingRows(p, head)
			}
			var cs []recChange
			if err := json.Unmarshal(e.Chunked("Changes"), &cs); err != nil {
				return nil, p, fault.E("catalog.feed", fault.Internal, err)
			}
			by, at := e.String("By"), e.Time("At")
			for i, c := range cs {
				idx := first + i
				if seq == start.Seq+1 && idx < start.Offset {
					continue
				}
				if len(out) >= limit && (!whole || idx == 0) {
					return out, p, nil
				}
				out = append(out, Change{Seq: seq, Path: c.Path, Op: c.Op, Version: c.Version, SHA256: c.SHA256, Kind: c.Kind,
					Size: c.Size, ContentType: c.ContentType, CommittedBy: by, CommittedAt: at})
				if idx+1 == count {
					p = Position{Seq: seq}
				} else {
					p = Position{Seq: seq - 1, Offset: idx + 1}
				}
			}
		}
		if page.Next == "" {
			// The range ends early only when the page is full.
			if len(out) < limit && p.Seq < head {
				return nil, p, missingRows(p, head)
			}
			return out, p, nil
		}
		opt.Cursor = page.Next
	}
}

// missingRows reports feed rows absent below the head.
func missingRows(p Position, head int64) error {
	return fault.E("catalog.feed", fault.Internal, fmt.Sprintf(
		"the feed has no rows for commit %d although the head is %d: storage lost them (a failover?); an operator must reconcile the project",
		p.Seq+1, head))
}

// The metadata query's first page and its largest (the table service's
// own maximum).
const (
	firstMetaPage = 8
	maxMetaPage   = 1000
)

// rowsToRead finds, from the feed rows' metadata alone, the key range of
// the rows a scan from p needs: from the row holding p's next change to the
// row where limit changes are reached (at the end of a commit when whole).
// Reading every row of a large commit for each page would move megabytes a
// page: a commit of 10,000 long paths is 16 rows of 900 KB.
func (s *Service) rowsToRead(ctx context.Context, f store.Filter, p Position, limit int, whole bool) (lo, hi string, n int, err error) {
	type meta struct {
		key          string
		seq          int64
		first, count int
	}
	got := 0
	done := false
	// take counts row r, which ends at change end; it reports whether the
	// range is complete.
	take := func(r meta, end int) bool {
		from := r.first
		if r.seq == p.Seq+1 {
			from = max(from, p.Offset)
		}
		if end <= from {
			return false // wholly before p
		}
		if lo == "" {
			lo = r.key
		}
		hi, n, got = r.key, n+1, got+end-from
		return got >= limit && (!whole || end == r.count)
	}
	var prev *meta
	opt := store.QueryOptions{Select: []string{"RowKey", "Seq", "First", "Count"}}
	// The metadata pages grow with what the page still needs, not with
	// the history after it: a first page of a few rows (one row may hold
	// a thousand changes), then four times more each time, never more
	// rows than changes still missing (each row after p holds at least
	// one), so that a page its first row fills reads a handful of rows
	// whatever follows it (issue 23: 1,000 rows were read for one).
	top := min(firstMetaPage, limit+2)
	for !done {
		opt.Top = int32(top)
		page, err := s.t.Feed.Query(ctx, f, opt)
		if err != nil {
			return "", "", 0, fault.E("catalog.feed", err)
		}
		for _, e := range page.Entities {
			m := meta{key: e.RowKey, seq: e.Int64("Seq"), first: int(e.Int64("First")), count: int(e.Int64("Count"))}
			if prev != nil {
				end := prev.count
				if m.seq == prev.seq {
					end = m.first
				}
				if done = take(*prev, end); done {
					break
				}
			}
			prev = &m
		}
		if page.Next == "" {
			break
		}
		opt.Cursor = page.Next
		need := top * 4 // finishing a commit (whole): its rows, however many
		if got < limit {
			need = min(need, limit-got+2)
		}
		top = min(maxMetaPage, max(need, 2))
	}
	if !done && prev != nil {
		take(*prev, prev.count)
	}
	return lo, hi, n, nil
}

// Changes is the unfiltered feed for the service's own consumers
// (deployments): the changes of the commits after seq after, in sequence
// order, whole commits only (so limit may be exceeded to finish one), and
// the applied head.
func (s *Service) Changes(ctx context.Context, project string, after int64, limit int) ([]Change, int64, error) {
	head, err := s.Head(ctx, project)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = MaxPage
	}
	out, _, err := s.scan(ctx, project, Position{Seq: after}, head, limit, true)
	return out, head, err
}

// FeedPage is one page of a caller's feed.
type FeedPage struct {
	Changes []Change `json:"changes"`
	Next    string   `json:"next"`
	Head    int64    `json:"head"`
}

// Feed is the change feed from since, at most limit changes read (1..1,000),
// keeping those visible says the caller may see. Next is where the next
// page starts; the caller is up to date when Next equals Head.
func (s *Service) Feed(ctx context.Context, project string, since Position, limit int, visible func(path string) bool) (FeedPage, error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	head, err := s.Head(ctx, project)
	if err != nil {
		return FeedPage{}, err
	}
	if since.Seq > head {
		return FeedPage{}, fault.E("catalog.Feed", fault.Invalid, fmt.Sprintf("since %d is past the head (%d)", since.Seq, head))
	}
	raw, next, err := s.scan(ctx, project, since, head, limit, false)
	if err != nil {
		return FeedPage{}, err
	}
	out := raw[:0]
	for _, c := range raw {
		if visible == nil || visible(c.Path) {
			out = append(out, c)
		}
	}
	return FeedPage{Changes: out, Next: next.String(), Head: head}, nil
}

// Commit is one commit with its changes.
type Commit struct {
	Seq         int64     `json:"seq"`
	CommittedBy string    `json:"committedBy"`
	CommittedAt time.Time `json:"committedAt"`
	Message     string    `json:"message"`
	Changes     []Change  `json:"changes"`
	// Hidden counts the commit's changes the reader may not see (named
	// nowhere): a Revert of the commit would touch them too.
	Hidden int `json:"hidden,omitempty"`
}

// Commit returns commit seq (NotFound past the head), its changes filtered
// by visible.
func (s *Service) Commit(ctx context.Context, project string, seq int64, visible func(path string) bool) (Commit, error) {
	head, err := s.Head(ctx, project)
	if err != nil {
		return Commit{}, err
	}
	if seq < 1 || seq > head {
		return Commit{}, fault.E("catalog.Commit", fault.NotFound, fmt.Sprintf("no commit %d (the head is %d)", seq, head))
	}
	es, err := s.t.Feed.QueryAll(ctx, store.And(store.Eq("PartitionKey", pk(project)),
		store.Ge("RowKey", feedKey(seq, 0)), store.Lt("RowKey", feedKey(seq+1, 0))), 0)
	if err != nil {
		return Commit{}, fault.E("catalog.Commit", err)
	}
	if len(es) == 0 {
		return Commit{}, fault.E("catalog.Commit", fault.Internal, fmt.Sprintf("commit %d has no feed rows", seq))
	}
	c := Commit{Seq: seq, CommittedBy: es[0].String("By"), CommittedAt: es[0].Time("At"), Message: es[0].String("Msg"), Changes: []Change{}}
	for _, e := range es {
		var cs []recChange
		if err := json.Unmarshal(e.Chunked("Changes"), &cs); err != nil {
			return Commit{}, fault.E("catalog.Commit", fault.Internal, err)
		}
		for _, x := range cs {
			if visible == nil || visible(x.Path) {
				c.Changes = append(c.Changes, Change{Seq: seq, Path: x.Path, Op: x.Op, Version: x.Version, SHA256: x.SHA256,
					Kind: x.Kind, Size: x.Size, ContentType: x.ContentType, CommittedBy: c.CommittedBy, CommittedAt: c.CommittedAt})
			} else {
				c.Hidden++
			}
		}
	}
	return c, nil
}
