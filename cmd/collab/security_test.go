package main

import (
	"strings"
	"testing"

	"github.com/studio-collab/collab/handlers/handlertest"
)

func TestSecurityCommands(t *testing.T) {
	api := handlertest.Start(t)
	t.Setenv("COLLAB_CONFIG_DIR", t.TempDir())
	if code, _, errs := run("dev", "seed", "--api", api.URL); code != 0 {
		t.Fatalf("seed: %s", errs)
	}
	run("login", "--api", api.URL, "--email", "alice@example.com")
	steps := []struct {
		args   []string
		code   int
		outHas string
		errHas string
	}{
		{[]string{"security", "grant", "claims", "applications/claims/processes/payouts", "user:bob@example.com", "deny"}, 0, "granted user:u-", ""},
		{[]string{"security", "grant", "claims", "entities", "team:finance", "full"}, 1, "", "only deny can be set"},
		{[]string{"security", "ls", "claims"}, 0, "applications/claims/processes/payouts", ""},
		{[]string{"security", "check", "claims", "applications/claims/processes/payouts", "--user", "bob@example.com", "--action", "view"}, 0, "denied: view on applications/claims/processes/payouts (level deny; decided by user:u-", ""},
		{[]string{"security", "check", "claims", "applications/claims/processes/payouts"}, 0, "allowed: modify", ""},
		{[]string{"security", "explain", "claims", "--user", "bob@example.com", "--prefix", "applications"}, 0, "no entry on the path: the developer default is modify", ""},
		{[]string{"security", "explain", "claims", "applications/claims/processes/payouts/versions/2", "--user", "bob@example.com"}, 0, "applications/claims/processes/payouts/versions/2: level deny (decided by user:u-", ""},
		{[]string{"security", "check", "claims", "applications/claims", "--json"}, 0, `"decidedBy": {`, ""},
		{[]string{"security", "grant", "claims", "applications/x"}, 2, "", "usage: collab security grant"},
		{[]string{"security", "frob", "claims"}, 2, "", "usage: collab security"},
	}
	for _, s := range steps {
		code, out, errs := run(s.args...)
		if code != s.code || !strings.Contains(out, s.outHas) || !strings.Contains(errs, s.errHas) {
			t.Errorf("%v: code %d\nstdout %q\nstderr %q", s.args, code, out, errs)
		}
	}
	// Bob, a developer, sees the deny but cannot change entries.
	run("login", "--api", api.URL, "--email", "bob@example.com")
	if code, out, _ := run("security", "check", "claims", "applications/claims/processes/payouts/forms/f", "--action", "view"); code != 0 || !strings.HasPrefix(out, "denied") {
		t.Fatalf("bob check: %q", out)
	}
	if code, _, errs := run("security", "revoke", "claims", "applications/claims/processes/payouts", "user:bob@example.com"); code != 1 || !strings.Contains(errs, "Full Control") {
		t.Fatalf("bob revoke: %d %q", code, errs)
	}
	run("login", "--api", api.URL, "--email", "alice@example.com")
	if code, out, _ := run("security", "revoke", "claims", "applications/claims/processes/payouts", "user:bob@example.com"); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("alice revoke: %q", out)
	}
}
