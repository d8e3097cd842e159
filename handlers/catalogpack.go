package handlers

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/pack"
)

// PackBodyLimit caps a pack upload: MaxPackBytes of content plus the entry
// headers of MaxPackBlobs blobs (about 80 bytes each).
const PackBodyLimit = catalog.MaxPackBytes + 1<<20

// packUpload stores many blobs from one streamed pack body (docs/catalog.md,
// "Transfer"). Every blob is checked against its hash, and the whole pack is
// read and checked before anything is stored, so a bad pack stores nothing.
func (c Catalog) packUpload(w http.ResponseWriter, r *http.Request) error {
	const op = "handlers.packUpload"
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != pack.ContentType {
		return fault.E(op, fault.Invalid, "a pack upload is sent as "+pack.ContentType)
	}
	u, err := c.caller(r)
	if err != nil {
		return err
	}
	rd := pack.NewReader(r.Body, catalog.MaxBlobBytes)
	var blobs []catalog.Blob
	for {
		sum, data, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return fault.E(op, fault.TooLarge, fmt.Sprintf("a pack is at most %d bytes: split it", PackBodyLimit))
		case errors.Is(err, pack.ErrCorrupt), errors.Is(err, io.ErrUnexpectedEOF):
			return fault.E(op, fault.Invalid, fmt.Sprintf("blob %d of the pack: %v (nothing was stored)", len(blobs)+1, err))
		case err != nil:
			return fault.E(op, fault.Invalid, "the pack could not be read", err)
		}
		if len(blobs) == catalog.MaxPackBlobs {
			return fault.E(op, fault.TooLarge, fmt.Sprintf("a pack holds at most %d blobs: split it", catalog.MaxPackBlobs))
		}
		blobs = append(blobs, catalog.Blob{SHA256: sum, Data: data})
	}
	stored, err := c.Svc.PutBlobs(u.ctx, u.project, blobs)
	if err != nil {
		return err
	}
	httpapi.JSON(w, http.StatusOK, map[string]any{"blobs": len(blobs), "stored": stored, "bytes": rd.Bytes})
	return nil
}

// unreachableError lists requested hashes that no visible change names.
type unreachableError struct{ Hashes []string }

func (e *unreachableError) Error() string {
	return fmt.Sprintf("%d blob(s) are not named by a change you may view in the range", len(e.Hashes))
}

// ProblemExtensions lists them in the problem.
func (e *unreachableError) ProblemExtensions() map[string]any {
	return map[string]any{"unreachable": e.Hashes}
}

// packDownload answers the content of a set of hashes as one pack, each
// named by a put the caller may view in the commits (since, until]: a
// clone asks with since=0, a pull with its feed position. The answer's
// X-Pack-Blobs and X-Pack-Bytes headers say what is coming (for progress);
// a pack cut short has no end line, which the client detects.
func (c Catalog) packDownload(w http.ResponseWriter, r *http.Request) error {
	const op = "handlers.packDownload"
	var req struct {
		Since  string   `json:"since"`
		Until  int64    `json:"until"`
		Hashes []string `json:"hashes"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	since, err := catalog.ParsePosition(req.Since)
	if err != nil {
		return err
	}
	if len(req.Hashes) == 0 || len(req.Hashes) > catalog.MaxPackBlobs {
		return fault.E(op, fault.Invalid, fmt.Sprintf("ask for 1 to %d hashes", catalog.MaxPackBlobs))
	}
	u, err := c.caller(r)
	if err != nil {
		return err
	}
	reach, err := c.Svc.Reachable(u.ctx, u.project, since, req.Until, u.visible)
	if err != nil {
		return err
	}
	var sums, unreachable []string
	var total int64
	seen := map[string]bool{}
	for _, h := range req.Hashes {
		if seen[h] {
			continue
		}
		seen[h] = true
		size, ok := reach[h]
		if !ok {
			unreachable = append(unreachable, h)
			continue
		}
		sums = append(sums, h)
		total += size
	}
	if len(unreachable) > 0 {
		return fault.E(op, fault.NotFound, (&unreachableError{}).Error(), &unreachableError{Hashes: unreachable})
	}
	if total > catalog.MaxPackBytes && len(sums) > 1 {
		return fault.E(op, fault.TooLarge, fmt.Sprintf("the blobs come to %d bytes, over the %d-byte pack limit: ask for fewer", total, catalog.MaxPackBytes))
	}
	w.Header().Set("Content-Type", pack.ContentType)
	w.Header().Set("X-Pack-Blobs", strconv.Itoa(len(sums)))
	w.Header().Set("X-Pack-Bytes", strconv.FormatInt(total, 10))
	w.WriteHeader(http.StatusOK)
	pw := pack.NewWriter(w)
	err = c.Svc.ReadBlobs(u.ctx, u.project, sums, func(sum string, data []byte) error { return pw.Add(sum, data) })
	if err == nil {
		err = pw.Close()
	}
	if err != nil {
		// The status is sent: cut the answer so that the client sees a
		// pack without its end line rather than a complete-looking one.
		panic(http.ErrAbortHandler)
	}
	return nil
}
