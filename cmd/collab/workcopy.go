package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/studio-collab/collab/shared/security"
)

// A working copy is a directory of object files plus <dir>/.collab/:
//
//	state.json   the project, the feed position synced, and per object the
//	             version and hash the files were based on
//	pull.json    an interrupted pull: the changes still to apply (resumed)
//	push.json    an unanswered push: its Idempotency-Key and body (retried)
//	objects/     downloaded content by SHA-256 (a pull resumes from it)
//
// An object's file is its path plus an extension from its content type
// (applications/a/processes/p -> applications/a/processes/p.json), so an
// object and its children (p/forms/f) live side by side.
const stateDir = ".collab"

type wcObject struct {
	Version     int64  `json:"version"`
	SHA256      string `json:"sha256"`
	Kind        string `json:"kind,omitempty"`
	ContentType string `json:"contentType,omitempty"`
}

type wcState struct {
	Project string              `json:"project"`
	Since   string              `json:"since"` // the feed cursor synced
	Head    int64               `json:"head"`
	Objects map[string]wcObject `json:"objects"`
}

type wcChange struct {
	Seq         int64  `json:"seq"`
	Path        string `json:"path"`
	Op          string `json:"op"`
	Version     int64  `json:"version"`
	SHA256      string `json:"sha256"`
	Kind        string `json:"kind"`
	ContentType string `json:"contentType"`
	CommittedBy string `json:"committedBy"`
}

type wcPull struct {
	Next    string     `json:"next"`
	Head    int64      `json:"head"`
	Changes []wcChange `json:"changes"` // the latest change per path
}

type workCopy struct {
	dir   string
	state wcState
	c     *client
	out   io.Writer
	errw  io.Writer
}

var extOf = map[string]string{"application/json": ".json", "application/xml": ".xml", "text/xml": ".xml", "text/plain": ".txt"}

func fileOf(path, contentType string) string {
	ext, ok := extOf[contentType]
	if !ok {
		ext = ".bin"
	}
	return filepath.FromSlash(path) + ext
}

func typeOfExt(ext string) string {
	switch ext {
	case ".json":
		return "application/json"
	case ".xml":
		return "application/xml"
	case ".txt":
		return "text/plain"
	}
	return "application/octet-stream"
}

// kindOf names a new object's kind from its place in the tree.
func kindOf(path string) string {
	segs := strings.Split(path, "/")
	switch {
	case len(segs) == 2 && segs[0] == "applications":
		return "application"
	case len(segs) == 3 && segs[0] == "entities":
		return "entity"
	case len(segs) == 3 && segs[0] == "rules":
		return "rule"
	case len(segs) >= 3:
		return strings.TrimSuffix(strings.TrimSuffix(segs[len(segs)-2], "es"), "s")
	}
	return "element"
}

