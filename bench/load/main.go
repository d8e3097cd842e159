// Command load is the overload benchmark of `make bench` (issue 23): against
// the real devhost and handler over Azurite (bench/stack, loopback only), it
// finds the saturation rate of four routes with vegeta's constant-rate
// attacker used as a library (doubling the rate until the goodput falls
// below 90 % of it), then attacks each at twice that rate and reports the
// goodput, p50/p99 of the admitted requests, the rejects (503 shed by the
// handler, 429 by the host's queue), the other failures, and the most file
// descriptors each process of the stack held against its limit. Every
// attack is bounded in rate and time. It is a benchmark, not a test: it
// prints a verdict per route (goodput at 2x >= 90 % of saturation, p99 of
// admitted < 1 s, no process at its descriptor limit) and fails only when
// the stack does not come up.
//
//	go run ./bench/load [-step 2s] [-overload 5s] [-max-rate 3000]   (needs bin/ from make build)
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/studio-collab/collab/bench/stack"
)

func main() {
	repo := flag.String("repo", ".", "the repository root (bin/, functions/, host.json, node_modules/)")
	step := flag.Duration("step", 2*time.Second, "length of each step of the saturation search")
	overload := flag.Duration("overload", 5*time.Second, "length of the attack at twice the saturation rate")
	maxRate := flag.Int("max-rate", 3000, "highest rate tried (requests/s)")
	objects := flag.Int("objects", 300, "objects pushed to the measured project (the feed and the listing)")
	only := flag.String("routes", "", "comma-separated route names to measure (default: all)")
	flag.Parse()
	if err := run(*repo, *step, *overload, *maxRate, *objects, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench/load:", err)
		os.Exit(1)
	}
}

// route is one measured request.
type route struct {
	name, path string
	auth       bool
}

// outcome is what one attack did.
type outcome struct {
	rate                 int
	dur                  time.Duration
	ok, rejected, failed int
	p50, p99             time.Duration // of the admitted (2xx) requests
	goodput              float64       // 2xx per second
	codes                map[uint16]int
	firstError           string
}

func run(repo string, step, overload time.Duration, maxRate, objects int, only string) error {
	s, err := stack.Start(repo, nil)
	if err != nil {
		return err
	}
	defer s.Close()
	project := fmt.Sprintf("load%d", time.Now().UnixNano()%100000)
	if err := populate(s, project, objects); err != nil {
		return err
	}
	token, err := s.Token()
	if err != nil {
		return err
	}
	routes := []route{
		{"health", "/api/health", false},
		{"me", "/api/me", true},
		{"feed", "/api/projects/" + project + "/catalog/changes?since=0", true},
		{"objects", "/api/projects/" + project + "/catalog/objects", true},
	}
	fds := newFDWatch(s.PID)
	defer fds.stop()
	mark := s.LogSize()
	fmt.Printf("overload benchmark: devhost + handler + Azurite on loopback, %d objects in the project; host.json and the handler bound requests in flight\n", objects)
	fmt.Printf("machine: %d-core, load average %s (measured as is: other work shares this machine)\n", numCPU(), loadavg())
	fmt.Printf("%-8s %9s %9s | %9s %9s %6s %8s %8s %8s %7s  %s\n", "route", "sat req/s", "2x req/s", "goodput", "of sat", "ok", "p50", "p99", "rejects", "failed", "verdict")
	for _, r := range routes {
		if only != "" && !strings.Contains(","+only+",", ","+r.name+",") {
			continue
		}
		sat, err := saturation(s.API, r, token, step, maxRate)
		if err != nil {
			return err
		}
		rate := max(2*int(sat+0.5), 1)
		o := attack(s.API, r, token, rate, overload)
		verdict := "ok"
		var why []string
		if o.goodput < 0.9*sat {
			why = append(why, "goodput < 90% of saturation")
		}
		if o.p99 >= time.Second {
			why = append(why, "p99 >= 1s")
		}
		if len(why) > 0 {
			verdict = "FAIL: " + strings.Join(why, ", ")
		}
		fmt.Printf("%-8s %9.0f %9d | %9.0f %8.0f%% %6d %8s %8s %8d %7d  %s\n", r.name, sat, rate, o.goodput, 100*o.goodput/sat, o.ok,
			ms(o.p50), ms(o.p99), o.rejected, o.failed, verdict)
		if o.firstError != "" {
			fmt.Printf("%-8s first failure: %s\n", "", o.firstError)
		}
	}
	fmt.Println("file descriptors, most held during the run / soft limit:")
	exhausted := false
	for _, p := range fds.report() {
		fmt.Printf("  %-10s pid %-7d %6d / %d\n", p.name, p.pid, p.max, p.limit)
		if p.limit > 0 && p.max >= p.limit-8 {
			exhausted = true
		}
	}
	n := countInLog(s.LogPath, mark, "too many open files")
	fmt.Printf("\"too many open files\" in the stack's log: %d\n", n)
	if exhausted || n > 0 {
		fmt.Println("verdict: FAIL: a process reached its file descriptor limit")
	}
	return nil
}

