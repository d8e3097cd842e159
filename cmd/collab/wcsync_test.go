package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// treeOf reads every file of a working copy but .collab: name -> bytes.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == stateDir {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for name, b := range want {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: %s is missing", what, name)
		case g != b:
			t.Errorf("%s: %s differs: %q, want %q", what, name, g, b)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: %s was not pushed", what, name)
		}
	}
}

// manyNames is a tree with many extensions, none, dotted names and nested
// folders, text and binary content.
func manyNames() map[string]string {
	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	return map[string]string{
		"applications/claims/processes/model.bpmn":                `<definitions id="model"/>`,
		"applications/claims/processes/model.json":                `{"model":true}`,
		"applications/claims/forms/intake.json":                   `{"fields":[]}`,
		"applications/claims/forms/intake.form.xml":               `<form/>`,
		"applications/claims/forms/intake/layout/grid.v2.xml":     `<grid/>`,
		"applications/claims/Makefile":                            "all:\n\techo hi\n",
		"applications/claims/README":                              "no extension\n",
		"applications/claims/assets/logo.png":                     string(bin),
		"applications/claims/assets/empty.txt":                    "",
		"rules/functions/scan.go":                                 "package scan\n",
		"rules/functions/scan.s":                                  "TEXT ·scan(SB)\n",
		"rules/functions/clean.bash":                              "#!/bin/bash\nrm -f x\n",
		"rules/functions/run.sh":                                  "#!/bin/sh\n",
		"rules/expressions/total.v1.2.expr":                       "a+b",
		"entities/master/customer.json":                           `{"fields":["name"]}`,
		"entities/master/customer":                                "the entity descriptor, no extension",
		"security/notes.md":                                       "# notes\n",
		"applications/claims/processes/intake/steps/a.b.c":        "dotted",
		"applications/claims/processes/intake/steps/deep/x/y/z.z": "deep",
	}
}

// TestExactRoundTrip (issue 16, done when 1): a tree with many extensions
// is pushed, cloned into a new directory and pulled into a second working
// copy: the same names and bytes everywhere. The author's pull after the
// push has nothing to bring.
func TestExactRoundTrip(t *testing.T) {
	signInAlice(t)
	root := t.TempDir()
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	must(t, 0, "", "clone", "claims", a)
	must(t, 0, "at commit 0", "clone", "claims", c) // the second working copy, before the push
	tree := manyNames()
	for name, content := range tree {
		write(t, filepath.Join(a, filepath.FromSlash(name)), content)
	}
	out := must(t, 0, "A applications/claims/processes/model.bpmn", "status", "-C", a)
	if !strings.Contains(out, "A rules/functions/scan.s") || !strings.Contains(out, "A applications/claims/README") {
		t.Fatalf("status: %s", out)
	}
	must(t, 0, fmt.Sprintf("pushed commit 1: %d change(s)", len(tree)), "push", "-C", a, "-m", "many names")
	must(t, 0, "already up to date at commit 1", "pull", "-C", a)
	must(t, 0, "nothing to push", "status", "-C", a)

	must(t, 0, fmt.Sprintf("at commit 1 (%d objects)", len(tree)), "clone", "claims", b)
	sameTree(t, "clone", tree, treeOf(t, b))
	must(t, 0, "pulled commit 1", "pull", "-C", c)
	sameTree(t, "pull", tree, treeOf(t, c))
	must(t, 0, "nothing to push", "status", "-C", b)

	// An edit, a rename (delete + add) and a delete come back exactly too.
	os.Remove(filepath.Join(b, "rules", "functions", "run.sh"))
	write(t, filepath.Join(b, "rules", "functions", "run.bash"), "#!/bin/bash\n")
	write(t, filepath.Join(b, "rules", "functions", "scan.go"), "package scan // v2\n")
	os.Remove(filepath.Join(b, "applications", "claims", "README"))
	must(t, 0, "pushed commit 2: 4 change(s)", "push", "-C", b, "-m", "rename, edit, delete")
	must(t, 0, "pulled commit 2", "pull", "-C", c)
	must(t, 0, "pulled commit 2", "pull", "-C", a)
	want := treeOf(t, b)
	sameTree(t, "second pull", want, treeOf(t, c))
	sameTree(t, "author's pull", want, treeOf(t, a))

	// c pushes after a's newer commit without pulling it first: its pull
	// brings a's commit and does not count its own.
	write(t, filepath.Join(a, "security", "notes.md"), "# notes v2\n")
	must(t, 0, "pushed commit 3", "push", "-C", a, "-m", "notes")
	write(t, filepath.Join(c, "rules", "functions", "run.bash"), "#!/bin/bash\necho c\n")
	must(t, 0, "pushed commit 4", "push", "-C", c, "-m", "run")
	must(t, 0, "pulled commit 3 (now at 4)", "pull", "-C", c)
	must(t, 0, "already up to date at commit 4", "pull", "-C", c)
	must(t, 0, "pulled commit 4 (now at 4)", "pull", "-C", a)
	sameTree(t, "after crossing pushes", treeOf(t, a), treeOf(t, c))
}

