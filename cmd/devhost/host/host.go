package host

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/studio-collab/collab/shared/conns"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/fnhost/manifest"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
)

// Schedule is what the timer loop needs from a parsed schedule.
type Schedule interface {
	Next(after time.Time) (time.Time, bool)
}

// ScheduleParser parses a timer's schedule expression (NCRONTAB).
type ScheduleParser func(expr string) (Schedule, error)

// Options configure a Host.
type Options struct {
	App         *manifest.App
	HandlerPath string              // the handler binary; relative paths resolve against App.Root
	Getenv      func(string) string // the host's own environment (overrides local values); nil = os.Getenv
	Environ     []string            // the base environment of the handler; nil = os.Environ()
	Overrides   map[string]string   // set for the handler whatever the settings say (e.g. the Azurite connection string)
	Output      io.Writer           // handler stdout/stderr; nil = os.Stderr
	Log         *slog.Logger
	// MinPoll and MaxPoll bound queue polling; MaxPoll defaults to host.json's
	// maxPollingInterval capped at 2 s, so local runs feel immediate.
	MinPoll, MaxPoll time.Duration
	// Schedules parses timer schedules; nil leaves timers manual (admin API only).
	Schedules ScheduleParser
	Now       func() time.Time
	// Instances is how many handler processes run side by side (default 1):
	// Flex Consumption runs several instances, so nothing may assume one
	// process. HTTP requests, queue messages, Service Bus deliveries, timer
	// firings and admin invocations are spread across them in turn.
	Instances int
	// MaxDeliveryCount is the Service Bus queue's: after that many failed
	// deliveries a message is dead-lettered (default 10, as
	// infra/modules/servicebus.bicep sets it).
	MaxDeliveryCount int
	// DuplicateWindow is the Service Bus queue's duplicate detection window
	// (default one day, as infra/modules/servicebus.bicep sets it: P1D).
	DuplicateWindow time.Duration
	// MaxConcurrentSessions bounds the sessions delivered at once (default
	// 8, the Service Bus extension's maxConcurrentSessions).
	MaxConcurrentSessions int
}

