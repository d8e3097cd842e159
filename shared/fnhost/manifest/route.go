package manifest

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Route is a parsed route template as the Functions host reads it (ASP.NET
// attribute routing): literal segments (case-insensitive), {name},
// {name?} (optional, trailing only), {name:constraint[:constraint]} and
// {*name} (catch-all, last only).
type Route struct {
	Template string
	segs     []segment
}

type segKind int

// The order is the precedence: lower wins when several routes match.
const (
	segLiteral segKind = iota
	segConstrained
	segParam
	segOptional
	segCatchAll
)

type segment struct {
	kind        segKind
	literal     string
	name        string
	constraints []func(string) bool
}

var (
	paramPattern   = regexp.MustCompile(`^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(\?)?((?::[^:{}]+(?:\([^)]*\))?)*)\}$`)
	constraintPart = regexp.MustCompile(`:([a-z]+)(?:\(([^)]*)\))?`)
)

// ParseRoute parses a template; an unknown constraint or a misplaced
// optional or catch-all parameter is an error, as it is for the host.
func ParseRoute(tmpl string) (*Route, error) {
	r := &Route{Template: tmpl}
	t := strings.Trim(tmpl, "/")
	if t == "" {
		return r, nil
	}
	parts := strings.Split(t, "/")
	seen := map[string]bool{}
	for i, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("route %q: empty segment", tmpl)
		}
		if !strings.ContainsAny(p, "{}") {
			r.segs = append(r.segs, segment{kind: segLiteral, literal: strings.ToLower(p)})
			continue
		}
		m := paramPattern.FindStringSubmatch(p)
		if m == nil {
			return nil, fmt.Errorf("route %q: segment %q is not supported (one parameter per segment)", tmpl, p)
		}
		s := segment{name: m[2], kind: segParam}
		if seen[strings.ToLower(s.name)] {
			return nil, fmt.Errorf("route %q: parameter %q twice", tmpl, s.name)
		}
		seen[strings.ToLower(s.name)] = true
		last := i == len(parts)-1
		switch {
		case m[1] == "*":
			if !last {
				return nil, fmt.Errorf("route %q: a catch-all parameter must be last", tmpl)
			}
			s.kind = segCatchAll
		case m[3] == "?":
			if !last {
				return nil, fmt.Errorf("route %q: an optional parameter must be last", tmpl)
			}
			s.kind = segOptional
		}
		for _, c := range constraintPart.FindAllStringSubmatch(m[4], -1) {
			check, err := constraint(c[1], c[2])
			if err != nil {
				return nil, fmt.Errorf("route %q: %w", tmpl, err)
			}
			s.constraints = append(s.constraints, check)
		}
		if len(s.constraints) > 0 && s.kind == segParam {
			s.kind = segConstrained
		}
		r.segs = append(r.segs, s)
	}
	return r, nil
}

var (
	guidPattern  = regexp.MustCompile(`^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$`)
	alphaPattern = regexp.MustCompile(`^[A-Za-z]+$`)
)

func constraint(name, arg string) (func(string) bool, error) {
	switch name {
	case "int":
		return func(s string) bool { _, err := strconv.ParseInt(s, 10, 32); return err == nil }, nil
	case "long":
		return func(s string) bool { _, err := strconv.ParseInt(s, 10, 64); return err == nil }, nil
	case "double", "float", "decimal":
		return func(s string) bool { _, err := strconv.ParseFloat(s, 64); return err == nil }, nil
	case "bool":
		return func(s string) bool { s = strings.ToLower(s); return s == "true" || s == "false" }, nil
	case "guid":
		return guidPattern.MatchString, nil
	case "alpha":
		return alphaPattern.MatchString, nil
	case "minlength", "maxlength", "length", "min", "max":
		n, err := strconv.Atoi(arg)
		if err != nil {
			return nil, fmt.Errorf("constraint %s(%s): %w", name, arg, err)
		}
		switch name {
		case "minlength":
			return func(s string) bool { return len(s) >= n }, nil
		case "maxlength":
			return func(s string) bool { return len(s) <= n }, nil
		case "length":
			return func(s string) bool { return len(s) == n }, nil
		case "min":
			return func(s string) bool { v, err := strconv.ParseInt(s, 10, 64); return err == nil && v >= int64(n) }, nil
		default:
			return func(s string) bool { v, err := strconv.ParseInt(s, 10, 64); return err == nil && v <= int64(n) }, nil
		}
	case "regex":
		re, err := regexp.Compile("(?i)" + arg)
		if err != nil {
			return nil, fmt.Errorf("constraint regex(%s): %w", arg, err)
		}
		return re.MatchString, nil
	}
	return nil, fmt.Errorf("unknown route constraint %q", name)
}

