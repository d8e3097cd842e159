package main

// Three-way merge in the working copy (issue 17): a push that meets a stale
// base, and a pull that meets a local edit, merge (base, mine, theirs) with
// shared/catalog/diff instead of refusing: JSON key by key, text line by
// line. A clean merge is written and pushed (or left to push) and the user
// is told; a conflict leaves markers in a text file, or a <file>.conflict.json
// naming each conflicting key beside a JSON file (which keeps mine there),
// and `collab status` shows it until it is resolved.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/studio-collab/collab/shared/catalog/diff"
)

// conflictExt marks the description of a conflict beside its file.
const conflictExt = ".conflict.json"

// conflictNote is what a .conflict.json holds.
type conflictNote struct {
	Path          string             `json:"path"`
	TheirsVersion int64              `json:"theirsVersion,omitempty"`
	TheirsBy      string             `json:"theirsBy,omitempty"`
	Reason        string             `json:"reason"`
	Keys          []diff.KeyConflict `json:"conflicts,omitempty"`
	Resolve       string             `json:"resolve"`
}

// contentAt downloads path's content at version v (nil: deleted or absent).
func (w *workCopy) contentAt(path string, v int64) ([]byte, error) {
	q := "path=" + url.QueryEscape(path)
	if v > 0 {
		q += fmt.Sprintf("&version=%d", v)
	}
	status, b, err := w.request("GET", w.base()+"/content?"+q, nil)
	switch {
	case err != nil:
		return nil, err
	case status == http.StatusNotFound:
		return nil, nil
	case status != http.StatusOK:
		return nil, problemError(status, b)
	}
	return b, nil
}

// theirs is the server's side of a merge.
type theirs struct {
	version           int64
	sha, by, kind, ct string
	data              []byte // nil: deleted on the server
}

// mergeFile merges one object's file: base is the content the working copy
// was based on (nil: the object is new on both sides), mine the file (nil:
// deleted here), t the server's version. It writes the result, records t as
// the new base, and reports whether the merge was clean.
func (w *workCopy) mergeFile(path, file string, base, mine []byte, t theirs) (bool, error) {
	old := w.state.Objects[path]
	ct := old.ContentType
	if ct == "" {
		ct = t.ct
	}
	note := conflictNote{Path: path, TheirsVersion: t.version, TheirsBy: t.by}
	rebase := func() {
		w.state.Objects[path] = wcObject{Version: t.version, SHA256: t.sha, Kind: t.kind, ContentType: ct, File: file}
	}
	switch {
	case t.data == nil && mine == nil:
		delete(w.state.Objects, path)
		return true, nil
	case t.data == nil:
		// Deleted there, changed here: the file stays, as a new object.
		delete(w.state.Objects, path)
		note.Reason = fmt.Sprintf("deleted on the server (v%d by %s) and changed here", t.version, t.by)
		note.Resolve = "keep the file to bring the object back with your content, or delete it; then delete this note and push"
		return false, w.writeNote(file, note)
	case mine == nil:
		rebase()
		note.Reason = fmt.Sprintf("deleted here and changed on the server (v%d by %s): the server's version is back in the file", t.version, t.by)
		note.Resolve = "delete the file again to push the delete, or keep it; then delete this note"
		if err := w.writeFile(file, t.data); err != nil {
			return false, err
		}
		return false, w.writeNote(file, note)
	}
	m := diff.Merge(file, ct, base, mine, t.data, diff.Markers{Mine: "mine", Base: fmt.Sprintf("base v%d", old.Version),
		Theirs: fmt.Sprintf("theirs v%d by %s", t.version, t.by)})
	if err := w.writeFile(file, m.Data); err != nil {
		return false, err
	}
	rebase()
	switch {
	case m.Clean():
		return true, nil
	case len(m.Keys) > 0:
		note.Reason = fmt.Sprintf("%d key(s) changed here and on the server (v%d by %s) differently; the file keeps yours there and has the rest merged",
			len(m.Keys), t.version, t.by)
		note.Keys = m.Keys
		note.Resolve = "edit the file to the values you want, then delete this note and push"
		return false, w.writeNote(file, note)
	case m.BinaryClashes:
		note.Reason = fmt.Sprintf("binary content changed here and on the server (v%d by %s); the file keeps yours", t.version, t.by)
		note.Resolve = "keep yours or fetch theirs with `collab diff`, then delete this note and push"
		return false, w.writeNote(file, note)
	}
	return false, nil // text: the markers are in the file
}

