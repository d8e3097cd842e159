package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/studio-collab/collab/handlers/handlertest"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func must(t *testing.T, want int, outHas string, args ...string) string {
	t.Helper()
	code, out, errs := run(args...)
	if code != want || !strings.Contains(out+errs, outHas) {
		t.Fatalf("%v: code %d\nstdout %s\nstderr %s", args, code, out, errs)
	}
	return out + errs
}

// TestWorkingCopy: clone, edit, push, a second clone pulls, a conflicting
// push is refused naming who changed what, locks, log, status.
func TestWorkingCopy(t *testing.T) {
	api := handlertest.Start(t)
	t.Setenv("COLLAB_CONFIG_DIR", t.TempDir())
	must(t, 0, "", "dev", "seed", "--api", api.URL)
	a, b := filepath.Join(t.TempDir(), "alice"), filepath.Join(t.TempDir(), "bob")
	intake := filepath.Join("applications", "claims", "processes", "intake.json")

	must(t, 0, "", "login", "--api", api.URL, "--email", "alice@example.com")
	must(t, 0, "cloned claims into "+a+" at commit 0 (0 objects)", "clone", "claims", a)
	write(t, filepath.Join(a, intake), `{"steps":["receive"]}`)
	write(t, filepath.Join(a, "entities", "master", "customer.json"), `{"fields":["name"]}`)
	write(t, filepath.Join(a, "notes.txt"), "not an object path")
	out := must(t, 0, "A applications/claims/processes/intake.json", "status", "-C", a)
	if !strings.Contains(out, "A entities/master/customer.json") || !strings.Contains(out, "ignoring notes.txt") {
		t.Fatalf("status: %s", out)
	}
	os.Remove(filepath.Join(a, "notes.txt"))
	must(t, 0, "pushed commit 1: 2 change(s)", "push", "-C", a, "-m", "first processes")
	must(t, 0, "nothing to push", "status", "-C", a)

	must(t, 0, "", "login", "--api", api.URL, "--email", "bob@example.com")
	must(t, 0, "at commit 1 (2 objects)", "clone", "claims", b)
	if got := read(t, filepath.Join(b, intake)); got != `{"steps":["receive"]}` {
		t.Fatalf("bob's clone: %q", got)
	}
	// Bob edits and pushes; Alice pulls it.
	write(t, filepath.Join(b, intake), `{"steps":["receive","triage"]}`)
	must(t, 0, "pushed commit 2: 1 change(s)", "push", "-C", b, "-m", "triage")
	must(t, 0, "", "login", "--api", api.URL, "--email", "alice@example.com")
	must(t, 0, "pulled commit 2 (now at 2)", "pull", "-C", a) // commit 1 was her own push
	if got := read(t, filepath.Join(a, intake)); got != `{"steps":["receive","triage"]}` {
		t.Fatalf("alice after pull: %q", got)
	}
	must(t, 0, "already up to date at commit 2", "pull", "-C", a)
	// Alice changes intake again; Bob, based on v2 as well, is refused.
	write(t, filepath.Join(a, intake), `{"steps":["receive","triage","pay"]}`)
	must(t, 0, "pushed commit 3", "push", "-C", a, "-m", "pay")
	must(t, 0, "", "login", "--api", api.URL, "--email", "bob@example.com")
	write(t, filepath.Join(b, intake), `{"steps":["receive","triage","reject"]}`)
	// The push meets a stale base: it merges; both changed the array, so
	// the merge stops at a conflict note and pushes nothing.
	out = must(t, 1, "nothing was pushed", "push", "-C", b, "-m", "reject")
	if !strings.Contains(out, "applications/claims/processes/intake.json: you changed v2, the server has v3 by alice@example.com") ||
		!strings.Contains(out, "conflict: applications/claims/processes/intake.json changed here and on the server (v3 by alice@example.com)") {
		t.Fatalf("conflict message: %s", out)
	}
	if got := read(t, filepath.Join(b, intake)); !strings.Contains(got, "reject") {
		t.Fatalf("bob's edit was overwritten: %q", got)
	}
	if got := read(t, filepath.Join(b, intake+".conflict.json")); !strings.Contains(got, `"key": "/steps"`) || !strings.Contains(got, "pay") {
		t.Fatalf("the conflict note: %q", got)
	}
	must(t, 0, "C "+intake+".conflict.json", "status", "-C", b)
	must(t, 1, "resolve the conflicts first", "push", "-C", b, "-m", "reject")
	write(t, filepath.Join(b, intake), `{"steps":["receive","triage","pay","reject"]}`)
	os.Remove(filepath.Join(b, intake+".conflict.json"))
	must(t, 0, "pushed commit 4: 1 change(s)", "push", "-C", b, "-m", "merged: reject after pay")
	// Locks.
	must(t, 0, "locked applications/claims", "lock", "-C", b, "applications/claims")
	must(t, 0, "", "login", "--api", api.URL, "--email", "alice@example.com")
	must(t, 1, "locked", "lock", "-C", a, "applications/claims/processes/intake.json")
	write(t, filepath.Join(a, intake), `{"steps":[]}`)
	must(t, 1, "locked by bob@example.com", "push", "-C", a, "-m", "blocked")
	must(t, 0, "unlocked applications/claims (held by bob@example.com)", "unlock", "-C", a, "applications/claims") // alice owns the project
	// A delete; the log.
	os.Remove(filepath.Join(a, "entities", "master", "customer.json"))
	must(t, 0, "D entities/master/customer.json", "status", "-C", a)
	// Alice's blocked edit meets Bob's merge: she keeps hers.
	must(t, 0, "conflict: applications/claims/processes/intake.json changed here and on the server (v4 by bob@example.com)", "pull", "-C", a)
	os.Remove(filepath.Join(a, intake+".conflict.json"))
	must(t, 0, "pushed commit 5: 2 change(s)", "push", "-C", a, "-m", "drop customer")
	out = must(t, 0, "commit 5", "log", "-C", a)
	if !strings.Contains(out, "drop customer") || !strings.Contains(out, "commit 1") {
		t.Fatalf("log: %s", out)
	}
	out = must(t, 0, "v5  commit 5", "log", "-C", a, "applications/claims/processes/intake.json")
	if !strings.Contains(out, "v2  commit 2") || !strings.Contains(out, "bob@example.com") {
		t.Fatalf("log path: %s", out)
	}
	must(t, 2, "usage: collab push", "push", "-C", a)
	must(t, 1, "not a working copy", "status", "-C", t.TempDir())
}

