package main

// The working copy's outgoing side: scan (what changed on disk), status and
// push.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type localChange struct {
	op, path, file, contentType string
	data                        []byte
	base                        wcObject
}

// theirsExt marks the server's version of a file both sides changed.
const theirsExt = ".theirs"

// scan compares the files with the state: added, modified and deleted
// objects, the conflicts not merged yet (*.theirs files), and the reasons a
// push must be refused (names that differ only in case, two files for one
// object).
func (w *workCopy) scan() (changes []localChange, unmerged, refuse []string, err error) {
	byFile := make(map[string]string, len(w.state.Objects))
	for p, o := range w.state.Objects {
		byFile[o.File] = p
	}
	seen := map[string]string{} // object path -> file
	var files []string
	err = filepath.WalkDir(w.dir, func(p string, d fs.DirEntry, err error) error {
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
		file := filepath.ToSlash(rel)
		if strings.HasSuffix(file, theirsExt) || isNote(file) {
			unmerged = append(unmerged, rel)
			return nil
		}
		objPath, known := byFile[file]
		if !known {
			if objPath, err = pathOfFile(file); err != nil {
				fmt.Fprintf(w.errw, "collab: ignoring %s: not an object path (%v)\n", rel, err)
				return nil
			}
		}
		if other, dup := seen[objPath]; dup {
			refuse = append(refuse, fmt.Sprintf("%s and %s are both the object %s: remove one", other, file, objPath))
			return nil
		}
		seen[objPath] = file
		files = append(files, file)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		old, had := w.state.Objects[objPath]
		switch {
		case !had:
			changes = append(changes, localChange{op: "A", path: objPath, file: file, contentType: contentTypeOf(file), data: b})
		case hashBytes(b) != old.SHA256:
			changes = append(changes, localChange{op: "M", path: objPath, file: file, contentType: old.ContentType, data: b, base: old})
		}
		return nil
	})
	for objPath, o := range w.state.Objects {
		if _, ok := seen[objPath]; !ok {
			changes = append(changes, localChange{op: "D", path: objPath, file: o.File, base: o})
		}
	}
	for _, c := range caseClashes(files) {
		refuse = append(refuse, c+": names that differ only in case cannot both live in a working copy on Windows or macOS: rename one")
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].path < changes[j].path })
	return changes, unmerged, refuse, err
}

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	w, _, code := openFor(fs, dirFlag(fs), args, stdout, stderr, nil)
	if w == nil {
		return code
	}
	changes, unmerged, refuse, err := w.scan()
	if err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "project %s at commit %d, %d objects\n", w.state.Project, w.state.Head, len(w.state.Objects))
	for _, u := range unresolved(unmerged, changes) {
		switch {
		case strings.HasSuffix(u, theirsExt):
			fmt.Fprintf(stdout, "U %s (merge it into your file, then delete it)\n", u)
		case isNote(u):
			fmt.Fprintf(stdout, "C %s (a conflict: resolve it in %s, then delete this note)\n", u, strings.TrimSuffix(u, conflictExt))
		default:
			fmt.Fprintf(stdout, "C %s: resolve the conflict in the file\n", u)
		}
	}
	for _, r := range refuse {
		fmt.Fprintf(stdout, "! %s\n", r)
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

type checkinChange struct {
	Op          string `json:"op"`
	Path        string `json:"path"`
	Kind        string `json:"kind,omitempty"`
	BaseVersion int64  `json:"baseVersion"`
	SHA256      string `json:"sha256,omitempty"`
	Size        int    `json:"size,omitempty"`
	ContentType string `json:"contentType,omitempty"`
}

func runPush(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	dir := dirFlag(fs)
	msg := fs.String("m", "", "the commit message")
	w, _, code := openFor(fs, dir, args, stdout, stderr, func([]string) string {
		if *msg == "" {
			return "usage: collab push -m \"message\" [-C dir]"
		}
		return ""
	})
	if w == nil {
		return code
	}
	// A stale base is merged and pushed again (a few rounds: others may
	// keep committing meanwhile); a conflict stops the push.
	for round := 1; ; round++ {
		code, again := w.push(*msg, round < 4)
		if !again {
			return code
		}
	}
}

// push scans and pushes once; again says a stale base was merged cleanly
// and the push should be repeated.
func (w *workCopy) push(msg string, mayMerge bool) (code int, again bool) {
	stdout, stderr := w.out, w.errw
	changes, unmerged, refuse, err := w.scan()
	if err != nil {
		return fail(stderr, err), false
	}
	if open := unresolved(unmerged, changes); len(open) > 0 {
		return fail(stderr, fmt.Errorf("resolve the conflicts first (merge, then delete the note or the .theirs file): %s", strings.Join(open, ", "))), false
	}
	if len(refuse) > 0 {
		return fail(stderr, fmt.Errorf("push refused:\n  %s", strings.Join(refuse, "\n  "))), false
	}
	if len(changes) == 0 {
		fmt.Fprintln(stdout, "nothing to push")
		return exitOK, false
	}
	// Upload only the content the server lacks, once per distinct hash.
	var hashes []string
	byHash := map[string][]byte{}
	var cs []checkinChange
	fileFor := make(map[string]string, len(changes))
	for _, c := range changes {
		fileFor[c.path] = c.file
		if c.op == "D" {
			cs = append(cs, checkinChange{Op: "delete", Path: c.path, BaseVersion: c.base.Version})
			continue
		}
		h := hashBytes(c.data)
		if _, dup := byHash[h]; !dup {
			hashes = append(hashes, h)
			byHash[h] = c.data
		}
		kind := c.base.Kind
		if kind == "" {
			kind = kindOf(c.path)
		}
		cs = append(cs, checkinChange{Op: "put", Path: c.path, Kind: kind, BaseVersion: c.base.Version, SHA256: h, Size: len(c.data), ContentType: c.contentType})
	}
	if err := w.upload(byHash, hashes); err != nil {
		return fail(stderr, err), false
	}
	body, _ := json.Marshal(map[string]any{"message": msg, "changes": cs})
	// The same push retried after a lost answer reuses its key: the server
	// answers the commit it already made instead of making a second one.
	var ps pushState
	if ok, _ := readJSONFile(w.meta("push.json"), &ps); !ok || !sameJSON(ps.Body, body) {
		var k [16]byte
		_, _ = rand.Read(k[:])
		ps = pushState{Key: hex.EncodeToString(k[:]), Body: body}
		if err := writeJSONFile(w.meta("push.json"), ps); err != nil {
			return fail(stderr, err), false
		}
	}
	status, b, err := w.checkin(body, ps.Key, stderr)
	if err != nil {
		return fail(stderr, fmt.Errorf("%w; run push again to retry safely (it reuses the same Idempotency-Key)", err)), false
	}
	if status >= 500 {
		// Not answered: the commit may exist. Keep the key, so that the next
		// push finds it instead of committing again or conflicting with it.
		return fail(stderr, fmt.Errorf("%w; run push again to retry safely (it reuses the same Idempotency-Key)", problemError(status, b))), false
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
		// With a merge to come this is news, not a failure.
		say := stderr
		if mayMerge {
			say = stdout
			fmt.Fprintf(say, "%d object(s) changed on the server since you based your work on them; merging:\n", len(ans.Conflicts))
		} else {
			fmt.Fprintf(say, "collab: push refused: %d object(s) changed on the server since you based your work on them:\n", len(ans.Conflicts))
		}
		for _, c := range ans.Conflicts {
			fmt.Fprintf(say, "  %s: you changed v%d, the server has v%d by %s at %s\n", c.Path, c.BaseVersion, c.CurrentVersion,
				c.CommittedBy, c.CommittedAt.Local().Format("2006-01-02 15:04"))
		}
		if !mayMerge {
			fmt.Fprintln(stderr, "run `collab pull`, merge those changes into your files, and push again")
			return exitFail, false
		}
		stale := make([]string, len(ans.Conflicts))
		for i, c := range ans.Conflicts {
			stale[i] = c.Path
		}
		clean, err := w.mergeStale(changes, stale)
		if err != nil {
			return fail(stderr, err), false
		}
		if !clean {
			fmt.Fprintln(stderr, "collab: nothing was pushed: resolve the conflicts above (`collab status` lists them), then push again")
			return exitFail, false
		}
		fmt.Fprintln(stdout, "pushing again with the merge")
		return exitOK, true
	case http.StatusLocked:
		fmt.Fprintln(stderr, "collab: push refused: checked out by someone else:")
		for _, l := range ans.Locked {
			fmt.Fprintf(stderr, "  %s: locked by %s until %s\n", l.Path, l.Holder, l.ExpiresAt.Local().Format("2006-01-02 15:04"))
		}
		return exitFail, false
	case http.StatusForbidden:
		fmt.Fprintf(stderr, "collab: push refused: you may not change: %s\n", strings.Join(ans.Forbidden, ", "))
		return exitFail, false
	default:
		return fail(stderr, problemError(status, b)), false
	}
	sent := make(map[string]int, len(changes))
	for i, c := range cs {
		sent[c.Path] = i
	}
	for _, o := range ans.Objects {
		i, ok := sent[o.Path]
		if !ok {
			continue
		}
		if cs[i].Op == "delete" {
			delete(w.state.Objects, o.Path)
			continue
		}
		w.state.Objects[o.Path] = wcObject{Version: o.Version, SHA256: cs[i].SHA256, Kind: cs[i].Kind, ContentType: cs[i].ContentType, File: fileFor[o.Path]}
	}
	w.recordPush(ans.Seq)
	if err := w.save(); err != nil {
		return fail(stderr, err), false
	}
	fmt.Fprintf(stdout, "pushed commit %d: %d change(s)\n", ans.Seq, len(ans.Objects))
	return exitOK, false
}

// sameJSON compares the saved body (push.json is written indented) with
// the one about to be sent.
func sameJSON(saved, body []byte) bool {
	var a bytes.Buffer
	return json.Compact(&a, saved) == nil && bytes.Equal(a.Bytes(), body)
}

// checkinAttempts bounds how often one push sends its check-in when the
// server answers 5xx or cannot be reached. Each attempt goes through the
// client's retryTransport, which already sends a 503 again after its
// Retry-After (a key makes that safe); this loop adds the network errors
// and the other 5xx, which the transport leaves to the command.
const checkinAttempts = 3

// checkin posts the check-in with its Idempotency-Key, and sends it again
// with the same key after a 5xx or a network error, 2 s later (a 503 has
// already been retried after its Retry-After by the client): the server
// answers the commit it made, rolls a half-made one forward, or answers
// 503 while the request that holds the key (one that crashed, too) still
// has its lease.
func (w *workCopy) checkin(body []byte, key string, stderr io.Writer) (int, []byte, error) {
	const wait = 2 * time.Second
	for attempt := 1; ; attempt++ {
		status, b, err := w.request("POST", w.base()+"/checkins", body, "Content-Type", "application/json", "Idempotency-Key", key)
		if (err == nil && status < 500) || attempt == checkinAttempts {
			return status, b, err
		}
		what := fmt.Sprint(err)
		if err == nil {
			what = problemError(status, b).Error()
		}
		fmt.Fprintf(stderr, "collab: %s; retrying in %s with the same Idempotency-Key\n", what, wait)
		time.Sleep(wait) // the server's own Retry-After: a timed wait, not a condition
	}
}

// recordPush notes our own commit seq: when it directly follows what the
// working copy had synced, the working copy is simply at seq (nothing to
// pull); otherwise others committed in between, and a pull will skip seq.
func (w *workCopy) recordPush(seq int64) {
	if seq == w.state.Head+1 && w.state.Since == fmt.Sprint(w.state.Head) {
		w.state.Head, w.state.Since = seq, fmt.Sprint(seq)
		return
	}
	w.state.Pushed = append(w.state.Pushed, seq)
}
