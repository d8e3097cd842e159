package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

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
	// Index it (also when the blob was there: content from before the
	// index gets its row this way); the blob is written first, so a row
	// never names a blob that is not there.
	if _, err := s.t.Index.Insert(ctx, indexRow(project, sum, location{Size: int64(len(data))})); err != nil && !fault.Is(err, fault.Conflict) {
		return false, fault.E(op, err)
	}
	s.known.Store(project+"/"+sum, true)
	return created, nil
}

// legacyChecks is the most unindexed hashes Missing looks for as lone
// blobs from before the index (one request each). A bigger set is reported
// missing as it stands: the client uploads it again, which indexes it.
const legacyChecks = 64

// Missing returns the hashes of sums the project lacks, in the given order
// (each once): those neither indexed (packstore.go) nor, for a few, stored
// as a lone blob from before the index.
func (s *Service) Missing(ctx context.Context, project string, sums []string) ([]string, error) {
	const op = "catalog.Missing"
	if len(sums) > MaxMissing {
		return nil, fault.E(op, fault.TooLarge, fmt.Sprintf("at most %d hashes per request", MaxMissing))
	}
	var ask []string
	seen := map[string]bool{}
	for _, h := range sums {
		if !ValidHash(h) {
			return nil, fault.E(op, fault.Invalid, fmt.Sprintf("%q is not a SHA-256 (64 lower-case hex digits)", h))
		}
		if _, ok := s.known.Load(project + "/" + h); !ok && !seen[h] {
			seen[h] = true
			ask = append(ask, h)
		}
	}
	locs, err := s.locate(ctx, project, ask)
	if err != nil {
		return nil, fault.E(op, err)
	}
	var unindexed []string
	for _, h := range ask {
		if _, ok := locs[h]; ok {
			s.known.Store(project+"/"+h, true)
		} else {
			unindexed = append(unindexed, h)
		}
	}
	if len(unindexed) <= legacyChecks {
		have := make([]bool, len(unindexed))
		err := parallel(ctx, len(unindexed), 16, func(ctx context.Context, i int) error {
			ok, err := s.blobs.Exists(ctx, contentName(project, unindexed[i]))
			have[i] = ok
			return err
		})
		if err != nil {
			return nil, fault.E(op, err)
		}
		for i, h := range unindexed {
			if have[i] {
				s.known.Store(project+"/"+h, true)
			}
		}
	}
	out := []string{}
	for _, h := range ask {
		if _, ok := s.known.Load(project + "/" + h); !ok {
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
	b, err := s.readOne(ctx, project, o.SHA256)
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
	b, err := s.readOne(ctx, project, o.SHA256)
	if err != nil {
		return nil, fault.E("catalog.Bytes", fault.Internal, "content of "+o.Path, err)
	}
	return b, nil
}
