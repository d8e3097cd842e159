package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Content storage (docs/catalog.md, "Transfer"). Azurite, like a storage
// account, serves about a thousand requests a second whatever the
// concurrency, so one request per content blob (or per index row) makes a
// 10,000-file clone or push cost 10,000 requests. Content uploaded in a pack
// is therefore stored as one pack blob, p/<project>/<sha256 of the pack>, the
// contents back to back, plus ONE index row in catalogblobs,
// (project, "pack-<sha256>"), listing each content's hash, offset and size.
// A lone upload (PUT blobs/{sha256}) stays the blob c/<project>/<sha256>,
// with a row (project, <sha256>) of its own. Content from before the index
// has neither: reads fall back to c/<project>/<sha256> (the compatibility
// rule).
//
// Crash safety: the pack blob is written (create-only, content-addressed)
// before its index row, so a row never names a pack that is not there; a
// crash in between leaves an orphan pack and the client, told the content
// is still missing, uploads it again. Rows are insert-only: a pack's index
// never changes, which is also why each instance may cache the pack indexes
// it has read (packIndexes) and only read packs it has not seen.

func packName(project, sum string) string { return "p/" + pk(project) + "/" + sum }

// location is where a content's bytes are: in pack Pack at Offset, Size
// bytes, or (Pack "") the lone blob c/<project>/<sha256>.
type location struct {
	Pack         string
	Offset, Size int64
}

func indexRow(project, sum string, l location) store.Entity {
	return store.Entity{PartitionKey: pk(project), RowKey: sum, Props: map[string]any{"Pack": l.Pack, "Offset": l.Offset, "Size": l.Size}}
}

// packRowPrefix starts the row key of a pack's index row; it sorts after
// every hex digit, so ranges of content hashes never meet pack rows.
const packRowPrefix = "pack-"

// packEntry is one content of a pack index: its SHA-256, offset and size.
const packEntry = sha256.Size + 8 + 8

func encodePackIndex(sums []string, locs []location) []byte {
	b := make([]byte, 0, len(sums)*packEntry)
	for i, h := range sums {
		raw, _ := hex.DecodeString(h)
		b = append(b, raw...)
		b = binary.BigEndian.AppendUint64(b, uint64(locs[i].Offset))
		b = binary.BigEndian.AppendUint64(b, uint64(locs[i].Size))
	}
	return b
}

// packIndexes caches, per project, the pack indexes an instance has read:
// rows never change, so only packs not seen yet are read.
type packIndexes struct {
	mu   sync.Mutex
	seen map[string]bool     // pack row keys read
	loc  map[string]location // content hash -> where
}

func (s *Service) packsOf(project string) *packIndexes {
	v, _ := s.packs.LoadOrStore(project, &packIndexes{seen: map[string]bool{}, loc: map[string]location{}})
	return v.(*packIndexes)
}

