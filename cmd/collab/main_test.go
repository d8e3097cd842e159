package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDispatch(t *testing.T) {
	cases := []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{nil, 0, "usage: collab", ""},
		{[]string{"help"}, 0, "version", ""},
		{[]string{"version"}, 0, "dev", ""},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		code := dispatch(c.args, &out, &errb)
		if code != c.code || !strings.Contains(out.String(), c.stdout) || !strings.Contains(errb.String(), c.stderr) {
			t.Errorf("%v: code %d stdout %q stderr %q", c.args, code, out.String(), errb.String())
		}
	}
}
