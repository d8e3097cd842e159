package catalog

import (
	"context"
	"fmt"
	"math"

	"github.com/studio-collab/collab/shared/fault"
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
)

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
