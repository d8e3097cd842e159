package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/fnhost/manifest"
	"github.com/studio-collab/collab/shared/httpapi"
)

var patternParam = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// samplePath turns a ServeMux pattern into a concrete path: {p} -> p1,
// {rest...} -> a/b, so it can be matched against function routes.
func samplePath(pattern string) string {
	pattern = strings.TrimSuffix(pattern, "{$}")
	return patternParam.ReplaceAllStringFunc(pattern, func(m string) string {
		sub := patternParam.FindStringSubmatch(m)
		if sub[2] != "" {
			return "a/b"
		}
		return sub[1] + "1"
	})
}

func unreachable(app *manifest.App, routes []httpapi.Route) []string {
	var out []string
	for _, r := range routes {
		m, found := app.MatchHTTP(r.Method, samplePath(r.Pattern), nil)
		if !found || m.Function == nil {
			out = append(out, r.Method+" "+r.Pattern)
		}
	}
	sort.Strings(out)
	return out
}

// TestEveryRouteIsReachableThroughAFunction: in Azure the host forwards only
// requests that match some HTTP function's route and methods, so a handler
// route without one does not exist there.
func TestEveryRouteIsReachableThroughAFunction(t *testing.T) {
	t.Parallel()
	app, err := manifest.Load("..", "", func(string) string { return "x" })
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range unreachable(app, registeredRoutes()) {
		t.Errorf("%s is served by the handler but no functions/*/function.json routes it", r)
	}
	// The check can fail: a route outside every function's template is reported.
	// (POST: the WebConsole function's catch-all takes any GET.)
	extra := append(registeredRoutes(), httpapi.Route{Method: "POST", Pattern: "/api/nowhere/{id}"})
	if got := unreachable(app, extra); len(got) == 0 || got[len(got)-1] != "POST /api/nowhere/{id}" {
		t.Fatalf("an unrouted pattern was not reported: %v", got)
	}
	for _, f := range app.Functions {
		if f.Kind == manifest.HTTPTrigger && !app.Host.ForwardHTTP {
			t.Fatal("host.json must forward HTTP requests (enableForwardingHttpRequest)")
		}
	}
}

