package fnhost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// Func runs one non-HTTP invocation. It returns the outputs and return value
// for the host (either may be nil); an error fails the invocation so the
// host retries it.
type Func func(ctx context.Context, inv *Invocation) (outputs map[string]any, returnValue any, err error)

// MaxInvocationBytes caps an invocation body: queue messages are at most
// 64 KiB and Service Bus messages at most 100 MiB on Premium; deployment
// requests are small, so 4 MiB leaves room without letting a bad host OOM us.
const MaxInvocationBytes = 4 << 20

var functionName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,127}$`)

// Router sends POST /<FunctionName> to the registered Func and everything
// else to the HTTP handler. It is the handler binary's root http.Handler.
type Router struct {
	http  http.Handler
	funcs map[string]Func
	log   *slog.Logger
}

// NewRouter returns a Router that forwards HTTP requests to httpHandler.
func NewRouter(httpHandler http.Handler, log *slog.Logger) *Router {
	if log == nil {
		log = slog.Default()
	}
	return &Router{http: httpHandler, funcs: map[string]Func{}, log: log}
}

// Handle registers a non-HTTP function by its name (the folder name under
// functions/). Registering a bad or duplicate name is a wiring bug: it panics
// at start-up rather than misrouting at run time.
func (r *Router) Handle(name string, f Func) {
	if !functionName.MatchString(name) || name == "api" || name == "admin" {
		panic(fmt.Sprintf("fnhost: invalid function name %q", name))
	}
	if _, dup := r.funcs[name]; dup {
		panic(fmt.Sprintf("fnhost: function %q registered twice", name))
	}
	r.funcs[name] = f
}

// Functions lists the registered non-HTTP functions, sorted, so tests can
// check them against functions/*/function.json.
func (r *Router) Functions() []string {
	return slices.Sorted(maps.Keys(r.funcs))
}

// ServeHTTP implements http.Handler.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if name, ok := r.functionFor(req); ok {
		r.invoke(w, req, name)
		return
	}
	r.http.ServeHTTP(w, req)
}

func (r *Router) functionFor(req *http.Request) (string, bool) {
	if req.Method != http.MethodPost || len(req.URL.Path) < 2 {
		return "", false
	}
	name := req.URL.Path[1:]
	_, ok := r.funcs[name]
	return name, ok
}

func (r *Router) invoke(w http.ResponseWriter, req *http.Request, name string) {
	start := time.Now()
	inv := &Invocation{Function: name}
	status := http.StatusOK
	var resp InvocationResponse
	err := decodeInvocation(req, &inv.Request)
	if err == nil {
		resp.Outputs, resp.ReturnValue, err = r.run(req.Context(), name, inv)
	}
	resp.Logs = inv.Logs()
	if err != nil {
		status = invocationStatus(err)
		resp.Logs = append(resp.Logs, "error: "+err.Error())
	}
	if resp.Outputs == nil {
		resp.Outputs = map[string]any{}
	}
	if resp.Logs == nil {
		resp.Logs = []string{}
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelError
	}
	r.log.Log(req.Context(), level, "invocation",
		"function", name, "status", status, "durationMs", time.Since(start).Milliseconds(),
		"invocationId", req.Header.Get("X-Azure-Functions-InvocationId"), "error", errString(err))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

// run calls the function and turns a panic into an error, so one bad message
// fails its own invocation instead of the whole handler process.
func (r *Router) run(ctx context.Context, name string, inv *Invocation) (outputs map[string]any, rv any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fault.E("fnhost.invoke", fault.Internal, fmt.Sprintf("function %s panicked: %v", name, p))
		}
	}()
	return r.funcs[name](ctx, inv)
}

func decodeInvocation(req *http.Request, into *InvocationRequest) error {
	body, err := io.ReadAll(io.LimitReader(req.Body, MaxInvocationBytes+1))
	if err != nil {
		return fault.E("fnhost.decode", fault.Invalid, "reading invocation body", err)
	}
	if len(body) > MaxInvocationBytes {
		return fault.E("fnhost.decode", fault.TooLarge, "invocation body over the cap")
	}
	if len(body) == 0 {
		return nil // the admin API may fire a function with no input
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fault.E("fnhost.decode", fault.Invalid, "invocation body is not JSON", err)
	}
	return nil
}

// invocationStatus keeps the distinction between "this message is bad"
// (4xx: retrying will not help, but the host still counts it as a failure)
// and "we failed" (5xx) visible in the host's logs.
func invocationStatus(err error) int {
	switch fault.KindOf(err) {
	case fault.Invalid, fault.TooLarge, fault.Unprocessable:
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	var fe *fault.Error
	if errors.As(err, &fe) {
		return fe.Error()
	}
	return err.Error()
}
