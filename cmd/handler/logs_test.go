package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// TestLogsTheHostCanRead: the host logs every stdout line of a custom
// handler as Information and every stderr line as an Error (or a Warning if
// it says "warn"; azure-functions-host src/WebJobs.Script/Workers/
// WorkerProcess.cs ParseErrorMessageAndLog). So the binary writes its
// information to stdout only, and a failed invocation, whose answer body the
// host ignores, puts its reason on stderr as well as in the response's Logs.
func TestLogsTheHostCanRead(t *testing.T) {
	t.Parallel()
	h := startHandler(t, azuritetest.Server(t))
	h.waitHealthy(t, 20*time.Second)
	// A queue message that does not decode: the invocation fails (4xx).
	resp, err := http.Post(h.base+"/EmailCallback", "application/json", strings.NewReader(`{"Data":{"msg":"not json"},"Metadata":{"DequeueCount":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	var body fnhost.InvocationResponse
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode/100 == 2 || len(body.Logs) == 0 || !strings.Contains(strings.Join(body.Logs, "\n"), `binding "msg" does not decode`) {
		t.Fatalf("failed invocation: %d %+v", resp.StatusCode, body)
	}
	var reason string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && reason == "" {
		_, stderr := h.Streams()
		for _, line := range strings.Split(stderr, "\n") {
			if strings.Contains(line, `"msg":"invocation"`) && strings.Contains(line, `binding \"msg\" does not decode`) {
				reason = line
			}
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for a condition
	}
	if reason == "" || !strings.Contains(reason, `"level":"ERROR"`) {
		t.Fatalf("the failure's reason is not an ERROR line on stderr; stderr:\n%s", func() string { _, e := h.Streams(); return e }())
	}
	stdout, stderr := h.Streams()
	if !strings.Contains(stdout, `"msg":"handler listening"`) || !strings.Contains(stdout, `"msg":"request"`) {
		t.Errorf("information is not on stdout:\n%s", stdout)
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if line != "" && !strings.Contains(line, `"level":"WARN"`) && !strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("a stderr line the host would log as an error although it is not one: %s", line)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("a problem on stdout, logged as Information by the host: %s", line)
		}
	}
}
