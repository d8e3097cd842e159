package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// App is a function app as the host sees it.
type App struct {
	Root      string
	Host      HostConfig
	Functions []*Function // sorted by name
	Values    map[string]string
}

// HostConfig is the part of host.json the host's behaviour depends on.
type HostConfig struct {
	ExecutablePath   string
	Arguments        []string
	WorkingDirectory string
	ForwardHTTP      bool
	RoutePrefix      string
	FunctionTimeout  time.Duration
	Queues           QueueOptions
	HTTP             HTTPOptions
}

// HTTPOptions are host.json's extensions.http throttles (learn.microsoft.com,
// azure-functions/functions-bindings-http-webhook, "host.json settings"):
// at most MaxConcurrentRequests HTTP functions run at once, the rest wait;
// past MaxOutstandingRequests (running and waiting) a request is refused
// with 429. Zero or less: unbounded, the host's default outside Consumption.
type HTTPOptions struct {
	MaxConcurrentRequests  int
	MaxOutstandingRequests int
}

// QueueOptions are host.json's extensions.queues with the host's defaults.
type QueueOptions struct {
	MaxDequeueCount    int64         // default 5
	VisibilityTimeout  time.Duration // delay before a failed message is retried; default 0
	BatchSize          int           // default 16
	MaxPollingInterval time.Duration // default 1 min in Azure; devhost may lower it
	MessageEncoding    string        // "base64" (default) or "none"
}

// Trigger kinds.
const (
	HTTPTrigger       = "http"
	QueueTrigger      = "queue"
	TimerTrigger      = "timer"
	ServiceBusTrigger = "serviceBus"
	OtherTrigger      = "other"
)

// Function is one functions/<Name>/function.json.
type Function struct {
	Name    string
	Kind    string // one of the trigger kinds
	Binding string // the trigger binding's name (the Data key of invocations)
	// HTTP
	Route   *Route
	Methods []string // upper case; empty = every method
	// InOut is the host's IsHttpInAndOutFunction (azure-functions-host,
	// src/WebJobs.Script/Extensions/FunctionMetadataExtensions.cs lines
	// 25-41): exactly one input binding, an httpTrigger, and exactly one
	// output binding, an http. Only such a function has its request
	// forwarded as is (DefaultHttpWorkerService.cs lines 62-71); any other
	// HTTP function gets an invocation body the handler does not serve.
	InOut bool
	// Queue / Service Bus
	Queue      string
	Connection string
	// Timer
	Schedule     string
	RunOnStartup bool
}

// AllowsMethod reports whether an HTTP function accepts method.
func (f *Function) AllowsMethod(method string) bool {
	if len(f.Methods) == 0 {
		return true
	}
	for _, m := range f.Methods {
		if m == method {
			return true
		}
	}
	return false
}

type hostJSON struct {
	CustomHandler struct {
		Description struct {
			DefaultExecutablePath string   `json:"defaultExecutablePath"`
			WorkingDirectory      string   `json:"workingDirectory"`
			Arguments             []string `json:"arguments"`
		} `json:"description"`
		EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
	} `json:"customHandler"`
	FunctionTimeout string `json:"functionTimeout"`
	Extensions      struct {
		HTTP *struct {
			RoutePrefix            *string `json:"routePrefix"`
			MaxConcurrentRequests  int     `json:"maxConcurrentRequests"`
			MaxOutstandingRequests int     `json:"maxOutstandingRequests"`
		} `json:"http"`
		Queues struct {
			MaxDequeueCount    *int64 `json:"maxDequeueCount"`
			VisibilityTimeout  string `json:"visibilityTimeout"`
			BatchSize          *int   `json:"batchSize"`
			MaxPollingInterval string `json:"maxPollingInterval"`
			MessageEncoding    string `json:"messageEncoding"`
		} `json:"queues"`
	} `json:"extensions"`
}

type functionJSON struct {
	Disabled bool      `json:"disabled"`
	Bindings []binding `json:"bindings"`
}

type binding struct {
	Type         string   `json:"type"`
	Direction    string   `json:"direction"`
	Name         string   `json:"name"`
	Route        *string  `json:"route"`
	Methods      []string `json:"methods"`
	QueueName    string   `json:"queueName"`
	Connection   string   `json:"connection"`
	Schedule     string   `json:"schedule"`
	RunOnStartup bool     `json:"runOnStartup"`
}

type localSettings struct {
	IsEncrypted bool              `json:"IsEncrypted"`
	Values      map[string]string `json:"Values"`
}

