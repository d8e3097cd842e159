package main

// History as a tool (issue 17): diff, show, revert, restore. The diffs are
// computed by shared/catalog/diff, the same code the server runs.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/catalog/diff"
)

// printDiff writes one object's diff: JSON as its changed keys, text as a
// unified diff, binary as sizes and hashes.
func printDiff(out io.Writer, header string, r diff.Result) {
	fmt.Fprintf(out, "=== %s (%s)\n", header, r.Kind)
	switch {
	case r.Same:
		fmt.Fprintln(out, "  (no change)")
	case r.Kind == diff.KindJSON:
		for _, k := range r.Keys {
			key := k.Key
			if key == "" {
				key = "(whole document)"
			}
			switch k.Op {
			case "added":
				fmt.Fprintf(out, "  + %s: %s\n", key, k.To)
			case "removed":
				fmt.Fprintf(out, "  - %s: %s\n", key, k.From)
			default:
				fmt.Fprintf(out, "  ~ %s: %s -> %s\n", key, k.From, k.To)
			}
		}
	case r.Kind == diff.KindText:
		fmt.Fprint(out, r.Unified)
		if !strings.HasSuffix(r.Unified, "\n") {
			fmt.Fprintln(out)
		}
	default:
		fmt.Fprintf(out, "  binary: %d bytes %s -> %d bytes %s\n", r.FromSize, short(r.FromSHA), r.ToSize, short(r.ToSHA))
	}
}

func short(sha string) string {
	if sha == "" {
		return "(absent)"
	}
	return sha[:min(12, len(sha))]
}

// commitDiff is the server's GET commits/{seq}/diff.
type commitDiff struct {
	Seq         int64
	CommittedBy string
	CommittedAt time.Time
	Message     string
	Files       []struct {
		Path string
		From *struct{ Version int64 }
		To   *struct {
			Version int64
			Deleted bool
		}
		Diff    diff.Result
		Omitted bool
	}
}

func (w *workCopy) printCommit(seq int64, header bool) error {
	var cd commitDiff
	if err := w.getJSON(fmt.Sprintf("%s/commits/%d/diff", w.base(), seq), &cd); err != nil {
		return err
	}
	if header {
		fmt.Fprintf(w.out, "commit %d\nAuthor: %s\nDate:   %s\n\n    %s\n\n", cd.Seq, cd.CommittedBy, cd.CommittedAt.Local().Format("2006-01-02 15:04:05"),
			strings.ReplaceAll(cd.Message, "\n", "\n    "))
	}
	for _, f := range cd.Files {
		from, to := "absent", "?"
		if f.From != nil {
			from = fmt.Sprintf("v%d", f.From.Version)
		}
		if f.To != nil {
			to = fmt.Sprintf("v%d", f.To.Version)
			if f.To.Deleted {
				to += " (deleted)"
			}
		}
		if f.Omitted {
			fmt.Fprintf(w.out, "=== %s %s -> %s (not compared: a large commit; use `collab diff` on it)\n", f.Path, from, to)
			continue
		}
		printDiff(w.out, fmt.Sprintf("%s %s -> %s", f.Path, from, to), f.Diff)
	}
	return nil
}

func runDiff(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	dir := dirFlag(fs)
	commit := fs.Int64("commit", 0, "show what commit N changed instead of your working copy")
	w, pos, code := openFor(fs, dir, args, stdout, stderr, func(pos []string) string {
		if len(pos) > 1 {
			return "usage: collab diff [path] [--commit N] [-C dir]"
		}
		return ""
	})
	if w == nil {
		return code
	}
	if *commit > 0 {
		if err := w.printCommit(*commit, false); err != nil {
			return fail(stderr, err)
		}
		return exitOK
	}
	changes, _, _, err := w.scan()
	if err != nil {
		return fail(stderr, err)
	}
	for _, c := range changes {
		if len(pos) == 1 && c.path != pos[0] && !strings.HasPrefix(c.path, strings.TrimSuffix(pos[0], "/")+"/") {
			continue
		}
		var base []byte
		from := "absent"
		if c.base.Version > 0 {
			if base, err = w.contentAt(c.path, c.base.Version); err != nil {
				return fail(stderr, err)
			}
			from = fmt.Sprintf("v%d", c.base.Version)
		}
		mine, to := c.data, "working copy"
		if c.op == "D" {
			mine, to = nil, "deleted here"
		}
		ct := c.contentType
		if ct == "" {
			ct = c.base.ContentType
		}
		printDiff(stdout, fmt.Sprintf("%s %s -> %s", c.path, from, to), diff.Compare(c.file, ct, base, mine, c.path+" "+from, c.path+" ("+to+")"))
	}
	return exitOK
}

