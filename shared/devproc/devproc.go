// Package devproc serves the dev tools and test fixtures that run local
// child processes (Azurite, maildev, dovecot, the handler under the
// devhost): a loopback port to give one, and stopping its process group.
// Nothing in the deployed service uses it.
package devproc

import (
	"net"
	"syscall"
	"time"
)

// FreePort is a loopback port nothing listens on now (the kernel's choice),
// for a child process that must be told its port.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// StopGroup asks the process group led by pid to stop (SIGTERM), kills it
// (SIGKILL) if it has not stopped within grace, and returns once done says
// the leader has exited. The leader must have been started with Setpgid, so
// that its own children stop with it.
func StopGroup[T any](pid int, done <-chan T, grace time.Duration) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
}