// TestNamesRefused: names that differ only in case are refused by push,
// and an object whose file another object holds is left out of a clone,
// clearly, with the rest written.
func TestNamesRefused(t *testing.T) {
	signInAlice(t)
	a := filepath.Join(t.TempDir(), "a")
	must(t, 0, "", "clone", "claims", a)
	write(t, filepath.Join(a, "applications", "claims", "forms", "intake.json"), "{}")
	write(t, filepath.Join(a, "applications", "claims", "forms", "Intake.json"), "{ }")
	out := must(t, 1, "differ only in case", "push", "-C", a, "-m", "two cases")
	if !strings.Contains(out, "applications/claims/forms/Intake.json, applications/claims/forms/intake.json") {
		t.Fatalf("the refusal names both: %s", out)
	}
	os.Remove(filepath.Join(a, "applications", "claims", "forms", "Intake.json"))
	must(t, 0, "pushed commit 1", "push", "-C", a, "-m", "one")

	// Another client commits INTAKE.json straight through the API.
	w, _ := openWorkCopy(a, io.Discard, io.Discard)
	checkin(t, w, `{"op":"put","path":"applications/claims/forms/INTAKE.json","kind":"form","sha256":"%s","size":2,"contentType":"application/json"}`, "{}")
	b := filepath.Join(t.TempDir(), "b")
	out = must(t, 1, "left out applications/claims/forms/INTAKE.json (v1 by alice@example.com): its file applications/claims/forms/INTAKE.json is taken by applications/claims/forms/intake.json", "clone", "claims", b)
	if !strings.Contains(out, "at commit 2 (1 objects)") {
		t.Fatalf("clone: %s", out)
	}
	if got := read(t, filepath.Join(b, "applications", "claims", "forms", "intake.json")); got != "{}" {
		t.Fatalf("intake.json: %q", got)
	}
}

// checkin commits one change (its sha256 filled from content) through
// the API, as another client would.
func checkin(t *testing.T, w *workCopy, change, content string) {
	t.Helper()
	h := hashBytes([]byte(content))
	if status, b, err := w.request("PUT", w.base()+"/blobs/"+h, []byte(content)); err != nil || status >= 300 {
		t.Fatalf("blob: %d %s %v", status, b, err)
	}
	body := fmt.Sprintf(`{"message":"raw","changes":[`+change+`]}`, h)
	status, b, err := w.request("POST", w.base()+"/checkins", []byte(body), "Content-Type", "application/json", "Idempotency-Key", hashBytes([]byte(body)))
	if err != nil || status != http.StatusCreated {
		t.Fatalf("checkin: %d %s %v", status, b, err)
	}
}