// Load reads the app under root. settingsFile may be "" or missing (no
// values). getenv (nil = none) resolves %Setting% references before the
// local values, as the host's environment does.
func Load(root, settingsFile string, getenv func(string) string) (*App, error) {
	app := &App{Root: root, Values: map[string]string{}}
	if settingsFile != "" {
		b, err := os.ReadFile(settingsFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("manifest: %w", err)
		default:
			var ls localSettings
			if err := json.Unmarshal(b, &ls); err != nil {
				return nil, fmt.Errorf("manifest: %s: %w", settingsFile, err)
			}
			if ls.IsEncrypted {
				return nil, fmt.Errorf("manifest: %s: encrypted settings are not supported; set IsEncrypted to false", settingsFile)
			}
			for k, v := range ls.Values {
				app.Values[k] = v
			}
		}
	}
	if err := app.loadHost(filepath.Join(root, "host.json")); err != nil {
		return nil, err
	}
	dirs, err := filepath.Glob(filepath.Join(root, "functions", "*", "function.json"))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	lookup := func(name string) string {
		if getenv != nil {
			if v := getenv(name); v != "" {
				return v
			}
		}
		return app.Values[name]
	}
	for _, path := range dirs {
		f, err := loadFunction(path, lookup)
		if err != nil {
			return nil, err
		}
		app.Functions = append(app.Functions, f)
	}
	sort.Slice(app.Functions, func(i, j int) bool { return app.Functions[i].Name < app.Functions[j].Name })
	return app, nil
}

func (app *App) loadHost(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	var h hostJSON
	if err := json.Unmarshal(b, &h); err != nil {
		return fmt.Errorf("manifest: %s: %w", path, err)
	}
	d := h.CustomHandler.Description
	app.Host = HostConfig{
		ExecutablePath:   d.DefaultExecutablePath,
		Arguments:        d.Arguments,
		WorkingDirectory: d.WorkingDirectory,
		ForwardHTTP:      h.CustomHandler.EnableForwardingHTTPRequest,
		RoutePrefix:      "api",
		FunctionTimeout:  5 * time.Minute,
		Queues:           QueueOptions{MaxDequeueCount: 5, BatchSize: 16, MaxPollingInterval: time.Minute, MessageEncoding: "base64"},
	}
	if h.Extensions.HTTP != nil && h.Extensions.HTTP.RoutePrefix != nil {
		app.Host.RoutePrefix = strings.Trim(*h.Extensions.HTTP.RoutePrefix, "/")
	}
	if h.Extensions.HTTP != nil {
		app.Host.HTTP = HTTPOptions{MaxConcurrentRequests: h.Extensions.HTTP.MaxConcurrentRequests,
			MaxOutstandingRequests: h.Extensions.HTTP.MaxOutstandingRequests}
	}
	q := h.Extensions.Queues
	if q.MaxDequeueCount != nil {
		app.Host.Queues.MaxDequeueCount = *q.MaxDequeueCount
	}
	if q.BatchSize != nil {
		app.Host.Queues.BatchSize = *q.BatchSize
	}
	if q.MessageEncoding != "" {
		app.Host.Queues.MessageEncoding = strings.ToLower(q.MessageEncoding)
	}
	for _, ts := range []struct {
		s   string
		dst *time.Duration
	}{{q.VisibilityTimeout, &app.Host.Queues.VisibilityTimeout}, {q.MaxPollingInterval, &app.Host.Queues.MaxPollingInterval}, {h.FunctionTimeout, &app.Host.FunctionTimeout}} {
		if ts.s == "" {
			continue
		}
		d, err := ParseTimeSpan(ts.s)
		if err != nil {
			return fmt.Errorf("manifest: %s: %w", path, err)
		}
		*ts.dst = d
	}
	return nil
}

var settingRef = regexp.MustCompile(`%([A-Za-z0-9_.:-]+)%`)

