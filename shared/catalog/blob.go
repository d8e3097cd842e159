package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

func contentName(project, sum string) string { return "c/" + pk(project) + "/" + sum }

// PutBlob stores content under its SHA-256 (sum, lower-case hex); data
// that does not hash to sum is Invalid. It reports whether the blob was new
// (an existing one is kept: the same hash is the same bytes).
func (s *Service) PutBlob(ctx context.Context, project, sum string, data []byte) (bool, error) {
	const op = "catalog.PutBlob"
	if !ValidHash(sum) {
		return false, fault.E(op, fault.Invalid, "the blob name is its SHA-256: 64 lower-case hex digits")
	}
	if len(data) > MaxBlobBytes {
		return false, fault.E(op, fault.TooLarge, fmt.Sprintf("a blob is at most %d bytes", MaxBlobBytes))
	}
	got := sha256.Sum256(data)
	if hex.EncodeToString(got[:]) != sum {
		return false, fault.E(op, fault.Invalid, fmt.Sprintf("the body's SHA-256 is %x, not %s", got, sum))
	}
	_, err := s.blobs.Put(ctx, contentName(project, sum), data, store.PutOptions{ContentType: "application/octet-stream", CreateOnly: true})
	created := err == nil
	if err != nil && !fault.Is(err, fault.Conflict) {
		return false, fault.E(op, err)
	}
	s.known.Store(project+"/"+sum, true)
	return created, nil
}

// Missing returns the hashes of sums the project lacks, in the given order.
func (s *Service) Missing(ctx context.Context, project string, sums []string) ([]string, error) {
	const op = "catalog.Missing"
	if len(sums) > MaxMissing {
		return nil, fault.E(op, fault.TooLarge, fmt.Sprintf("at most %d hashes per request", MaxMissing))
	}
	for _, h := range sums {
		if !ValidHash(h) {
			return nil, fault.E(op, fault.Invalid, fmt.Sprintf("%q is not a SHA-256 (64 lower-case hex digits)", h))
		}
	}
	have := make([]bool, len(sums))
	var mu sync.Mutex
	err := parallel(ctx, len(sums), 16, func(ctx context.Context, i int) error {
		if _, ok := s.known.Load(project + "/" + sums[i]); ok {
			have[i] = true
			return nil
		}
		ok, err := s.blobs.Exists(ctx, contentName(project, sums[i]))
		if err != nil {
			return err
		}
		if ok {
			s.known.Store(project+"/"+sums[i], true)
			mu.Lock()
			have[i] = true
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, fault.E(op, err)
	}
	out := []string{}
	seen := map[string]bool{}
	for i, h := range sums {
		if !have[i] && !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out, nil
}

// requireBlobs refuses a check-in whose puts refer to content the project
// lacks (Unprocessable, with the list).
func (s *Service) requireBlobs(ctx context.Context, project string, cs []ChangeRequest) error {
	var sums []string
	for _, c := range cs {
		if c.Op == OpPut {
			sums = append(sums, c.SHA256)
		}
	}
	missing, err := s.Missing(ctx, project, sums)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fault.E("catalog.Checkin", fault.Unprocessable,
			fmt.Sprintf("%d blob(s) are not uploaded yet: PUT them to catalog/blobs/{sha256} first", len(missing)), &MissingError{Hashes: missing})
	}
	return nil
}

// Content returns an object's bytes at version v (0 = current).
func (s *Service) Content(ctx context.Context, project, path string, v int64) (Object, []byte, error) {
	o, err := s.ObjectAt(ctx, project, path, v)
	if err != nil {
		return Object{}, nil, err
	}
	if o.Deleted {
		return Object{}, nil, notFound("catalog.Content", path)
	}
	b, _, err := s.blobs.Get(ctx, contentName(project, o.SHA256))
	if err != nil {
		return Object{}, nil, fault.E("catalog.Content", fault.Internal, "content of "+path, err)
	}
	return o, b, nil
}

// Bytes reads the content of an object the caller resolved (ObjectAt).
func (s *Service) Bytes(ctx context.Context, project string, o Object) ([]byte, error) {
	if o.Deleted || o.SHA256 == "" {
		return nil, notFound("catalog.Bytes", o.Path)
	}
	b, _, err := s.blobs.Get(ctx, contentName(project, o.SHA256))
	if err != nil {
		return nil, fault.E("catalog.Bytes", fault.Internal, "content of "+o.Path, err)
	}
	return b, nil
}
