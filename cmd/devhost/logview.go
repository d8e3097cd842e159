package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// logView is what `make run` shows. The full JSON log, the devhost's and
// the handler's, goes to a file (.run/devhost.log); the terminal gets one
// readable line per invocation, every warning and error, and any output that
// is not JSON (a handler that refuses to start says why in plain text).
// Until the banner is printed, invocations are only counted (seeding the
// demo makes dozens), so that the banner with the URLs is the last thing on
// the screen once the stack is up.
type logView struct {
	mu      sync.Mutex
	file    io.Writer
	term    io.Writer
	path    string // the file's name, for the banner
	partial []byte // an unfinished line of the last Write
	live    bool   // the banner is out: invocations are shown
	held    int    // invocations before the banner
}

func newLogView(file, term io.Writer, path string) *logView {
	return &logView{file: file, term: term, path: path}
}

// Write takes JSON lines (a slog JSONHandler's, or the handler's output).
func (v *logView) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, err := v.file.Write(p); err != nil {
		return 0, err
	}
	buf := append(v.partial, p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		v.show(buf[:i])
		buf = buf[i+1:]
	}
	v.partial = append([]byte(nil), buf...)
	return len(p), nil
}

// Last prints the banner (through print) as the last thing of the start-up,
// with a line that says where the full log is, and starts showing every
// invocation.
func (v *logView) Last(print func(io.Writer)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintf(v.term, "\n  %d invocations while starting and seeding; the full JSON log (devhost and handler) is in %s\n", v.held, v.path)
	print(v.term)
	fmt.Fprintf(v.term, "\n  Invocations, one per line (time, status, duration, function, trigger or request):\n")
	v.live = true
}

func (v *logView) show(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return
	}
	var rec map[string]any
	if json.Unmarshal(line, &rec) != nil {
		fmt.Fprintf(v.term, "  %s\n", line)
		return
	}
	level, _ := rec["level"].(string)
	msg, _ := rec["msg"].(string)
	_, fromDevhost := rec["trigger"]
	switch {
	case msg == "invocation" && fromDevhost:
		if !v.live {
			v.held++
			if level == "INFO" {
				return
			}
		}
		fmt.Fprintln(v.term, invocationLine(rec))
	case level == "WARN" || level == "ERROR":
		fmt.Fprintln(v.term, problemLine(rec, level, msg))
	}
}

// invocationLine: 15:04:05  200    12ms  Me  GET /api/me
func invocationLine(rec map[string]any) string {
	what := fmt.Sprint(rec["trigger"])
	if what == "http" {
		what = fmt.Sprintf("%v %v", rec["method"], rec["path"])
	}
	status := fmt.Sprint(rec["status"])
	if status == "0" || status == "<nil>" {
		status = "---"
	}
	s := fmt.Sprintf("  %s  %3s %6vms  %-18v %s", clock(rec), status, rec["durationMs"], rec["function"], what)
	if e, ok := rec["error"].(string); ok && e != "" {
		s += "  error: " + e
	}
	return s
}

// problemLine: 15:04:05  WARN  message  key=value ...
func problemLine(rec map[string]any, level, msg string) string {
	var keys []string
	for k := range rec {
		if k != "time" && k != "level" && k != "msg" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "  %s  %-5s %s", clock(rec), level, msg)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s=%v", k, rec[k])
	}
	return b.String()
}

func clock(rec map[string]any) string {
	if s, ok := rec["time"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.Local().Format("15:04:05")
		}
	}
	return "--:--:--"
}
