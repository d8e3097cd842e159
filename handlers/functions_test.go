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
	app, err := manifest.Load("..", "", func(string) string { return "x" })
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range unreachable(app, registeredRoutes()) {
		t.Errorf("%s is served by the handler but no functions/*/function.json routes it", r)
	}
	// The check can fail: a route outside every function's template is reported.
	extra := append(registeredRoutes(), httpapi.Route{Method: "GET", Pattern: "/api/nowhere/{id}"})
	if got := unreachable(app, extra); len(got) == 0 || got[len(got)-1] != "GET /api/nowhere/{id}" {
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
