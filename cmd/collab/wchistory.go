package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The working copy's read-only and lock commands: log, lock, unlock.

func runLog(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	dir := dirFlag(fs)
	n := fs.Int("n", 20, "how many commits")
	sinceFlag := fs.String("since", "", "only commits since a date (2026-12-06), a time (RFC 3339) or an age (36h, 7d)")
	author := fs.String("author", "", "only commits whose author contains this")
	w, pos, code := openFor(fs, dir, args, stdout, stderr, nil)
	if w == nil {
		return code
	}
	since, err := parseSince(*sinceFlag, time.Now())
	if err != nil {
		return usageErr(stderr, err.Error())
	}
	keep := func(by string, at time.Time) bool {
		return strings.Contains(strings.ToLower(by), strings.ToLower(*author)) && !at.Before(since)
	}
	if len(pos) == 1 {
		var h struct {
			Items []struct {
				Version, Seq int64
				SHA256       string
				CommittedBy  string
				CommittedAt  time.Time
				Deleted      bool
			}
		}
		if err := w.getJSON(w.base()+"/history?path="+url.QueryEscape(pos[0]), &h); err != nil {
			return fail(stderr, err)
		}
		shown := 0
		for i := len(h.Items) - 1; i >= 0 && shown < *n; i-- {
			it := h.Items[i]
			if !keep(it.CommittedBy, it.CommittedAt) {
				continue
			}
			shown++
			what := "put " + it.SHA256[:min(12, len(it.SHA256))]
			if it.Deleted {
				what = "deleted"
			}
			fmt.Fprintf(stdout, "v%d  commit %d  %s  %s  %s\n", it.Version, it.Seq, it.CommittedAt.Local().Format("2006-01-02 15:04"), it.CommittedBy, what)
		}
		return exitOK
	}
	var head struct{ Head int64 }
	if err := w.getJSON(w.base()+"/changes?limit=1", &head); err != nil {
		return fail(stderr, err)
	}
	// Commits are in time order: walking back stops at the first one
	// before --since, or once n are shown.
	for seq, shown := head.Head, 0; seq >= 1 && shown < *n; seq-- {
		var c struct {
			CommittedBy string
			CommittedAt time.Time
			Message     string
			Changes     []struct{ Path, Op string }
		}
		if err := w.getJSON(fmt.Sprintf("%s/commits/%d", w.base(), seq), &c); err != nil {
			return fail(stderr, err)
		}
		if c.CommittedAt.Before(since) {
			break
		}
		if !keep(c.CommittedBy, c.CommittedAt) {
			continue
		}
		shown++
		fmt.Fprintf(stdout, "commit %d  %s  %s  (%d changes)\n    %s\n", seq, c.CommittedAt.Local().Format("2006-01-02 15:04"), c.CommittedBy, len(c.Changes), c.Message)
	}
	return exitOK
}

func runLock(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lock", flag.ContinueOnError)
	dir := dirFlag(fs)
	ttl := fs.Duration("ttl", time.Hour, "how long the lock lasts (renew by locking again)")
	w, pos, code := openFor(fs, dir, args, stdout, stderr, onePath("usage: collab lock <path> [--ttl 1h] [-C dir]"))
	if w == nil {
		return code
	}
	body, _ := json.Marshal(map[string]any{"path": pos[0], "ttlSeconds": int(ttl.Seconds())})
	status, b, err := w.request("POST", w.base()+"/locks", body, "Content-Type", "application/json")
	if err != nil {
		return fail(stderr, err)
	}
	if status != http.StatusCreated {
		return fail(stderr, problemError(status, b))
	}
	var l struct {
		Path      string
		ExpiresAt time.Time
	}
	_ = json.Unmarshal(b, &l)
	fmt.Fprintf(stdout, "locked %s until %s\n", l.Path, l.ExpiresAt.Local().Format("2006-01-02 15:04"))
	return exitOK
}

func runUnlock(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("unlock", flag.ContinueOnError)
	dir := dirFlag(fs)
	w, pos, code := openFor(fs, dir, args, stdout, stderr, onePath("usage: collab unlock <path> [-C dir]"))
	if w == nil {
		return code
	}
	var ls struct {
		Items []struct{ ID, Path, Holder string }
	}
	if err := w.getJSON(w.base()+"/locks?prefix="+url.QueryEscape(pos[0]), &ls); err != nil {
		return fail(stderr, err)
	}
	for _, l := range ls.Items {
		if l.Path != pos[0] {
			continue
		}
		status, b, err := w.request("DELETE", w.base()+"/locks/"+url.PathEscape(l.ID), nil)
		if err != nil {
			return fail(stderr, err)
		}
		if status != http.StatusNoContent {
			return fail(stderr, problemError(status, b))
		}
		fmt.Fprintf(stdout, "unlocked %s (held by %s)\n", l.Path, l.Holder)
		return exitOK
	}
	return fail(stderr, fmt.Errorf("no lock on %s", pos[0]))
}

// onePath accepts exactly one argument, else says usage.
func onePath(usage string) func([]string) string {
	return func(pos []string) string {
		if len(pos) != 1 {
			return usage
		}
		return ""
	}
}
