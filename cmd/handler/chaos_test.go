package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/internal/app"
	"github.com/studio-collab/collab/shared/deploy/standin"
	"github.com/studio-collab/collab/shared/jobs"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azurite"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// builtRace is the handler binary built with the race detector, for the
// chaos test when the tests run with it: the processes it kills are checked
// too.
var builtRace = &binary{flags: []string{"-race"}}

func chaosBinary(tb testing.TB) string {
	if raceBuild {
		return builtRace.get(tb)
	}
	return built.get(tb)
}

// instance is one handler process slot of the chaos test: a port, and the
// process currently serving it (replaced after each kill).
type instance struct {
	port  int
	base  string
	env   []string
	mu    sync.Mutex
	cmd   *exec.Cmd
	logs  []*strings.Builder
	logMu *sync.Mutex
}

func (in *instance) start(t *testing.T, srv *azurite.Server) {
	t.Helper()
	cmd := exec.Command(chaosBinary(t))
	cmd.Env = append(os.Environ(), "FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(in.port), "AzureWebJobsStorage="+srv.ConnectionString(), "COLLAB_ENVIRONMENT=local",
		"COLLAB_STORAGE_TIMEOUT=1500ms", "COLLAB_JOBS_LEASE_GRACE=3s")
	cmd.Env = append(cmd.Env, in.env...)
	logs := &strings.Builder{}
	cmd.Stderr = lockedWriter{logs, in.logMu}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.mu.Lock()
	in.cmd = cmd
	in.logs = append(in.logs, logs)
	in.mu.Unlock()
	h := &handlerProcess{cmd: cmd, base: in.base, logs: logs, mu: in.logMu}
	h.waitHealthy(t, 60*time.Second)
}

func (in *instance) pid() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cmd.Process.Pid
}

// kill ends the process with SIGKILL: no clean-up, no last write.
func (in *instance) kill() {
	in.mu.Lock()
	defer in.mu.Unlock()
	_ = in.cmd.Process.Kill()
	_ = in.cmd.Wait()
}

func (in *instance) allLogs() string {
	in.logMu.Lock()
	defer in.logMu.Unlock()
	var b strings.Builder
	for _, l := range in.logs {
		b.WriteString(l.String())
	}
	return b.String()
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// tickForever plays the Functions host's JobsTick timer against one slot,
// once a second, until ctx ends; while the process is down, the call fails
// and is tried again.
func tickForever(ctx context.Context, in *instance, ticks *atomic.Int64) {
	client := &http.Client{Timeout: time.Minute}
	for n := 0; ctx.Err() == nil; n++ {
		body, _ := json.Marshal(map[string]any{"Data": map[string]any{"timer": map[string]any{"IsPastDue": false}},
			"Metadata": map[string]any{"sys": map[string]any{"MethodName": "JobsTick", "UtcNow": time.Now().UTC(), "RandGuid": fmt.Sprintf("%d-%d", in.port, n)}}})
		req, _ := http.NewRequestWithContext(ctx, "POST", in.base+"/JobsTick", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ticks.Add(1)
		}
		next := time.Now().Truncate(time.Second).Add(time.Second)
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(next)): // the timer's period
		}
	}
}

