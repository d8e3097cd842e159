package host

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/ncrontab"
)

// The shapes of values in the host's encoding (shared/fnhost/wire.go).
var (
	offsetTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$`)
	zonelessDT = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`)
	utcTime    = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$`)
	integer    = regexp.MustCompile(`^-?\d+$`)
)

// shape describes a JSON value by the form the host gives it, not by its
// content: "string(json-string)" for a string JSON-encoded once more,
// "string(int)" for a number sent as a string, the three time forms, and
// objects key by key (property bags, whose keys are the sender's, as "bag").
func shape(raw json.RawMessage, bag bool) string {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "null"
	case raw[0] == '{':
		if bag {
			return "bag"
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(raw, &m)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, k+":"+shape(m[k], k == "ApplicationProperties" || k == "UserProperties"))
		}
		return "{" + strings.Join(parts, ",") + "}"
	case raw[0] == '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		var inner string
		switch {
		case len(s) > 1 && s[0] == '"' && json.Unmarshal([]byte(s), &inner) == nil:
			return "string(json-string)"
		case integer.MatchString(s):
			return "string(int)"
		case offsetTime.MatchString(s):
			return "string(time+offset)"
		case zonelessDT.MatchString(s):
			return "string(time, no zone)"
		case utcTime.MatchString(s):
			return "string(time)"
		}
		return "string"
	case string(raw) == "true" || string(raw) == "false":
		return "bool"
	}
	return "number"
}

func fixtureShape(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fnhost", "testdata", "host", name+".jsonc"))
	if err != nil {
		t.Fatal(err)
	}
	return shape(fnhost.StripFixtureComments(b), false)
}

// TestDevhostSendsTheHostEncoding: what the devhost POSTs for a polled
// queue message, a Service Bus delivery, a timer and each admin invocation
// has exactly the shape of the host's own body for that trigger (the
// fixtures in shared/fnhost/testdata/host, which cite the host's source).
func TestDevhostSendsTheHostEncoding(t *testing.T) {
	th := startHostWith(t, func(o *Options) {
		o.Schedules = func(expr string) (Schedule, error) { return ncrontab.Parse(expr) }
	})
	th.waitQueue(t, "")
	ctx := t.Context()
	waitFor(t, "work queue", func() bool { _, err := th.account.Queue(th.work).Length(ctx); return err == nil })
	if _, err := th.account.Queue(th.work).Send(ctx, `{"project":"claims","id":"n1"}`, 0, 0); err != nil {
		t.Fatal(err)
	}
	th.sendSB(t, "claims/development:1", "claims/development", "sb body", time.Time{})
	for _, fn := range []string{"Work", "Deploy", "Tick"} {
		if resp, m := doReq(t, "POST", th.srv.URL+"/admin/functions/"+fn, `{"input":"via-admin"}`); resp.StatusCode != 202 {
			t.Fatalf("admin %s: %d %v", fn, resp.StatusCode, m)
		}
	}
	find := func(fn string, admin bool) *recorded {
		for _, r := range th.records() {
			viaAdmin := strings.Contains(r.Text, "via-admin")
			if r.Fn == fn && viaAdmin == admin {
				return &r
			}
		}
		return nil
	}
	waitFor(t, "every invocation", func() bool {
		return find("Work", false) != nil && find("Work", true) != nil && find("Deploy", false) != nil && find("Deploy", true) != nil && find("Tick", false) != nil
	})
	cases := []struct {
		what, fixture string
		got           *recorded
	}{
		{"a polled queue message", "queue.outbox", find("Work", false)},
		{"a queue trigger fired by the admin API", "queue.admin", find("Work", true)},
		{"a Service Bus delivery", "servicebus.deployrequests", find("Deploy", false)},
		{"a Service Bus trigger fired by the admin API", "servicebus.admin", find("Deploy", true)},
		{"a timer of less than a minute", "timer", find("Tick", false)},
	}
	for _, c := range cases {
		// The bindings are named differently in the test app ("item" for
		// the queue); compare the values, not the names.
		got := strings.ReplaceAll(shape(c.got.Body, false), "item:", "msg:")
		if want := fixtureShape(t, c.fixture); got != want {
			t.Errorf("%s:\n devhost %s\n host    %s\n(body %s)", c.what, got, want, c.got.Body)
		}
	}
	// A timer fired by the admin API: TimerInfo with ScheduleStatus null.
	waitFor(t, "admin timer", func() bool { return strings.Contains(th.logs.String(), `"function":"Tick","trigger":"manual"`) })
}
