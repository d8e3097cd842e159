package azurite

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/studio-collab/collab/shared/devproc"
)

// Options say how to start Azurite. The zero value starts an in-memory
// emulator on free loopback ports, found from the current directory upwards.
type Options struct {
	// Root is the directory holding node_modules; empty means search upwards
	// from the working directory for package.json with node_modules beside it.
	Root string
	// Location is the workspace folder for persistence; empty means in memory.
	Location string
	// BlobPort, QueuePort, TablePort: 0 lets the OS choose.
	BlobPort, QueuePort, TablePort int
	// Account and Key; empty means "devstoreaccount1" and a random key.
	Account, Key string
	// Log receives Azurite's output; nil discards it.
	Log io.Writer
	// StartTimeout bounds how long to wait for all three services.
	StartTimeout time.Duration
}

// Server is a running Azurite process.
type Server struct {
	Account, Key                   string
	BlobPort, QueuePort, TablePort int

	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
	err  error
}

var listening = regexp.MustCompile(`Azurite (Blob|Queue|Table) service is successfully listening at http://127\.0\.0\.1:(\d+)`)

// Start launches Azurite and returns once Blob, Queue and Table listen.
func Start(ctx context.Context, opt Options) (*Server, error) {
	bin, err := findBinary(opt.Root)
	if err != nil {
		return nil, err
	}
	if opt.Account == "" {
		opt.Account = "devstoreaccount1"
	}
	if opt.Key == "" {
		opt.Key = NewKey()
	}
	if opt.StartTimeout == 0 {
		opt.StartTimeout = 60 * time.Second
	}
	args := []string{
		"--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
		"--blobPort", strconv.Itoa(opt.BlobPort), "--queuePort", strconv.Itoa(opt.QueuePort),
		"--tablePort", strconv.Itoa(opt.TablePort),
		"--disableTelemetry", "--skipApiVersionCheck", "--loose",
	}
	if opt.Location == "" {
		args = append(args, "--inMemoryPersistence", "--extentMemoryLimit", "512")
	} else {
		if err := os.MkdirAll(opt.Location, 0o755); err != nil {
			return nil, fmt.Errorf("azurite: workspace %s: %w", opt.Location, err)
		}
		args = append(args, "--location", opt.Location)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+opt.Account+":"+opt.Key)
	// Its own process group, so Ctrl-C in a terminal reaches only our
	// supervisor, which then stops Azurite in order; Pdeathsig so that it
	// never outlives us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("azurite: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("azurite: start %s: %w", bin, err)
	}
	s := &Server{Account: opt.Account, Key: opt.Key, cmd: cmd, done: make(chan struct{})}
	ports := make(chan [2]string, 3)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if opt.Log != nil {
				fmt.Fprintln(opt.Log, line)
			}
			if m := listening.FindStringSubmatch(line); m != nil {
				ports <- [2]string{m[1], m[2]}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { s.err = cmd.Wait(); close(s.done) }()

	deadline := time.NewTimer(opt.StartTimeout)
	defer deadline.Stop()
	for s.BlobPort == 0 || s.QueuePort == 0 || s.TablePort == 0 {
		select {
		case p := <-ports:
			n, _ := strconv.Atoi(p[1])
			switch p[0] {
			case "Blob":
				s.BlobPort = n
			case "Queue":
				s.QueuePort = n
			case "Table":
				s.TablePort = n
			}
		case <-s.done:
			return nil, fmt.Errorf("azurite: exited before listening: %v", s.err)
		case <-deadline.C:
			_ = s.Stop()
			return nil, errors.New("azurite: did not listen within " + opt.StartTimeout.String())
		case <-ctx.Done():
			_ = s.Stop()
			return nil, fmt.Errorf("azurite: %w", ctx.Err())
		}
	}
	return s, nil
}

// NewKey returns a random 64-byte account key, base64 encoded as Azure keys are.
func NewKey() string {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// ConnectionString is the AzureWebJobsStorage value for this server.
func (s *Server) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;"+
		"BlobEndpoint=http://127.0.0.1:%d/%s;QueueEndpoint=http://127.0.0.1:%d/%s;TableEndpoint=http://127.0.0.1:%d/%s;",
		s.Account, s.Key, s.BlobPort, s.Account, s.QueuePort, s.Account, s.TablePort, s.Account)
}

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Stop terminates Azurite (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (s *Server) Stop() error {
	s.once.Do(func() {
		devproc.StopGroup(s.cmd.Process.Pid, s.done, 5*time.Second)
	})
	return nil
}

// findBinary locates node_modules/azurite's entry point, which `npm ci`
// installs from the pinned package-lock.json.
func findBinary(root string) (string, error) {
	if root == "" {
		var err error
		root, err = FindRoot()
		if err != nil {
			return "", err
		}
	}
	bin := filepath.Join(root, "node_modules", ".bin", "azurite")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("azurite: %s not found: run `npm ci` (make test and make run do it): %w", bin, err)
	}
	return bin, nil
}

// FindRoot walks up from the working directory to the folder that holds the
// project's package.json, which is where node_modules is installed.
func FindRoot() (string, error) {
	if r := os.Getenv("COLLAB_ROOT"); r != "" {
		return r, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("azurite: no package.json with go.mod beside it above the working directory")
		}
		dir = parent
	}
}
