package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/studio-collab/collab/shared/pack"
)

// Transfer between a working copy and the catalog (docs/catalog.md,
// "Transfer"): content moves in packs, many blobs per request, each blob
// checked against its SHA-256 as it arrives; downloaded content lands in
// .collab/objects/<sha256> (written once per distinct hash, atomically), from
// which pull copies it to every file that needs it.

// Pack sizes the client aims for, under catalog.MaxPackBytes and
// catalog.MaxPackBlobs. A download asks for as much as one answer may carry:
// the server locates the contents of a request with one index query, and
// what arrives is stored blob by blob, so a cut answer loses little. An
// upload is read whole by the server before it stores anything, so it stays
// smaller.
const (
	downloadPackBytes = 64 << 20
	uploadPackBytes   = 16 << 20
	packTargetBlobs   = 10000
	maxBlobBytes      = 64 << 20
)

// request is the client's raw call (client.raw) on the working copy's API.
func (w *workCopy) request(method, path string, body []byte, header ...string) (int, []byte, error) {
	return w.c.raw(method, path, body, header...)
}

func (w *workCopy) getJSON(path string, out any) error { return w.c.do("GET", path, nil, out) }

// progress shows bytes and objects moved; objects is the count expected.
type progress struct {
	bar        *progressbar.ProgressBar
	mu         sync.Mutex
	what       string
	done, want int
}

func newProgress(stderr io.Writer, what string, objects int, bytes int64) *progress {
	p := &progress{what: what, want: objects}
	p.bar = progressbar.NewOptions64(bytes, progressbar.OptionSetWriter(stderr), progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetDescription(p.describe()),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
	return p
}

func (p *progress) describe() string { return fmt.Sprintf("%s %d/%d objects", p.what, p.done, p.want) }

func (p *progress) add(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.bar.Describe(p.describe())
	_ = p.bar.Add64(n)
}

func (p *progress) finish() { _ = p.bar.Finish() }

// parallelDo runs fn over items on n workers; the first error wins.
func parallelDo[T any](items []T, n int, fn func(T) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		ch    = make(chan T)
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := fn(it); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
	return first
}

// want is one blob to move, with its size as far as it is known.
type want struct {
	sum  string
	size int64
}

// packsOf cuts blobs into packs of about target bytes and at most
// packTargetBlobs each.
func packsOf(ws []want, target int64) [][]want {
	var out [][]want
	var cur []want
	var size int64
	for _, x := range ws {
		if len(cur) > 0 && (size+x.size > target || len(cur) == packTargetBlobs) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, x)
		size += x.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func (w *workCopy) objectFile(sum string) string { return w.meta("objects/" + sum) }

// storeObject writes content into .collab/objects under its hash.
func (w *workCopy) storeObject(sum string, data []byte) error {
	return writeAtomic(w.meta("objects"), w.objectFile(sum), data)
}

// writeAtomic writes data to dst through a temporary file of its own in
// tmpDir (on the same file system), so that concurrent or interrupted
// writers never leave a partial file behind: dst is the old content or the
// new, never part of it.
func writeAtomic(tmpDir, dst string, data []byte) error {
	f, err := os.CreateTemp(tmpDir, "part-*")
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(tmpDir, 0o755); err == nil {
			f, err = os.CreateTemp(tmpDir, "part-*")
		}
	}
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), dst)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// download fetches the blobs of ws that are not in .collab/objects yet, in
// packs named by the changes in (since, until], two packs in flight. Each
// blob is stored as soon as it arrives, so an interrupted download resumes
// with what is missing. w.received counts blobs per hash (for tests).
func (w *workCopy) download(since string, until int64, ws []want) error {
	if err := os.MkdirAll(w.meta("objects"), 0o755); err != nil {
		return err
	}
	// What a killed run was writing is incomplete: drop it.
	stale, _ := filepath.Glob(filepath.Join(w.meta("objects"), "part-*"))
	for _, f := range stale {
		_ = os.Remove(f)
	}
	var need []want
	var total int64
	for _, x := range ws {
		if _, err := os.Stat(w.objectFile(x.sum)); err != nil {
			need = append(need, x)
			total += x.size
		}
	}
	if len(need) == 0 {
		return nil
	}
	bar := newProgress(w.errw, "downloading", len(need), total)
	defer bar.finish()
	return parallelDo(packsOf(need, downloadPackBytes), 2, func(p []want) error {
		sums := make([]string, len(p))
		for i, x := range p {
			sums[i] = x.sum
		}
		body, _ := json.Marshal(map[string]any{"since": since, "until": until, "hashes": sums})
		req, err := http.NewRequest("POST", w.c.api+w.base()+"/packs/read", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp, err := w.c.send(req, "Content-Type", "application/json")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			return problemError(resp.StatusCode, b)
		}
		rd := pack.NewReader(resp.Body, maxBlobBytes)
		got := 0
		for {
			sum, data, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("downloading a pack: %w", err)
			}
			w.count(sum)
			if err := w.storeObject(sum, data); err != nil {
				return err
			}
			got++
			bar.add(int64(len(data)))
		}
		if got != len(p) {
			return fmt.Errorf("a pack brought %d of %d blobs (header says %s)", got, len(p), resp.Header.Get("X-Pack-Blobs"))
		}
		return nil
	})
}

