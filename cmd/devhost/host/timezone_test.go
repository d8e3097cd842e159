package host

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fnhost/manifest"
)

// TestTimersRunInUTCLikeFlex: Linux Flex Consumption does not support
// WEBSITE_TIME_ZONE, so the devhost ignores it too, says so, and fires
// timers on UTC wall time, from the environment or local.settings.json.
func TestTimersRunInUTCLikeFlex(t *testing.T) {
	cases := []struct {
		name      string
		env, vals map[string]string
		warn      bool
	}{
		{"unset: no warning", nil, nil, false},
		{"in the environment", map[string]string{"WEBSITE_TIME_ZONE": "Europe/Berlin"}, nil, true},
		{"in local.settings.json", nil, map[string]string{"WEBSITE_TIME_ZONE": "America/New_York"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs := &syncBuffer{}
			app := &manifest.App{Root: t.TempDir(), Values: c.vals}
			h, err := New(Options{App: app, HandlerPath: "/nonexistent", Getenv: func(k string) string { return c.env[k] },
				Log: slog.New(slog.NewJSONHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if loc := h.opt.Now().Location(); loc != time.UTC {
				t.Errorf("timers run in %v, want UTC", loc)
			}
			if got := strings.Contains(logs.String(), "WEBSITE_TIME_ZONE is ignored"); got != c.warn {
				t.Errorf("warning %v, want %v: %s", got, c.warn, logs)
			}
		})
	}
}