// TestJobsUnderKills is the chaos run of issue 26, bounded to fit the suite:
// two handler processes on loopback tick two every-second jobs (overlap
// allow and overlap skip, catch-up all) against a Scheduler stand-in that
// takes 300 ms per call, while the test SIGKILLs one of them, eight times in
// a minute, each time the one whose call is in flight, and starts it again.
// Afterwards every occurrence of that minute is succeeded, failed or skipped
// by the overlap policy; none is left running; the open-runs index is empty;
// the Scheduler performed every succeeded occurrence exactly once and
// refused every repeat by its Idempotency-Key.
func TestJobsUnderKills(t *testing.T) {
	t.Parallel()
	const (
		window = 60 * time.Second // occurrences counted: the first minute of the jobs
		kills  = 8
		every  = 7 * time.Second // between kills
		down   = 1500 * time.Millisecond
	)
	srv := azuritetest.Fresh(t)
	sched := standin.New(0, nil)
	sched.CallDelay = 300 * time.Millisecond
	var calling sync.Map // remote address of each job call in flight
	schedSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calling.Store(r.RemoteAddr, true)
		defer calling.Delete(r.RemoteAddr)
		sched.ServeHTTP(w, r)
	}))
	t.Cleanup(schedSrv.Close)
	const prefix = "/claims/test/scheduler"

	// Two slots; the first also serves the dev issuer, for the set-up over HTTP.
	var slots []*instance
	for i := 0; i < 2; i++ {
		port := freePort(t)
		in := &instance{port: port, base: "http://127.0.0.1:" + strconv.Itoa(port), logMu: &sync.Mutex{}}
		if i == 0 {
			in.env = []string{"COLLAB_DEV_AUTH=true", "COLLAB_DEV_ISSUER_URL=" + in.base + "/api/dev",
				"COLLAB_DEV_ISSUER_KEY_FILE=" + filepath.Join(t.TempDir(), "k.pem")}
		}
		in.start(t, srv)
		slots = append(slots, in)
		t.Cleanup(in.kill)
	}
	api := slots[0].base
	tok := devToken(t, api, "alice@example.com")
	call := func(method, path string, body any, want int) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, api+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("chaos-%d", time.Now().UnixNano()))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, got)
		}
	}
	call("POST", "/api/subscriptions", map[string]any{"id": "acme", "name": "Acme"}, 201)
	call("POST", "/api/subscriptions/acme/projects", map[string]any{"id": "claims", "name": "Claims"}, 201)
	call("POST", "/api/projects/claims/environments", map[string]any{"name": "test", "kind": "test"}, 201)
	call("PATCH", "/api/projects/claims/environments/test", map[string]any{"schedulerUrl": schedSrv.URL + prefix}, 200)
	names := []string{"every-second-allow", "every-second-skip"}
	for i, overlap := range []string{"allow", "skip"} {
		call("POST", "/api/projects/claims/environments/test/jobs", map[string]any{"name": names[i], "schedule": "* * * * * *",
			"timeZone": "UTC", "enabled": true, "action": "http", "target": names[i], "timeoutSeconds": 2, "retries": 2,
			"backoffSeconds": 1, "overlap": overlap, "catchUp": "all", "catchUpBound": 1000}, 201)
	}

	acct, err := azure.Open(azure.Config{ConnectionString: srv.ConnectionString()})
	if err != nil {
		t.Fatal(err)
	}
	svcs := app.New(acct, nil) // the test's own view of the same storage
	runner := svcs.Jobs
	ctx := context.Background()
	var js []jobs.Job
	for _, n := range names {
		j, err := runner.Get(ctx, "claims", "test", n)
		if err != nil {
			t.Fatal(err)
		}
		js = append(js, j)
	}

	tickCtx, stopTicks := context.WithCancel(ctx)
	var ticks atomic.Int64
	var wg sync.WaitGroup
	for _, in := range slots {
		wg.Add(1)
		go func() { defer wg.Done(); tickForever(tickCtx, in, &ticks) }()
	}
	defer func() { stopTicks(); wg.Wait() }()

	// The kills: at fixed times, each of the process that has a call in
	// flight (found through /proc), else of the next slot in turn.
	start := time.Now()
	midCall := 0
	for k := 0; k < kills; k++ {
		<-time.After(time.Until(start.Add(time.Duration(k)*every + 4*time.Second))) // the kill schedule
		victim := -1
		for deadline := time.Now().Add(2 * time.Second); victim < 0 && time.Now().Before(deadline); {
			calling.Range(func(addr, _ any) bool {
				victim = callerOf(addr.(string), slots)
				return victim < 0
			})
			if victim < 0 {
				time.Sleep(5 * time.Millisecond) // polling interval, not a wait for a condition
			}
		}
		if victim >= 0 {
			midCall++
		} else {
			victim = k % 2
		}
		in := slots[victim]
		in.kill()
		<-time.After(down) // the process stays down this long
		in.start(t, srv)
	}

	// Let the survivors finish the minute: every occurrence closed, nothing open.
	// The index row of a closed run goes in a later step (execute deletes it
	// after recording the outcome, or the next tick's takeover does, after a
	// kill between the two), so the ticks go on until it is gone too: stopping
	// them as soon as the runs read closed cut that delete short (seen once:
	// "open-runs index row ... left" with every run closed).
	var last []jobs.Run
	var leftOpen []string
	openRows := func() []string {
		var left []string
		for _, j := range js {
			rows, err := acct.Table("jobopen").QueryAll(ctx, store.Eq("PartitionKey", store.EncodeKey(j.Project+"/"+j.Env+"/"+j.Name)), 0)
			if err != nil {
				return []string{err.Error()}
			}
			for _, row := range rows {
				n, _ := strconv.ParseInt(row.RowKey, 10, 64)
				if !time.Unix(n, 0).After(j.Created.Add(window)) {
					left = append(left, j.Name+" "+row.RowKey)
				}
			}
		}
		return left
	}
	settled := func() bool {
		last = last[:0]
		for _, j := range js {
			runs, err := runner.Runs(ctx, j, 0)
			if err != nil {
				return false
			}
			n := 0
			for _, r := range runs {
				if r.Occurrence.After(j.Created.Add(window)) {
					continue
				}
				n++
				last = append(last, r)
				if r.Status == jobs.StatusRunning || r.Status == jobs.StatusRetrying {
					return false
				}
			}
			if n != int(window/time.Second) {
				return false
			}
		}
		leftOpen = openRows()
		return len(leftOpen) == 0
	}
	deadline := time.Now().Add(90 * time.Second)
	for !settled() {
		if time.Now().After(deadline) {
			t.Fatalf("not settled 90 s after the last kill; open-runs index rows of the minute: %v; runs:\n%s", leftOpen, describe(last))
		}
		time.Sleep(500 * time.Millisecond) // polling interval, not a wait for a condition
	}
	stopTicks()
	wg.Wait()

	// Every occurrence of the minute, once; none left running after its lease.
	status := map[string]int{}
	attempts, takeovers := 0, 0
	// Calls cut short by the stop are still being performed by the Scheduler
	// (it finishes what it received): wait until every key it received ran.
	var keys map[string]int
	var comp standin.Component
	for quiet := time.Now().Add(10 * time.Second); ; {
		keys, comp = sched.CallKeys(prefix), sched.Get(prefix)
		if comp.Calls >= len(keys) || time.Now().After(quiet) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a wait for a condition
	}
	for _, r := range last {
		status[r.Status]++
		attempts += r.Attempt
		takeovers += r.Takeovers
		switch r.Status {
		case jobs.StatusSucceeded:
			if keys[r.IdempotencyKey] == 0 {
				t.Errorf("run %v succeeded but the Scheduler never received %s", r.Occurrence, r.IdempotencyKey)
			}
		case jobs.StatusSkipped:
			if !strings.Contains(r.IdempotencyKey, "/every-second-skip/") {
				t.Errorf("run %+v skipped, but only the overlap-skip job may skip", r)
			}
		case jobs.StatusFailed:
		default:
			t.Errorf("run %+v is %s after the settle", r, r.Status)
		}
	}
	if n := status[jobs.StatusSucceeded] + status[jobs.StatusFailed] + status[jobs.StatusSkipped]; n != 2*int(window/time.Second) {
		t.Fatalf("%d closed runs, want %d: %v", n, 2*int(window/time.Second), status)
	}
	for _, row := range openRows() { // nothing reopened once the ticks stopped
		t.Errorf("open-runs index row left for an occurrence of the minute: %s", row)
	}
	// The Scheduler performed each key once; repeats were refused by key.
	duplicates, runKeys := 0, map[string]bool{}
	for _, r := range last {
		runKeys[r.IdempotencyKey] = true
	}
	for k, n := range keys {
		if runKeys[k] {
			duplicates += n - 1 // of the minute's occurrences
		}
		if !runKeys[k] && !afterWindow(k, js, window) {
			t.Errorf("the Scheduler received %s, which no run of the minute has", k)
		}
	}
	if comp.Calls != len(keys) {
		t.Errorf("the Scheduler performed %d calls for %d keys: each key must run once, and every call carry one", comp.Calls, len(keys))
	}
	if takeovers == 0 || takeovers < midCall/2 {
		t.Errorf("%d runs taken over after %d kills of a process with a call in flight: the kills did not orphan runs", takeovers, midCall)
	}
	repeats := 0 // attempts after the first: the only ones that may repeat a key
	for _, r := range last {
		if r.Attempt > 1 {
			repeats += r.Attempt - 1
		}
	}
	if duplicates > repeats {
		t.Errorf("the Scheduler saw %d repeated keys but runs made only %d repeated attempts (takeovers and retries)", duplicates, repeats)
	}
	var races []string
	for _, in := range slots {
		if l := in.allLogs(); strings.Contains(l, "WARNING: DATA RACE") {
			races = append(races, l)
		}
	}
	if len(races) > 0 {
		t.Fatalf("a handler process reported a data race:\n%s", strings.Join(races, "\n"))
	}
	t.Logf("chaos: %d kills (%d mid-call), %d ticks answered, race-built handler %v; %d occurrences, %d runs: %v; %d attempts, %d takeovers; Scheduler: %d calls performed, %d keys, %d duplicates by key refused; stuck=0",
		kills, midCall, ticks.Load(), raceBuild, 2*int(window/time.Second), len(last), status, attempts, takeovers, comp.Calls, len(keys), duplicates)
}

