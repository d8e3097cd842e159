package host

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/studio-collab/collab/shared/devproc"
)

// process supervises the handler binary: start on a free port, wait until it
// accepts connections, restart it with backoff when it exits.
type process struct {
	// outstanding counts the forwarded requests this instance runs or
	// queues, and running holds one slot per running one: host.json's
	// extensions.http limits apply per instance, as each Flex instance
	// has its own host (nil: unbounded).
	outstanding atomic.Int64
	running     chan struct{}

	path string
	args []string
	dir  string
	env  []string
	out  io.Writer
	log  *slog.Logger

	mu       sync.Mutex
	cmd      *exec.Cmd
	base     string        // http://127.0.0.1:<port> while ready
	ready    chan struct{} // closed when base is usable; replaced on restart
	restarts int
	started  time.Time
	closing  bool
	exited   chan struct{} // closed when the supervision loop ends
}

func newProcess(path string, args []string, dir string, env []string, out io.Writer, log *slog.Logger) *process {
	return &process{path: path, args: args, dir: dir, env: env, out: out, log: log,
		ready: make(chan struct{}), exited: make(chan struct{})}
}

// run starts the handler and keeps it running until ctx ends.
func (p *process) run(ctx context.Context) {
	defer close(p.exited)
	backoff := 200 * time.Millisecond
	for {
		start := time.Now()
		err := p.once(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 30*time.Second {
			backoff = 200 * time.Millisecond
		}
		p.log.Warn("handler exited; restarting", "error", fmt.Sprint(err), "in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// once runs the handler until it exits (or ctx ends, then it is stopped).
func (p *process) once(ctx context.Context) error {
	port, err := devproc.FreePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Dir = p.dir
	cmd.Env = append(append([]string{}, p.env...), "FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start handler %s: %w", p.path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitListening(ctx, port, done); err != nil {
		p.stop(cmd, done)
		return err
	}
	p.mu.Lock()
	p.base, p.started = base, time.Now()
	close(p.ready)
	p.mu.Unlock()
	p.log.Info("handler ready", "pid", cmd.Process.Pid, "url", base)

	select {
	case err = <-done:
	case <-ctx.Done():
		p.stop(cmd, done)
		err = ctx.Err()
	}
	p.mu.Lock()
	p.base = ""
	p.ready = make(chan struct{})
	p.restarts++
	p.mu.Unlock()
	return err
}

// stop asks the handler to shut down, then kills its process group.
func (p *process) stop(cmd *exec.Cmd, done chan error) {
	devproc.StopGroup(cmd.Process.Pid, done, 5*time.Second)
}

func waitListening(ctx context.Context, port int, exited chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-exited:
			exited <- err // keep it for the caller's Wait
			return fmt.Errorf("handler exited before listening: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Errorf("handler did not listen on %s within 30s", addr)
}

// endpoint waits (up to wait) for the handler and returns its base URL.
func (p *process) endpoint(ctx context.Context, wait time.Duration) (string, error) {
	p.mu.Lock()
	base, ready := p.base, p.ready
	p.mu.Unlock()
	if base != "" {
		return base, nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ready:
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.base == "" {
			return "", fmt.Errorf("handler restarting")
		}
		return p.base, nil
	case <-t.C:
		return "", fmt.Errorf("handler not ready within %v", wait)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// status is what GET /admin/host/status shows.
type status struct {
	State    string `json:"state"`
	PID      int    `json:"handlerPid"`
	Restarts int    `json:"restarts"`
	UpFor    string `json:"upFor,omitempty"`
}

func (p *process) status() status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := status{State: "starting", Restarts: p.restarts}
	if p.base != "" {
		s.State = "running"
		s.UpFor = time.Since(p.started).Round(time.Second).String()
		if p.cmd != nil && p.cmd.Process != nil {
			s.PID = p.cmd.Process.Pid
		}
	}
	return s
}

// mergeEnv builds the handler's environment: the process environment, then
// local values for names the environment does not set, then overrides.
func mergeEnv(base []string, values map[string]string, overrides map[string]string) []string {
	seen := map[string]int{}
	out := make([]string, 0, len(base)+len(values)+len(overrides))
	for _, kv := range base {
		k, _, _ := cut(kv)
		seen[k] = len(out)
		out = append(out, kv)
	}
	for k, v := range values {
		if _, ok := seen[k]; !ok {
			seen[k] = len(out)
			out = append(out, k+"="+v)
		}
	}
	for k, v := range overrides {
		if i, ok := seen[k]; ok {
			out[i] = k + "=" + v
		} else {
			out = append(out, k+"="+v)
		}
	}
	return out
}

func cut(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}
