package diff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Kinds of content, by how they are compared and merged.
const (
	KindJSON   = "json"
	KindText   = "text"
	KindBinary = "binary"
)

// MaxBytes is the largest content compared or merged by line or key; larger
// content is compared by size and hash (a diff of 64 MiB would be unreadable
// and would hold a request for seconds).
const MaxBytes = 4 << 20

// KindOf says how content named name (a path or file name) of type
// contentType is compared, given every version involved: JSON when the name
// or type says JSON and each version parses, text when each is UTF-8
// without NUL bytes, binary otherwise. A nil version is absent and decides
// nothing.
func KindOf(name, contentType string, versions ...[]byte) string {
	for _, v := range versions {
		if len(v) > MaxBytes {
			return KindBinary
		}
	}
	ct := strings.ToLower(contentType)
	if strings.HasSuffix(strings.ToLower(name), ".json") || strings.HasPrefix(ct, "application/json") || strings.Contains(ct, "+json") {
		ok := true
		for _, v := range versions {
			if v != nil {
				if _, err := parseJSON(v); err != nil {
					ok = false
				}
			}
		}
		if ok {
			return KindJSON
		}
	}
	for _, v := range versions {
		if !utf8.Valid(v) || bytes.IndexByte(v, 0) >= 0 {
			return KindBinary
		}
	}
	return KindText
}

// Result is what changed between two versions of one object's content.
type Result struct {
	Kind     string      `json:"kind"`
	Same     bool        `json:"same"`
	Keys     []KeyChange `json:"keys,omitempty"`    // json
	Unified  string      `json:"unified,omitempty"` // text (and json, for reading)
	Added    int         `json:"added,omitempty"`   // lines
	Removed  int         `json:"removed,omitempty"` // lines
	FromSize int64       `json:"fromSize"`
	ToSize   int64       `json:"toSize"`
	FromSHA  string      `json:"fromSha256,omitempty"`
	ToSHA    string      `json:"toSha256,omitempty"`
}

func sum(b []byte) string {
	if b == nil {
		return ""
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Compare diffs from and to (nil = the object is absent on that side).
func Compare(name, contentType string, from, to []byte, labelFrom, labelTo string) Result {
	r := Result{Kind: KindOf(name, contentType, from, to), Same: bytes.Equal(from, to) && (from == nil) == (to == nil),
		FromSize: int64(len(from)), ToSize: int64(len(to)), FromSHA: sum(from), ToSHA: sum(to)}
	if r.Same || r.Kind == KindBinary {
		return r
	}
	if r.Kind == KindJSON {
		switch {
		case from == nil: // the whole document is new
			r.Keys = []KeyChange{{Op: "added", Key: "", To: compact(to)}}
		case to == nil:
			r.Keys = []KeyChange{{Op: "removed", Key: "", From: compact(from)}}
		default:
			if keys, err := JSON(from, to); err == nil {
				r.Keys = keys
			}
		}
	}
	r.Unified, r.Added, r.Removed = Text(string(from), string(to), labelFrom, labelTo)
	return r
}

// Merged is the outcome of a three-way merge of one object's content.
type Merged struct {
	Kind string `json:"kind"`
	// Data is the merged content: clean, or with mine at conflicting keys
	// (json), or with conflict markers (text), or mine (binary).
	Data          []byte         `json:"-"`
	Keys          []KeyConflict  `json:"keys,omitempty"`
	Lines         []TextConflict `json:"lines,omitempty"`
	BinaryClashes bool           `json:"binary,omitempty"`
}

// Clean reports whether the merge needs no one's decision.
func (m Merged) Clean() bool { return len(m.Keys) == 0 && len(m.Lines) == 0 && !m.BinaryClashes }

// Merge merges mine and theirs, both changed from base (nil: both sides
// added the object): JSON key by key, text line by line, binary only when
// one side left it unchanged (or both made it the same).
func Merge(name, contentType string, base, mine, theirs []byte, mk Markers) Merged {
	kind := KindOf(name, contentType, base, mine, theirs)
	switch {
	case bytes.Equal(mine, theirs), bytes.Equal(base, theirs) && base != nil:
		return Merged{Kind: kind, Data: mine}
	case bytes.Equal(base, mine) && base != nil:
		return Merged{Kind: kind, Data: theirs}
	}
	switch kind {
	case KindJSON:
		data, keys, err := MergeJSON(base, mine, theirs)
		if err == nil {
			// A clean line merge that means the same keeps the files'
			// formatting exactly; otherwise the document is written anew.
			if text, lc := MergeText(string(base), string(mine), string(theirs), mk); len(lc) == 0 && len(keys) == 0 {
				if same, err := JSON([]byte(text), data); err == nil && len(same) == 0 {
					data = []byte(text)
				}
			}
			return Merged{Kind: kind, Data: data, Keys: keys}
		}
	case KindText:
		text, lc := MergeText(string(base), string(mine), string(theirs), mk)
		return Merged{Kind: kind, Data: []byte(text), Lines: lc}
	}
	return Merged{Kind: KindBinary, Data: mine, BinaryClashes: true}
}

// compact is a JSON document on one line (it parsed: KindOf said JSON).
func compact(b []byte) json.RawMessage {
	n, err := parseJSON(b)
	if err != nil {
		return nil
	}
	return n.json()
}
