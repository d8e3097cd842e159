package main

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/studio-collab/collab/shared/security"
)

// This file is the one place that maps catalog object paths to working-copy
// file names and back (docs/catalog.md, "File names"). The rule:
//
//   - A file's object path is its path in the working copy, with '/'
//     separators, exactly: model.bpmn is pushed as .../model.bpmn and comes
//     back as model.bpmn; a file without an extension keeps none.
//   - Objects pushed before this rule (working-copy format 1) have no
//     extension in their path: the old client cut it off and kept only a
//     content type. Such an object (no '.' in its last segment and a content
//     type of legacyExt) is written as its path plus that extension, which is
//     the name the old client gave it; any other object is written under its
//     path. The new client never makes such a pair (an extensionless file is
//     application/octet-stream), so the rule cannot misread a new object.
//   - The working copy records each object's file in state.json, so a file
//     keeps the name it was given whatever the rule says; an old working copy
//     is migrated by recording the names the old client wrote.
//   - Names that differ only in case, and a file where another object needs
//     a folder, are refused: Windows and macOS cannot hold both.

// legacyExt is the extension the old client gave an object of a content type.
var legacyExt = map[string]string{"application/json": ".json", "application/xml": ".xml", "text/xml": ".xml", "text/plain": ".txt"}

// typeOfExt is the content type a new file is pushed with, by extension
// (lower case). A fixed table, not mime.TypeByExtension, so every machine
// pushes the same type for the same file.
var typeOfExt = map[string]string{
	".json": "application/json", ".xml": "application/xml", ".bpmn": "application/xml", ".dmn": "application/xml",
	".xsd": "application/xml", ".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv",
	".html": "text/html", ".css": "text/css", ".js": "text/javascript", ".yaml": "application/yaml", ".yml": "application/yaml",
	".sql": "text/plain", ".go": "text/plain", ".sh": "text/plain", ".bash": "text/plain", ".py": "text/plain",
	".cs": "text/plain", ".java": "text/plain", ".ts": "text/plain", ".properties": "text/plain",
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".svg": "image/svg+xml",
	".pdf": "application/pdf", ".zip": "application/zip",
}

// contentTypeOf is the content type a new file is pushed with.
func contentTypeOf(file string) string {
	if t, ok := typeOfExt[strings.ToLower(path.Ext(file))]; ok {
		return t
	}
	return "application/octet-stream"
}

// fileOf is the file (slash-separated, relative to the working copy) that an
// object arriving from the server is written to.
func fileOf(objPath, contentType string) string {
	if ext, ok := legacyExt[contentType]; ok && !strings.Contains(path.Base(objPath), ".") {
		return objPath + ext
	}
	return objPath
}

// formatOneFile is where the old client (working-copy format 1) wrote an
// object: its path plus an extension from its content type, .bin otherwise.
func formatOneFile(objPath, contentType string) string {
	ext, ok := legacyExt[contentType]
	if !ok {
		ext = ".bin"
	}
	return objPath + ext
}

// pathOfFile is the object path of a new file found in the working copy.
func pathOfFile(file string) (string, error) {
	if err := security.ValidatePath(file); err != nil {
		return "", err
	}
	return file, nil
}

// foldName is how file names compare on a case-insensitive file system
// (object path segments are ASCII, so lower-casing is enough).
func foldName(file string) string { return strings.ToLower(file) }

// names tracks the files of a working copy, folded, with their folders, so
// that a new name is refused when Windows or macOS could not hold it beside
// the others.
type names struct {
	files map[string]string // folded file -> object path
	dirs  map[string]int    // folded folder -> how many files lie under it
}

func newNames() *names { return &names{files: map[string]string{}, dirs: map[string]int{}} }

func parents(file string) []string {
	var out []string
	for d := path.Dir(file); d != "." && d != "/"; d = path.Dir(d) {
		out = append(out, d)
	}
	return out
}

// conflict says why file cannot hold object objPath ("" when it can).
func (n *names) conflict(objPath, file string) string {
	f := foldName(file)
	if other, ok := n.files[f]; ok && other != objPath {
		return fmt.Sprintf("its file %s is taken by %s (names that differ only in case cannot both live in a working copy)", file, other)
	}
	if n.dirs[f] > 0 {
		return fmt.Sprintf("its file %s is a folder holding other objects", file)
	}
	for _, d := range parents(f) {
		if other, ok := n.files[d]; ok {
			return fmt.Sprintf("its folder %s is the file of %s", d, other)
		}
	}
	return ""
}

func (n *names) add(objPath, file string) {
	f := foldName(file)
	if _, ok := n.files[f]; ok {
		return
	}
	n.files[f] = objPath
	for _, d := range parents(f) {
		n.dirs[d]++
	}
}

func (n *names) remove(file string) {
	f := foldName(file)
	if _, ok := n.files[f]; !ok {
		return
	}
	delete(n.files, f)
	for _, d := range parents(f) {
		if n.dirs[d]--; n.dirs[d] <= 0 {
			delete(n.dirs, d)
		}
	}
}

// caseClashes lists the groups of files that differ only in case, each as
// "a, A" (sorted), for a push to refuse.
func caseClashes(files []string) []string {
	byFold := map[string][]string{}
	for _, f := range files {
		byFold[foldName(f)] = append(byFold[foldName(f)], f)
		for _, d := range parents(f) {
			byFold[foldName(d)+"/"] = appendOnce(byFold[foldName(d)+"/"], d+"/")
		}
	}
	var out []string
	for _, g := range byFold {
		if len(g) > 1 {
			sort.Strings(g)
			out = append(out, strings.Join(g, ", "))
		}
	}
	sort.Strings(out)
	return out
}

func appendOnce(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// kindOf names a new object's kind from its place in the tree.
func kindOf(objPath string) string {
	segs := strings.Split(objPath, "/")
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