// Host is a running devhost.
type Host struct {
	opt     Options
	app     *manifest.App
	procs   []*process
	next    atomic.Uint64
	log     *slog.Logger
	client  *http.Client
	account *azure.Account // nil when no storage connection is configured
	// proxy is the transport of forwarded HTTP requests: an idle pool as
	// large as the requests that may run at once, capped per handler.
	proxy *http.Transport

	mu      sync.Mutex
	timers  map[string]timerState
	polling map[string]bool
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

type timerState struct {
	mode string // "scheduled" | "manual"
	last time.Time
	next time.Time
}

// New prepares a host; Start runs it.
func New(opt Options) (*Host, error) {
	if opt.App == nil {
		return nil, errors.New("devhost: no app")
	}
	if opt.Getenv == nil {
		opt.Getenv = os.Getenv
	}
	if opt.Environ == nil {
		opt.Environ = os.Environ()
	}
	if opt.Output == nil {
		opt.Output = os.Stderr
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if tz := cmp.Or(opt.Getenv("WEBSITE_TIME_ZONE"), opt.App.Values["WEBSITE_TIME_ZONE"]); tz != "" {
		// Linux Flex Consumption does not support WEBSITE_TIME_ZONE: timers
		// run in UTC there, so they do here too (docs/schedules.md).
		opt.Log.Warn("WEBSITE_TIME_ZONE is ignored: Linux Flex Consumption does not support it, timers run in UTC (write the schedule in UTC)", "WEBSITE_TIME_ZONE", tz)
	}
	if opt.Now == nil {
		opt.Now = func() time.Time { return time.Now().UTC() }
	}
	if opt.MinPoll == 0 {
		opt.MinPoll = 100 * time.Millisecond
	}
	if opt.MaxPoll == 0 {
		opt.MaxPoll = min(opt.App.Host.Queues.MaxPollingInterval, 2*time.Second)
	}
	path := opt.HandlerPath
	if path == "" {
		path = opt.App.Host.ExecutablePath
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(opt.App.Root, path)
	}
	opt.Instances = max(opt.Instances, 1)
	if opt.MaxDeliveryCount == 0 {
		opt.MaxDeliveryCount = 10
	}
	if opt.DuplicateWindow == 0 {
		opt.DuplicateWindow = 24 * time.Hour
	}
	if opt.MaxConcurrentSessions == 0 {
		opt.MaxConcurrentSessions = 8
	}
	h := &Host{opt: opt, app: opt.App, log: opt.Log, timers: map[string]timerState{}, polling: map[string]bool{},
		client: &http.Client{Timeout: opt.App.Host.FunctionTimeout}}
	perHandler := 64 // unbounded host: still a pool, not a dial per request
	if n := opt.App.Host.HTTP.MaxConcurrentRequests; n > 0 {
		perHandler = n
	}
	h.proxy = conns.Pool(perHandler)
	env := mergeEnv(opt.Environ, opt.App.Values, opt.Overrides)
	for i := range opt.Instances {
		log := opt.Log
		if opt.Instances > 1 {
			log = log.With("instance", i)
		}
		p := newProcess(path, opt.App.Host.Arguments, opt.App.Root, env, opt.Output, log)
		if n := opt.App.Host.HTTP.MaxConcurrentRequests; n > 0 {
			p.running = make(chan struct{}, n)
		}
		h.procs = append(h.procs, p)
	}
	if cs := h.setting("AzureWebJobsStorage"); strings.Contains(cs, "AccountKey=") || strings.Contains(cs, "AccountName=") {
		acct, err := azure.Open(azure.Config{ConnectionString: cs, MaxRetries: 1, TryTimeout: 10 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("devhost: storage for queue triggers: %w", err)
		}
		h.account = acct
	}
	return h, nil
}

// setting reads a setting as the handler will see it.
func (h *Host) setting(name string) string {
	if v, ok := h.opt.Overrides[name]; ok {
		return v
	}
	if v := h.opt.Getenv(name); v != "" {
		return v
	}
	return h.app.Values[name]
}

func (h *Host) disabled(f *manifest.Function) bool {
	getenv := func(k string) string {
		if v, ok := h.opt.Overrides[k]; ok {
			return v
		}
		return h.opt.Getenv(k)
	}
	return h.app.Disabled(f.Name, getenv)
}

// Start launches the handler, the queue pollers and the timers. They stop
// when ctx ends; Wait then returns.
func (h *Host) Start(ctx context.Context) error {
	ctx, h.cancel = context.WithCancel(ctx)
	for _, p := range h.procs {
		h.wg.Add(1)
		go func() { defer h.wg.Done(); p.run(ctx) }()
	}
	for _, f := range h.app.Functions {
		if h.disabled(f) {
			if f.Kind == manifest.ServiceBusTrigger {
				// An old local.settings.json may still disable DeployRequests
				// from the days of the Storage-queue twin: say so loudly.
				h.log.Warn("Service Bus function disabled: its messages wait in their queue", "function", f.Name, "setting", "AzureWebJobs."+f.Name+".Disabled")
				continue
			}
			h.log.Info("function disabled", "function", f.Name, "trigger", f.Kind)
			continue
		}
		switch f.Kind {
		case manifest.QueueTrigger:
			if h.account == nil {
				h.log.Warn("queue trigger not polled: AzureWebJobsStorage is not a storage connection string", "function", f.Name)
				continue
			}
			if err := h.account.Bootstrap(ctx, store.Layout{Queues: []string{f.Queue, f.Queue + "-poison"}}); err != nil {
				h.log.Warn("could not create trigger queues (will keep trying)", "function", f.Name, "error", err.Error())
			}
			h.mu.Lock()
			h.polling[f.Name] = true
			h.mu.Unlock()
			h.wg.Add(1)
			go func() { defer h.wg.Done(); h.poll(ctx, f) }()
		case manifest.TimerTrigger:
			h.startTimer(ctx, f)
		case manifest.ServiceBusTrigger:
			if h.account == nil {
				h.log.Warn("Service Bus trigger not served: AzureWebJobsStorage is not a storage connection string", "function", f.Name)
				continue
			}
			h.wg.Add(1)
			go func() { defer h.wg.Done(); newSBQueue(h, f).run(ctx) }()
			h.mu.Lock()
			h.polling[f.Name] = true
			h.mu.Unlock()
		}
	}
	return nil
}

// Close stops everything and waits for the handler to exit.
func (h *Host) Close() {
	if h.cancel != nil {
		h.cancel()
	}
	h.wg.Wait()
}

// HandlerPID is the first handler process's id, 0 while (re)starting.
func (h *Host) HandlerPID() int { return h.procs[0].status().PID }

// HandlerPIDs are the ids of every handler process (0 while one restarts).
func (h *Host) HandlerPIDs() []int {
	out := make([]int, len(h.procs))
	for i, p := range h.procs {
		out[i] = p.status().PID
	}
	return out
}

// pick returns the handler instance for the next invocation, in turn, as
// the platform's load balancer spreads work over Flex instances.
func (h *Host) pick() *process {
	return h.procs[(h.next.Add(1)-1)%uint64(len(h.procs))]
}

// ServeHTTP serves the API routes by function.json and the admin API.
func (h *Host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/admin/") {
		h.admin(w, r)
		return
	}
	start := time.Now()
	// One request id from here through the handler: set it on the request
	// we forward, and on our own answers.
	requestID := httpapi.IncomingRequestID(r.Header)
	r.Header.Set("X-Request-Id", requestID)
	m, found := h.app.MatchHTTP(r.Method, r.URL.Path, nil)
	switch {
	case !found:
		// A wrong method is no match either: the host has no 405.
		problem(w, r, fault.NotFound, fmt.Sprintf("no function serves %s %s", r.Method, r.URL.Path))
		return
	case h.disabled(m.Function):
		// The host routes to a disabled function and answers 404; it does
		// not fall through to another route (FunctionInvocationMiddleware.cs 123-128).
		problem(w, r, fault.NotFound, fmt.Sprintf("%s is disabled (AzureWebJobs.%s.Disabled)", m.Function.Name, m.Function.Name))
		return
	case !m.Function.InOut:
		problem(w, r, fault.Internal, fmt.Sprintf("%s is not forwarded: an HTTP function needs exactly one httpTrigger in and one http out", m.Function.Name))
		return
	}
	proc := h.pick()
	release, admitted := h.admitHTTP(r, proc)
	if !admitted {
		// As the host: 429 "Too Busy" past maxOutstandingRequests.
		w.WriteHeader(http.StatusTooManyRequests)
		h.log.Info("invocation", "function", m.Function.Name, "trigger", "http", "method", r.Method, "path", r.URL.Path,
			"status", http.StatusTooManyRequests, "outcome", "throttled", "durationMs", time.Since(start).Milliseconds())
		return
	}
	defer release()
	base, err := proc.endpoint(r.Context(), 10*time.Second)
	if err != nil {
		problem(w, r, fault.Unavailable, "the handler is not running: "+err.Error())
		return
	}
	target, _ := url.Parse(base)
	invocationID := newID()
	rec := &statusRecorder{ResponseWriter: w}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.URL.Path, pr.Out.URL.RawPath = r.URL.Path, r.URL.RawPath
			forwardAsTheHost(pr.Out, r)
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Azure-Functions-InvocationId", invocationID)
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Set("X-Request-Id", requestID)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(r.Context().Err(), context.Canceled) {
				return // the client went away: nobody to answer (logged below as 499)
			}
			problem(w, r, fault.Unavailable, "the handler did not answer: "+err.Error())
		},
		Transport: h.proxy,
	}
	proxy.ServeHTTP(rec, r)
	status, outcome := rec.status(), httpapi.OutcomeOK
	switch {
	case errors.Is(r.Context().Err(), context.Canceled) && (rec.code == 0 || status >= 500):
		status, outcome = httpapi.StatusClientClosedRequest, httpapi.OutcomeCancelled
	case status >= 500:
		outcome = httpapi.OutcomeError
	case status >= 400:
		outcome = httpapi.OutcomeClient
	}
	h.log.Info("invocation", "function", m.Function.Name, "trigger", "http", "method", r.Method, "path", r.URL.Path,
		"status", status, "outcome", outcome, "durationMs", time.Since(start).Milliseconds(), "invocationId", invocationID)
}

