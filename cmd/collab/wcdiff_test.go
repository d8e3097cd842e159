package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers/handlertest"
)

// TestMergeAndHistory: two users edit different keys of one JSON object:
// the second push merges automatically and both edits land; a pull meeting
// a local edit merges too; a text conflict leaves markers that status shows
// and push refuses until resolved; then diff, show, log filters, revert
// (409 across a later commit, then --force) and restore.
func TestMergeAndHistory(t *testing.T) {
	api := handlertest.Start(t)
	t.Setenv("COLLAB_CONFIG_DIR", t.TempDir())
	must(t, 0, "", "dev", "seed", "--api", api.URL)
	a, b := filepath.Join(t.TempDir(), "alice"), filepath.Join(t.TempDir(), "bob")
	form := filepath.Join("applications", "claims", "processes", "intake.json")
	rule := filepath.Join("rules", "functions", "total.txt")
	as := func(who string) { must(t, 0, "", "login", "--api", api.URL, "--email", who+"@example.com") }

	as("alice")
	must(t, 0, "", "clone", "claims", a)
	write(t, filepath.Join(a, form), "{\n  \"name\": \"Intake\",\n  \"fields\": 3,\n  \"sla\": 5\n}\n")
	write(t, filepath.Join(a, rule), "a\nb\nc\nd\ne\n")
	must(t, 0, "pushed commit 1", "push", "-C", a, "-m", "first")
	as("bob")
	must(t, 0, "", "clone", "claims", b)

	// Different keys, concurrently: the second push merges and succeeds.
	as("alice")
	write(t, filepath.Join(a, form), "{\n  \"name\": \"Intake form\",\n  \"fields\": 3,\n  \"sla\": 5\n}\n")
	must(t, 0, "pushed commit 2", "push", "-C", a, "-m", "rename")
	as("bob")
	write(t, filepath.Join(b, form), "{\n  \"name\": \"Intake\",\n  \"fields\": 4,\n  \"sla\": 5\n}\n")
	out := must(t, 0, "pushed commit 3", "push", "-C", b, "-m", "one more field")
	if !strings.Contains(out, "merged applications/claims/processes/intake.json: your changes and v2 by alice@example.com (automatic merge)") {
		t.Fatalf("push with a stale base: %s", out)
	}
	want := "{\n  \"name\": \"Intake form\",\n  \"fields\": 4,\n  \"sla\": 5\n}\n"
	if got := read(t, filepath.Join(b, form)); got != want {
		t.Fatalf("bob's merged file:\n%s", got)
	}
	// A pull meeting a local edit of another key merges it.
	as("alice")
	write(t, filepath.Join(a, form), "{\n  \"name\": \"Intake form\",\n  \"fields\": 3,\n  \"sla\": 7\n}\n")
	must(t, 0, "merged applications/claims/processes/intake.json", "pull", "-C", a)
	want = "{\n  \"name\": \"Intake form\",\n  \"fields\": 4,\n  \"sla\": 7\n}\n"
	if got := read(t, filepath.Join(a, form)); got != want {
		t.Fatalf("alice's merged file:\n%s", got)
	}
	must(t, 0, "M applications/claims/processes/intake.json", "status", "-C", a)
	out = must(t, 0, "intake.json v3 -> working copy (json)", "diff", "-C", a)
	if !strings.Contains(out, "~ /sla: 5 -> 7") {
		t.Fatalf("diff: %s", out)
	}
	must(t, 0, "pushed commit 4", "push", "-C", a, "-m", "sla 7")

	// The same line of a text file: markers, status, refused push, resolved.
	write(t, filepath.Join(a, rule), "a\nALICE\nc\nd\ne\n")
	must(t, 0, "pushed commit 5", "push", "-C", a, "-m", "alice's b")
	as("bob")
	write(t, filepath.Join(b, rule), "a\nBOB\nc\nd\ne\n")
	must(t, 0, "conflict: rules/functions/total.txt changed here and on the server (v2 by alice@example.com)", "pull", "-C", b)
	got := read(t, filepath.Join(b, rule))
	if !strings.Contains(got, "<<<<<<< mine\nBOB\n||||||| base v1\nb\n=======\nALICE\n>>>>>>> theirs v2 by alice@example.com\n") {
		t.Fatalf("markers:\n%s", got)
	}
	must(t, 0, "C "+rule+" (conflict markers)", "status", "-C", b)
	must(t, 1, "resolve the conflicts first", "push", "-C", b, "-m", "bob's b")
	write(t, filepath.Join(b, rule), "a\nALICE and BOB\nc\nd\ne\n")
	must(t, 0, "pushed commit 6", "push", "-C", b, "-m", "both")

	// History: show, diff --commit, log filters.
	out = must(t, 0, "commit 6\nAuthor: bob@example.com", "show", "6", "-C", b)
	if !strings.Contains(out, "-ALICE\n+ALICE and BOB\n") {
		t.Fatalf("show: %s", out)
	}
	out = must(t, 0, "=== applications/claims/processes/intake.json v1 -> v2 (json)", "diff", "--commit", "2", "-C", b)
	if !strings.Contains(out, `~ /name: "Intake" -> "Intake form"`) {
		t.Fatalf("diff --commit: %s", out)
	}
	out = must(t, 0, "commit 5", "log", "--author", "alice", "-C", b)
	if strings.Contains(out, "commit 6") || strings.Contains(out, "commit 3 ") || !strings.Contains(out, "commit 1") {
		t.Fatalf("log --author: %s", out)
	}
	if out = must(t, 0, "", "log", "--since", time.Now().Add(time.Hour).Format(time.RFC3339), "-C", b); strings.Contains(out, "commit") {
		t.Fatalf("log --since the future: %s", out)
	}
	out = must(t, 0, "v2  commit 5", "log", "--author", "alice", rule, "-C", b)
	if strings.Contains(out, "v3") {
		t.Fatalf("log path --author: %s", out)
	}
	must(t, 2, "--since is a date", "log", "--since", "yesterday-ish", "-C", b)

	// Revert 2 (alice's rename) across later commits: 409, then --force merges.
	out = must(t, 1, "changed after commit 2", "revert", "2", "-m", "undo rename", "-C", b)
	if !strings.Contains(out, "intake.json: now v4 by alice@example.com") {
		t.Fatalf("revert across a later commit: %s", out)
	}
	out = must(t, 0, "reverted commit 2 as commit 7", "revert", "2", "-m", "undo rename", "--force", "-C", b)
	if !strings.Contains(out, "merged with later commits: applications/claims/processes/intake.json") {
		t.Fatalf("forced revert: %s", out)
	}
	must(t, 0, "pulled commit 7", "pull", "-C", b)
	want = "{\n  \"name\": \"Intake\",\n  \"fields\": 4,\n  \"sla\": 7\n}\n"
	if got := read(t, filepath.Join(b, form)); got != want {
		t.Fatalf("after the revert:\n%s", got)
	}
	// Restore the rule to version 1.
	must(t, 0, "restored rules/functions/total.txt to version 1 as commit 8", "restore", rule, "--version", "1", "-C", b)
	must(t, 1, "already holds", "restore", rule, "--version", "1", "-C", b)
	must(t, 0, "pulled commit 8", "pull", "-C", b)
	if got := read(t, filepath.Join(b, rule)); got != "a\nb\nc\nd\ne\n" {
		t.Fatalf("after the restore: %q", got)
	}
	must(t, 2, "usage: collab restore", "restore", rule, "-C", b)
	if _, err := os.Stat(filepath.Join(b, form+conflictExt)); err == nil {
		t.Fatal("a conflict note was left behind")
	}
}
