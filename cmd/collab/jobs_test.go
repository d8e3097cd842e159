package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/studio-collab/collab/handlers/handlertest"
)

func TestJobsCommands(t *testing.T) {
	api := handlertest.Start(t)
	t.Setenv("COLLAB_CONFIG_DIR", t.TempDir())
	if code, _, errs := run("dev", "seed", "--api", api.URL); code != 0 {
		t.Fatal(errs)
	}
	// The environment's Scheduler: a real loopback server.
	sched := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer sched.Close()
	api.Must(t, "carol@example.com", "PATCH", "/api/projects/claims/environments/development", map[string]any{"schedulerUrl": sched.URL}, 200)
	run("login", "--api", api.URL, "--email", "carol@example.com")
	steps := []struct {
		args   []string
		code   int
		outHas string
		errHas string
	}{
		{[]string{"jobs", "add", "claims", "development", "close", "--schedule", "0 0 3 * * *", "--target", "/jobs/close"}, 0, "added job close", ""},
		{[]string{"jobs", "add", "claims", "development", "purge", "--schedule", "0 0 3 * * *", "--action", "purge-idempotency"}, 1, "", "action must be http"},
		{[]string{"jobs", "add", "claims", "development", "bad", "--schedule", "0 0 25 * * *"}, 1, "", `hour field: bad token "25"`},
		{[]string{"jobs", "ls", "claims", "development"}, 0, "http /jobs/close", ""},
		{[]string{"jobs", "run", "claims", "development", "close"}, 0, "queued a run of close", ""},
		{[]string{"jobs", "run", "claims", "development"}, 2, "", "usage: collab jobs run"},
	}
	for _, s := range steps {
		code, out, errs := run(s.args...)
		if code != s.code || !strings.Contains(out, s.outHas) || !strings.Contains(errs, s.errHas) {
			t.Fatalf("%v: %d %q %q", s.args, code, out, errs)
		}
	}
	api.Tick(t)
	if code, out, _ := run("jobs", "runs", "claims", "development", "close"); code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("runs: %q", out)
	}
}
