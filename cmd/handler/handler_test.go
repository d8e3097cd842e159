package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/internal/app"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/jobs"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azurite"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// TestMain shares one Azurite among the tests that do not need their own.
// Every test here runs the handler binary on ports, storage prefixes and
// folders of its own, so they all run side by side (t.Parallel): most of
// their time is spent waiting on processes, not computing.
func TestMain(m *testing.M) { azuritetest.Main(m) }

// binary is a command of this module (pkg, by default "." built as
// "handler"), built once per test binary with the given go build flags.
type binary struct {
	pkg, name string
	flags     []string
	once      sync.Once
	path      string
	err       error
}

var built = &binary{}

func (b *binary) get(tb testing.TB) string {
	tb.Helper()
	pkg, name := b.pkg, b.name
	if pkg == "" {
		pkg, name = ".", "handler"
	}
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "collab-"+name+"-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, name)
		out, err := exec.Command("go", append(append([]string{"build"}, b.flags...), "-o", b.path, pkg)...).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("%v: %s", err, out)
		}
	})
	if b.err != nil {
		tb.Fatalf("build %s %v: %v", name, b.flags, b.err)
	}
	return b.path
}

func handlerBinary(tb testing.TB) string { return built.get(tb) }

func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// handlerProcess is the real binary started as the Functions host starts it.
type handlerProcess struct {
	cmd  *exec.Cmd
	base string
	logs *strings.Builder
	// streams holds stdout and stderr apart: the host reads them differently.
	streams [2]*strings.Builder
	mu      *sync.Mutex
}

func startHandler(tb testing.TB, srv *azurite.Server, extraEnv ...string) *handlerProcess {
	tb.Helper()
	return startHandlerOn(tb, freePort(tb), srv, extraEnv...)
}

// startHandlerOn starts the binary as the devhost does on a developer's
// machine (COLLAB_ENVIRONMENT=local); extraEnv comes last and wins.
func startHandlerOn(tb testing.TB, port int, srv *azurite.Server, extraEnv ...string) *handlerProcess {
	tb.Helper()
	return spawnHandler(tb, port, append([]string{"AzureWebJobsStorage=" + srv.ConnectionString(), "COLLAB_ENVIRONMENT=local"}, extraEnv...))
}

// spawnHandler starts the binary with the process environment plus env (no
// locality of its own) and collects both of its output streams.
func spawnHandler(tb testing.TB, port int, env []string) *handlerProcess {
	tb.Helper()
	cmd := exec.Command(handlerBinary(tb))
	cmd.Env = append(os.Environ(),
		"FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port),
		"COLLAB_STORAGE_TIMEOUT=1500ms",
	)
	cmd.Env = append(cmd.Env, env...)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &handlerProcess{cmd: cmd, base: "http://127.0.0.1:" + strconv.Itoa(port), logs: &strings.Builder{},
		streams: [2]*strings.Builder{{}, {}}, mu: &sync.Mutex{}}
	for i, r := range []io.Reader{stdout, stderr} {
		go func() {
			sc := bufio.NewScanner(r)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				p.mu.Lock()
				p.logs.WriteString(sc.Text() + "\n")
				p.streams[i].WriteString(sc.Text() + "\n")
				p.mu.Unlock()
			}
		}()
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return p
}

func (p *handlerProcess) Logs() string { p.mu.Lock(); defer p.mu.Unlock(); return p.logs.String() }

// Streams returns what the handler wrote to stdout and to stderr so far.
func (p *handlerProcess) Streams() (stdout, stderr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.streams[0].String(), p.streams[1].String()
}

// waitHealthy polls /api/health until it answers 200 or the deadline passes.
func (p *handlerProcess) waitHealthy(tb testing.TB, deadline time.Duration) time.Duration {
	tb.Helper()
	start := time.Now()
	c := &http.Client{Timeout: 2 * time.Second}
	for time.Since(start) < deadline {
		resp, err := c.Get(p.base + "/api/health")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start)
			}
		}
		time.Sleep(2 * time.Millisecond) // polling interval, not a wait for a condition
	}
	tb.Fatalf("handler not healthy within %v; logs:\n%s", deadline, p.Logs())
	return 0
}

func get(t *testing.T, url string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp, body
}

