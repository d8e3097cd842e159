package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is a decoded JSON value that keeps its objects' key order (so a merge
// writes keys where the user had them) and its numbers' literals.
type node struct {
	keys  []string         // object: keys in order
	obj   map[string]*node // object
	arr   []*node          // array (isArr)
	raw   json.RawMessage  // scalar: its canonical encoding
	isArr bool
}

func (n *node) isObj() bool { return n != nil && n.obj != nil }

// parseJSON decodes one JSON document (trailing data is an error).
func parseJSON(b []byte) (*node, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	n, err := parseValue(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return n, nil
}

func parseValue(d *json.Decoder) (*node, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &node{obj: map[string]*node{}}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				val, err := parseValue(d)
				if err != nil {
					return nil, err
				}
				if _, dup := n.obj[k]; !dup {
					n.keys = append(n.keys, k)
				}
				n.obj[k] = val // the last of duplicate keys wins, as encoding/json decides
			}
			_, err := d.Token()
			return n, err
		case '[':
			n := &node{isArr: true, arr: []*node{}}
			for d.More() {
				val, err := parseValue(d)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, val)
			}
			_, err := d.Token()
			return n, err
		}
		return nil, fmt.Errorf("unexpected %v", v)
	case json.Number:
		return &node{raw: json.RawMessage(v.String())}, nil
	default:
		b, err := marshal(v)
		return &node{raw: b}, err
	}
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// equal compares two values; objects regardless of key order. nil = absent.
func equal(a, b *node) bool {
	switch {
	case a == nil || b == nil:
		return a == b
	case a.isObj() != b.isObj() || a.isArr != b.isArr:
		return false
	case a.isObj():
		if len(a.obj) != len(b.obj) {
			return false
		}
		for k, av := range a.obj {
			if !equal(av, b.obj[k]) {
				return false
			}
		}
		return true
	case a.isArr:
		if len(a.arr) != len(b.arr) {
			return false
		}
		for i := range a.arr {
			if !equal(a.arr[i], b.arr[i]) {
				return false
			}
		}
		return true
	}
	return bytes.Equal(a.raw, b.raw)
}

// encode writes n; indent "" is compact.
func (n *node) encode(b *bytes.Buffer, indent, prefix string) {
	colon := ":"
	if indent != "" {
		colon = ": "
	}
	// members writes count members between open and close, each on its
	// own line when indenting ({} and [] when none); member writes the i-th.
	members := func(open, close byte, count int, member func(i int)) {
		b.WriteByte(open)
		for i := 0; i < count; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			if indent != "" {
				b.WriteString("\n" + prefix + indent)
			}
			member(i)
		}
		if indent != "" && count > 0 {
			b.WriteString("\n" + prefix)
		}
		b.WriteByte(close)
	}
	switch {
	case n.isObj():
		members('{', '}', len(n.keys), func(i int) {
			kb, _ := marshal(n.keys[i])
			b.Write(kb)
			b.WriteString(colon)
			n.obj[n.keys[i]].encode(b, indent, prefix+indent)
		})
	case n.isArr:
		members('[', ']', len(n.arr), func(i int) { n.arr[i].encode(b, indent, prefix+indent) })
	default:
		b.Write(n.raw)
	}
}

func (n *node) json() json.RawMessage {
	if n == nil {
		return nil
	}
	var b bytes.Buffer
	n.encode(&b, "", "")
	return b.Bytes()
}

// pointer appends a key to a JSON Pointer (RFC 6901).
func pointer(parent, key string) string {
	return parent + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
}

// KeyChange is one difference between two JSON documents.
type KeyChange struct {
	Op   string          `json:"op"`  // "added", "removed" or "changed"
	Key  string          `json:"key"` // a JSON Pointer; "" is the whole document
	From json.RawMessage `json:"from,omitempty"`
	To   json.RawMessage `json:"to,omitempty"`
}

// JSON is the structural diff of two JSON documents: every added, removed
// and changed key with its path, objects compared key by key at every depth
// whatever their key order, arrays as whole values, in b's key order with
// removed keys after. An error says one side is not JSON.
func JSON(a, b []byte) ([]KeyChange, error) {
	na, err := parseJSON(a)
	if err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	nb, err := parseJSON(b)
	if err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	out := []KeyChange{}
	diffNodes("", na, nb, &out)
	return out, nil
}