// Match matches a path relative to the route prefix ("items/42", no leading
// slash) and returns the route values.
func (r *Route) Match(path string) (map[string]string, bool) {
	path = strings.Trim(path, "/")
	var parts []string
	if path != "" {
		parts = strings.Split(path, "/")
	}
	vals := map[string]string{}
	for i, s := range r.segs {
		if s.kind == segCatchAll {
			vals[s.name] = strings.Join(parts[min(i, len(parts)):], "/")
			return vals, true
		}
		if i >= len(parts) {
			return vals, s.kind == segOptional && i == len(parts)
		}
		seg, err := url.PathUnescape(parts[i])
		if err != nil {
			return nil, false
		}
		if s.kind == segLiteral {
			if strings.ToLower(seg) != s.literal {
				return nil, false
			}
			continue
		}
		for _, c := range s.constraints {
			if !c(seg) {
				return nil, false
			}
		}
		vals[s.name] = seg
	}
	return vals, len(parts) == len(r.segs)
}

// morePrecise orders routes like ASP.NET: segment by segment, a literal
// beats a constrained parameter, which beats a parameter, an optional one,
// then a catch-all; on a tie the longer template wins.
func morePrecise(a, b *Route) bool {
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if a.segs[i].kind != b.segs[i].kind {
			return a.segs[i].kind < b.segs[i].kind
		}
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	return a.Template < b.Template
}

// HTTPMatch is the outcome of matching a request.
type HTTPMatch struct {
	Function *Function
	Values   map[string]string
	// Allowed is set when the path matched but not the method (405).
	Allowed []string
}

// MatchHTTP finds the function for method and a request path (with the
// route prefix, e.g. "/api/items/42"). skip (may be nil) excludes
// functions, e.g. disabled ones, which then do not exist for routing.
// Found is false for a 404; Allowed non-empty for a 405.
func (app *App) MatchHTTP(method, path string, skip func(*Function) bool) (HTTPMatch, bool) {
	rel := strings.TrimPrefix(path, "/")
	if app.Host.RoutePrefix != "" {
		p := app.Host.RoutePrefix
		if !strings.EqualFold(rel, p) && !strings.HasPrefix(strings.ToLower(rel), strings.ToLower(p)+"/") {
			return HTTPMatch{}, false
		}
		rel = rel[len(p):]
	}
	type cand struct {
		f    *Function
		vals map[string]string
	}
	var byPath []cand
	for _, f := range app.Functions {
		if f.Kind != HTTPTrigger || (skip != nil && skip(f)) {
			continue
		}
		if vals, ok := f.Route.Match(rel); ok {
			byPath = append(byPath, cand{f, vals})
		}
	}
	if len(byPath) == 0 {
		return HTTPMatch{}, false
	}
	sort.Slice(byPath, func(i, j int) bool { return morePrecise(byPath[i].f.Route, byPath[j].f.Route) })
	allowed := map[string]bool{}
	for _, c := range byPath {
		if c.f.AllowsMethod(method) {
			return HTTPMatch{Function: c.f, Values: c.vals}, true
		}
		for _, m := range c.f.Methods {
			allowed[m] = true
		}
	}
	var list []string
	for m := range allowed {
		list = append(list, m)
	}
	sort.Strings(list)
	return HTTPMatch{Allowed: list}, true
}