func (w *workCopy) count(sum string) {
	if w.received == nil {
		return
	}
	w.mu.Lock()
	w.received[sum]++
	w.mu.Unlock()
}

// upload sends the content the server lacks, in packs, two in flight.
func (w *workCopy) upload(byHash map[string][]byte, hashes []string) error {
	if len(hashes) == 0 {
		return nil
	}
	body, _ := json.Marshal(map[string]any{"hashes": hashes})
	status, b, err := w.request("POST", w.base()+"/blobs/missing", body, "Content-Type", "application/json")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return problemError(status, b)
	}
	var miss struct{ Missing []string }
	if err := json.Unmarshal(b, &miss); err != nil {
		return fmt.Errorf("blobs/missing: %w", err)
	}
	if len(miss.Missing) == 0 {
		return nil
	}
	ws := make([]want, len(miss.Missing))
	var total int64
	for i, h := range miss.Missing {
		ws[i] = want{h, int64(len(byHash[h]))}
		total += ws[i].size
	}
	bar := newProgress(w.errw, "uploading", len(ws), total)
	defer bar.finish()
	return parallelDo(packsOf(ws, uploadPackBytes), 2, func(p []want) error {
		pr, pw := io.Pipe()
		go func() {
			wr := pack.NewWriter(pw)
			for _, x := range p {
				if err := wr.Add(x.sum, byHash[x.sum]); err != nil {
					pw.CloseWithError(err)
					return
				}
				bar.add(x.size)
			}
			pw.CloseWithError(wr.Close())
		}()
		req, err := http.NewRequest("POST", w.c.api+w.base()+"/packs", pr)
		if err != nil {
			return err
		}
		// Declared before streaming: the Functions host drops a body that
		// has no Content-Length (a chunked upload arrives empty).
		sums, sizes := make([]string, len(p)), make([]int64, len(p))
		for i, x := range p {
			sums[i], sizes[i] = x.sum, int64(len(byHash[x.sum]))
		}
		req.ContentLength = pack.Len(sums, sizes)
		resp, err := w.c.send(req, "Content-Type", pack.ContentType)
		if err != nil {
			pr.CloseWithError(err)
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode != http.StatusOK {
			return problemError(resp.StatusCode, b)
		}
		return nil
	})
}

// materialize puts an object from .collab/objects at file (relative, slash
// separated). The first file of a content takes the object itself (a hard
// link: no second write; pull drops .collab/objects once it is done, so the
// file is then the only name of those bytes); every other file of the same
// content gets a copy of its own, so that editing one in place never
// changes another. Either way the file appears whole or not at all.
func (w *workCopy) materialize(file, sum string, first bool) error {
	src := w.objectFile(sum)
	if first {
		dst := filepath.Join(w.dir, filepath.FromSlash(file))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		tmp := filepath.Join(w.meta("tmp"), "link-"+sum)
		_ = os.MkdirAll(w.meta("tmp"), 0o755)
		_ = os.Remove(tmp)
		if os.Link(src, tmp) == nil {
			return os.Rename(tmp, dst)
		}
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("content %s: %w", sum, err)
	}
	return w.writeFile(file, b)
}

// dropObjects empties .collab/objects after a pull is complete: the files
// hold the content now (materialize).
func (w *workCopy) dropObjects() error {
	es, err := os.ReadDir(w.meta("objects"))
	if err != nil {
		return nil
	}
	for _, e := range es {
		if err := os.Remove(filepath.Join(w.meta("objects"), e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func (w *workCopy) writeFile(file string, b []byte) error {
	dst := filepath.Join(w.dir, filepath.FromSlash(file))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// The temporary file lives in .collab/tmp, never in the tree, where an
	// interrupted write would look like a new file to push.
	return writeAtomic(w.meta("tmp"), dst, b)
}