func (w *workCopy) writeNote(file string, n conflictNote) error {
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	return w.writeFile(file+conflictExt, append(b, '\n'))
}

// sayMerged tells the user how a merge went.
func (w *workCopy) sayMerged(path, file string, clean bool, t theirs) {
	if clean {
		fmt.Fprintf(w.out, "merged %s: your changes and v%d by %s (automatic merge)\n", path, t.version, t.by)
		return
	}
	where := filepath.FromSlash(file) + conflictExt
	if _, err := os.Stat(filepath.Join(w.dir, where)); errors.Is(err, fs.ErrNotExist) {
		where = filepath.FromSlash(file) + " (conflict markers)"
	}
	fmt.Fprintf(w.out, "conflict: %s changed here and on the server (v%d by %s): see %s; resolve it, then push\n", path, t.version, t.by, where)
}

// serverSide reads path's current state and content on the server.
func (w *workCopy) serverSide(path string) (theirs, error) {
	var o struct {
		Version     int64
		SHA256      string
		Kind        string
		ContentType string
		CommittedBy string
		Deleted     bool
	}
	status, b, err := w.request("GET", w.base()+"/object?path="+url.QueryEscape(path), nil)
	if err != nil {
		return theirs{}, err
	}
	if status == http.StatusNotFound {
		// Deleted: its last version is in the history.
		var h struct {
			Items []struct {
				Version     int64
				CommittedBy string
			}
		}
		if err := w.getJSON(w.base()+"/history?path="+url.QueryEscape(path), &h); err != nil {
			return theirs{}, err
		}
		if n := len(h.Items); n > 0 {
			return theirs{version: h.Items[n-1].Version, by: h.Items[n-1].CommittedBy}, nil
		}
		return theirs{}, nil
	}
	if status != http.StatusOK {
		return theirs{}, problemError(status, b)
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return theirs{}, err
	}
	t := theirs{version: o.Version, sha: o.SHA256, by: o.CommittedBy, kind: o.Kind, ct: o.ContentType}
	if t.data, err = w.contentAt(path, o.Version); err != nil {
		return theirs{}, err
	}
	if t.data == nil {
		t.data = []byte{}
	}
	return t, nil
}

// mergeStale merges each local change a push was refused for (a stale
// base) with the server's current version; it reports whether every merge
// was clean (then the caller pushes again).
func (w *workCopy) mergeStale(changes []localChange, stale []string) (bool, error) {
	byPath := make(map[string]localChange, len(changes))
	for _, c := range changes {
		byPath[c.path] = c
	}
	clean := true
	for _, p := range stale {
		c, ok := byPath[p]
		if !ok {
			continue
		}
		t, err := w.serverSide(p)
		if err != nil {
			return false, err
		}
		var base []byte
		if c.base.Version > 0 {
			if base, err = w.contentAt(p, c.base.Version); err != nil {
				return false, err
			}
		}
		mine := c.data
		if c.op == "D" {
			mine = nil
		} else if mine == nil {
			mine = []byte{}
		}
		ok, err = w.mergeFile(p, c.file, base, mine, t)
		if err != nil {
			return false, err
		}
		w.sayMerged(p, c.file, ok, t)
		clean = clean && ok
	}
	return clean, w.save()
}

// unresolved lists the conflicts still open in the working copy: notes, and
// text files with conflict markers among the changes.
func unresolved(notes []string, changes []localChange) []string {
	out := append([]string{}, notes...)
	for _, c := range changes {
		if c.op != "D" && diff.KindOf(c.file, c.contentType, c.data) == diff.KindText && diff.HasMarkers(string(c.data)) {
			out = append(out, c.file+" (conflict markers)")
		}
	}
	return out
}

func isNote(file string) bool { return strings.HasSuffix(file, conflictExt) }