// refreshPacks reads the pack index rows of project this instance has not
// seen: one query for the row keys, then one read per new pack.
func (s *Service) refreshPacks(ctx context.Context, project string) (*packIndexes, error) {
	pi := s.packsOf(project)
	pi.mu.Lock()
	defer pi.mu.Unlock()
	f := store.And(store.Eq("PartitionKey", pk(project)), store.Ge("RowKey", packRowPrefix), store.Lt("RowKey", "pack."))
	opt := store.QueryOptions{Select: []string{"RowKey"}}
	var fresh []string
	for {
		page, err := s.t.Index.Query(ctx, f, opt)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Entities {
			if !pi.seen[e.RowKey] {
				fresh = append(fresh, e.RowKey)
			}
		}
		if page.Next == "" {
			break
		}
		opt.Cursor = page.Next
	}
	rows := make([]store.Entity, len(fresh))
	err := parallel(ctx, len(fresh), pointWidth, func(ctx context.Context, i int) error {
		var err error
		rows[i], err = s.t.Index.Get(ctx, pk(project), fresh[i])
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, e := range rows {
		b, pack := e.Chunked("Index"), e.String("Pack")
		if len(b)%packEntry != 0 {
			return nil, fault.E("catalog.refreshPacks", fault.Internal, fmt.Sprintf("pack index %s is %d bytes", e.RowKey, len(b)))
		}
		for ; len(b) > 0; b = b[packEntry:] {
			h := hex.EncodeToString(b[:sha256.Size])
			if _, dup := pi.loc[h]; !dup { // the first pack to hold it is where it stays
				pi.loc[h] = location{Pack: pack, Offset: int64(binary.BigEndian.Uint64(b[32:40])), Size: int64(binary.BigEndian.Uint64(b[40:48]))}
			}
		}
		pi.seen[e.RowKey] = true
	}
	return pi, nil
}

// pointLookups is the most hashes looked up as lone uploads with one point
// read each; more are looked up with one ranged query over the project's
// lone rows (1,000 a page).
const pointLookups = 100

// locate returns where sums are stored (absent: neither in a pack nor a
// lone upload with a row).
func (s *Service) locate(ctx context.Context, project string, sums []string) (map[string]location, error) {
	out := make(map[string]location, len(sums))
	if len(sums) == 0 {
		return out, nil
	}
	pi, err := s.refreshPacks(ctx, project)
	if err != nil {
		return nil, err
	}
	var rest []string
	pi.mu.Lock()
	for _, h := range sums {
		if l, ok := pi.loc[h]; ok {
			out[h] = l
		} else {
			rest = append(rest, h)
		}
	}
	pi.mu.Unlock()
	if len(rest) == 0 {
		return out, nil
	}
	var mu sync.Mutex
	if len(rest) <= pointLookups {
		err := parallel(ctx, len(rest), pointWidth, func(ctx context.Context, i int) error {
			e, err := s.t.Index.Get(ctx, pk(project), rest[i])
			if fault.Is(err, fault.NotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			out[rest[i]] = location{Pack: e.String("Pack"), Offset: e.Int64("Offset"), Size: e.Int64("Size")}
			mu.Unlock()
			return nil
		})
		return out, err
	}
	want := make(map[string]bool, len(rest))
	lo, hi := rest[0], rest[0]
	for _, h := range rest {
		want[h] = true
		lo, hi = min(lo, h), max(hi, h)
	}
	f := store.And(store.Eq("PartitionKey", pk(project)), store.Ge("RowKey", lo), store.Le("RowKey", hi))
	opt := store.QueryOptions{}
	for {
		page, err := s.t.Index.Query(ctx, f, opt)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Entities {
			if want[e.RowKey] {
				out[e.RowKey] = location{Pack: e.String("Pack"), Offset: e.Int64("Offset"), Size: e.Int64("Size")}
			}
		}
		if page.Next == "" {
			return out, nil
		}
		opt.Cursor = page.Next
	}
}

// Blob is content with its SHA-256.
type Blob struct {
	SHA256 string
	Data   []byte
}

// PutBlobs stores blobs whose hashes the caller has checked (pack.Reader
// does) as one pack blob and one index row: two storage requests for
// thousands of contents. It returns how many distinct contents it stored;
// one already stored elsewhere keeps its first location.
func (s *Service) PutBlobs(ctx context.Context, project string, blobs []Blob) (int, error) {
	const op = "catalog.PutBlobs"
	seen := map[string]bool{}
	var keep []Blob
	for _, b := range blobs {
		if !ValidHash(b.SHA256) || len(b.Data) > MaxBlobBytes {
			return 0, fault.E(op, fault.Invalid, "blob "+b.SHA256+": a bad name or over the size limit")
		}
		if _, known := s.known.Load(project + "/" + b.SHA256); !known && !seen[b.SHA256] {
			seen[b.SHA256] = true
			keep = append(keep, b)
		}
	}
	if len(keep) == 0 {
		return 0, nil
	}
	if len(keep) > MaxPackBlobs {
		return 0, fault.E(op, fault.TooLarge, fmt.Sprintf("a pack holds at most %d blobs", MaxPackBlobs))
	}
	var buf bytes.Buffer
	sums := make([]string, len(keep))
	locs := make([]location, len(keep))
	for i, b := range keep {
		sums[i], locs[i] = b.SHA256, location{Offset: int64(buf.Len()), Size: int64(len(b.Data))}
		buf.Write(b.Data)
	}
	sum := sha256.Sum256(buf.Bytes())
	name := packName(project, hex.EncodeToString(sum[:]))
	if _, err := s.blobs.Put(ctx, name, buf.Bytes(), store.PutOptions{ContentType: "application/octet-stream", CreateOnly: true}); err != nil && !fault.Is(err, fault.Conflict) {
		return 0, fault.E(op, err)
	}
	props := map[string]any{"Pack": name, "Count": int32(len(keep))}
	if err := store.SetChunked(props, "Index", encodePackIndex(sums, locs)); err != nil {
		return 0, fault.E(op, err)
	}
	row := store.Entity{PartitionKey: pk(project), RowKey: packRowPrefix + hex.EncodeToString(sum[:]), Props: props}
	if _, err := s.t.Index.Insert(ctx, row); err != nil && !fault.Is(err, fault.Conflict) {
		return 0, fault.E(op, err)
	}
	for _, b := range keep {
		s.known.Store(project+"/"+b.SHA256, true)
	}
	return len(keep), nil
}

// span is one storage read serving one or more contents: a range of a
// pack, or a whole lone blob.
type span struct {
	name          string
	offset, count int64 // count 0: the whole blob
	parts         []part
}

type part struct {
	sum          string
	offset, size int64 // within the span
}

// Reads of a pack merge neighbouring contents into one ranged read while
// the gap between them is at most spanGap and the span at most spanMax.
const (
	spanGap   = 64 << 10
	spanMax   = 8 << 20
	readWidth = 8
)

// spans plans the fewest reads that serve sums.
func spans(project string, sums []string, locs map[string]location) []span {
	var out []span
	byPack := map[string][]part{}
	for _, h := range sums {
		l, ok := locs[h]
		if !ok || l.Pack == "" {
			out = append(out, span{name: contentName(project, h), parts: []part{{sum: h, size: -1}}})
			continue
		}
		byPack[l.Pack] = append(byPack[l.Pack], part{sum: h, offset: l.Offset, size: l.Size})
	}
	packs := make([]string, 0, len(byPack))
	for p := range byPack {
		packs = append(packs, p)
	}
	sort.Strings(packs)
	for _, p := range packs {
		ps := byPack[p]
		sort.Slice(ps, func(i, j int) bool { return ps[i].offset < ps[j].offset })
		var cur *span
		for _, x := range ps {
			end := x.offset + x.size
			if cur != nil && x.offset-(cur.offset+cur.count) <= spanGap && end-cur.offset <= spanMax {
				cur.count = max(cur.count, end-cur.offset)
				cur.parts = append(cur.parts, part{sum: x.sum, offset: x.offset - cur.offset, size: x.size})
				continue
			}
			out = append(out, span{name: p, offset: x.offset, count: x.size, parts: []part{{sum: x.sum, size: x.size}}})
			cur = &out[len(out)-1]
		}
	}
	return out
}

// ReadBlobs reads the content of sums and hands each to fn, one call at a
// time, in storage order (packs by offset), with readWidth reads in
// flight. The first error stops it.
func (s *Service) ReadBlobs(ctx context.Context, project string, sums []string, fn func(sum string, data []byte) error) error {
	locs, err := s.locate(ctx, project, sums)
	if err != nil {
		return fault.E("catalog.ReadBlobs", err)
	}
	plan := spans(project, sums, locs)
	var mu sync.Mutex
	return parallel(ctx, len(plan), readWidth, func(ctx context.Context, i int) error {
		sp := plan[i]
		var data []byte
		var err error
		if sp.count == 0 && len(sp.parts) == 1 && sp.parts[0].size < 0 {
			data, _, err = s.blobs.Get(ctx, sp.name)
		} else {
			data, err = s.blobs.GetRange(ctx, sp.name, sp.offset, sp.count)
		}
		if err != nil {
			return fault.E("catalog.ReadBlobs", fault.Internal, "content in "+sp.name, err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range sp.parts {
			b := data
			if p.size >= 0 {
				b = data[p.offset : p.offset+p.size]
			}
			if err := fn(p.sum, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// readOne reads one content (a pack range or a lone blob).
func (s *Service) readOne(ctx context.Context, project, sum string) ([]byte, error) {
	var out []byte
	err := s.ReadBlobs(ctx, project, []string{sum}, func(_ string, b []byte) error { out = b; return nil })
	return out, err
}
