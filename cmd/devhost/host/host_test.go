package host

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fnhost/manifest"
	"github.com/studio-collab/collab/shared/ncrontab"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) {
	if os.Getenv("DEVHOST_TEST_HANDLER") == "1" {
		runTestHandler()
		return
	}
	azuritetest.Main(m)
}

type testHost struct {
	*Host
	srv     *httptest.Server
	record  string
	account *azure.Account
	work    string
	off     string
	sb      string
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var queueSeq atomic.Int64

func startHost(t *testing.T, schedules ScheduleParser) *testHost {
	return startHostWith(t, func(o *Options) { o.Schedules = schedules })
}

func startHostWith(t *testing.T, configure func(*Options)) *testHost {
	t.Helper()
	az := azuritetest.Server(t)
	n := queueSeq.Add(1)
	th := &testHost{record: filepath.Join(t.TempDir(), "record.jsonl"), logs: &syncBuffer{},
		work: fmt.Sprintf("work-%d-%d", os.Getpid(), n), off: fmt.Sprintf("off-%d-%d", os.Getpid(), n), sb: fmt.Sprintf("sb-%d-%d", os.Getpid(), n)}
	overrides := map[string]string{
		"DEVHOST_TEST_HANDLER": "1", "DEVHOST_RECORD": th.record,
		"AzureWebJobsStorage": az.ConnectionString(), "WorkQueue": th.work, "OffQueue": th.off, "SBQueue": th.sb,
		"AzureWebJobs.Off.Disabled": "true", "AzureWebJobs.Legacy.Disabled": "true",
	}
	getenv := func(k string) string { return overrides[k] }
	app, err := manifest.Load("testdata/app", "", getenv)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	opt := Options{App: app, HandlerPath: exe, Getenv: func(string) string { return "" }, Overrides: overrides,
		Log: slog.New(slog.NewJSONHandler(th.logs, nil)), Output: io.Discard}
	if configure != nil {
		configure(&opt)
	}
	h, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	th.Host = h
	th.srv = httptest.NewServer(h)
	th.account, _ = azure.Open(azure.Config{ConnectionString: az.ConnectionString()})
	t.Cleanup(func() { th.srv.Close(); h.Close() })
	return th
}

type recorded struct {
	Fn            string          `json:"fn"`
	Text          string          `json:"text"`
	DequeueCount  int64           `json:"dequeueCount"`
	PID           int             `json:"pid"`
	MessageID     string          `json:"messageId"`
	SessionID     string          `json:"sessionId"`
	DeliveryCount int64           `json:"deliveryCount"`
	Sequence      int64           `json:"sequence"`
	Start         time.Time       `json:"start"`
	End           time.Time       `json:"end"`
	Body          json.RawMessage `json:"body"`
}

func (th *testHost) records() []recorded {
	f, err := os.Open(th.record)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []recorded
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r recorded
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (th *testHost) count(fn, text string) int {
	n := 0
	for _, r := range th.records() {
		if r.Fn == fn && r.Text == text {
			n++
		}
	}
	return n
}

func doReq(t *testing.T, method, url, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

func TestHTTPForwarding(t *testing.T) {
	th := startHost(t, nil)
	cases := []struct {
		name, method, path, body string
		want                     int
		check                    func(t *testing.T, resp *http.Response, m map[string]any)
	}{
		{"route parameter and query", "GET", "/api/items/42?x=1&y=two", "", 200, func(t *testing.T, resp *http.Response, m map[string]any) {
			if ids := resp.Header.Values("X-Request-Id"); len(ids) != 1 || ids[0] == "" || m["requestId"] != ids[0] {
				t.Fatalf("request id: header %q, handler saw %v", ids, m["requestId"])
			}
			if m["id"] != "42" || m["query"] != "x=1&y=two" || m["path"] != "/api/items/42" || m["forwardedFor"] == "" || m["invocationId"] == "" {
				t.Fatalf("%v", m)
			}
		}},
		{"body preserved", "POST", "/api/items/7", `{"a":1}`, 200, func(t *testing.T, _ *http.Response, m map[string]any) {
			if m["body"] != `{"a":1}` || m["method"] != "POST" {
				t.Fatalf("%v", m)
			}
		}},
		{"catch-all", "GET", "/api/files/a/b/c.json", "", 200, func(t *testing.T, _ *http.Response, m map[string]any) {
			if m["rest"] != "a/b/c.json" {
				t.Fatalf("%v", m)
			}
		}},
		{"constraint refuses", "GET", "/api/items/abc", "", 404, nil},
		{"no function", "GET", "/api/nothing", "", 404, func(t *testing.T, resp *http.Response, m map[string]any) {
			if resp.Header.Get("Content-Type") != "application/problem+json" || m["status"] != float64(404) ||
				m["type"] != "https://studio-collab.dev/problems/not-found" || resp.Header.Get("X-Request-Id") == "" || m["requestId"] != resp.Header.Get("X-Request-Id") {
				t.Fatalf("%v", m)
			}
		}},
		{"a wrong method is 404, as with the host", "DELETE", "/api/items/42", "", 404, func(t *testing.T, resp *http.Response, m map[string]any) {
			if resp.Header.Get("Allow") != "" || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("Allow %q", resp.Header.Get("Allow"))
			}
		}},
		{"a disabled function is 404 and does not fall through to the catch-all", "GET", "/api/files/legacy/x", "", 404, nil},
		{"the catch-all still takes the paths the disabled function does not", "GET", "/api/files/leg/x", "", 200, nil},
		{"repeated query keys arrive comma-joined", "GET", "/api/items/1?tag=a&x=1&tag=b%20c", "", 200, func(t *testing.T, _ *http.Response, m map[string]any) {
			if m["query"] != "tag=a%2Cb%20c&x=1" {
				t.Fatalf("query %q", m["query"])
			}
		}},
		{"the Host header is kept", "GET", "/api/items/3", "", 200, func(t *testing.T, _ *http.Response, m map[string]any) {
			if m["host"] != strings.TrimPrefix(th.srv.URL, "http://") {
				t.Fatalf("host %q, want %q", m["host"], th.srv.URL)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, m := doReq(t, c.method, th.srv.URL+c.path, c.body)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, c.want, m)
			}
			if c.check != nil {
				c.check(t, resp, m)
			}
		})
	}
	if !strings.Contains(th.logs.String(), `"trigger":"http"`) || !strings.Contains(th.logs.String(), `"durationMs"`) {
		t.Fatalf("no invocation log line:\n%s", th.logs)
	}
	// The host forwards a body only with a Content-Length (HttpRequestExtensions.cs
	// line 170): a chunked one does not reach the handler.
	for _, c := range []struct {
		name    string
		body    io.Reader
		want    string
		chunked bool
	}{
		{"with a Content-Length", strings.NewReader(`{"a":2}`), `{"a":2}`, false},
		{"chunked", io.MultiReader(strings.NewReader(`{"a":3}`)), "", true},
	} {
		req, _ := http.NewRequest("POST", th.srv.URL+"/api/items/8", c.body)
		if c.chunked {
			req.ContentLength = -1 // unknown: sent chunked
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != 200 || m["body"] != c.want || (req.ContentLength == -1) != c.chunked {
			t.Errorf("%s: %d, handler got body %q (request length %d)", c.name, resp.StatusCode, m["body"], req.ContentLength)
		}
	}
}

func TestQueueDeliveryAndPoison(t *testing.T) {
	th := startHost(t, nil)
	ctx := context.Background()
	q := th.account.Queue(th.work)
	waitFor(t, "trigger queue created", func() bool { _, err := q.Length(ctx); return err == nil })
	if _, err := q.Send(ctx, "hello", 0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Send(ctx, "please fail", 0, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "hello delivered", func() bool { return th.count("Work", "hello") == 1 })
	waitFor(t, "poisoned message", func() bool {
		n, _ := th.account.Queue(th.work + "-poison").Length(ctx)
		return n == 1
	})
	if got := th.count("Work", "please fail"); got != 5 {
		t.Fatalf("failing message invoked %d times, want exactly 5 (maxDequeueCount)", got)
	}
	var counts []int64
	for _, r := range th.records() {
		if r.Text == "please fail" {
			counts = append(counts, r.DequeueCount)
		}
	}
	if fmt.Sprint(counts) != "[1 2 3 4 5]" {
		t.Fatalf("dequeue counts seen by the function: %v", counts)
	}
	ms, err := th.account.Queue(th.work+"-poison").Receive(ctx, 1, time.Second)
	if err != nil || len(ms) != 1 || ms[0].Text != "please fail" {
		t.Fatalf("poison queue holds %+v, %v", ms, err)
	}
	waitFor(t, "trigger queue empty", func() bool { n, _ := q.Length(ctx); return n == 0 })
	if th.count("Work", "hello") != 1 {
		t.Fatal("a successful message was delivered twice")
	}
}

func TestAdminAndDisabled(t *testing.T) {
	th := startHost(t, nil)
	ctx := context.Background()
	resp, _ := doReq(t, "POST", th.srv.URL+"/admin/functions/Work", `{"input":"via-admin"}`)
	if resp.StatusCode != 202 {
		t.Fatalf("admin fire: %d", resp.StatusCode)
	}
	waitFor(t, "admin invocation", func() bool { return th.count("Work", "via-admin") == 1 })
	cases := []struct {
		name, path, body string
		want             int
	}{
		{"unknown function", "/admin/functions/Nope", `{}`, 404},
		{"disabled function", "/admin/functions/Off", `{"input":"x"}`, 409},
		{"HTTP function", "/admin/functions/Items", `{}`, 400},
		{"bad body", "/admin/functions/Work", `{"inputs":"x"}`, 400},
	}
	for _, c := range cases {
		resp, m := doReq(t, "POST", th.srv.URL+c.path, c.body)
		if resp.StatusCode != c.want || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %v", c.name, resp.StatusCode, m)
		}
	}
	// The disabled function's queue is never polled: its message stays while
	// the enabled one's queue is served.
	off := th.account.Queue(th.off)
	_ = th.account.Bootstrap(ctx, store.Layout{Queues: []string{th.off}})
	if _, err := off.Send(ctx, "must stay", 0, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "work queue exists", func() bool { _, err := th.account.Queue(th.work).Length(ctx); return err == nil })
	_, _ = th.account.Queue(th.work).Send(ctx, "marker", 0, 0)
	waitFor(t, "marker delivered", func() bool { return th.count("Work", "marker") == 1 })
	_, _ = th.account.Queue(th.work).Send(ctx, "marker2", 0, 0)
	waitFor(t, "second marker delivered", func() bool { return th.count("Work", "marker2") == 1 })
	if n, _ := off.Length(ctx); n != 1 || th.count("Off", "must stay") != 0 {
		t.Fatalf("disabled function ran or its queue was drained (len %d)", n)
	}
	var list []functionInfo
	r, err := http.Get(th.srv.URL + "/admin/functions")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(r.Body).Decode(&list)
	r.Body.Close()
	status := map[string]string{}
	for _, f := range list {
		status[f.Name] = f.Status
	}
	if status["Off"] != "disabled" || status["Work"] != "enabled" || status["Tick"] != "manual" || status["Items"] != "enabled" {
		t.Fatalf("function list: %v", status)
	}
}

func TestHandlerRestartedAfterKill(t *testing.T) {
	th := startHost(t, nil)
	resp, _ := doReq(t, "GET", th.srv.URL+"/api/items/1", "")
	if resp.StatusCode != 200 {
		t.Fatalf("before kill: %d", resp.StatusCode)
	}
	old := th.HandlerPID()
	if old == 0 {
		t.Fatal("no handler pid")
	}
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new handler", func() bool { p := th.HandlerPID(); return p != 0 && p != old })
	resp, m := doReq(t, "GET", th.srv.URL+"/api/items/2", "")
	if resp.StatusCode != 200 || m["id"] != "2" {
		t.Fatalf("after restart: %d %v", resp.StatusCode, m)
	}
	if !strings.Contains(th.logs.String(), "handler exited; restarting") {
		t.Fatal("restart not logged")
	}
	var st status
	r, _ := http.Get(th.srv.URL + "/admin/host/status")
	_ = json.NewDecoder(r.Body).Decode(&st)
	r.Body.Close()
	if st.Restarts != 1 || st.State != "running" {
		t.Fatalf("status %+v", st)
	}
}

// TestTimerFiresOnSchedule: the Tick function's NCRONTAB schedule
// ("*/1 * * * * *", every second) read by shared/ncrontab, as under make run.
func TestTimerFiresOnSchedule(t *testing.T) {
	th := startHost(t, func(expr string) (Schedule, error) { return ncrontab.Parse(expr) })
	waitFor(t, "two timer invocations", func() bool {
		n := 0
		for _, r := range th.records() {
			if r.Fn == "Tick" {
				n++
			}
		}
		return n >= 2
	})
	var tick recorded
	for _, r := range th.records() {
		if r.Fn == "Tick" {
			tick = r
		}
	}
	// Every second is under a minute: the schedule monitor does not apply,
	// so ScheduleStatus is null (testdata/host/timer.jsonc in shared/fnhost).
	var payload struct {
		ScheduleStatus *struct{ Last, Next time.Time }
		IsPastDue      bool
		Schedule       struct{ AdjustForDST bool }
	}
	if err := json.Unmarshal([]byte(tick.Text), &payload); err != nil || payload.ScheduleStatus != nil || !payload.Schedule.AdjustForDST {
		t.Fatalf("timer payload %q: %v", tick.Text, err)
	}
}

// TestHTTPThrottlesOfHostJSON: as the host with host.json's
// extensions.http (per instance: one instance here), at most maxConcurrentRequests forwarded requests run,
// the next ones wait, and past maxOutstandingRequests a request is refused
// with 429; a client that gives up is logged as a cancellation (499), not
// as a 503 of the handler.
func TestHTTPThrottlesOfHostJSON(t *testing.T) {
	th := startHostWith(t, func(o *Options) {
		o.App.Host.HTTP = manifest.HTTPOptions{MaxConcurrentRequests: 1, MaxOutstandingRequests: 2}
	})
	if resp, _ := doReq(t, "GET", th.srv.URL+"/api/items/1", ""); resp.StatusCode != 200 {
		t.Fatalf("first request: %d", resp.StatusCode) // the handler is up
	}
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", th.srv.URL+"/api/items/999", nil)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	waitFor(t, "one request running and one waiting", func() bool { return th.Host.procs[0].outstanding.Load() == 2 })
	if resp, _ := doReq(t, "GET", th.srv.URL+"/api/items/2", ""); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("past maxOutstandingRequests: %d, want 429", resp.StatusCode)
	}
	cancel()
	for range 2 {
		if err := <-errs; err == nil {
			t.Fatal("a held request got an answer")
		}
	}
	waitFor(t, "the slots given back", func() bool { return th.Host.procs[0].outstanding.Load() == 0 })
	if resp, m := doReq(t, "GET", th.srv.URL+"/api/items/3", ""); resp.StatusCode != 200 || m["id"] != "3" {
		t.Fatalf("after the burst: %d %v", resp.StatusCode, m)
	}
	waitFor(t, "two cancellations in the log", func() bool { return strings.Count(th.logs.String(), `"outcome":"cancelled"`) == 2 })
	if strings.Contains(th.logs.String(), `"status":503`) {
		t.Errorf("an abandoned request was logged as a 503:\n%s", th.logs)
	}
}