// afterWindow reports whether a key names an occurrence after the counted
// minute (the jobs keep running until the tickers stop).
func afterWindow(key string, js []jobs.Job, window time.Duration) bool {
	i := strings.LastIndexByte(key, '/')
	n, err := strconv.ParseInt(key[i+1:], 10, 64)
	if err != nil {
		return false
	}
	for _, j := range js {
		if strings.HasPrefix(key, j.Project+"/"+j.Env+"/"+j.Name+"/") {
			return time.Unix(n, 0).After(j.Created.Add(window))
		}
	}
	return false
}

// callerOf says which slot's process holds the client end of the
// connection from addr (Linux: /proc/net/tcp maps the local port to a socket
// inode, /proc/<pid>/fd the inode to a process); -1 if none does.
func callerOf(addr string, slots []*instance) int {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return -1
	}
	port, _ := strconv.ParseInt(portText, 10, 32)
	inode := ""
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			fs := strings.Fields(line)
			if len(fs) < 10 {
				continue
			}
			i := strings.LastIndexByte(fs[1], ':')
			if p, err := strconv.ParseInt(fs[1][i+1:], 16, 32); err == nil && p == port && fs[9] != "0" {
				inode = fs[9]
			}
		}
	}
	if inode == "" {
		return -1
	}
	for i, in := range slots {
		pid := in.pid()
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); l == "socket:["+inode+"]" {
				return i
			}
		}
	}
	return -1
}

func describe(runs []jobs.Run) string {
	var b strings.Builder
	for _, r := range runs {
		if r.Status == jobs.StatusRunning || r.Status == jobs.StatusRetrying {
			fmt.Fprintf(&b, "%s %s attempt %d lease %v next %v takeovers %d\n", r.IdempotencyKey, r.Status, r.Attempt, r.LeaseUntil, r.NextAttempt, r.Takeovers)
		}
	}
	return b.String()
}

func devToken(t *testing.T, base, email string) string {
	t.Helper()
	resp, err := http.Post(base+"/api/dev/token", "application/json", strings.NewReader(`{"email":"`+email+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("dev token: %d", resp.StatusCode)
	}
	return tok.AccessToken
}