// TestLegacyNames: objects pushed before file names were kept (no
// extension in the path, a content type) keep working: a clone writes them
// under the name the old client gave them, an edit updates the same object,
// and an old working copy (format 1) keeps its file names.
func TestLegacyNames(t *testing.T) {
	signInAlice(t)
	a := filepath.Join(t.TempDir(), "a")
	must(t, 0, "", "clone", "claims", a)
	w, _ := openWorkCopy(a, io.Discard, io.Discard)
	checkin(t, w, `{"op":"put","path":"applications/claims/processes/intake","kind":"process","sha256":"%s","size":2,"contentType":"application/json"}`, "{}")
	checkin(t, w, `{"op":"put","path":"applications/claims/processes/model","kind":"process","sha256":"%s","size":3,"contentType":"application/octet-stream"}`, "bin")

	b := filepath.Join(t.TempDir(), "b")
	must(t, 0, "at commit 2 (2 objects)", "clone", "claims", b)
	sameTree(t, "legacy clone", map[string]string{
		"applications/claims/processes/intake.json": "{}",  // the old client's name
		"applications/claims/processes/model":       "bin", // its .bin was never part of the name
	}, treeOf(t, b))
	write(t, filepath.Join(b, "applications", "claims", "processes", "intake.json"), `{"v":2}`)
	must(t, 0, "M applications/claims/processes/intake\n", "status", "-C", b)
	must(t, 0, "pushed commit 3: 1 change(s)", "push", "-C", b, "-m", "edit a legacy object")

	// An old working copy: format 1, names derived from content types.
	must(t, 0, "pulled 3 commits, 1..3", "pull", "-C", a)
	st := filepath.Join(a, stateDir, "state.json")
	var s map[string]any
	if err := json.Unmarshal([]byte(read(t, st)), &s); err != nil {
		t.Fatal(err)
	}
	delete(s, "format")
	for _, o := range s["objects"].(map[string]any) {
		delete(o.(map[string]any), "file")
	}
	old, _ := json.Marshal(s)
	write(t, st, string(old))
	os.Rename(filepath.Join(a, "applications", "claims", "processes", "model"), filepath.Join(a, "applications", "claims", "processes", "model.bin"))
	must(t, 0, "nothing to push", "status", "-C", a)
	write(t, filepath.Join(a, "applications", "claims", "processes", "model.bin"), "bin2")
	must(t, 0, "M applications/claims/processes/model\n", "status", "-C", a)
}