// admitHTTP applies host.json's HTTP throttles to a request forwarded to
// instance p: refused past maxOutstandingRequests, else it waits for one of
// maxConcurrentRequests slots (or for its client to give up).
func (h *Host) admitHTTP(r *http.Request, p *process) (release func(), ok bool) {
	lim := h.app.Host.HTTP
	if lim.MaxOutstandingRequests > 0 {
		if p.outstanding.Add(1) > int64(lim.MaxOutstandingRequests) {
			p.outstanding.Add(-1)
			return nil, false
		}
	}
	done := func() {
		if lim.MaxOutstandingRequests > 0 {
			p.outstanding.Add(-1)
		}
	}
	if p.running == nil {
		return done, true
	}
	select {
	case p.running <- struct{}{}:
		return func() { <-p.running; done() }, true
	case <-r.Context().Done():
		// Gone while queued: run nothing; the proxy below sees the
		// cancelled context and logs the 499.
		return done, true
	}
}

// invoke posts a non-HTTP invocation body (built by the shared/fnhost
// encoders, exactly as the host builds it) to the next handler instance.
// trigger and extra are for the log line. Any non-2xx answer fails the
// invocation, and its body is not read for outputs, as with the host
// (DefaultHttpWorkerService.cs line 194, EnsureSuccessStatusCode).
func (h *Host) invoke(ctx context.Context, f *manifest.Function, trigger string, body []byte, extra ...any) error {
	start := time.Now()
	status, err := h.post(ctx, f.Name, body)
	args := []any{"function", f.Name, "trigger", trigger, "status", status, "durationMs", time.Since(start).Milliseconds()}
	args = append(args, extra...)
	if err != nil {
		h.log.Warn("invocation", append(args, "error", err.Error())...)
		return err
	}
	h.log.Info("invocation", args...)
	return nil
}