func runShow(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	dir := dirFlag(fs)
	var seq int64
	w, _, code := openFor(fs, dir, args, stdout, stderr, oneCommit("usage: collab show <commit> [-C dir]", &seq))
	if w == nil {
		return code
	}
	if err := w.printCommit(seq, true); err != nil {
		return fail(stderr, err)
	}
	return exitOK
}

// oneCommit is openFor's check for a command of one <commit>: it reads the
// commit's sequence number into seq, and a wrong one is a usage error
// before the working copy is opened.
func oneCommit(usage string, seq *int64) func([]string) string {
	return func(pos []string) string {
		if len(pos) != 1 {
			return usage
		}
		n, err := parseSeq(pos[0])
		if err != nil {
			return err.Error()
		}
		*seq = n
		return ""
	}
}

func parseSeq(s string) (int64, error) {
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || n < 1 || fmt.Sprint(n) != s {
		return 0, fmt.Errorf("a commit is its sequence number (1, 2, ...), not %q", s)
	}
	return n, nil
}

// parseSince reads --since: a date (2026-12-06), a time (RFC 3339), or an
// age (90m, 36h, 7d).
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if strings.HasSuffix(s, "d") {
		var days int
		if _, err := fmt.Sscan(strings.TrimSuffix(s, "d"), &days); err == nil && days >= 0 {
			return now.AddDate(0, 0, -days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since is a date (2026-12-06), a time (RFC 3339) or an age (36h, 7d), not %q", s)
}

// undo posts a revert or restore with an Idempotency-Key (kept for one
// retry after a lost answer) and prints the outcome.
func (w *workCopy) undo(path string, body any, what string) int {
	b, _ := json.Marshal(body)
	var k [16]byte
	_, _ = rand.Read(k[:])
	key := hex.EncodeToString(k[:])
	status, ans, err := w.request("POST", w.base()+path, b, "Content-Type", "application/json", "Idempotency-Key", key)
	if err != nil {
		// The answer may be lost after the commit: the same key answers it.
		if status, ans, err = w.request("POST", w.base()+path, b, "Content-Type", "application/json", "Idempotency-Key", key); err != nil {
			return fail(w.errw, err)
		}
	}
	var res struct {
		Seq       int64
		Undoes    int64
		Merged    []string
		Objects   []struct{ Path string }
		Detail    string
		Forbidden []string
		Conflicts []struct {
			Path           string
			CurrentVersion int64
			CommittedBy    string
		}
		Locked []struct{ Path, Holder string }
	}
	_ = json.Unmarshal(ans, &res)
	switch status {
	case http.StatusCreated:
		fmt.Fprintf(w.out, "%s as commit %d (%d object(s)); run `collab pull` to bring it here\n", what, res.Seq, len(res.Objects))
		for _, m := range res.Merged {
			fmt.Fprintf(w.out, "  merged with later commits: %s\n", m)
		}
		return exitOK
	case http.StatusForbidden:
		fmt.Fprintf(w.errw, "collab: refused: you may not change %s; nothing was changed\n", strings.Join(res.Forbidden, ", "))
	case http.StatusConflict:
		fmt.Fprintf(w.errw, "collab: refused: %s\n", res.Detail)
		for _, c := range res.Conflicts {
			fmt.Fprintf(w.errw, "  %s: now v%d by %s\n", c.Path, c.CurrentVersion, c.CommittedBy)
		}
	case http.StatusLocked:
		for _, l := range res.Locked {
			fmt.Fprintf(w.errw, "collab: refused: %s is checked out by %s\n", l.Path, l.Holder)
		}
	default:
		return fail(w.errw, problemError(status, ans))
	}
	return exitFail
}

func runRevert(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("revert", flag.ContinueOnError)
	dir := dirFlag(fs)
	msg := fs.String("m", "", "the new commit's message (default: Revert commit N: ...)")
	force := fs.Bool("force", false, "merge paths changed after the commit instead of refusing")
	var seq int64
	w, _, code := openFor(fs, dir, args, stdout, stderr, oneCommit("usage: collab revert <commit> [-m message] [--force] [-C dir]", &seq))
	if w == nil {
		return code
	}
	return w.undo(fmt.Sprintf("/commits/%d/revert", seq), map[string]any{"message": *msg, "force": *force}, fmt.Sprintf("reverted commit %d", seq))
}

func runRestore(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	dir := dirFlag(fs)
	version := fs.Int64("version", 0, "the version to bring back")
	msg := fs.String("m", "", "the new commit's message")
	w, pos, code := openFor(fs, dir, args, stdout, stderr, func(pos []string) string {
		if len(pos) != 1 || *version < 1 {
			return "usage: collab restore <path> --version N [-m message] [-C dir]"
		}
		return ""
	})
	if w == nil {
		return code
	}
	return w.undo("/restore", map[string]any{"path": pos[0], "version": *version, "message": *msg},
		fmt.Sprintf("restored %s to version %d", pos[0], *version))
}
