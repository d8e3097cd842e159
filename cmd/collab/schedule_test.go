package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestScheduleNext(t *testing.T) {
	fixed := func() time.Time { return time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) }
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // exact
		errHas string
	}{
		{"default: 5 occurrences after now, UTC with Z", []string{"next", "0 */15 * * * *"}, 0,
			"2026-11-24T12:15:00Z\n2026-11-24T12:30:00Z\n2026-11-24T12:45:00Z\n2026-11-24T13:00:00Z\n2026-11-24T13:15:00Z\n", ""},
		{"--from is exclusive, --count", []string{"next", "0 0 2 * * Sat", "--from", "2026-11-28T02:00:00Z", "--count", "2"}, 0,
			"2026-12-05T02:00:00Z\n2026-12-12T02:00:00Z\n", ""},
		{"--tz prints the zone's offset, across a DST change", []string{"next", "0 30 9 * * 1-5", "--tz", "America/New_York", "--from", "2026-10-30T00:00:00Z", "--count", "2"}, 0,
			"2026-10-30T09:30:00-04:00\n2026-11-02T09:30:00-05:00\n", ""},
		{"5-field form", []string{"next", "30 6 * * sunday", "--from", "2003-06-26T10:00:00Z", "--count", "1"}, 0, "2003-06-29T06:30:00Z\n", ""},
		{"flags before the expression", []string{"next", "--count", "1", "--from", "2026-01-01T00:00:00Z", "0 0 0 29 2 *"}, 0, "2028-02-29T00:00:00Z\n", ""},
		{"invalid expression: exit 2, field named, nothing on stdout", []string{"next", "* 99 * * *"}, 2, "", `hour field: bad token "99"`},
		{"wrong number of fields", []string{"next", "* * *"}, 2, "", "fields"},
		{"bad zone", []string{"next", "* * * * *", "--tz", "Mars/Olympus"}, 2, "", "not an IANA time zone"},
		{"bad --from", []string{"next", "* * * * *", "--from", "yesterday"}, 2, "", "RFC 3339"},
		{"no expression", []string{"next"}, 2, "", "usage"},
		{"impossible schedule: nothing printed, said on stderr", []string{"next", "* * 31 Feb *"}, 0, "", "no further occurrence"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := scheduleNext(c.args, &out, &errb, fixed)
			if code != c.code || out.String() != c.stdout || !strings.Contains(errb.String(), c.errHas) {
				t.Fatalf("code %d\nstdout %q\nstderr %q", code, out.String(), errb.String())
			}
		})
	}
}

// TestScheduleNextBinary runs the real binary: streams and exit status end to end.
func TestScheduleNextBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "collab")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "schedule", "next", "0 0 12 * * *", "--from", "2026-11-24T12:00:00Z", "--count", "3")
	cmd.Env = append(os.Environ(), "COLLAB_CONFIG_DIR="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || out.String() != "2026-11-25T12:00:00Z\n2026-11-26T12:00:00Z\n2026-11-27T12:00:00Z\n" || errb.Len() != 0 {
		t.Fatalf("err %v stdout %q stderr %q", err, out.String(), errb.String())
	}
	cmd = exec.Command(bin, "schedule", "next", "61 * * * * *")
	out.Reset()
	errb.Reset()
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "second field") {
		t.Fatalf("invalid: err %v stdout %q stderr %q", err, out.String(), errb.String())
	}
}

func errorsAs(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	if ok {
		*target = e
	}
	return ok
}
