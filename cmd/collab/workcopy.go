package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// A working copy is a directory of object files plus <dir>/.collab/:
//
//	state.json   the project, the feed position synced, and per object the
//	             version, hash and file name the files were based on
//	pull.json    an interrupted pull (or clone): the changes still to apply
//	push.json    an unanswered push: its Idempotency-Key and body (retried)
//	objects/     content being pulled, by SHA-256, written once per hash
//	             (emptied when the pull is done)
//	tmp/         files being written (renamed into the tree when whole)
//
// How object paths and file names map: names.go. Moving content to and
// from the server: transfer.go. Scan, status and push: wcpush.go. Log and
// locks: wchistory.go.
const stateDir = ".collab"

// stateFormat 2 records each object's file name (format 1 derived it from
// the content type, see formatOneFile).
const stateFormat = 2

type wcObject struct {
	Version     int64  `json:"version"`
	SHA256      string `json:"sha256"`
	Kind        string `json:"kind,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	File        string `json:"file,omitempty"` // slash-separated, relative to the working copy
}

type wcState struct {
	Format  int                 `json:"format,omitempty"`
	Project string              `json:"project"`
	Since   string              `json:"since"` // the feed cursor synced
	Head    int64               `json:"head"`
	Objects map[string]wcObject `json:"objects"`
	// Pushed are this working copy's own commits above Head (a pull skips
	// them: they are in place already).
	Pushed []int64 `json:"pushed,omitempty"`
}

type wcChange struct {
	Seq         int64  `json:"seq"`
	Path        string `json:"path"`
	Op          string `json:"op"`
	Version     int64  `json:"version"`
	SHA256      string `json:"sha256"`
	Size        int64  `json:"size"`
	Kind        string `json:"kind"`
	ContentType string `json:"contentType"`
	CommittedBy string `json:"committedBy"`
}

type wcPull struct {
	Since   string     `json:"since"` // the position the pull started from
	Next    string     `json:"next"`
	Head    int64      `json:"head"`
	Changes []wcChange `json:"changes"` // the latest change per path
	Commits []int64    `json:"commits"` // others' commits brought in
}

type workCopy struct {
	dir   string
	state wcState
	c     *client
	out   io.Writer
	errw  io.Writer

	mu       sync.Mutex
	received map[string]int // blobs downloaded per hash, when non-nil (tests)
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
	if w.state.Format < stateFormat {
		// Keep the names the old client wrote (names.go).
		for p, o := range w.state.Objects {
			o.File = formatOneFile(p, o.ContentType)
			w.state.Objects[p] = o
		}
		w.state.Format = stateFormat
		if err := writeJSONFile(w.meta("state.json"), w.state); err != nil {
			return nil, fail(stderr, err)
		}
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

func (w *workCopy) save() error { return writeJSONFile(w.meta("state.json"), w.state) }

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
		if err := writeJSONFile(st, wcState{Format: stateFormat, Project: pos[0], Since: "0", Objects: map[string]wcObject{}}); err != nil {
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
	pulled, code := w.pull()
	if pulled == nil {
		return code
	}
	fmt.Fprintf(stdout, "cloned %s into %s at commit %d (%d objects)\n", w.state.Project, dir, w.state.Head, len(w.state.Objects))
	return code
}

func dirFlag(fs *flag.FlagSet) *string {
	return fs.String("C", ".", "the working copy's directory")
}

// openFor parses args (fs has -C from dirFlag), checks the arguments with
// usage (the usage line when they are wrong, "" when fine; nil: any) and
// opens the working copy. w is nil when the command must stop with code.
func openFor(fs *flag.FlagSet, dir *string, args []string, stdout, stderr io.Writer, usage func(pos []string) string) (*workCopy, []string, int) {
	pos, ok := parse(fs, args, stderr)
	if !ok {
		return nil, nil, exitUsage
	}
	if usage != nil {
		if msg := usage(pos); msg != "" {
			return nil, nil, usageErr(stderr, msg)
		}
	}
	w, code := openWorkCopy(*dir, stdout, stderr)
	return w, pos, code
}

func runPull(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	w, _, code := openFor(fs, dirFlag(fs), args, stdout, stderr, nil)
	if w == nil {
		return code
	}
	commits, code := w.pull()
	switch {
	case commits == nil:
		return code
	case len(commits) == 0:
		fmt.Fprintf(stdout, "already up to date at commit %d\n", w.state.Head)
	case len(commits) == 1:
		fmt.Fprintf(stdout, "pulled commit %d (now at %d)\n", commits[0], w.state.Head)
	default:
		fmt.Fprintf(stdout, "pulled %d commits, %d..%d (now at %d)\n", len(commits), commits[0], commits[len(commits)-1], w.state.Head)
	}
	return code
}

// plan reads the feed from the synced position to the head and keeps the
// latest change per path, and which commits of others it brings.
func (w *workCopy) plan() (wcPull, error) {
	p := wcPull{Since: w.state.Since}
	latest := map[string]wcChange{}
	mine := map[int64]bool{}
	for _, s := range w.state.Pushed {
		mine[s] = true
	}
	others := map[int64]bool{}
	since := w.state.Since
	for {
		var page struct {
			Changes []wcChange `json:"changes"`
			Next    string     `json:"next"`
			Head    int64      `json:"head"`
		}
		if err := w.getJSON(w.base()+"/changes?since="+url.QueryEscape(since), &page); err != nil {
			return p, err
		}
		for _, c := range page.Changes {
			latest[c.Path] = c
			if !mine[c.Seq] {
				others[c.Seq] = true
			}
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
	p.Commits = []int64{}
	for s := range others {
		p.Commits = append(p.Commits, s)
	}
	sort.Slice(p.Commits, func(i, j int) bool { return p.Commits[i] < p.Commits[j] })
	return p, nil
}

// pull brings the working copy to the server's head and returns the commits
// of others it brought in (never nil once the pull is done; nil when it
// stopped, and the message is printed). It first records the changes to apply in
// pull.json, then downloads the content it lacks into .collab/objects (once
// per distinct hash, skipping what is there), then writes the files and the
// state; an interrupted pull resumes from pull.json. Objects it cannot
// write (a name clash) are reported and left out, with exitFail.
func (w *workCopy) pull() ([]int64, int) {
	var p wcPull
	resumed, err := readJSONFile(w.meta("pull.json"), &p)
	if err != nil {
		return nil, fail(w.errw, err)
	}
	if !resumed {
		if p, err = w.plan(); err != nil {
			return nil, fail(w.errw, err)
		}
		if err := writeJSONFile(w.meta("pull.json"), p); err != nil {
			return nil, fail(w.errw, err)
		}
	}
	var ws []want
	seen := map[string]bool{}
	for _, c := range p.Changes {
		if old, had := w.state.Objects[c.Path]; c.Op == "put" && (!had || old.Version < c.Version) && !seen[c.SHA256] {
			seen[c.SHA256] = true
			ws = append(ws, want{c.SHA256, c.Size})
		}
	}
	if err := w.download(p.Since, p.Head, ws); err != nil {
		return nil, fail(w.errw, fmt.Errorf("pull interrupted (run it again to resume): %w", err))
	}
	refused, err := w.apply(p.Changes)
	if err != nil {
		return nil, fail(w.errw, fmt.Errorf("pull interrupted (run it again to resume): %w", err))
	}
	w.state.Since, w.state.Head = p.Next, p.Head
	var pushed []int64
	for _, s := range w.state.Pushed {
		if s > p.Head {
			pushed = append(pushed, s)
		}
	}
	w.state.Pushed = pushed
	if err := w.save(); err != nil {
		return nil, fail(w.errw, err)
	}
	if err := os.Remove(w.meta("pull.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fail(w.errw, err)
	}
	if err := w.dropObjects(); err != nil {
		return nil, fail(w.errw, err)
	}
	if len(refused) > 0 {
		for _, r := range refused {
			fmt.Fprintf(w.errw, "collab: left out %s\n", r)
		}
		fmt.Fprintf(w.errw, "collab: %d object(s) could not be written here: rename them in the catalog (from a working copy that has them), then pull\n", len(refused))
		return append([]int64{}, p.Commits...), exitFail
	}
	return append([]int64{}, p.Commits...), exitOK
}

// apply writes the changes to the files and the state: deletes first (they
// free names a rename needs), then puts, oldest commit first. It returns what it had to refuse.
// Applying again after a crash is safe: a file already holding the incoming
// content is not a conflict.
func (w *workCopy) apply(changes []wcChange) ([]string, error) {
	taken := newNames()
	for p, o := range w.state.Objects {
		taken.add(p, o.File)
	}
	ordered := make([]wcChange, 0, len(changes))
	for _, c := range changes {
		if c.Op == "delete" {
			ordered = append(ordered, c)
		}
	}
	puts := len(ordered)
	for _, c := range changes {
		if c.Op != "delete" {
			ordered = append(ordered, c)
		}
	}
	// Older objects first: when two names clash, the newcomer is left out.
	sort.SliceStable(ordered[puts:], func(i, j int) bool { return ordered[puts+i].Seq < ordered[puts+j].Seq })
	var refused []string
	placed := map[string]bool{} // contents already given to a file
	for _, c := range ordered {
		old, had := w.state.Objects[c.Path]
		if had && old.Version >= c.Version {
			continue // our own push, already in place
		}
		file := fileOf(c.Path, c.ContentType)
		if had {
			file = old.File // the name this working copy gave it stays
			mine := filepath.Join(w.dir, filepath.FromSlash(old.File))
			local, err := os.ReadFile(mine)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return refused, err
			}
			if err != nil {
				local = nil // deleted here
			}
			if changedHere := local == nil || hashBytes(local) != old.SHA256; changedHere && (local == nil || hashBytes(local) != c.SHA256) &&
				!(local == nil && c.Op == "delete") {
				// Both changed it: merge three-way (base: the version this
				// working copy had), and base the next push on the server's.
				t := theirs{version: c.Version, sha: c.SHA256, by: c.CommittedBy, kind: c.Kind, ct: c.ContentType}
				if c.Op == "put" {
					if t.data, err = os.ReadFile(w.objectFile(c.SHA256)); err != nil {
						return refused, err
					}
				}
				base, err := w.contentAt(c.Path, old.Version)
				if err != nil {
					return refused, err
				}
				clean, err := w.mergeFile(c.Path, old.File, base, local, t)
				if err != nil {
					return refused, err
				}
				w.sayMerged(c.Path, old.File, clean, t)
				continue
			}
		}
		if c.Op == "delete" {
			if had {
				if err := os.Remove(filepath.Join(w.dir, filepath.FromSlash(old.File))); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return refused, err
				}
				taken.remove(old.File)
				delete(w.state.Objects, c.Path)
			}
			continue
		}
		if why := taken.conflict(c.Path, file); why != "" {
			refused = append(refused, fmt.Sprintf("%s (v%d by %s): %s", c.Path, c.Version, c.CommittedBy, why))
			continue
		}
		if err := w.materialize(file, c.SHA256, !placed[c.SHA256]); err != nil {
			return refused, err
		}
		placed[c.SHA256] = true
		taken.add(c.Path, file)
		w.state.Objects[c.Path] = wcObject{Version: c.Version, SHA256: c.SHA256, Kind: c.Kind, ContentType: c.ContentType, File: file}
	}
	return refused, nil
}