func (h *Host) sys(f *manifest.Function) fnhost.SysMetadata {
	return fnhost.SysMetadata{MethodName: f.Name, UtcNow: time.Now().UTC(), RandGuid: newID()}
}

func (h *Host) post(ctx context.Context, name string, body []byte) (int, error) {
	base, err := h.pick().endpoint(ctx, 30*time.Second)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/"+name, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", newID())
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("invoke %s: %w", name, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// The host ignores the body of a failed invocation (its Logs too):
		// the handler must log the reason itself.
		return resp.StatusCode, fmt.Errorf("invoke %s: status %d", name, resp.StatusCode)
	}
	// A 2xx must carry an InvocationResponse the host can read
	// (DefaultHttpWorkerService.cs lines 196 and 222-238): otherwise the
	// invocation fails all the same.
	var ir fnhost.InvocationResponse
	if err := json.Unmarshal(out, &ir); err != nil {
		return resp.StatusCode, fmt.Errorf("invoke %s: status %d with a body that is not an invocation response: %w", name, resp.StatusCode, err)
	}
	return resp.StatusCode, nil
}

// forwardAsTheHost shapes the forwarded request as the host's
// HttpRequestExtensions.ToHttpRequestMessage does (azure-functions-host,
// src/WebJobs.Script/Extensions/HttpRequestExtensions.cs lines 155-181):
// every header as is, Host included; the body only when the request has a
// Content-Length above 0 (a chunked body is dropped); the query rebuilt by
// QueryHelpers.AddQueryString from GetQueryCollectionAsDictionary (lines
// 231-240), so a repeated key arrives once with its values comma-joined, and
// every key and value is percent-encoded afresh.
func forwardAsTheHost(out, in *http.Request) {
	out.Host = in.Host
	if in.ContentLength <= 0 {
		out.Body, out.ContentLength, out.GetBody = http.NoBody, 0, nil
		out.TransferEncoding = nil
		out.Header.Del("Content-Length")
		out.Header.Del("Transfer-Encoding")
	}
	out.URL.RawQuery = hostQuery(in.URL.RawQuery)
}

// hostQuery rebuilds a query as the host does (see forwardAsTheHost).
func hostQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var keys []string
	vals := map[string][]string{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, _ = url.QueryUnescape(k)
		v, _ = url.QueryUnescape(v)
		if _, seen := vals[k]; !seen {
			keys = append(keys, k)
		}
		vals[k] = append(vals[k], v)
	}
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(urlEncode(k) + "=" + urlEncode(strings.Join(vals[k], ",")))
	}
	return b.String()
}

// urlEncode is UrlEncoder.Default: everything but ASCII letters, digits and
// "-._~" percent-encoded (so a space is %20 and a comma %2C).
func urlEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// problem answers with the service's own problem types (shared/httpapi), so
// a client cannot tell the devhost's 404 from the handler's.
func problem(w http.ResponseWriter, r *http.Request, k fault.Kind, detail string) {
	if w.Header().Get("X-Request-Id") == "" {
		w.Header().Set("X-Request-Id", httpapi.IncomingRequestID(r.Header))
	}
	r = r.WithContext(httpapi.WithRequest(r.Context(), w.Header().Get("X-Request-Id"), slog.New(slog.DiscardHandler)))
	httpapi.WriteProblem(w, httpapi.ProblemFor(r, fault.E("devhost", k, detail)))
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(c int) {
	if s.code == 0 {
		s.code = c
	}
	s.ResponseWriter.WriteHeader(c)
}

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
