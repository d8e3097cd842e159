package hostlog

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// hostLevel is how the Functions host classifies one line of a custom
// handler's output (WorkerProcess.cs OnOutputDataReceived and
// ParseErrorMessageAndLog with useStdErrorStreamForErrorsOnly).
func hostLevel(stream, line string) string {
	if stream == "stdout" {
		return "Information"
	}
	if strings.Contains(strings.ToLower(line), "warn") {
		return "Warning"
	}
	return "Error"
}

func TestTheHostReadsEachLevelRight(t *testing.T) {
	cases := []struct {
		level slog.Level
		want  string
	}{
		{slog.LevelDebug, "Information"},
		{slog.LevelInfo, "Information"},
		{slog.LevelWarn, "Warning"},
		{slog.LevelError, "Error"},
	}
	for _, c := range cases {
		t.Run(c.level.String(), func(t *testing.T) {
			var out, errs bytes.Buffer
			log := New(&out, &errs, slog.LevelDebug).With("function", "OutboxSend").WithGroup("g")
			log.Log(t.Context(), c.level, "something happened", "k", "v")
			lines := map[string]string{"stdout": out.String(), "stderr": errs.String()}
			var got []string
			for stream, text := range lines {
				for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
					if line == "" {
						continue
					}
					var rec map[string]any
					if err := json.Unmarshal([]byte(line), &rec); err != nil || rec["function"] != "OutboxSend" || rec["g"] == nil {
						t.Errorf("%s line %q: %v", stream, line, err)
					}
					got = append(got, hostLevel(stream, line))
				}
			}
			if len(got) != 1 || got[0] != c.want {
				t.Fatalf("the host logs %v, want one %s line (stdout %q, stderr %q)", got, c.want, out.String(), errs.String())
			}
		})
	}
}

func TestLevelFilter(t *testing.T) {
	var out, errs bytes.Buffer
	log := New(&out, &errs, slog.LevelWarn)
	log.Info("hidden")
	log.Debug("hidden")
	if out.Len() != 0 || errs.Len() != 0 || log.Enabled(t.Context(), slog.LevelInfo) || !log.Enabled(t.Context(), slog.LevelError) {
		t.Fatalf("below the level: stdout %q stderr %q", out.String(), errs.String())
	}
}
