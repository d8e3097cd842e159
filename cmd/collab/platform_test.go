package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) {
	// The test binary doubles as the collab executable for tests that run
	// (and kill) it as a process of its own.
	if os.Getenv("COLLAB_TEST_RUN_MAIN") == "1" {
		os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
	}
	azuritetest.Main(m)
}

func run(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := dispatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestCommandsAgainstTheAPI runs the CLI as a new user would, in-process,
// against the real API on Azurite.
func TestCommandsAgainstTheAPI(t *testing.T) {
	api := handlertest.Start(t)
	t.Setenv("COLLAB_CONFIG_DIR", t.TempDir())

	if code, _, errs := run("whoami"); code != 1 || !strings.Contains(errs, "not signed in") {
		t.Fatalf("whoami before login: %d %q", code, errs)
	}
	for i := 0; i < 2; i++ { // seeding twice is seeding once
		if code, out, errs := run("dev", "seed", "--api", api.URL); code != 0 || !strings.Contains(out, "seeded: team finance with bob") {
			t.Fatalf("seed #%d: %d %q %q", i+1, code, out, errs)
		}
	}
	code, out, errs := run("login", "--api", api.URL, "--email", "alice@example.com")
	if code != 0 || !strings.Contains(out, "signed in to "+api.URL+" as alice@example.com") {
		t.Fatalf("login: %d %q %q", code, out, errs)
	}
	cases := []struct {
		args    []string
		code    int
		outHas  []string
		errHas  string
		outLack string
	}{
		{[]string{"whoami"}, 0, []string{"alice@example.com", "subscription demo (Demo subscription): Subscription Owner", "project claims (Claims): owner"}, "", ""},
		{[]string{"projects"}, 0, []string{"PROJECT", "claims", "owner"}, "", ""},
		{[]string{"projects", "--subscription", "demo"}, 0, []string{"claims", "demo"}, "", ""},
		{[]string{"members", "claims"}, 0, []string{"bob@example.com", "developer", "carol@example.com", "admin", "alice@example.com", "owner"}, "", ""},
		{[]string{"envs", "claims"}, 0, []string{"development", "test", "running"}, "", ""},
		// --json prints the API's own objects: its field names, every field.
		{[]string{"teams", "--json", "claims"}, 0, []string{`"id": "finance"`, `"projectId": "claims"`, platform.UserID("bob@example.com")}, "", `"ID"`},
		{[]string{"envs", "--json", "claims"}, 0, []string{`"name": "development"`, `"kind": "development"`}, "", `"Name"`},
		{[]string{"whoami", "--json"}, 0, []string{`"email": "alice@example.com"`, `"subscriptions"`}, "", `"Email"`},
		{[]string{"users", "demo"}, 0, []string{"alice@example.com", "bob@example.com", "carol@example.com", "active"}, "", ""},
		{[]string{"members"}, 2, nil, "usage: collab members <project>", ""},
		{[]string{"members", "nope"}, 1, nil, "Not found (404)", ""},
		{[]string{"whoami", "--bogus"}, 2, nil, "flag provided but not defined", ""},
		{[]string{"token"}, 0, []string{"eyJ"}, "", ""},
	}
	for _, c := range cases {
		code, out, errs := run(c.args...)
		if code != c.code || !strings.Contains(errs, c.errHas) {
			t.Errorf("%v: code %d stderr %q", c.args, code, errs)
			continue
		}
		for _, h := range c.outHas {
			if !strings.Contains(out, h) {
				t.Errorf("%v: stdout lacks %q:\n%s", c.args, h, out)
			}
		}
		if c.outLack != "" && strings.Contains(out, c.outLack) {
			t.Errorf("%v: stdout has %q:\n%s", c.args, c.outLack, out)
		}
	}
	// JSON output decodes.
	_, out, _ = run("members", "claims", "--json")
	var ms []map[string]any
	if err := json.Unmarshal([]byte(out), &ms); err != nil || len(ms) != 3 {
		t.Fatalf("members --json: %v %s", err, out)
	}
	// The token is not printed by anything but `collab token`.
	_, tok, _ := run("token")
	for _, args := range [][]string{{"login", "--api", api.URL, "--email", "bob@example.com"}, {"whoami"}, {"users", "demo"}} {
		_, out, errs := run(args...)
		if strings.Contains(out+errs, strings.TrimSpace(tok)[:40]) {
			t.Fatalf("%v printed the token", args)
		}
	}
	// Bob is a developer: the Customer Portal is not his.
	if code, _, errs := run("users", "demo"); code != 1 || !strings.Contains(errs, "Not allowed (403)") {
		t.Fatalf("bob users: %d %q", code, errs)
	}
	if code, out, _ := run("logout"); code != 0 || !strings.Contains(out, "signed out") {
		t.Fatal("logout")
	}
	if code, _, _ := run("whoami"); code != 1 {
		t.Fatal("whoami after logout")
	}
}

func TestParseFlagsAnywhere(t *testing.T) {
	t.Setenv("COLLAB_CONFIG_DIR", t.TempDir())
	for _, args := range [][]string{{"claims", "--json"}, {"--json", "claims"}, {"-json", "claims"}, {"--json=true", "claims"}} {
		code, _, errs := run(append([]string{"members"}, args...)...)
		// Not signed in, but the command line itself parsed: exit 1, not 2.
		if code != 1 || !strings.Contains(errs, "not signed in") {
			t.Errorf("%v: %d %q", args, code, errs)
		}
	}
}
