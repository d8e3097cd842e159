// Package debpkg installs the Debian packages that tests need (Chromium for
// the browser tests, Dovecot for the IMAP tests) when they are missing, so
// that `make test` needs no manual step on a fresh machine. The test
// machines run as root; elsewhere the error says what to install.
package debpkg

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Ensure installs pkg with apt-get unless path exists; purpose names the
// tests that need it, for the error. apt-get update runs only when the
// first install fails (stale or absent package lists).
func Ensure(path, pkg, purpose string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	apt := func(args ...string) ([]byte, error) {
		cmd := exec.Command("apt-get", append([]string{"-o", "DPkg::Lock::Timeout=600", "-q"}, args...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		return cmd.CombinedOutput()
	}
	install := []string{"install", "-y", "--no-install-recommends", pkg}
	out, err := apt(install...)
	if err != nil {
		if up, uerr := apt("update"); uerr != nil {
			return fmt.Errorf("%s need Debian's %s at %s; `apt-get update` failed (%v):\n%s", purpose, pkg, path, uerr, Tail(up))
		}
		out, err = apt(install...)
	}
	if err != nil {
		return fmt.Errorf("%s need Debian's %s at %s and `apt-get install -y %s` failed (%v); install it as root and run the tests again:\n%s", purpose, pkg, path, pkg, err, Tail(out))
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("apt-get installed %s but %s is missing: %w", pkg, path, err)
	}
	return nil
}

// Tail is the last 2,000 bytes of a command's output, for error messages.
func Tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}