// TestNonHTTPFunctionsAreRegistered: every timer/queue/Service Bus function
// folder has a registered Func, and every registered Func has a folder.
func TestNonHTTPFunctionsAreRegistered(t *testing.T) {
	t.Parallel()
	app, err := manifest.Load("..", "", func(string) string { return "x" })
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, f := range app.Functions {
		if f.Kind != manifest.HTTPTrigger {
			folders = append(folders, f.Name)
		}
	}
	fr := fnhost.NewRouter(http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	RegisterFunctions(fr, Deps{})
	if got, want := strings.Join(fr.Functions(), ","), strings.Join(folders, ","); got != want {
		t.Fatalf("registered functions %q, function folders %q", got, want)
	}
}

// TestAPIRoutesHaveTheirOwnFunctions: with routePrefix "" (so that the
// WebConsole function can take the site root), every function except WebConsole
// spells its route from "api/", and every /api route is reachable through
// such a function, not merely through the WebConsole's GET catch-all: a route
// that only WebConsole reaches would lose its other methods and its own
// AzureWebJobs.<Name>.Disabled switch.
func TestAPIRoutesHaveTheirOwnFunctions(t *testing.T) {
	t.Parallel()
	app, err := manifest.Load("..", "", func(string) string { return "x" })
	if err != nil {
		t.Fatal(err)
	}
	if app.Host.RoutePrefix != "" {
		t.Fatalf("host.json routePrefix %q; the console needs \"\" (docs/decisions.md)", app.Host.RoutePrefix)
	}
	for _, f := range app.Functions {
		if f.Kind == manifest.HTTPTrigger && f.Name != "WebConsole" && !strings.HasPrefix(f.Route.Template, "api/") {
			t.Errorf("function %s: route %q must start with api/ (host.json has no route prefix)", f.Name, f.Route.Template)
		}
	}
	notConsole := func(f *manifest.Function) bool { return f.Name == "WebConsole" }
	for _, r := range registeredRoutes() {
		if !strings.HasPrefix(r.Pattern, "/api/") {
			continue
		}
		if m, found := app.MatchHTTP(r.Method, samplePath(r.Pattern), notConsole); !found || m.Function == nil {
			t.Errorf("%s %s is reachable only through the WebConsole catch-all", r.Method, r.Pattern)
		}
	}
	// The console's own paths go to WebConsole.
	for _, p := range []string{"/", "/console/users", "/console/assets/v-1/app.js"} {
		if m, _ := app.MatchHTTP("GET", p, nil); m.Function == nil || m.Function.Name != "WebConsole" {
			t.Errorf("GET %s does not reach the WebConsole function", p)
		}
	}
}

// TestHTTPFunctionsAreForwarded: the host forwards a request as is only to
// a function with exactly one httpTrigger in and one http out
// (IsHttpInAndOutFunction); the handler serves no other form.
func TestHTTPFunctionsAreForwarded(t *testing.T) {
	t.Parallel()
	app, err := manifest.Load("..", "", func(string) string { return "x" })
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range app.Functions {
		if f.Kind == manifest.HTTPTrigger {
			n++
			if !f.InOut {
				t.Errorf("%s: an HTTP function needs exactly one httpTrigger in and one http out, or the host does not forward it", f.Name)
			}
		}
	}
	if n < 5 {
		t.Fatalf("only %d HTTP functions", n)
	}
}

var templateParam = regexp.MustCompile(`\{(\*)?([A-Za-z_][A-Za-z0-9_]*)\??(:[^}]*)?\}`)

// templateSample turns a function route into a concrete path.
func templateSample(tmpl string) string {
	return "/" + templateParam.ReplaceAllStringFunc(tmpl, func(m string) string {
		sub := templateParam.FindStringSubmatch(m)
		switch {
		case sub[1] == "*":
			return "a/b"
		case strings.Contains(sub[3], "int"):
			return "1"
		}
		return sub[2] + "1"
	})
}

// TestRoutesAreUnambiguous: wherever two HTTP functions could both take a
// request (same path, a shared method), the host's route order must tell
// them apart (CompareRoutes != 0): for routes it sees as equal its sort is
// not stable, so which one runs would be left to chance. Every request goes
// to the same function whether the routes are tried in the current HTTP
// extension's order or in function-name order without precedence (older
// releases of the extension; hence the catch-all is named WebConsole, after
// every other HTTP function). And every path goes where its own function is.
func TestRoutesAreUnambiguous(t *testing.T) {
	t.Parallel()
	app, err := manifest.Load("..", "", func(string) string { return "x" })
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, r := range registeredRoutes() {
		paths = append(paths, samplePath(r.Pattern))
	}
	var fs []*manifest.Function
	for _, f := range app.Functions {
		if f.Kind == manifest.HTTPTrigger {
			fs = append(fs, f)
			paths = append(paths, templateSample(f.Route.Template))
		}
	}
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
	overlaps := 0
	for i, a := range fs {
		for _, b := range fs[i+1:] {
			for _, p := range paths {
				_, ma := a.Route.Match(strings.TrimPrefix(p, "/"))
				_, mb := b.Route.Match(strings.TrimPrefix(p, "/"))
				if !ma || !mb {
					continue
				}
				for _, m := range methods {
					if a.AllowsMethod(m) && b.AllowsMethod(m) {
						overlaps++
						if manifest.CompareRoutes(a.Route, b.Route) == 0 {
							t.Errorf("%s %s: %s (%s) and %s (%s) both match and the host's order cannot tell them apart",
								m, p, a.Name, a.Route.Template, b.Name, b.Route.Template)
						}
					}
				}
			}
		}
	}
	if overlaps == 0 {
		t.Fatal("no overlap found: the check checks nothing (WebConsole's catch-all overlaps every GET route)")
	}
	byName := func(method, p string) *manifest.Function {
		for _, f := range fs { // app.Functions is sorted by name
			if _, ok := f.Route.Match(strings.TrimPrefix(p, "/")); ok && f.AllowsMethod(method) {
				return f
			}
		}
		return nil
	}
	for _, p := range append(paths, "/", "/console/users", "/api/unknown") {
		for _, m := range methods {
			got, _ := app.MatchHTTP(m, p, nil)
			if want := byName(m, p); got.Function != want {
				t.Errorf("%s %s: the host's order picks %v, function-name order %v", m, p, got.Function, want)
			}
		}
	}
	// Each function's own sample path reaches it, whatever catch-all also matches.
	for _, f := range fs {
		p := templateSample(f.Route.Template)
		m, _ := app.MatchHTTP(f.Methods[0], p, nil)
		if m.Function != f {
			got := "nothing"
			if m.Function != nil {
				got = m.Function.Name
			}
			t.Errorf("%s %s goes to %s, not %s", f.Methods[0], p, got, f.Name)
		}
	}
}
