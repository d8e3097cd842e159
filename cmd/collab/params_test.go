package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/studio-collab/collab/handlers/handlertest"
)

// TestParamsCommands: the Management Console from the command line, as an
// admin and as a developer; a secret set from a file never shows again.
func TestParamsCommands(t *testing.T) {
	api := handlertest.Start(t)
	t.Setenv("COLLAB_CONFIG_DIR", t.TempDir())
	if code, _, errs := run("dev", "seed", "--api", api.URL); code != 0 {
		t.Fatal(errs)
	}
	secretFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(secretFile, []byte("CLEAR-cli-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run("login", "--api", api.URL, "--email", "carol@example.com")
	steps := []struct {
		args   []string
		code   int
		outHas string
		errHas string
	}{
		{[]string{"params", "set", "claims", "test", "pageSize", "50", "--type", "int", "--description", "rows per page"}, 0, "set pageSize (int, hot): 50", ""},
		{[]string{"params", "set", "claims", "test", "pageSize", "75"}, 0, "set pageSize (int, hot): 75", ""},
		{[]string{"params", "set", "claims", "test", "pageSize", "many"}, 2, "", `"many" is not an integer`},
		{[]string{"params", "set", "claims", "test", "nope", "1"}, 2, "", "give its --type"},
		{[]string{"params", "set", "claims", "test", "crm.url", "ftp://x", "--type", "url"}, 1, "", "scheme must be one of https, http"},
		{[]string{"params", "set", "claims", "test", "crm.key", "--type", "secret", "--from-file", secretFile}, 0, "set crm.key (secret, hot): ***", ""},
		{[]string{"params", "set", "claims", "test", "portal.threads", "8", "--type", "int", "--impact", "restart-portal"}, 0, "pending: 8 at the next window (restart-portal)", ""},
		{[]string{"params", "ls", "claims", "test"}, 0, "crm.key         secret  hot             ***", ""},
		{[]string{"params", "get", "claims", "test", "pageSize"}, 0, "value:   75", ""},
		{[]string{"params", "rm", "claims", "test", "pageSize"}, 0, "deleted pageSize", ""},
		{[]string{"params", "get", "claims", "test", "pageSize"}, 1, "", "Not found (404)"},
		{[]string{"params", "rm", "claims", "test"}, 2, "", "usage: collab params rm"},
		// The usage names the values (issue 19, finding 9; before the fix it said "--impact I").
		{[]string{"params", "set", "claims", "test"}, 2, "", "--type string|int|bool|url|secret] [--impact hot|restart-portal|restart-scheduler]"},
		{[]string{"params", "frob", "claims", "test"}, 2, "", "usage: collab params ls|get|set|rm"},
	}
	var all strings.Builder
	for _, s := range steps {
		code, out, errs := run(s.args...)
		all.WriteString(out + errs)
		if code != s.code || !strings.Contains(out, s.outHas) || !strings.Contains(errs, s.errHas) {
			t.Fatalf("%v: %d %q %q", s.args, code, out, errs)
		}
	}
	api.ApplyPending(t, "claims", "test")
	if code, out, _ := run("params", "get", "claims", "test", "portal.threads"); code != 0 || !strings.Contains(out, "value:   8") || strings.Contains(out, "pending") {
		t.Fatalf("after the window: %q", out)
	}
	// Developers read, and are refused changes.
	run("login", "--api", api.URL, "--email", "bob@example.com")
	if code, out, _ := run("params", "ls", "claims", "test"); code != 0 || !strings.Contains(out, "portal.threads") {
		t.Fatalf("developer ls: %q", out)
	}
	if code, _, errs := run("params", "set", "claims", "test", "portal.threads", "9"); code != 1 || !strings.Contains(errs, "403") {
		t.Fatalf("developer set: %d %q", code, errs)
	}
	if strings.Contains(all.String(), "CLEAR-cli-secret") || strings.Contains(api.Logs(), "CLEAR-cli-secret") {
		t.Fatal("the secret was shown or logged")
	}
}
