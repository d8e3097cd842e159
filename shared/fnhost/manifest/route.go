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
}

// MatchHTTP finds the function the Functions host runs for method and a
// request path (with the route prefix, e.g. "/api/items/42"), as the HTTP
// extension's router does: the routes sorted by RouteComparison (byRoute),
// the first whose template and methods (an HttpMethodRouteConstraint) both
// match wins. A wrong method is no match, so the next route is tried and,
// when none is left, the answer is 404 (never 405). A disabled function is
// matched like any other: the host answers 404 for it and does not fall
// through (FunctionInvocationMiddleware.cs lines 123-128); the caller
// checks. skip (may be nil) drops functions from the table altogether, for
// tests that ask what another function would catch. found is false for no match.
func (app *App) MatchHTTP(method, path string, skip func(*Function) bool) (HTTPMatch, bool) {
	rel := strings.TrimPrefix(path, "/")
	if app.Host.RoutePrefix != "" {
		p := app.Host.RoutePrefix
		if !strings.EqualFold(rel, p) && !strings.HasPrefix(strings.ToLower(rel), strings.ToLower(p)+"/") {
			return HTTPMatch{}, false
		}
		rel = rel[len(p):]
	}
	for _, f := range app.RouteOrder() {
		if skip != nil && skip(f) {
			continue
		}
		if !f.AllowsMethod(method) {
			continue
		}
		if vals, ok := f.Route.Match(rel); ok {
			return HTTPMatch{Function: f, Values: vals}, true
		}
	}
	return HTTPMatch{}, false
}

// RouteOrder lists the HTTP functions in the order the host's router tries
// them: by CompareRoutes, and by function name where it sees no difference.
// (The host sorts with List.Sort, which is not stable: for two routes it
// cannot tell apart the order is undefined there, so such a pair must not
// share a path and method; TestRoutesAreUnambiguous in handlers checks ours.)
func (app *App) RouteOrder() []*Function {
	var fs []*Function
	for _, f := range app.Functions { // sorted by name
		if f.Kind == HTTPTrigger {
			fs = append(fs, f)
		}
	}
	sort.SliceStable(fs, func(i, j int) bool { return CompareRoutes(fs[i].Route, fs[j].Route) < 0 })
	return fs
}

// CompareRoutes is the HTTP extension's RouteComparison
// (azure-webjobs-sdk-extensions, src/WebJobs.Extensions.Http/WebJobsRouteBuilder.cs,
// Build and RouteComparison): segment by segment, a literal comes before a
// parameter, two literals in case-insensitive ordinal order, of two
// parameters the one with more inline constraints first; then the longer
// template first. 0 means the router cannot tell them apart.
func CompareRoutes(x, y *Route) int {
	for i := range x.segs {
		if len(y.segs) <= i {
			return -1
		}
		xs, ys := x.segs[i], y.segs[i]
		xp, yp := xs.kind != segLiteral, ys.kind != segLiteral
		switch {
		case !xp && yp:
			return -1
		case xp && !yp:
			return 1
		case xp:
			if len(xs.constraints) != len(ys.constraints) {
				if len(xs.constraints) > len(ys.constraints) {
					return -1
				}
				return 1
			}
		default:
			if c := strings.Compare(xs.literal, ys.literal); c != 0 { // literals are kept lower-cased
				return c
			}
		}
	}
	if len(y.segs) > len(x.segs) {
		return 1
	}
	return 0
}
