// Package azuritetest gives every test package one real Azurite, started on
// first use and stopped when the package's tests end.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { azuritetest.Main(m) }
//
// and call azuritetest.Server(t) in a test. No test skips for want of
// Azurite: `make test` installs it, and a missing install fails loudly.
package azuritetest

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/studio-collab/collab/shared/store/azurite"
)

// shared holds the one emulator of this test binary. Test helpers are the one
// place a package-level value is acceptable: the binary is the scope.
var shared struct {
	once sync.Once
	srv  *azurite.Server
	err  error
}

// Main runs the package's tests and then stops the emulator, if one started.
func Main(m *testing.M) {
	code := m.Run()
	if shared.srv != nil {
		_ = shared.srv.Stop()
	}
	os.Exit(code)
}

// Server returns the package's running Azurite, starting it on first use.
func Server(t testing.TB) *azurite.Server {
	t.Helper()
	shared.once.Do(func() {
		shared.srv, shared.err = azurite.Start(context.Background(), azurite.Options{})
	})
	if shared.err != nil {
		t.Fatalf("azurite: %v", shared.err)
	}
	return shared.srv
}

// Fresh starts a private Azurite for a test that must stop it (outage tests);
// it is stopped at the end of the test if the test did not.
func Fresh(t testing.TB) *azurite.Server {
	t.Helper()
	srv, err := azurite.Start(context.Background(), azurite.Options{})
	if err != nil {
		t.Fatalf("azurite: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}
