package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestLogViewShowsInvocationsAndBannerLast: the file gets every JSON line;
// the terminal gets problems at once, invocations only after the banner
// (counted before it), one readable line each, and no handler info lines.
func TestLogViewShowsInvocationsAndBannerLast(t *testing.T) {
	var file, term bytes.Buffer
	v := newLogView(&file, &term, ".run/devhost.log")
	devhost := slog.New(slog.NewJSONHandler(v, nil))
	handler := slog.New(slog.NewJSONHandler(v, nil)) // the handler's output arrives the same way

	handler.Info("handler listening", "port", "1234")
	devhost.Info("invocation", "function", "Me", "trigger", "http", "method", "GET", "path", "/api/me", "status", 200, "durationMs", 3)
	devhost.Warn("WEBSITE_TIME_ZONE is ignored", "WEBSITE_TIME_ZONE", "Europe/Berlin")
	devhost.Warn("invocation", "function", "OutboxSend", "trigger", "queue", "status", 500, "durationMs", 9, "error", "the handler answered 500")
	// Written in pieces, as a pipe may deliver it.
	line := `{"time":"2026-12-06T15:00:00Z","level":"ERROR","msg":"invocation","function":"OutboxSend","error":"binding \"msg\" does not decode"}` + "\n"
	_, _ = io.WriteString(v, line[:40])
	_, _ = io.WriteString(v, line[40:])
	_, _ = io.WriteString(v, "handler: settings.Load: invalid: COLLAB_DEV_AUTH=true is refused\n")
	v.Last(func(w io.Writer) { fmt.Fprintln(w, "BANNER http://localhost:7071/") })
	devhost.Info("invocation", "function", "Projects", "trigger", "http", "method", "POST", "path", "/api/projects", "status", 201, "durationMs", 12)
	devhost.Info("invocation", "function", "JobsTick", "trigger", "timer", "status", 200, "durationMs", 4)
	handler.Info("request", "path", "/api/projects")

	if n := strings.Count(file.String(), "\n"); n != 9 {
		t.Errorf("the file has %d lines, want all 9:\n%s", n, file.String())
	}
	out := term.String()
	before, after, ok := strings.Cut(out, "BANNER")
	if !ok {
		t.Fatalf("no banner:\n%s", out)
	}
	for _, c := range []struct {
		in, want string
	}{
		{before, "WARN  WEBSITE_TIME_ZONE is ignored  WEBSITE_TIME_ZONE=Europe/Berlin"},
		{before, "500      9ms  OutboxSend         queue  error: the handler answered 500"},
		{before, `ERROR invocation  error=binding "msg" does not decode  function=OutboxSend`},
		{before, "handler: settings.Load: invalid: COLLAB_DEV_AUTH=true is refused"},
		{before, "2 invocations while starting and seeding; the full JSON log (devhost and handler) is in .run/devhost.log"},
		{after, "201     12ms  Projects           POST /api/projects"},
		{after, "200      4ms  JobsTick           timer"},
	} {
		if !strings.Contains(c.in, c.want) {
			t.Errorf("terminal lacks %q:\n%s", c.want, out)
		}
	}
	for _, hidden := range []string{"/api/me", "handler listening", `"msg":"request"`, `{"time"`} {
		if strings.Contains(out, hidden) {
			t.Errorf("terminal shows %q:\n%s", hidden, out)
		}
	}
}
