// Command sync is the working-copy benchmark of `make bench` (issue 16):
// in one run on one machine it pushes and freshly clones the same tree of
// files through the real collab CLI against the devhost and Azurite, and
// does the same with git against a local `git daemon` on loopback, at
// several sizes, and prints both and the ratios. It also sums the devhost's
// per-request durations by route for each collab step, to show where the
// time goes. It is a benchmark, not a test: it asserts only that the clones
// are complete.
//
//	go run ./bench/sync [-sizes 1000,2000,10000]   (needs bin/ from make build)
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/studio-collab/collab/bench/stack"
	"github.com/studio-collab/collab/shared/devproc"
)

func main() {
	sizes := flag.String("sizes", "1000,2000,10000", "tree sizes (files), comma-separated")
	repo := flag.String("repo", ".", "the repository root (bin/, functions/, host.json, node_modules/)")
	flag.Parse()
	if err := run(*repo, *sizes); err != nil {
		fmt.Fprintln(os.Stderr, "bench/sync:", err)
		os.Exit(1)
	}
}

type row struct {
	n                              int
	push, clone, gitPush, gitClone time.Duration
	pushReqs, cloneReqs            string
}

func run(repoDir, sizes string) error {
	st, err := stack.Start(repoDir, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	tmp, api, logPath, collab := st.Tmp, st.API, st.LogPath, st.Collab
	createProject := st.CreateProject
	gitBase := filepath.Join(tmp, "git")
	gitPort, err := devproc.FreePort()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(gitBase, 0o755); err != nil {
		return err
	}
	daemon := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", "--base-path="+gitBase,
		"--listen=127.0.0.1", "--port="+strconv.Itoa(gitPort), gitBase)
	if err := daemon.Start(); err != nil {
		return fmt.Errorf("git daemon: %w", err)
	}
	defer func() { _ = daemon.Process.Kill(); _ = daemon.Wait() }()
	if err := waitPort(gitPort); err != nil {
		return err
	}

	var rows []row
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("size %q: %w", s, err)
		}
		r, err := measure(n, tmp, api, collab, createProject, gitBase, gitPort, logPath)
		if err != nil {
			return err
		}
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "%d files done\n", n)
	}
	fmt.Println("collab vs git, same tree, same machine, one run (push = scan+upload+commit; git push = add+commit+push to git daemon)")
	fmt.Printf("%7s %10s %10s %6s   %10s %10s %6s\n", "files", "push", "git push", "ratio", "clone", "git clone", "ratio")
	for _, r := range rows {
		fmt.Printf("%7d %9.2fs %9.2fs %5.1fx   %9.2fs %9.2fs %5.1fx\n", r.n, r.push.Seconds(), r.gitPush.Seconds(), ratio(r.push, r.gitPush),
			r.clone.Seconds(), r.gitClone.Seconds(), ratio(r.clone, r.gitClone))
	}
	fmt.Println("where collab's time goes (devhost per-request durations: route count total):")
	for _, r := range rows {
		fmt.Printf("%7d push:  %s\n%7s clone: %s\n", r.n, r.pushReqs, "", r.cloneReqs)
	}
	return nil
}

func ratio(a, b time.Duration) float64 { return a.Seconds() / b.Seconds() }

