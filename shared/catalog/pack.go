package catalog

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Limits of bulk transfer (docs/catalog.md, "Transfer").
const (
	// MaxPackBytes caps a pack: an upload body and a download answer. It
	// stays under the Functions host's 100 MB request cap; one blob of
	// MaxBlobBytes always fits.
	MaxPackBytes = 90 << 20
	// MaxPackBlobs caps the blobs of one pack and the hashes of one
	// download request.
	MaxPackBlobs = 10000
	// packWidth is how many storage reads or writes a pack keeps in flight.
	packWidth = 32
)

// Blob is content with its SHA-256.
type Blob struct {
	SHA256 string
	Data   []byte
}

// PutBlobs stores blobs whose hashes the caller has checked (pack.Reader
// does), packWidth at a time, create-only as PutBlob. It returns how many
// were new.
func (s *Service) PutBlobs(ctx context.Context, project string, blobs []Blob) (int, error) {
	const op = "catalog.PutBlobs"
	var created atomic.Int64
	err := parallel(ctx, len(blobs), packWidth, func(ctx context.Context, i int) error {
		b := blobs[i]
		if !ValidHash(b.SHA256) || len(b.Data) > MaxBlobBytes {
			return fault.E(op, fault.Invalid, "blob "+b.SHA256+": a bad name or over the size limit")
		}
		if _, ok := s.known.Load(project + "/" + b.SHA256); ok {
			return nil
		}
		_, err := s.blobs.Put(ctx, contentName(project, b.SHA256), b.Data, store.PutOptions{ContentType: "application/octet-stream", CreateOnly: true})
		switch {
		case err == nil:
			created.Add(1)
		case !fault.Is(err, fault.Conflict):
			return err
		}
		s.known.Store(project+"/"+b.SHA256, true)
		return nil
	})
	if err != nil {
		return 0, fault.E(op, err)
	}
	return int(created.Load()), nil
}

// Reachable returns the content a caller may read from the commits in
// (since, until]: the hash and size of every put whose path visible
// accepts. A download of a pack may ask only for these, which is how
// Studio Security filters packs: a hash is served because a visible object
// version names it, never because the caller knows it.
func (s *Service) Reachable(ctx context.Context, project string, since Position, until int64, visible func(string) bool) (map[string]int64, error) {
	head, err := s.Head(ctx, project)
	if err != nil {
		return nil, err
	}
	if until > head || since.Seq > until {
		return nil, fault.E("catalog.Reachable", fault.Invalid, fmt.Sprintf("the range %s..%d is not within the history (head %d)", since, until, head))
	}
	cs, _, err := s.scan(ctx, project, since, until, math.MaxInt32, false)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, c := range cs {
		if c.Op == OpPut && (visible == nil || visible(c.Path)) {
			out[c.SHA256] = c.Size
		}
	}
	return out, nil
}

// ReadBlobs reads the content of sums and hands each to fn in the given
// order, keeping packWidth storage reads in flight ahead of fn (at most
// that many blobs are held at once). The first error stops it.
func (s *Service) ReadBlobs(ctx context.Context, project string, sums []string, fn func(sum string, data []byte) error) error {
	type result struct {
		data []byte
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]chan result, len(sums))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	slots := make(chan struct{}, packWidth)
	go func() {
		for i, sum := range sums {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				b, _, err := s.blobs.Get(ctx, contentName(project, sum))
				results[i] <- result{b, err}
			}()
		}
	}()
	for i, sum := range sums {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-slots
		if r.err != nil {
			return fault.E("catalog.ReadBlobs", fault.Internal, "content "+sum, r.err)
		}
		if err := fn(sum, r.data); err != nil {
			return err
		}
	}
	return nil
}