func hashBytes(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func (w *workCopy) meta(name string) string { return filepath.Join(w.dir, stateDir, name) }

func writeJSONFile(path string, v any) error {
	b, _ := json.MarshalIndent(v, "", " ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readJSONFile(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(b, v)
}

func openWorkCopy(dir string, stdout, stderr io.Writer) (*workCopy, int) {
	w := &workCopy{dir: dir, out: stdout, errw: stderr}
	ok, err := readJSONFile(w.meta("state.json"), &w.state)
	if err != nil {
		return nil, fail(stderr, err)
	}
	if !ok {
		fmt.Fprintf(stderr, "collab: %s is not a working copy (no %s/state.json): run `collab clone <project> [dir]`\n", dir, stateDir)
		return nil, exitFail
	}
	c, code := signedIn(stderr)
	if c == nil {
		return nil, code
	}
	c.http.Timeout = 10 * time.Minute
	w.c = c
	return w, exitOK
}

func (w *workCopy) base() string {
	return "/api/projects/" + url.PathEscape(w.state.Project) + "/catalog"
}

// request sends a request and returns the status and body; a problem
// answer is returned as is (the caller reads its extensions).
func (w *workCopy) request(method, path string, body []byte, header ...string) (int, []byte, error) {
	req, err := http.NewRequest(method, w.c.api+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+w.c.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := w.c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("cannot reach %s: %w (is `make run` up?)", w.c.api, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func problemError(status int, b []byte) error {
	var p struct{ Title, Detail string }
	_ = json.Unmarshal(b, &p)
	if p.Title == "" {
		p.Title = http.StatusText(status)
	}
	return &apiError{Status: status, Title: p.Title, Detail: p.Detail}
}

func (w *workCopy) getJSON(path string, out any) error {
	status, b, err := w.request("GET", path, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return problemError(status, b)
	}
	return json.Unmarshal(b, out)
}

func newBar(stderr io.Writer, n int, what string) *progressbar.ProgressBar {
	return progressbar.NewOptions(n, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionSetWidth(30), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }))
}

// parallelDo runs fn over items on 8 workers; the first error wins.
func parallelDo[T any](items []T, fn func(T) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		ch    = make(chan T)
	)
	for i := 0; i < 8; i++ {
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

func runClone(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("clone", flag.ContinueOnError)
	pos, ok := parse(fs, args, stderr)
	if !ok {
		return exitUsage
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usageErr(stderr, "usage: collab clone <project> [dir]")
	}
	dir := pos[0]
	if len(pos) == 2 {
		dir = pos[1]
	}
	st := filepath.Join(dir, stateDir, "state.json")
	_, err := os.Stat(st)
	fresh := err != nil
	if fresh {
		// A fresh clone; an interrupted one has state.json and resumes.
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return fail(stderr, fmt.Errorf("%s exists and is not empty", dir))
		}
		if err := os.MkdirAll(filepath.Join(dir, stateDir, "objects"), 0o755); err != nil {
			return fail(stderr, err)
		}
		if err := writeJSONFile(st, wcState{Project: pos[0], Since: "0", Objects: map[string]wcObject{}}); err != nil {
			return fail(stderr, err)
		}
	}
	w, code := openWorkCopy(dir, stdout, stderr)
	if w == nil {
		return code
	}
	if err := w.getJSON(w.base()+"/changes?limit=1&since=0", &struct{}{}); err != nil {
		if fresh {
			_ = os.RemoveAll(dir)
		}
		return fail(stderr, err)
	}
	if code := w.pull(); code != exitOK {
		return code
	}
	fmt.Fprintf(stdout, "cloned %s into %s at commit %d (%d objects)\n", w.state.Project, dir, w.state.Head, len(w.state.Objects))
	return exitOK
}

func dirFlag(fs *flag.FlagSet) *string {
	return fs.String("C", ".", "the working copy's directory")
}

func runPull(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	dir := dirFlag(fs)
	if _, ok := parse(fs, args, stderr); !ok {
		return exitUsage
	}
	w, code := openWorkCopy(*dir, stdout, stderr)
	if w == nil {
		return code
	}
	before := w.state.Head
	if code := w.pull(); code != exitOK {
		return code
	}
	if w.state.Head == before {
		fmt.Fprintf(stdout, "already up to date at commit %d\n", w.state.Head)
	} else {
		fmt.Fprintf(stdout, "pulled commits %d..%d\n", before+1, w.state.Head)
	}
	return exitOK
}

// pull brings the working copy to the server's head. It first records the
// changes to apply in pull.json, then downloads missing content into
// .collab/objects (skipping what is there), then updates the files and the
// state; an interrupted pull resumes from pull.json.
func (w *workCopy) pull() int {
	var p wcPull
	resumed, err := readJSONFile(w.meta("pull.json"), &p)
	if err != nil {
		return fail(w.errw, err)
	}
	if !resumed {
		latest := map[string]wcChange{}
		since := w.state.Since
		for {
			var page struct {
				Changes []wcChange `json:"changes"`
				Next    string     `json:"next"`
				Head    int64      `json:"head"`
			}
			if err := w.getJSON(w.base()+"/changes?since="+url.QueryEscape(since), &page); err != nil {
				return fail(w.errw, err)
			}
			for _, c := range page.Changes {
				latest[c.Path] = c
			}
			since, p.Head = page.Next, page.Head
			if page.Next == fmt.Sprint(page.Head) {
				break
			}
		}
		p.Next = since
		for _, c := range latest {
			p.Changes = append(p.Changes, c)
		}
		sort.Slice(p.Changes, func(i, j int) bool { return p.Changes[i].Path < p.Changes[j].Path })
		if err := writeJSONFile(w.meta("pull.json"), p); err != nil {
			return fail(w.errw, err)
		}
	}
	var need []wcChange
	for _, c := range p.Changes {
		if c.Op == "put" {
			if _, err := os.Stat(w.meta("objects/" + c.SHA256)); err != nil {
				need = append(need, c)
			}
		}
	}
	if len(need) > 0 {
		bar := newBar(w.errw, len(need), "downloading")
		err := parallelDo(need, func(c wcChange) error {
			defer bar.Add(1)
			q := url.Values{"path": {c.Path}, "version": {fmt.Sprint(c.Version)}}
			status, b, err := w.request("GET", w.base()+"/content?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				return fmt.Errorf("%s: %w", c.Path, problemError(status, b))
			}
			if hashBytes(b) != c.SHA256 {
				return fmt.Errorf("%s: the content does not match its hash", c.Path)
			}
			tmp := w.meta("objects/" + c.SHA256 + ".part")
			if err := os.WriteFile(tmp, b, 0o644); err != nil {
				return err
			}
			return os.Rename(tmp, w.meta("objects/"+c.SHA256))
		})
		_ = bar.Finish()
		if err != nil {
			return fail(w.errw, fmt.Errorf("pull interrupted (run it again to resume): %w", err))
		}
	}
	for _, c := range p.Changes {
		old, had := w.state.Objects[c.Path]
		if had && old.Version >= c.Version {
			continue // our own push, already in place
		}
		if had {
			mine := filepath.Join(w.dir, fileOf(c.Path, old.ContentType))
			if local, err := os.ReadFile(mine); err == nil && hashBytes(local) != old.SHA256 {
				// Both changed it: keep the local file, put the server's
				// version beside it, and base the next push on the server's.
				theirs := []byte{}
				if c.Op == "put" {
					if theirs, err = os.ReadFile(w.meta("objects/" + c.SHA256)); err != nil {
						return fail(w.errw, err)
					}
				}
				if err := os.WriteFile(mine+theirsExt, theirs, 0o644); err != nil {
					return fail(w.errw, err)
				}
				fmt.Fprintf(w.out, "conflict: %s changed on the server (v%d by %s) and here: kept your file; theirs is in %s — merge, delete it, then push\n",
					c.Path, c.Version, c.CommittedBy, fileOf(c.Path, old.ContentType)+theirsExt)
				w.state.Objects[c.Path] = wcObject{Version: c.Version, SHA256: c.SHA256, Kind: c.Kind, ContentType: old.ContentType}
				continue
			}
			_ = os.Remove(filepath.Join(w.dir, fileOf(c.Path, old.ContentType)))
		}
		if c.Op == "delete" {
			delete(w.state.Objects, c.Path)
			continue
		}
		b, err := os.ReadFile(w.meta("objects/" + c.SHA256))
		if err != nil {
			return fail(w.errw, err)
		}
		f := filepath.Join(w.dir, fileOf(c.Path, c.ContentType))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return fail(w.errw, err)
		}
		if err := os.WriteFile(f, b, 0o644); err != nil {
			return fail(w.errw, err)
		}
		w.state.Objects[c.Path] = wcObject{Version: c.Version, SHA256: c.SHA256, Kind: c.Kind, ContentType: c.ContentType}
	}
	w.state.Since, w.state.Head = p.Next, p.Head
	if err := writeJSONFile(w.meta("state.json"), w.state); err != nil {
		return fail(w.errw, err)
	}
	_ = os.Remove(w.meta("pull.json"))
	return exitOK
}

type localChange struct {
	op, path, file, contentType string
	data                        []byte
	base                        wcObject
}

// theirsExt marks the server's version of a file both sides changed.
const theirsExt = ".theirs"

// scan compares the files with the state: added, modified and deleted
// objects, and the conflicts not merged yet (*.theirs files).
func (w *workCopy) scan() ([]localChange, error) {
	changes, _, err := w.scanAll()
	return changes, err
}

func (w *workCopy) scanAll() ([]localChange, []string, error) {
	var unmerged []string
	seen := map[string]bool{}
	var out []localChange
	err := filepath.WalkDir(w.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(w.dir, p)
		if d.IsDir() {
			if rel == stateDir {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(rel)
		if ext == theirsExt {
			unmerged = append(unmerged, rel)
			return nil
		}
		path := filepath.ToSlash(strings.TrimSuffix(rel, ext))
		if security.ValidatePath(path) != nil {
			fmt.Fprintf(w.errw, "collab: ignoring %s: not an object path\n", rel)
			return nil
		}
		seen[path] = true
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		old, had := w.state.Objects[path]
		switch {
		case !had:
			out = append(out, localChange{op: "A", path: path, file: rel, contentType: typeOfExt(ext), data: b})
		case hashBytes(b) != old.SHA256:
			out = append(out, localChange{op: "M", path: path, file: rel, contentType: old.ContentType, data: b, base: old})
		}
		return nil
	})
	for path, o := range w.state.Objects {
		if !seen[path] {
			out = append(out, localChange{op: "D", path: path, file: fileOf(path, o.ContentType), base: o})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, unmerged, err
}

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	dir := dirFlag(fs)
	if _, ok := parse(fs, args, stderr); !ok {
		return exitUsage
	}
	w, code := openWorkCopy(*dir, stdout, stderr)
	if w == nil {
		return code
	}
	changes, unmerged, err := w.scanAll()
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "project %s at commit %d, %d objects\n", w.state.Project, w.state.Head, len(w.state.Objects))
	for _, u := range unmerged {
		fmt.Fprintf(stdout, "U %s (merge it into your file, then delete it)\n", u)
	}
	if len(changes) == 0 {
		fmt.Fprintln(stdout, "nothing to push")
	}
	for _, c := range changes {
		fmt.Fprintf(stdout, "%s %s\n", c.op, c.path)
	}
	return exitOK
}

type pushState struct {
	Key  string          `json:"key"`
	Body json.RawMessage `json:"body"`
}

func runPush(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	dir := dirFlag(fs)
	msg := fs.String("m", "", "the commit message")
	if _, ok := parse(fs, args, stderr); !ok {
		return exitUsage
	}
	if *msg == "" {
		return usageErr(stderr, "usage: collab push -m \"message\" [-C dir]")
	}
	w, code := openWorkCopy(*dir, stdout, stderr)
	if w == nil {
		return code
	}
	changes, unmerged, err := w.scanAll()
	if err != nil {
		return fail(stderr, err)
	}
	if len(unmerged) > 0 {
		return fail(stderr, fmt.Errorf("merge the server's versions first, then delete: %s", strings.Join(unmerged, ", ")))
	}
	if len(changes) == 0 {
		fmt.Fprintln(stdout, "nothing to push")
		return exitOK
	}
	// Upload only the content the server lacks, in parallel.
	var hashes []string
	byHash := map[string][]byte{}
	for _, c := range changes {
		if c.op != "D" {
			h := hashBytes(c.data)
			if _, dup := byHash[h]; !dup {
				hashes = append(hashes, h)
				byHash[h] = c.data
			}
		}
	}
	if len(hashes) > 0 {
		body, _ := json.Marshal(map[string]any{"hashes": hashes})
		status, b, err := w.request("POST", w.base()+"/blobs/missing", body, "Content-Type", "application/json")
		if err != nil {
			return fail(stderr, err)
		}
		if status != http.StatusOK {
			return fail(stderr, problemError(status, b))
		}
		var miss struct{ Missing []string }
		_ = json.Unmarshal(b, &miss)
		if len(miss.Missing) > 0 {
			bar := newBar(stderr, len(miss.Missing), "uploading")
			err := parallelDo(miss.Missing, func(h string) error {
				defer bar.Add(1)
				status, b, err := w.request("PUT", w.base()+"/blobs/"+h, byHash[h], "Content-Type", "application/octet-stream")
				if err == nil && status >= 300 {
					err = problemError(status, b)
				}
				return err
			})
			_ = bar.Finish()
			if err != nil {
				return fail(stderr, err)
			}
		}
	}
	type change struct {
		Op          string `json:"op"`
		Path        string `json:"path"`
		Kind        string `json:"kind,omitempty"`
		BaseVersion int64  `json:"baseVersion"`
		SHA256      string `json:"sha256,omitempty"`
		Size        int    `json:"size,omitempty"`
		ContentType string `json:"contentType,omitempty"`
	}
	var cs []change
	for _, c := range changes {
		switch c.op {
		case "D":
			cs = append(cs, change{Op: "delete", Path: c.path, BaseVersion: c.base.Version})
		default:
			kind := c.base.Kind
			if kind == "" {
				kind = kindOf(c.path)
			}
			cs = append(cs, change{Op: "put", Path: c.path, Kind: kind, BaseVersion: c.base.Version, SHA256: hashBytes(c.data), Size: len(c.data), ContentType: c.contentType})
		}
	}
	body, _ := json.Marshal(map[string]any{"message": *msg, "changes": cs})
	// The same push retried after a lost answer reuses its key: the server
	// answers the commit it already made instead of making a second one.
	var ps pushState
	if ok, _ := readJSONFile(w.meta("push.json"), &ps); !ok || !bytes.Equal(ps.Body, body) {
		var k [16]byte
		_, _ = rand.Read(k[:])
		ps = pushState{Key: hex.EncodeToString(k[:]), Body: body}
		if err := writeJSONFile(w.meta("push.json"), ps); err != nil {
			return fail(stderr, err)
		}
	}
	status, b, err := w.request("POST", w.base()+"/checkins", body, "Content-Type", "application/json", "Idempotency-Key", ps.Key)
	if err != nil {
		return fail(stderr, fmt.Errorf("%w; run push again to retry safely", err))
	}
	_ = os.Remove(w.meta("push.json"))
	var ans struct {
		Seq     int64
		Objects []struct {
			Path    string
			Version int64
		}
		Detail    string
		Conflicts []struct {
			Path           string
			BaseVersion    int64
			CurrentVersion int64
			CommittedBy    string
			CommittedAt    time.Time
		}
		Locked []struct {
			Path, Holder string
			ExpiresAt    time.Time
		}
		Forbidden []string
		Missing   []string
	}
	_ = json.Unmarshal(b, &ans)
	switch status {
	case http.StatusCreated:
	case http.StatusConflict:
		fmt.Fprintf(stderr, "collab: push refused: %d object(s) changed on the server since you based your work on them:\n", len(ans.Conflicts))
		for _, c := range ans.Conflicts {
			fmt.Fprintf(stderr, "  %s: you changed v%d, the server has v%d by %s at %s\n", c.Path, c.BaseVersion, c.CurrentVersion,
				c.CommittedBy, c.CommittedAt.Local().Format("2006-01-02 15:04"))
		}
		fmt.Fprintln(stderr, "run `collab pull`, merge those changes into your files, and push again")
		return exitFail
	case http.StatusLocked:
		fmt.Fprintln(stderr, "collab: push refused: checked out by someone else:")
		for _, l := range ans.Locked {
			fmt.Fprintf(stderr, "  %s: locked by %s until %s\n", l.Path, l.Holder, l.ExpiresAt.Local().Format("2006-01-02 15:04"))
		}
		return exitFail
	case http.StatusForbidden:
		fmt.Fprintf(stderr, "collab: push refused: you may not change: %s\n", strings.Join(ans.Forbidden, ", "))
		return exitFail
	default:
		return fail(stderr, problemError(status, b))
	}
	for _, o := range ans.Objects {
		for _, c := range changes {
			if c.path != o.Path {
				continue
			}
			if c.op == "D" {
				delete(w.state.Objects, c.path)
			} else {
				kind := c.base.Kind
				if kind == "" {
					kind = kindOf(c.path)
				}
				w.state.Objects[c.path] = wcObject{Version: o.Version, SHA256: hashBytes(c.data), Kind: kind, ContentType: c.contentType}
			}
		}
	}
	if err := writeJSONFile(w.meta("state.json"), w.state); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "pushed commit %d: %d change(s)\n", ans.Seq, len(ans.Objects))
	return exitOK
}

func runLog(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	dir := dirFlag(fs)
	n := fs.Int("n", 20, "how many commits")
	pos, ok := parse(fs, args, stderr)
	if !ok {
		return exitUsage
	}
	w, code := openWorkCopy(*dir, stdout, stderr)
	if w == nil {
		return code
	}
	if len(pos) == 1 {
		var h struct {
			Items []struct {
				Version, Seq int64
				SHA256       string
				CommittedBy  string
				CommittedAt  time.Time
				Deleted      bool
			}
		}
		if err := w.getJSON(w.base()+"/history?path="+url.QueryEscape(pos[0]), &h); err != nil {
			return fail(stderr, err)
		}
		for i := len(h.Items) - 1; i >= 0; i-- {
			it := h.Items[i]
			what := "put " + it.SHA256[:min(12, len(it.SHA256))]
			if it.Deleted {
				what = "deleted"
			}
			fmt.Fprintf(stdout, "v%d  commit %d  %s  %s  %s\n", it.Version, it.Seq, it.CommittedAt.Local().Format("2006-01-02 15:04"), it.CommittedBy, what)
		}
		return exitOK
	}
	var head struct{ Head int64 }
	if err := w.getJSON(w.base()+"/changes?limit=1", &head); err != nil {
		return fail(stderr, err)
	}
	for seq := head.Head; seq >= 1 && seq > head.Head-int64(*n); seq-- {
		var c struct {
			CommittedBy string
			CommittedAt time.Time
			Message     string
			Changes     []struct{ Path, Op string }
		}
		if err := w.getJSON(fmt.Sprintf("%s/commits/%d", w.base(), seq), &c); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "commit %d  %s  %s  (%d changes)\n    %s\n", seq, c.CommittedAt.Local().Format("2006-01-02 15:04"), c.CommittedBy, len(c.Changes), c.Message)
	}
	return exitOK
}

func runLock(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lock", flag.ContinueOnError)
	dir := dirFlag(fs)
	ttl := fs.Duration("ttl", time.Hour, "how long the lock lasts (renew by locking again)")
	pos, ok := parse(fs, args, stderr)
	if !ok {
		return exitUsage
	}
	if len(pos) != 1 {
		return usageErr(stderr, "usage: collab lock <path> [--ttl 1h] [-C dir]")
	}
	w, code := openWorkCopy(*dir, stdout, stderr)
	if w == nil {
		return code
	}
	body, _ := json.Marshal(map[string]any{"path": pos[0], "ttlSeconds": int(ttl.Seconds())})
	status, b, err := w.request("POST", w.base()+"/locks", body, "Content-Type", "application/json")
	if err != nil {
		return fail(stderr, err)
	}
	if status != http.StatusCreated {
		return fail(stderr, problemError(status, b))
	}
	var l struct {
		Path      string
		ExpiresAt time.Time
	}
	_ = json.Unmarshal(b, &l)
	fmt.Fprintf(stdout, "locked %s until %s\n", l.Path, l.ExpiresAt.Local().Format("2006-01-02 15:04"))
	return exitOK
}

func runUnlock(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("unlock", flag.ContinueOnError)
	dir := dirFlag(fs)
	pos, ok := parse(fs, args, stderr)
	if !ok {
		return exitUsage
	}
	if len(pos) != 1 {
		return usageErr(stderr, "usage: collab unlock <path> [-C dir]")
	}
	w, code := openWorkCopy(*dir, stdout, stderr)
	if w == nil {
		return code
	}
	var ls struct {
		Items []struct{ ID, Path, Holder string }
	}
	if err := w.getJSON(w.base()+"/locks?prefix="+url.QueryEscape(pos[0]), &ls); err != nil {
		return fail(stderr, err)
	}
	for _, l := range ls.Items {
		if l.Path != pos[0] {
			continue
		}
		status, b, err := w.request("DELETE", w.base()+"/locks/"+url.PathEscape(l.ID), nil)
		if err != nil {
			return fail(stderr, err)
		}
		if status != http.StatusNoContent {
			return fail(stderr, problemError(status, b))
		}
		fmt.Fprintf(stdout, "unlocked %s (held by %s)\n", l.Path, l.Holder)
		return exitOK
	}
	return fail(stderr, fmt.Errorf("no lock on %s", pos[0]))
}