func measure(n int, tmp, api string, collab func(string, ...string) error, createProject func(string) error, gitBase string, gitPort int, logPath string) (row, error) {
	r := row{n: n}
	project := fmt.Sprintf("bench%d-%d", n, time.Now().UnixNano()%100000)
	if err := createProject(project); err != nil {
		return r, err
	}
	src := filepath.Join(tmp, fmt.Sprintf("src%d", n))
	if err := makeTree(src, n); err != nil {
		return r, err
	}
	// collab: an empty working copy gets the tree, then push; then a fresh clone.
	wc := filepath.Join(tmp, fmt.Sprintf("wc%d", n))
	if err := collab(tmp, "clone", project, wc); err != nil {
		return r, err
	}
	if err := copyTree(src, wc); err != nil {
		return r, err
	}
	mark := logSize(logPath)
	start := time.Now()
	if err := collab(tmp, "push", "-C", wc, "-m", "bench"); err != nil {
		return r, err
	}
	r.push = time.Since(start)
	r.pushReqs = requestsSince(logPath, mark)
	mark = logSize(logPath)
	dst := filepath.Join(tmp, fmt.Sprintf("clone%d", n))
	start = time.Now()
	if err := collab(tmp, "clone", project, dst); err != nil {
		return r, err
	}
	r.clone = time.Since(start)
	r.cloneReqs = requestsSince(logPath, mark)
	if got := countFiles(dst); got != n {
		return r, fmt.Errorf("the clone of %d files has %d", n, got)
	}
	// git: the same tree in a repository, add+commit+push to the daemon; then a clone.
	g := filepath.Join(tmp, fmt.Sprintf("git%d", n))
	bare := fmt.Sprintf("r%d.git", n)
	if err := git(tmp, "init", "-q", "--bare", filepath.Join(gitBase, bare)); err != nil {
		return r, err
	}
	if err := git(tmp, "init", "-q", g); err != nil {
		return r, err
	}
	if err := copyTree(src, g); err != nil {
		return r, err
	}
	url := fmt.Sprintf("git://127.0.0.1:%d/%s", gitPort, bare)
	start = time.Now()
	for _, args := range [][]string{{"add", "-A"}, {"-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", "bench"}, {"push", "-q", url, "HEAD:refs/heads/main"}} {
		if err := git(g, args...); err != nil {
			return r, err
		}
	}
	r.gitPush = time.Since(start)
	start = time.Now()
	if err := git(tmp, "clone", "-q", "-b", "main", url, filepath.Join(tmp, fmt.Sprintf("gitclone%d", n))); err != nil {
		return r, err
	}
	r.gitClone = time.Since(start)
	return r, nil
}

func git(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// makeTree writes n files of 0.5-4 KiB of text across the catalog's areas,
// with many extensions (deterministic).
func makeTree(dir string, n int) error {
	rng := rand.New(rand.NewPCG(uint64(n), 16))
	exts := []string{".bpmn", ".json", ".xml", ".go", ".sh", ".json", ".json", ".xml"}
	words := strings.Fields("claim intake triage approve reject pay customer policy amount rule entity form field process step")
	for i := range n {
		var p string
		switch i % 4 {
		case 0:
			p = fmt.Sprintf("applications/app%02d/processes/p%05d%s", i%20, i, exts[i%len(exts)])
		case 1:
			p = fmt.Sprintf("applications/app%02d/forms/f%03d/form%05d%s", i%20, i%100, i, exts[i%len(exts)])
		case 2:
			p = fmt.Sprintf("rules/functions/g%02d/r%05d%s", i%50, i, exts[i%len(exts)])
		default:
			p = fmt.Sprintf("entities/master/e%05d%s", i, exts[i%len(exts)])
		}
		var b strings.Builder
		fmt.Fprintf(&b, "object %d\n", i)
		for size := 512 + rng.IntN(3584); b.Len() < size; {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
		f := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}

func countFiles(dir string) int {
	n := 0
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == ".collab" {
			return filepath.SkipDir
		}
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func waitPort(port int) error {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("nothing listens on port %d", port)
}

func logSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

// requestsSince sums the devhost's request log lines written after offset
// by route: "POST …/packs/read 2 1.23s".
func requestsSince(p string, offset int64) string {
	f, err := os.Open(p)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return err.Error()
	}
	type agg struct {
		n  int
		ms int64
	}
	by := map[string]*agg{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg, Method, Path string
			DurationMs        *int64
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Msg != "invocation" || l.DurationMs == nil || l.Path == "" {
			continue
		}
		route := l.Method + " " + l.Path
		if i := strings.Index(l.Path, "/catalog/"); i >= 0 {
			segs := strings.Split(l.Path[i+len("/catalog/"):], "/")
			if len(segs) > 1 && segs[0] == "blobs" && segs[1] != "missing" {
				segs[1] = "{sha256}"
			}
			route = l.Method + " catalog/" + strings.Join(segs[:min(2, len(segs))], "/")
		}
		a := by[route]
		if a == nil {
			a = &agg{}
			by[route] = a
		}
		a.n++
		a.ms += *l.DurationMs
	}
	var keys []string
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s %d %.2fs", k, by[k].n, float64(by[k].ms)/1000))
	}
	return strings.Join(out, "; ")
}
