package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T) *App {
	t.Helper()
	app, err := Load("testdata/app", "testdata/app/local.settings.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func TestLoadReadsHostAndFunctions(t *testing.T) {
	app := load(t)
	h := app.Host
	if h.ExecutablePath != "handler" || !h.ForwardHTTP || h.RoutePrefix != "api" || h.FunctionTimeout != 2*time.Minute {
		t.Fatalf("host: %+v", h)
	}
	q := h.Queues
	if q.MaxDequeueCount != 3 || q.VisibilityTimeout != 5*time.Second || q.BatchSize != 4 ||
		q.MaxPollingInterval != 2500*time.Millisecond || q.MessageEncoding != "none" {
		t.Fatalf("queues: %+v", q)
	}
	var names []string
	for _, f := range app.Functions {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "Files,Health,Items,ItemsNew,Tick,Work" {
		t.Fatalf("functions %v", names)
	}
	if w := app.Function("Work"); w.Kind != QueueTrigger || w.Queue != "work-items" || w.Binding != "item" || w.Connection != "AzureWebJobsStorage" {
		t.Fatalf("Work: %+v", w)
	}
	if tk := app.Function("Tick"); tk.Kind != TimerTrigger || tk.Schedule != "0 */5 * * * *" || !tk.RunOnStartup {
		t.Fatalf("Tick: %+v", tk)
	}
	if hl := app.Function("Health"); hl.Route.Template != "Health" {
		t.Fatalf("default route is the function name: %q", hl.Route.Template)
	}
}

func TestSettingsAndDisabled(t *testing.T) {
	env := map[string]string{"WorkQueue": "from-env", "AzureWebJobs.Work.Disabled": "1"}
	app, err := Load("testdata/app", "testdata/app/local.settings.json", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if app.Function("Work").Queue != "from-env" {
		t.Fatal("the environment must win over local settings for %Setting% references")
	}
	getenv := func(k string) string { return env[k] }
	cases := []struct {
		name string
		want bool
	}{{"Tick", true}, {"Work", true}, {"Items", false}}
	for _, c := range cases {
		if got := app.Disabled(c.name, getenv); got != c.want {
			t.Errorf("Disabled(%s) = %v", c.name, got)
		}
	}
	env["AzureWebJobs.Tick.Disabled"] = "false"
	if app.Disabled("Tick", getenv) {
		t.Error("the environment must override local settings")
	}
	if _, err := Load("testdata/app", "", nil); err == nil || !strings.Contains(err.Error(), "% is not set") {
		t.Fatalf("an unresolved setting must be an error naming it: %v", err)
	}
	if _, err := Load("testdata/bad", "", nil); err == nil || !strings.Contains(err.Error(), `unknown route constraint "number"`) {
		t.Fatalf("unknown constraint: %v", err)
	}
}

func TestRouteMatching(t *testing.T) {
	app := load(t)
	cases := []struct {
		method, path string
		wantFn       string
		wantVals     map[string]string
	}{
		{"GET", "/api/items/42", "Items", map[string]string{"id": "42"}},
		{"POST", "/API/Items/7", "Items", map[string]string{"id": "7"}},
		{"GET", "/api/items/abc", "", nil},
		{"GET", "/api/items/99999999999", "", nil}, // over int32
		{"GET", "/api/items/new", "ItemsNew", map[string]string{}},
		{"POST", "/api/items/new", "", nil},  // a wrong method is no match: 404, not 405
		{"DELETE", "/api/items/42", "", nil}, // likewise
		{"DELETE", "/api/files/a/b/c.json", "Files", map[string]string{"path": "a/b/c.json"}},
		{"GET", "/api/files", "Files", map[string]string{"path": ""}},
		{"GET", "/api/health", "Health", map[string]string{}},
		{"GET", "/api/nothing", "", nil},
		{"GET", "/other/items/1", "", nil},
		{"GET", "/api/items/42/extra", "", nil},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			m, found := app.MatchHTTP(c.method, c.path, nil)
			if found != (c.wantFn != "") {
				t.Fatalf("found = %v", found)
			}
			got := ""
			if m.Function != nil {
				got = m.Function.Name
			}
			if got != c.wantFn {
				t.Fatalf("fn %q", got)
			}
			for k, v := range c.wantVals {
				if m.Values[k] != v {
					t.Fatalf("values %v", m.Values)
				}
			}
		})
	}
	// A skipped function does not exist for routing: items/{id:int} cannot
	// take "new", so nothing matches.
	if m, found := app.MatchHTTP("GET", "/api/items/new", func(f *Function) bool { return f.Name == "ItemsNew" }); found {
		t.Fatalf("a skipped function still routed: %+v", m)
	}
}

// TestCompareRoutes: the HTTP extension's RouteComparison, row by row.
func TestCompareRoutes(t *testing.T) {
	cases := []struct {
		x, y string
		want int
	}{
		{"api/health", "{*path}", -1},                     // a literal before a parameter
		{"{*path}", "api/health", 1},                      //
		{"api/dev/token", "api/dev/{*rest}", -1},          // decided at the third segment
		{"api/items/{id:int}", "api/items/{id}", -1},      // more inline constraints first
		{"api/a", "api/b", -1},                            // literals in ordinal order
		{"API/b", "api/a", 1},                             // ignoring case
		{"api/items/{id}/x", "api/items/{id}", -1},        // the longer first
		{"api/items/{id}", "api/items/{key}", 0},          // the router cannot tell them apart
		{"api/items/{*rest}", "api/items/{id?}", 0},       // nor these
		{"api/items/{id:int}", "api/items/{n:min(1)}", 0}, // one constraint each
	}
	for _, c := range cases {
		x, err1 := ParseRoute(c.x)
		y, err2 := ParseRoute(c.y)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if got := CompareRoutes(x, y); got != c.want {
			t.Errorf("CompareRoutes(%q, %q) = %d, want %d", c.x, c.y, got, c.want)
		}
	}
}

func TestParseRoute(t *testing.T) {
	cases := []struct {
		tmpl, path string
		ok         bool
		vals       map[string]string
		parseErr   string
	}{
		{tmpl: "a/{b?}", path: "a", ok: true, vals: map[string]string{}},
		{tmpl: "a/{b?}", path: "a/x", ok: true, vals: map[string]string{"b": "x"}},
		{tmpl: "u/{id:guid}", path: "u/0f8fad5b-d9cb-469f-a165-70867728950e", ok: true},
		{tmpl: "u/{id:guid}", path: "u/nope", ok: false},
		{tmpl: "n/{name:alpha:maxlength(3)}", path: "n/abc", ok: true},
		{tmpl: "n/{name:alpha:maxlength(3)}", path: "n/abcd", ok: false},
		{tmpl: "r/{v:regex(^v[0-9]+$)}", path: "r/V12", ok: true},
		{tmpl: "b/{flag:bool}", path: "b/TRUE", ok: true},
		{tmpl: "e/{x}", path: "e/a%20b", ok: true, vals: map[string]string{"x": "a b"}},
		{tmpl: "a/{b?}/c", parseErr: "optional parameter must be last"},
		{tmpl: "a/{*b}/c", parseErr: "catch-all parameter must be last"},
		{tmpl: "a/{b}.{c}", parseErr: "not supported"},
		{tmpl: "a/{b}/{B}", parseErr: "twice"},
		{tmpl: "a//b", parseErr: "empty segment"},
	}
	for _, c := range cases {
		t.Run(c.tmpl+" "+c.path, func(t *testing.T) {
			r, err := ParseRoute(c.tmpl)
			if c.parseErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.parseErr) {
					t.Fatalf("err %v, want %q", err, c.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vals, ok := r.Match(c.path)
			if ok != c.ok {
				t.Fatalf("match = %v", ok)
			}
			for k, v := range c.vals {
				if vals[k] != v {
					t.Fatalf("values %v", vals)
				}
			}
		})
	}
}

func TestParseTimeSpan(t *testing.T) {
	cases := map[string]time.Duration{"00:00:10": 10 * time.Second, "01:02:03.5": time.Hour + 2*time.Minute + 3500*time.Millisecond, "1.00:00:00": 24 * time.Hour}
	for in, want := range cases {
		if got, err := ParseTimeSpan(in); err != nil || got != want {
			t.Errorf("%s: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"10", "00:61:00", "aa:00:00", "00:00:60"} {
		if _, err := ParseTimeSpan(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// writeApp lays out a function app under a temporary root: host.json and
// one functions/<name>/function.json per HTTP route (methods "get,post").
func writeApp(t *testing.T, routePrefix string, routes map[string][2]string) string {
	t.Helper()
	root := t.TempDir()
	host := `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"},"enableForwardingHttpRequest":true},` +
		`"extensions":{"http":{"routePrefix":"` + routePrefix + `"}}}`
	if err := os.WriteFile(filepath.Join(root, "host.json"), []byte(host), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, rm := range routes {
		dir := filepath.Join(root, "functions", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		methods := `"` + strings.Join(strings.Split(rm[1], ","), `","`) + `"`
		fj := `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":[` + methods + `],"route":"` + rm[0] + `"},{"type":"http","direction":"out","name":"res"}]}`
		if err := os.WriteFile(filepath.Join(dir, "function.json"), []byte(fj), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestEmptyRoutePrefixServesTheRoot: with routePrefix "" a catch-all route
// takes the site root and every path no more precise route claims, and
// literal routes still win (ASP.NET precedence), as in the Functions host.
func TestEmptyRoutePrefixServesTheRoot(t *testing.T) {
	app, err := Load(writeApp(t, "", map[string][2]string{
		"Site":  {"{*path}", "get,head"},
		"Items": {"api/items/{id:int}", "get,post"},
	}), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if app.Host.RoutePrefix != "" {
		t.Fatalf("route prefix %q", app.Host.RoutePrefix)
	}
	cases := []struct{ method, path, want string }{
		{"GET", "/", "Site"},
		{"HEAD", "/", "Site"},
		{"GET", "/console/users/x", "Site"},
		{"GET", "/api/items/4", "Items"},
		{"POST", "/api/items/4", "Items"},
		{"GET", "/api/items/abc", "Site"}, // the constraint fails: only the catch-all is left
		{"POST", "/console", ""},          // no route takes POST there: 404
	}
	for _, c := range cases {
		m, found := app.MatchHTTP(c.method, c.path, nil)
		got := ""
		if m.Function != nil {
			got = m.Function.Name
		}
		if found != (c.want != "") || got != c.want {
			t.Errorf("%s %s: found %v, function %q; want %q", c.method, c.path, found, got, c.want)
		}
	}
}

// TestReservedRoutesAreRefused: the host refuses function routes starting
// with admin or runtime (its own endpoints), whatever the prefix.
func TestReservedRoutesAreRefused(t *testing.T) {
	for _, route := range []string{"admin/x", "Runtime/{*rest}", "/administer"} {
		_, err := Load(writeApp(t, "", map[string][2]string{"F": {route, "get"}}), "", nil)
		if err == nil || !strings.Contains(err.Error(), "built-in admin/runtime routes") {
			t.Errorf("route %q: %v", route, err)
		}
	}
	if _, err := Load(writeApp(t, "", map[string][2]string{"F": {"api/admin", "get"}}), "", nil); err != nil {
		t.Errorf("api/admin is not reserved: %v", err)
	}
}

// TestHostDefaultsAndForwarding: without extensions.queues the host poisons
// after 5 dequeues (maxDequeueCount's default); an HTTP function is forwarded
// only with exactly one httpTrigger in and one http out.
func TestHostDefaultsAndForwarding(t *testing.T) {
	root := t.TempDir()
	write := func(path, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, path), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("host.json", `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"handler"},"enableForwardingHttpRequest":true}}`)
	write("functions/Plain/function.json", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"}]}`)
	write("functions/WithQueue/function.json", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"},{"type":"http","direction":"out","name":"res"},{"type":"queue","direction":"out","name":"q","queueName":"x"}]}`)
	write("functions/NoOut/function.json", `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req"}]}`)
	app, err := Load(root, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if app.Host.Queues.MaxDequeueCount != 5 {
		t.Fatalf("maxDequeueCount default %d, want 5", app.Host.Queues.MaxDequeueCount)
	}
	for name, want := range map[string]bool{"Plain": true, "WithQueue": false, "NoOut": false} {
		if got := app.Function(name).InOut; got != want {
			t.Errorf("%s: InOut %v, want %v", name, got, want)
		}
	}
}