// TestCloneFetchesEachBlobOnce (issue 16, done when 2): 60 paths sharing 6
// contents are cloned with one download per distinct hash, in one pack.
func TestCloneFetchesEachBlobOnce(t *testing.T) {
	signInAlice(t)
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	must(t, 0, "", "clone", "claims", a)
	must(t, 0, "", "clone", "claims", b)
	tree := map[string]string{}
	for i := range 60 {
		tree[fmt.Sprintf("applications/claims/forms/f%02d/form.json", i)] = fmt.Sprintf(`{"template":%d}`, i%6)
	}
	for name, content := range tree {
		write(t, filepath.Join(a, filepath.FromSlash(name)), content)
	}
	must(t, 0, "pushed commit 1: 60 change(s)", "push", "-C", a, "-m", "sixty forms, six contents")

	w, _ := openWorkCopy(b, io.Discard, io.Discard)
	w.received = map[string]int{}
	count := &cutTransport{base: http.DefaultTransport, allow: -1}
	w.c.http.Transport = count
	if _, code := w.pull(); code != exitOK {
		t.Fatal(code)
	}
	if len(w.received) != 6 {
		t.Fatalf("%d distinct blobs downloaded, want 6", len(w.received))
	}
	for h, n := range w.received {
		if n != 1 {
			t.Errorf("%s downloaded %d times", h, n)
		}
	}
	if n := count.packs.Load(); n != 1 {
		t.Errorf("%d pack requests, want 1", n)
	}
	sameTree(t, "clone", tree, treeOf(t, b))
	if es, _ := os.ReadDir(filepath.Join(b, stateDir, "objects")); len(es) != 0 {
		t.Errorf("%d objects left in .collab/objects after the pull", len(es))
	}
	// Files of the same content are not one file: an edit in place of one
	// leaves the others alone.
	f, err := os.OpenFile(filepath.Join(b, "applications", "claims", "forms", "f00", "form.json"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"edited":true}`)
	f.Close()
	if got := read(t, filepath.Join(b, "applications", "claims", "forms", "f06", "form.json")); got != `{"template":0}` {
		t.Fatalf("an edit in place changed another file: %q", got)
	}
}

// stallProxy forwards to the API but stalls the first pack download after
// its first bytes until released.
type stallProxy struct {
	*httptest.Server
	stalled atomic.Bool
	release chan struct{}
}

func newStallProxy(t *testing.T, api string, after int64) *stallProxy {
	u, _ := url.Parse(api)
	p := &stallProxy{release: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	rp.ModifyResponse = func(r *http.Response) error {
		if strings.HasSuffix(r.Request.URL.Path, "/packs/read") && p.stalled.CompareAndSwap(false, true) {
			r.Body = &gatedBody{ReadCloser: r.Body, left: after, gate: func() error { <-p.release; return nil }}
		}
		return nil
	}
	p.Server = httptest.NewServer(rp)
	t.Cleanup(func() { p.unstall(); p.Close() })
	return p
}

func (p *stallProxy) unstall() {
	select {
	case <-p.release:
	default:
		close(p.release)
	}
}

// TestKilledCloneResumes (issue 16, done when 2): a clone process killed
// (SIGKILL) in the middle of its download resumes with `collab clone`
// again, downloads only what it lacked and completes.
func TestKilledCloneResumes(t *testing.T) {
	api := signInAlice(t)
	a := filepath.Join(t.TempDir(), "a")
	must(t, 0, "", "clone", "claims", a)
	tree := map[string]string{}
	for i := range 40 {
		tree[fmt.Sprintf("rules/functions/f%02d.go", i)] = fmt.Sprintf("package f // %d\n%s", i, strings.Repeat("x", 1000))
	}
	for name, content := range tree {
		write(t, filepath.Join(a, filepath.FromSlash(name)), content)
	}
	must(t, 0, "pushed commit 1: 40 change(s)", "push", "-C", a, "-m", "forty")

	proxy := newStallProxy(t, api.URL, 10*1100) // about ten blobs, then it stalls
	must(t, 0, "", "login", "--api", proxy.URL, "--email", "alice@example.com")
	b := filepath.Join(t.TempDir(), "b")
	cmd := exec.Command(os.Args[0], "clone", "claims", b)
	cmd.Env = append(os.Environ(), "COLLAB_TEST_RUN_MAIN=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	objects := filepath.Join(b, stateDir, "objects")
	stored := func() int {
		es, _ := os.ReadDir(objects)
		n := 0
		for _, e := range es {
			if !strings.HasPrefix(e.Name(), "part-") {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(30 * time.Second); stored() < 5; {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the clone stored %d blobs before the stall: %s", stored(), out.String())
		}
		time.Sleep(10 * time.Millisecond) // polling the child's progress
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	had := stored()
	if had >= 40 {
		t.Fatalf("the clone finished before the kill")
	}
	if _, err := os.Stat(filepath.Join(b, stateDir, "pull.json")); err != nil {
		t.Fatalf("the killed clone left no plan to resume: %v", err)
	}
	proxy.unstall()

	w, _ := openWorkCopy(b, io.Discard, io.Discard)
	w.received = map[string]int{}
	if _, code := w.pull(); code != exitOK {
		t.Fatal(code)
	}
	if len(w.received) != 40-had {
		es, _ := os.ReadDir(objects)
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		t.Fatalf("the resumed clone downloaded %d blobs; %d of 40 were on disk: %v", len(w.received), had, names)
	}
	sameTree(t, "resumed clone", tree, treeOf(t, b))
	if left, _ := filepath.Glob(filepath.Join(objects, "part-*")); len(left) > 0 {
		t.Errorf("the killed clone's partial files are still there: %v", left)
	}
	must(t, 0, "already up to date at commit 1", "pull", "-C", b)
}

// TestPushThroughTheFunctionsHost (found by bench/sync after the merges): the
// Functions host, and the devhost after it, forward a request body to the
// handler only when the request has a Content-Length (docs/devhost.md,
// "HTTP routing parity"); a chunked pack upload arrived empty and the push
// failed with "blob 1 of the pack: unexpected EOF". The proxy here forwards
// bodies by the same rule.
func TestPushThroughTheFunctionsHost(t *testing.T) {
	api := signInAlice(t)
	u, _ := url.Parse(api.URL)
	rp := httputil.NewSingleHostReverseProxy(u)
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength < 0 { // chunked: the host forwards no body
			r.Body, r.ContentLength = http.NoBody, 0
			r.TransferEncoding = nil
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(host.Close)
	must(t, 0, "", "login", "--api", host.URL, "--email", "alice@example.com")
	a := filepath.Join(t.TempDir(), "a")
	must(t, 0, "", "clone", "claims", a)
	for i := range 30 {
		write(t, filepath.Join(a, "rules", "functions", fmt.Sprintf("g%02d.go", i)), fmt.Sprintf("package g // %d\n", i))
	}
	must(t, 0, "pushed commit 1: 30 change(s)", "push", "-C", a, "-m", "thirty")
	b := filepath.Join(t.TempDir(), "b")
	must(t, 0, "", "clone", "claims", b)
	if got := read(t, filepath.Join(b, "rules", "functions", "g07.go")); got != "package g // 7\n" {
		t.Fatalf("clone through the host: %q", got)
	}
}