// populate creates project and pushes n objects into it with the CLI.
func populate(s *stack.Stack, project string, n int) error {
	if err := s.CreateProject(project); err != nil {
		return err
	}
	wc := filepath.Join(s.Tmp, "wc")
	if err := s.Collab(s.Tmp, "clone", project, wc); err != nil {
		return err
	}
	for i := range n {
		p := filepath.Join(wc, "applications", fmt.Sprintf("app%d", i%10), "processes", fmt.Sprintf("p%04d.json", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, fmt.Appendf(nil, `{"process":%d,"steps":[1,2,3]}`, i), 0o644); err != nil {
			return err
		}
	}
	return s.Collab(s.Tmp, "push", "-C", wc, "-m", "load")
}

// saturation doubles the rate from 25 req/s until the goodput falls below
// 90 % of the offered rate (or maxRate), then tries halfway between the
// last two rates; the saturation rate is the best goodput seen.
func saturation(api string, r route, token string, step time.Duration, maxRate int) (float64, error) {
	best := 0.0
	lo := 0
	for rate := 25; rate <= maxRate; rate *= 2 {
		o := attack(api, r, token, rate, step)
		best = max(best, o.goodput)
		if o.goodput < 0.9*float64(rate) || o.p99 >= time.Second {
			if lo > 0 {
				mid := attack(api, r, token, (lo+rate)/2, step)
				best = max(best, mid.goodput)
			}
			break
		}
		lo = rate
	}
	if best == 0 {
		return 0, fmt.Errorf("%s: no request succeeded at any rate", r.name)
	}
	return best, nil
}

// attack sends r at rate for dur and sums up the answers. Requests time
// out after 5 s (counted as failed); the attacker's workers are bounded.
func attack(api string, r route, token string, rate int, dur time.Duration) outcome {
	hdr := http.Header{}
	if r.auth {
		hdr.Set("Authorization", "Bearer "+token)
	}
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: api + r.path, Header: hdr})
	at := vegeta.NewAttacker(vegeta.Timeout(5*time.Second), vegeta.MaxWorkers(1000), vegeta.KeepAlive(true),
		vegeta.Connections(1000), vegeta.Redirects(vegeta.NoFollow))
	o := outcome{rate: rate, dur: dur, codes: map[uint16]int{}}
	var admitted []time.Duration
	for res := range at.Attack(tr, vegeta.Rate{Freq: rate, Per: time.Second}, dur, r.name) {
		o.codes[res.Code]++
		switch {
		case res.Code >= 200 && res.Code < 300:
			o.ok++
			admitted = append(admitted, res.Latency)
		case res.Code == http.StatusServiceUnavailable || res.Code == http.StatusTooManyRequests:
			o.rejected++
		default:
			o.failed++
			if o.firstError == "" {
				o.firstError = fmt.Sprintf("%d %s", res.Code, res.Error)
			}
		}
	}
	at.Stop()
	o.goodput = float64(o.ok) / dur.Seconds()
	sort.Slice(admitted, func(i, j int) bool { return admitted[i] < admitted[j] })
	if n := len(admitted); n > 0 {
		o.p50, o.p99 = admitted[n/2], admitted[min(n-1, n*99/100)]
	}
	return o
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
}

// fdWatch samples, every 100 ms, the open descriptors of the devhost and
// every process under it (the handler, Azurite, MailDev) and keeps the
// most each held.
type fdWatch struct {
	root int
	mu   sync.Mutex
	seen map[int]*proc
	done chan struct{}
	wg   sync.WaitGroup
}

type proc struct {
	pid, max, limit int
	name            string
}

func newFDWatch(root int) *fdWatch {
	w := &fdWatch{root: root, seen: map[int]*proc{}, done: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			w.sample()
			select {
			case <-w.done:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *fdWatch) stop() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	w.wg.Wait()
}

func (w *fdWatch) sample() {
	for _, pid := range descendants(w.root) {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue
		}
		w.mu.Lock()
		p := w.seen[pid]
		if p == nil {
			p = &proc{pid: pid, name: comm(pid), limit: fdLimit(pid)}
			w.seen[pid] = p
		}
		p.max = max(p.max, len(ents))
		w.mu.Unlock()
	}
}

func (w *fdWatch) report() []proc {
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []proc
	for _, p := range w.seen {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out
}

// descendants are root and every process under it (from /proc's ppid).
func descendants(root int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		i := bytes.LastIndexByte(b, ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 {
			if ppid, err := strconv.Atoi(f[1]); err == nil {
				children[ppid] = append(children[ppid], pid)
			}
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

func fdLimit(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Max open files") {
			if f := strings.Fields(strings.TrimPrefix(sc.Text(), "Max open files")); len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}

// countInLog counts the lines after offset that contain s.
func countInLog(path string, offset int64, s string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return 0
	}
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), s) {
			n++
		}
	}
	return n
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\nprocessor")) + 1
}
