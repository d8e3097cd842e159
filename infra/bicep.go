package infra

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	bicep "github.com/tree-sitter-grammars/tree-sitter-bicep/bindings/go"
	sitter "github.com/tree-sitter/go-tree-sitter"
)

// File is a parsed .bicep file.
type File struct {
	Path      string
	Src       []byte
	Errors    []string // syntax errors: "line:col: ..."
	Resources []Resource
	Vars      map[string]any // variable declarations whose value is a literal
	Params    []string
}

// Resource is one resource declaration.
type Resource struct {
	Symbol      string
	Type        string // e.g. Microsoft.Storage/storageAccounts
	APIVersion  string
	Existing    bool
	Conditional bool // "= if (...)"
	Loop        bool // "= [for ...]"
	Line        int
	Body        map[string]any
}

// Expr is an expression the checks do not evaluate; Text is its source.
type Expr struct{ Text string }

// Parse reads and parses a file.
func Parse(path string) (*File, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSource(path, src), nil
}

// ParseSource parses src (named path in messages).
func ParseSource(path string, src []byte) *File {
	p := sitter.NewParser()
	defer p.Close()
	if err := p.SetLanguage(sitter.NewLanguage(bicep.Language())); err != nil {
		return &File{Path: path, Errors: []string{err.Error()}}
	}
	tree := p.Parse(src, nil)
	defer tree.Close()
	f := &File{Path: path, Src: src, Vars: map[string]any{}}
	root := tree.RootNode()
	collectErrors(root, f)
	walk(root, func(n *sitter.Node) {
		switch n.Kind() {
		case "resource_declaration":
			f.Resources = append(f.Resources, f.resource(n))
		case "variable_declaration":
			if n.NamedChildCount() >= 2 {
				f.Vars[f.text(n.NamedChild(0))] = f.value(n.NamedChild(n.NamedChildCount() - 1))
			}
		case "parameter_declaration":
			f.Params = append(f.Params, f.text(n.NamedChild(0)))
		}
	})
	return f
}

func walk(n *sitter.Node, fn func(*sitter.Node)) {
	fn(n)
	for i := uint(0); i < n.ChildCount(); i++ {
		walk(n.Child(i), fn)
	}
}

func collectErrors(n *sitter.Node, f *File) {
	if n.IsError() || n.IsMissing() {
		pos := n.StartPosition()
		what := "syntax error"
		if n.IsMissing() {
			what = "missing " + n.Kind()
		}
		snippet := f.text(n)
		if len(snippet) > 40 {
			snippet = snippet[:40] + "…"
		}
		f.Errors = append(f.Errors, fmt.Sprintf("%s:%d:%d: %s near %q", f.Path, pos.Row+1, pos.Column+1, what, snippet))
		return
	}
	for i := uint(0); i < n.ChildCount(); i++ {
		collectErrors(n.Child(i), f)
	}
}

func (f *File) text(n *sitter.Node) string { return string(f.Src[n.StartByte():n.EndByte()]) }

func (f *File) resource(n *sitter.Node) Resource {
	r := Resource{Line: int(n.StartPosition().Row) + 1}
	for i := uint(0); i < n.NamedChildCount(); i++ {
		c := n.NamedChild(i)
		switch c.Kind() {
		case "identifier":
			if r.Symbol == "" {
				r.Symbol = f.text(c)
			} else if f.text(c) == "existing" {
				r.Existing = true
			}
		case "string":
			t, _ := f.value(c).(string)
			r.Type, r.APIVersion, _ = strings.Cut(t, "@")
		case "object":
			r.Body, _ = f.value(c).(map[string]any)
		case "if_statement":
			r.Conditional = true
			r.Body = f.lastObject(c)
		case "for_statement":
			r.Loop = true
			r.Body = f.lastObject(c)
		}
	}
	if strings.Contains(f.text(n), " existing ") || strings.Contains(f.text(n), " existing=") {
		r.Existing = true
	}
	return r
}

func (f *File) lastObject(n *sitter.Node) map[string]any {
	var out map[string]any
	walkShallow(n, func(c *sitter.Node) bool {
		if c.Kind() == "object" {
			out, _ = f.value(c).(map[string]any)
			return false
		}
		return true
	})
	return out
}

// walkShallow visits descendants until fn returns false for a node (its
// subtree is then skipped).
func walkShallow(n *sitter.Node, fn func(*sitter.Node) bool) {
	for i := uint(0); i < n.NamedChildCount(); i++ {
		c := n.NamedChild(i)
		if fn(c) {
			walkShallow(c, fn)
		}
	}
}

// value turns a node into Go: objects into maps, arrays into slices, plain
// strings, booleans and numbers into themselves, anything else into Expr.
func (f *File) value(n *sitter.Node) any {
	switch n.Kind() {
	case "object":
		m := map[string]any{}
		for i := uint(0); i < n.NamedChildCount(); i++ {
			p := n.NamedChild(i)
			if p.Kind() != "object_property" || p.NamedChildCount() < 2 {
				continue
			}
			key := f.text(p.NamedChild(0))
			key = strings.Trim(key, "'")
			m[key] = f.value(p.NamedChild(p.NamedChildCount() - 1))
		}
		return m
	case "array":
		var out []any
		for i := uint(0); i < n.NamedChildCount(); i++ {
			if c := n.NamedChild(i); c.Kind() != "comment" { // comments between elements are not elements
				out = append(out, f.value(c))
			}
		}
		return out
	case "string":
		for i := uint(0); i < n.NamedChildCount(); i++ {
			if n.NamedChild(i).Kind() == "interpolation" {
				return Expr{f.text(n)}
			}
		}
		t := f.text(n)
		if strings.HasPrefix(t, "'''") {
			return strings.Trim(t, "'")
		}
		return strings.ReplaceAll(strings.Trim(t, "'"), `\'`, "'")
	case "boolean":
		return f.text(n) == "true"
	case "number":
		v, _ := strconv.Atoi(f.text(n))
		return v
	}
	return Expr{f.text(n)}
}

// Get follows a dotted path through nested maps ("properties.minimumTlsVersion").
func Get(m map[string]any, path string) (any, bool) {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = mm[k]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}