func TestHealthFollowsStorage(t *testing.T) {
	t.Parallel()
	srv := azuritetest.Fresh(t)
	h := startHandler(t, srv)
	h.waitHealthy(t, 20*time.Second)

	resp, body := get(t, h.base+"/api/health")
	if resp.StatusCode != 200 || body["status"] != "ok" || body["storage"] != "ok" || body["version"] == "" {
		t.Fatalf("health %d %v", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Fatal("no request id")
	}

	_ = srv.Stop()
	// Once the cached check (5 s) has expired, the next probe says 503,
	// within the storage timeout: the outage shows within seconds.
	start := time.Now()
	for {
		resp, body = get(t, h.base+"/api/health")
		if resp.StatusCode != 200 || time.Since(start) > 15*time.Second {
			break
		}
	}
	took := time.Since(start)
	if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("after stopping Azurite: %d %q %v", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if body["type"] != httpapi.ProblemTypeBase+"unavailable" || !strings.Contains(body["detail"].(string), "tables") {
		t.Fatalf("problem %v", body)
	}
	if took > 10*time.Second {
		t.Fatalf("503 took %v: the cache or the storage timeout is not applied", took)
	}
	// Liveness does not depend on storage: the process still answers.
	if resp, body := get(t, h.base+"/api/health/live"); resp.StatusCode != 200 || body["status"] != "ok" || body["storage"] != nil {
		t.Fatalf("liveness with storage down: %d %v", resp.StatusCode, body)
	}
}

func TestConventionsOnTheRealBinary(t *testing.T) {
	t.Parallel()
	h := startHandler(t, azuritetest.Server(t))
	h.waitHealthy(t, 20*time.Second)
	cases := []struct {
		method, path, body string
		want               int
		wantType           string
	}{
		{"GET", "/api/no-such-route", "", 404, "not-found"},
		{"POST", "/api/health", "{}", 405, "method-not-allowed"},
		{"POST", "/NoSuchFunction", "{}", 404, "not-found"},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, h.base+c.path, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if resp.StatusCode != c.want || p["type"] != httpapi.ProblemTypeBase+c.wantType || resp.Header.Get("X-Request-Id") == "" {
			t.Errorf("%s %s: %d %v", c.method, c.path, resp.StatusCode, p)
		}
	}
	if !strings.Contains(h.Logs(), `"msg":"request"`) || !strings.Contains(h.Logs(), `"requestId"`) {
		t.Fatalf("no JSON access log with request ids:\n%s", h.Logs())
	}
}

// TestDevSignInThroughTheBinary checks main's wiring: the dev issuer served
// by the handler itself, tokens verified by discovery over HTTP against that
// same process, the platform behind them.
func TestDevSignInThroughTheBinary(t *testing.T) {
	t.Parallel()
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	h := startHandlerOn(t, port, azuritetest.Server(t), "COLLAB_DEV_AUTH=true",
		"COLLAB_DEV_ISSUER_URL="+base+"/api/dev", "COLLAB_DEV_ISSUER_KEY_FILE="+filepath.Join(t.TempDir(), "k.pem"))
	h.waitHealthy(t, 20*time.Second)
	resp, err := http.Post(base+"/api/dev/token", "application/json", strings.NewReader(`{"email":"wire@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token: %d", resp.StatusCode)
	}
	call := func(auth string) (int, map[string]any) {
		req, _ := http.NewRequest("GET", base+"/api/me", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if code, m := call("Bearer " + tok.AccessToken); code != 200 || m["email"] != "wire@example.com" {
		t.Fatalf("/api/me with a dev token: %d %v", code, m)
	}
	if code, _ := call(""); code != 401 {
		t.Fatalf("/api/me anonymous: %d", code)
	}
	// Dev auth is refused outright on App Service, even if someone set
	// COLLAB_ENVIRONMENT=local there (Flex: TestFlexConsumptionRunsWithTheCloudPolicy).
	cmd := exec.Command(handlerBinary(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(freePort(t)),
		"AzureWebJobsStorage=" + azuritetest.Server(t).ConnectionString(), "COLLAB_DEV_AUTH=true", "COLLAB_ENVIRONMENT=local", "WEBSITE_INSTANCE_ID=abc"}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "runs on an Azure host") {
		t.Fatalf("dev auth on App Service: %v %s", err, out)
	}
}

func TestRefusesToStartMisconfigured(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(handlerBinary(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(freePort(t))}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "storage is not configured") {
		t.Fatalf("err %v, output %s", err, out)
	}
}

// BenchmarkStartToFirstHealth measures what a cold start costs: from exec of
// the handler to its first 200 on /api/health (which includes one storage
// round trip per service), and the resident memory once it is idle.
func BenchmarkStartToFirstHealth(b *testing.B) {
	srv := azuritetest.Server(b)
	handlerBinary(b) // build outside the measurement
	b.ResetTimer()
	var total, listen time.Duration
	var rssKiB int64
	for i := 0; i < b.N; i++ {
		port := freePort(b)
		start := time.Now()
		h := startHandlerOn(b, port, srv)
		for {
			if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
				c.Close()
				break
			}
			time.Sleep(200 * time.Microsecond) // polling interval, not a wait for a condition
		}
		listen += time.Since(start)
		h.waitHealthy(b, 20*time.Second)
		total += time.Since(start)
		if i == b.N-1 {
			time.Sleep(500 * time.Millisecond) // let start-up garbage settle before reading RSS
			rssKiB = vmRSS(b, h.cmd.Process.Pid)
		}
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/start")
	b.ReportMetric(float64(listen.Microseconds())/float64(b.N)/1000, "ms/listen")
	b.ReportMetric(float64(rssKiB)/1024, "MiB-idle-rss")
	b.ReportMetric(0, "ns/op")
}

func vmRSS(tb testing.TB, pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

// TestSystemJobsAtStartUp: once storage is bootstrapped, two handlers
// starting together create the housekeeping jobs in the system scope, once.
func TestSystemJobsAtStartUp(t *testing.T) {
	t.Parallel()
	srv := azuritetest.Fresh(t)
	a, b := startHandler(t, srv), startHandler(t, srv)
	a.waitHealthy(t, 20*time.Second)
	b.waitHealthy(t, 20*time.Second)
	acct, err := azure.Open(azure.Config{ConnectionString: srv.ConnectionString()})
	if err != nil {
		t.Fatal(err)
	}
	runner := &jobs.Runner{JobTable: acct.Table("jobs")}
	want := app.New(acct, nil).Jobs.SystemJobs()
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := runner.List(context.Background(), jobs.SystemProject, jobs.SystemEnv)
		if err == nil && len(list) == len(want) {
			for i, j := range list {
				if !j.Enabled || j.Owner != "service" {
					t.Fatalf("system job %d: %+v", i, j)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("system jobs after start-up: %d, want %d (%v); logs:\n%s", len(list), len(want), err, a.Logs())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for a condition
	}
}

// TestConsoleThroughTheBinary checks main's wiring of the web console: the
// page at / with its CSP, a versioned asset it names, and the sign-in
// configuration read from the settings (Entra authority, no dev issuer).
func TestConsoleThroughTheBinary(t *testing.T) {
	t.Parallel()
	h := startHandler(t, azuritetest.Server(t), "COLLAB_CONSOLE_AUTHORITY=https://login.example.test/tenant/v2.0",
		"COLLAB_CONSOLE_CLIENT_ID=console-app", "COLLAB_CONSOLE_SCOPES=api://collab/user_impersonation")
	h.waitHealthy(t, 20*time.Second)
	resp, page := getText(t, h.base+"/")
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(csp, "connect-src 'self' https://login.example.test;") || !strings.Contains(csp, "script-src 'self';") {
		t.Fatalf("GET /: %d %q csp %q", resp.StatusCode, resp.Header.Get("Content-Type"), csp)
	}
	m := regexp.MustCompile(`src="(/console/assets/v-[0-9a-f]+/js/app\.js)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page names no versioned app.js:\n%s", page)
	}
	if resp, _ := getText(t, h.base+m[1]); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s: %d %q", m[1], resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	resp, cfg := get(t, h.base+"/api/console/config")
	if resp.StatusCode != 200 {
		t.Fatalf("config: %d %v", resp.StatusCode, cfg)
	}
	if cfg["devAuth"] != false || cfg["authority"] != "https://login.example.test/tenant/v2.0" || cfg["clientId"] != "console-app" {
		t.Fatalf("config %v", cfg)
	}
}

func getText(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}
