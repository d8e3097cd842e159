// Package dovecottest runs a real IMAP server for tests: Debian's Dovecot
// (dovecot-imapd, installed with apt-get when it is missing, the way the
// browser tests install Chromium), configured in a temporary directory,
// listening on a free loopback port, with one throw-away user and Maildir
// storage, and run as an unprivileged user (nobody when the tests run as
// root). Nothing of the machine's own Dovecot configuration is read.
package dovecottest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/debpkg"
	"github.com/studio-collab/collab/shared/devproc"
)

// Binary is where Debian's dovecot-core puts the server.
const Binary = "/usr/sbin/dovecot"

// Ensure installs dovecot-imapd with apt-get when Binary is missing.
func Ensure() error { return debpkg.Ensure(Binary, "dovecot-imapd", "the IMAP tests") }

// Server is one running Dovecot.
type Server struct {
	Host     string // 127.0.0.1
	Port     int
	User     string // the mailbox's user and password
	Password string

	t        testing.TB
	dir      string
	uid, gid int
	cmd      *exec.Cmd
	done     chan error
	seq      atomic.Int64
}

// Start runs a Dovecot for t, stopped when t ends. It fails t when Dovecot
// cannot be installed or started: these tests are never skipped.
func Start(t testing.TB) *Server {
	t.Helper()
	if err := Ensure(); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "dovecottest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &Server{Host: "127.0.0.1", User: "tasks", Password: randomHex(12), t: t, dir: dir, uid: os.Getuid(), gid: os.Getgid()}
	if s.uid == 0 {
		s.uid, s.gid = 65534, 65534 // nobody:nogroup
	}
	for _, d := range []string{"run", "state", "home/tasks/Maildir/new", "home/tasks/Maildir/cur", "home/tasks/Maildir/tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte(s.User+":{PLAIN}"+s.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port can be taken between finding and binding it
		if s.Port, err = devproc.FreePort(); err != nil {
			t.Fatal(err)
		}
		if err := s.writeConfig(); err != nil {
			t.Fatal(err)
		}
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("dovecot did not start: %v", lastErr)
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeConfig writes a self-contained dovecot.conf: every path in the
// temporary directory, every process as the unprivileged user (no chroot,
// which needs root), IMAP only, on loopback, plain-text login allowed there.
func (s *Server) writeConfig() error {
	name := strconv.Itoa(s.uid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	group := strconv.Itoa(s.gid)
	if g, err := user.LookupGroupId(group); err == nil {
		group = g.Name
	}
	conf := fmt.Sprintf(`# written by dovecottest for one test; nothing else is read
base_dir = %[1]s/run
state_dir = %[1]s/state
instance_name = dovecottest-%[2]d
log_path = %[1]s/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = %[3]s
default_internal_group = %[4]s
default_login_user = %[3]s
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = static
  args = uid=%[5]d gid=%[6]d home=%[1]s/home/%%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = %[2]d
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service auth {
  user = %[3]s
}
service auth-worker {
  user = %[3]s
}
`, s.dir, s.Port, name, group, s.uid, s.gid)
	if err := os.WriteFile(filepath.Join(s.dir, "dovecot.conf"), []byte(conf), 0o600); err != nil {
		return err
	}
	return s.chown()
}

// chown gives the whole directory to the server's user.
func (s *Server) chown() error {
	if os.Getuid() != 0 {
		return nil
	}
	return filepath.Walk(s.dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, s.uid, s.gid)
	})
}

// start runs Dovecot in the foreground and waits until it accepts IMAP
// connections (polling with a deadline).
func (s *Server) start() error {
	cmd := exec.Command(Binary, "-F", "-c", filepath.Join(s.dir, "dovecot.conf"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if os.Getuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(s.uid), Gid: uint32(s.gid)}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			return fmt.Errorf("dovecot exited (%v): %s\n%s", err, debpkg.Tail(out.Bytes()), s.Log())
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), time.Second)
		if err == nil {
			greeting := make([]byte, 64)
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, _ := c.Read(greeting)
			c.Close()
			if strings.HasPrefix(string(greeting[:n]), "* OK") {
				s.cmd, s.done = cmd, done
				return nil
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("dovecot did not accept connections on port %d within 20 s:\n%s", s.Port, s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops Dovecot (SIGTERM, its master stops its processes) and waits
// for it; stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart starts a stopped server again on the same port with the same
// mailbox.
func (s *Server) Restart() {
	s.t.Helper()
	var err error
	for attempt := 0; attempt < 50; attempt++ { // the old listener may linger for a moment
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("dovecot did not restart: %v", err)
}

// Deliver puts raw into the user's INBOX the way a local delivery agent
// does (Maildir: written to tmp/, renamed into new/), without going through
// IMAP, so a test can fill a mailbox with many messages quickly.
func (s *Server) Deliver(raw []byte) {
	s.t.Helper()
	name := fmt.Sprintf("%d.M%dP%d.dovecottest", time.Now().Unix(), s.seq.Add(1), os.Getpid())
	box := filepath.Join(s.dir, "home", s.User, "Maildir")
	tmp := filepath.Join(box, "tmp", name)
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		s.t.Fatal(err)
	}
	if os.Getuid() == 0 {
		if err := os.Chown(tmp, s.uid, s.gid); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(box, "new", name)); err != nil {
		s.t.Fatal(err)
	}
}

// Log returns the end of Dovecot's log, for failure messages.
func (s *Server) Log() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "dovecot.log"))
	if errors.Is(err, os.ErrNotExist) {
		return "(no log)"
	}
	return debpkg.Tail(b)
}