func diffNodes(at string, a, b *node, out *[]KeyChange) {
	switch {
	case equal(a, b):
	case a == nil:
		*out = append(*out, KeyChange{Op: "added", Key: at, To: b.json()})
	case b == nil:
		*out = append(*out, KeyChange{Op: "removed", Key: at, From: a.json()})
	case a.isObj() && b.isObj():
		for _, k := range b.keys {
			diffNodes(pointer(at, k), a.obj[k], b.obj[k], out)
		}
		for _, k := range a.keys {
			if _, ok := b.obj[k]; !ok {
				diffNodes(pointer(at, k), a.obj[k], nil, out)
			}
		}
	default:
		*out = append(*out, KeyChange{Op: "changed", Key: at, From: a.json(), To: b.json()})
	}
}

// KeyConflict is a key both sides changed differently; an absent side
// (the key deleted, or never there) is null with its flag set.
type KeyConflict struct {
	Key           string          `json:"key"`
	Base          json.RawMessage `json:"base,omitempty"`
	Mine          json.RawMessage `json:"mine,omitempty"`
	Theirs        json.RawMessage `json:"theirs,omitempty"`
	BaseAbsent    bool            `json:"baseAbsent,omitempty"`
	MineDeleted   bool            `json:"mineDeleted,omitempty"`
	TheirsDeleted bool            `json:"theirsDeleted,omitempty"`
}

// MergeJSON merges two JSON documents changed from base (nil base: both
// added it) key by key. A key changed on one side only takes that change;
// changed alike on both, it takes it once; changed differently, it is a
// conflict and the result keeps mine there. The result is written with
// mine's indentation. An error says one side is not JSON.
func MergeJSON(base, mine, theirs []byte) ([]byte, []KeyConflict, error) {
	var nb *node
	if base != nil {
		var err error
		if nb, err = parseJSON(base); err != nil {
			return nil, nil, fmt.Errorf("base: %w", err)
		}
	}
	nm, err := parseJSON(mine)
	if err != nil {
		return nil, nil, fmt.Errorf("mine: %w", err)
	}
	nt, err := parseJSON(theirs)
	if err != nil {
		return nil, nil, fmt.Errorf("theirs: %w", err)
	}
	conflicts := []KeyConflict{}
	merged := merge3("", nb, nm, nt, &conflicts)
	if merged == nil { // both deleted everything: cannot happen for documents
		merged = nm
	}
	var out bytes.Buffer
	merged.encode(&out, indentOf(mine), "")
	if bytes.HasSuffix(mine, []byte("\n")) {
		out.WriteByte('\n')
	}
	return out.Bytes(), conflicts, nil
}

func merge3(at string, b, m, t *node, conflicts *[]KeyConflict) *node {
	switch {
	case equal(m, t), equal(b, t):
		return m
	case equal(b, m):
		return t
	case m.isObj() && t.isObj() && (b == nil || b.isObj()):
		if b == nil {
			b = &node{obj: map[string]*node{}}
		}
		out := &node{obj: map[string]*node{}}
		keys := append([]string{}, m.keys...)
		for _, k := range t.keys {
			if _, ok := m.obj[k]; !ok {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			if v := merge3(pointer(at, k), b.obj[k], m.obj[k], t.obj[k], conflicts); v != nil {
				out.keys = append(out.keys, k)
				out.obj[k] = v
			}
		}
		return out
	}
	*conflicts = append(*conflicts, KeyConflict{Key: at, Base: b.json(), Mine: m.json(), Theirs: t.json(),
		BaseAbsent: b == nil, MineDeleted: m == nil && b != nil, TheirsDeleted: t == nil && b != nil})
	return m
}

// indentOf guesses a document's indentation: the leading white space of its
// first indented line, "" when it is on one line.
func indentOf(b []byte) string {
	for _, l := range strings.Split(string(b), "\n")[1:] {
		trimmed := strings.TrimLeft(l, " \t")
		if trimmed != "" && len(trimmed) < len(l) {
			return l[:len(l)-len(trimmed)]
		}
	}
	if bytes.Contains(b, []byte("\n")) && len(bytes.TrimSpace(b)) > 2 {
		return "  "
	}
	return ""
}