func loadFunction(path string, lookup func(string) string) (*Function, error) {
	name := filepath.Base(filepath.Dir(path))
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var fj functionJSON
	if err := json.Unmarshal(b, &fj); err != nil {
		return nil, fmt.Errorf("manifest: %s: %w", path, err)
	}
	resolve := func(s string) (string, error) {
		var missing string
		out := settingRef.ReplaceAllStringFunc(s, func(m string) string {
			v := lookup(strings.Trim(m, "%"))
			if v == "" {
				missing = m
			}
			return v
		})
		if missing != "" {
			return "", fmt.Errorf("manifest: %s: setting %s is not set", path, missing)
		}
		return out, nil
	}
	f := &Function{Name: name, Kind: OtherTrigger}
	triggers := 0
	var ins, outs []string
	for _, bd := range fj.Bindings {
		switch strings.ToLower(bd.Direction) {
		case "in":
			ins = append(ins, strings.ToLower(bd.Type))
		case "out":
			outs = append(outs, strings.ToLower(bd.Type))
		}
	}
	f.InOut = len(ins) == 1 && len(outs) == 1 && ins[0] == "httptrigger" && outs[0] == "http"
	for _, bd := range fj.Bindings {
		if bd.Direction != "in" || !strings.HasSuffix(strings.ToLower(bd.Type), "trigger") {
			continue
		}
		triggers++
		f.Binding = bd.Name
		switch strings.ToLower(bd.Type) {
		case "httptrigger":
			f.Kind = HTTPTrigger
			tmpl := name
			if bd.Route != nil {
				tmpl = *bd.Route
			}
			// The host keeps admin/* and runtime/* for itself whatever the
			// route prefix (ScriptHost.ValidateHttpFunction): it refuses a
			// function route that starts with either, so do we.
			if lower := strings.ToLower(strings.Trim(tmpl, "/")); strings.HasPrefix(lower, "admin") || strings.HasPrefix(lower, "runtime") {
				return nil, fmt.Errorf("manifest: %s: route %q conflicts with the host's built-in admin/runtime routes", path, tmpl)
			}
			if f.Route, err = ParseRoute(tmpl); err != nil {
				return nil, fmt.Errorf("manifest: %s: %w", path, err)
			}
			for _, m := range bd.Methods {
				f.Methods = append(f.Methods, strings.ToUpper(m))
			}
		case "queuetrigger":
			f.Kind = QueueTrigger
			if f.Queue, err = resolve(bd.QueueName); err != nil {
				return nil, err
			}
			if f.Queue == "" {
				return nil, fmt.Errorf("manifest: %s: queueTrigger without queueName", path)
			}
			f.Connection = bd.Connection
		case "timertrigger":
			f.Kind = TimerTrigger
			if f.Schedule, err = resolve(bd.Schedule); err != nil {
				return nil, err
			}
			if f.Schedule == "" {
				return nil, fmt.Errorf("manifest: %s: timerTrigger without schedule", path)
			}
			f.RunOnStartup = bd.RunOnStartup
		case "servicebustrigger":
			f.Kind = ServiceBusTrigger
			if f.Queue, err = resolve(bd.QueueName); err != nil {
				return nil, err
			}
			f.Connection = bd.Connection
		}
	}
	if triggers != 1 {
		return nil, fmt.Errorf("manifest: %s: a function needs exactly one trigger binding, found %d", path, triggers)
	}
	return f, nil
}

// Function returns the function called name, or nil.
func (app *App) Function(name string) *Function {
	for _, f := range app.Functions {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Disabled reports whether AzureWebJobs.<Name>.Disabled is true, reading
// getenv first (the process environment wins, as with the real host) and
// then the local values.
func (app *App) Disabled(name string, getenv func(string) string) bool {
	key := "AzureWebJobs." + name + ".Disabled"
	v := ""
	if getenv != nil {
		v = getenv(key)
	}
	if v == "" {
		v = app.Values[key]
	}
	v = strings.ToLower(strings.TrimSpace(v))
	return v == "true" || v == "1"
}

// ParseTimeSpan reads a .NET TimeSpan as host.json writes it: [d.]hh:mm:ss[.fffffff].
func ParseTimeSpan(s string) (time.Duration, error) {
	orig := s
	var days int64
	if i := strings.Index(s, "."); i >= 0 && i < strings.Index(s, ":") {
		if _, err := fmt.Sscanf(s[:i], "%d", &days); err != nil {
			return 0, fmt.Errorf("time span %q: %w", orig, err)
		}
		s = s[i+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("time span %q: want hh:mm:ss", orig)
	}
	var h, m int64
	if _, err := fmt.Sscanf(parts[0]+" "+parts[1], "%d %d", &h, &m); err != nil {
		return 0, fmt.Errorf("time span %q: %w", orig, err)
	}
	sec, err := time.ParseDuration(parts[2] + "s")
	if err != nil || h < 0 || m < 0 || m > 59 || sec < 0 || sec >= time.Minute {
		return 0, fmt.Errorf("time span %q is not valid", orig)
	}
	return time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + sec, nil
}
