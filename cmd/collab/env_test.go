package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/deploy/standin"
)

// TestEnvCommands: the demo seed points the environments at a Work Portal
// stand-in and gives development its demo policy; a developer commits an
// entity through the dev feed and reads the status; an admin opens the
// window now; the next reconcile round restarts the stand-in and the
// environment runs on the new sequence. Developers cannot change policies.
func TestEnvCommands(t *testing.T) {
	api := handlertest.Start(t)
	portal := standin.New(0, nil)
	srv := httptest.NewServer(portal)
	defer srv.Close()
	t.Setenv("COLLAB_CONFIG_DIR", t.TempDir())
	if code, out, errs := run("dev", "seed", "--api", api.URL, "--workportal", srv.URL); code != 0 || !strings.Contains(out, "stand-in") {
		t.Fatal(out, errs)
	}
	run("login", "--api", api.URL, "--email", "bob@example.com")
	steps := []cliStep{
		{[]string{"env", "policy", "claims", "development"}, 0, "0 */5 * * * * in UTC, 10 minutes, announced 2 minutes before", ""},
		{[]string{"env", "policy", "claims", "test"}, 0, "(the default)", ""},
		{[]string{"env", "policy", "claims", "development", "--schedule", "0 0 3 * * *"}, 1, "", "Not allowed (403)"},
		{[]string{"env", "status", "claims", "nope"}, 1, "", "Not found (404)"},
		{[]string{"env", "cancel", "claims", "development"}, 2, "", "usage: collab env cancel"},
	}
	exec := func(s cliStep) {
		t.Helper()
		code, out, errs := run(s.args...)
		if code != s.code || !strings.Contains(out, s.outHas) || !strings.Contains(errs, s.errHas) {
			t.Fatalf("%v: %d %q %q", s.args, code, out, errs)
		}
	}
	for _, s := range steps {
		exec(s)
	}
	// An entity change reaches the catalog (as a push does): its deployment
	// waits for a window.
	if seq := api.Commit(t, "bob@example.com", "claims", "entities/application/Claim"); seq != 1 {
		t.Fatalf("commit seq %d", seq)
	}
	if code, resp := api.InvokeFunction(t, "WindowsReconcile", nil); code != 200 {
		t.Fatal(resp.Logs)
	}
	run("login", "--api", api.URL, "--email", "carol@example.com")
	for _, s := range []cliStep{
		{[]string{"env", "status", "claims", "development"}, 0, "pending: 0 hot, 1 restart, 0 parameters restart-portal", ""},
		{[]string{"env", "windows", "claims", "development"}, 0, "w000001", ""},
		{[]string{"env", "policy", "claims", "test", "--schedule", "0 0 3 * * Sun", "--tz", "Europe/Madrid", "--duration", "45", "--notice", "30"}, 0, "0 0 3 * * Sun in Europe/Madrid, 45 minutes, announced 30 minutes before", ""},
		{[]string{"env", "open-now", "claims", "development"}, 0, "window w000001 is open", ""},
	} {
		exec(s)
	}
	if code, resp := api.InvokeFunction(t, "WindowsReconcile", nil); code != 200 {
		t.Fatal(resp.Logs)
	}
	exec(cliStep{[]string{"env", "status", "claims", "development"}, 0, "development: running\n  deployed seq 1", ""})
	exec(cliStep{[]string{"env", "deployments", "claims", "development"}, 0, "deployed", ""})
	if n := portal.Get("/claims/development/portal").Restarts; n != 1 {
		t.Fatalf("stand-in restarts: %d", n)
	}
}

// cliStep is one command, its exit status and what its output holds.
type cliStep struct {
	args   []string
	code   int
	outHas string
	errHas string
}