// cutTransport cuts every pack download after allow bytes of its body
// (allow < 0: never) and counts the packs asked for.
type cutTransport struct {
	base  http.RoundTripper
	allow int64
	packs atomic.Int64
}

func (f *cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := f.base.RoundTrip(r)
	if err != nil || !strings.HasSuffix(r.URL.Path, "/packs/read") {
		return resp, err
	}
	f.packs.Add(1)
	if f.allow >= 0 {
		resp.Body = &gatedBody{ReadCloser: resp.Body, left: f.allow, gate: func() error { return errors.New("connection reset") }}
	}
	return resp, nil
}

// gatedBody passes the first left bytes of a body, then asks gate: an
// error ends the body there (a cut connection); nil lets the rest through
// once gate returns (a stall).
type gatedBody struct {
	io.ReadCloser
	left   int64
	gate   func() error
	opened bool
}

func (g *gatedBody) Read(p []byte) (int, error) {
	if g.left <= 0 && !g.opened {
		if err := g.gate(); err != nil {
			return 0, err
		}
		g.opened = true
	}
	if !g.opened && int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.ReadCloser.Read(p)
	g.left -= int64(n)
	return n, err
}

// signInAlice starts the API on Azurite, seeds the demo and signs in as
// alice (a project owner).
func signInAlice(t *testing.T) *handlertest.API {
	t.Helper()
	api := handlertest.Start(t)
	t.Setenv("COLLAB_CONFIG_DIR", t.TempDir())
	must(t, 0, "", "dev", "seed", "--api", api.URL)
	must(t, 0, "", "login", "--api", api.URL, "--email", "alice@example.com")
	return api
}

// TestPullResumes: a pull cut off while downloading resumes where it
// stopped: content already downloaded is not fetched again.
func TestPullResumes(t *testing.T) {
	signInAlice(t)
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	must(t, 0, "", "clone", "claims", a)
	must(t, 0, "", "clone", "claims", b)
	for _, n := range []string{"p1", "p2", "p3", "p4", "p5"} {
		write(t, filepath.Join(a, "applications", "claims", "processes", n+".json"), `{"name":"`+n+`"}`)
	}
	must(t, 0, "pushed commit 1: 5 change(s)", "push", "-C", a, "-m", "five")

	w, code := openWorkCopy(b, io.Discard, io.Discard)
	if w == nil {
		t.Fatal(code)
	}
	// A pack is "collab-pack 1\n" (14 bytes), then per blob a 68-byte
	// header ("<sha256> 13\n") and its 13 bytes: cut inside the third.
	w.c.http.Transport = &cutTransport{base: http.DefaultTransport, allow: 14 + 2*81 + 10}
	if _, code := w.pull(); code != exitFail {
		t.Fatalf("the cut pull: %d", code)
	}
	if _, err := os.Stat(filepath.Join(b, stateDir, "pull.json")); err != nil {
		t.Fatalf("no pull.json after the cut: %v", err)
	}
	w, _ = openWorkCopy(b, io.Discard, io.Discard)
	w.received = map[string]int{}
	w.c.http.Transport = &cutTransport{base: http.DefaultTransport, allow: -1}
	if _, code := w.pull(); code != exitOK {
		t.Fatalf("resumed pull: %d", code)
	}
	if n := len(w.received); n != 3 {
		t.Fatalf("the resumed pull downloaded %d blobs (%v), want the 3 missing", n, w.received)
	}
	if got := read(t, filepath.Join(b, "applications", "claims", "processes", "p5.json")); got != `{"name":"p5"}` {
		t.Fatalf("p5: %q", got)
	}
	must(t, 0, "already up to date at commit 1", "pull", "-C", b)
}
