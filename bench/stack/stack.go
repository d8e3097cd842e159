// Package stack starts what the benchmarks under bench/ run against: the
// real devhost, driving the real handler, over its own Azurite, with the
// demo seeded, on free loopback ports, and stops it all afterwards. It
// needs bin/ from `make build`.
package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/studio-collab/collab/shared/devproc"
)

// Stack is a running devhost with its handler and Azurite.
type Stack struct {
	Repo    string // the repository root (bin/, functions/, host.json)
	Tmp     string // a directory of the run's own, removed by Close
	API     string // http://127.0.0.1:<port>
	LogPath string // the devhost's log (its own lines and the handler's)
	PID     int    // the devhost's process id (its process group)

	host *exec.Cmd
	logf *os.File
}

// Start starts the stack with extra devhost flags and environment (the
// handler inherits it), waits until the demo is seeded and signs the CLI
// in as alice.
func Start(repoDir string, env []string, flags ...string) (*Stack, error) {
	repo, err := filepath.Abs(repoDir)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "collabbench-")
	if err != nil {
		return nil, err
	}
	s := &Stack{Repo: repo, Tmp: tmp}
	// The devhost keeps Azurite's data in <root>/.azurite: give it a root of
	// its own that links to the app's files.
	root := filepath.Join(tmp, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, s.fail(err)
	}
	for _, n := range []string{"host.json", "functions", "node_modules"} {
		if err := os.Symlink(filepath.Join(repo, n), filepath.Join(root, n)); err != nil {
			return nil, s.fail(err)
		}
	}
	port, err := devproc.FreePort()
	if err != nil {
		return nil, s.fail(err)
	}
	s.API = "http://127.0.0.1:" + strconv.Itoa(port)
	s.LogPath = filepath.Join(tmp, "devhost.log")
	if s.logf, err = os.Create(s.LogPath); err != nil {
		return nil, s.fail(err)
	}
	args := append([]string{"-root", root, "-port", strconv.Itoa(port), "-azurite", "-azurite-port", "0",
		"-handler", filepath.Join(repo, "bin", "handler"), "-dev-auth", "-seed-with", filepath.Join(repo, "bin", "collab")}, flags...)
	s.host = exec.Command(filepath.Join(repo, "bin", "devhost"), args...)
	s.host.Env = append(os.Environ(), env...)
	s.host.Stdout, s.host.Stderr = s.logf, s.logf
	s.host.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.host.Start(); err != nil {
		return nil, s.fail(err)
	}
	s.PID = s.host.Process.Pid
	if err := s.waitSeeded(); err != nil {
		return nil, s.fail(fmt.Errorf("%w (devhost log: %s)", err, s.LogPath))
	}
	return s, nil
}

func (s *Stack) fail(err error) error {
	s.Close()
	return err
}

// Close stops the devhost's process group and removes the run's files.
func (s *Stack) Close() {
	if s.host != nil && s.host.Process != nil {
		_ = syscall.Kill(-s.host.Process.Pid, syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = s.host.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.host.Process.Pid, syscall.SIGKILL)
		}
	}
	if s.logf != nil {
		s.logf.Close()
	}
	_ = os.RemoveAll(s.Tmp)
}

// Collab runs the CLI in dir with the run's own configuration.
func (s *Stack) Collab(dir string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.Repo, "bin", "collab"), args...)
	cmd.Env = append(os.Environ(), "COLLAB_CONFIG_DIR="+filepath.Join(s.Tmp, "config"))
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("collab %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return nil
}

// Token is the bearer token the CLI signed in with (alice).
func (s *Stack) Token() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.Tmp, "config", "config.json"))
	if err != nil {
		return "", err
	}
	var c struct{ Token string }
	if err := json.Unmarshal(b, &c); err != nil {
		return "", err
	}
	return c.Token, nil
}

// waitSeeded waits until the devhost answers and the demo is seeded, then
// signs in as alice.
func (s *Stack) waitSeeded() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		if resp, err := http.Get(s.API + "/api/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 && s.Collab(s.Tmp, "login", "--api", s.API, "--email", "alice@example.com") == nil &&
				s.Collab(s.Tmp, "members", "claims") == nil {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("the devhost did not come up with the demo seeded within 3 minutes")
}

// CreateProject creates a project in the demo subscription as alice.
func (s *Stack) CreateProject(id string) error {
	token, err := s.Token()
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]string{"id": id, "name": id})
	req, _ := http.NewRequest("POST", s.API+"/api/subscriptions/demo/projects", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("creating project %s: %s", id, resp.Status)
	}
	return nil
}

// LogSize is the devhost log's size, a mark for reading what follows.
func (s *Stack) LogSize() int64 {
	st, err := os.Stat(s.LogPath)
	if err != nil {
		return 0
	}
	return st.Size()
}
