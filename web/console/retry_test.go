package console_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestConsoleRetriesOverload runs the console's own api.js under Node
// (the runtime Azurite needs already) against a stand-in fetch: a 503 or a
// 429 is sent again after Retry-After, a bounded number of times, and a
// PATCH without If-Match is not repeated after a 503.
func TestConsoleRetriesOverload(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed (it runs Azurite too): %v", err)
	}
	type tc struct {
		Name    string            `json:"name"`
		Method  string            `json:"method"`
		Headers map[string]string `json:"headers,omitempty"`
		Answers []int             `json:"answers"`
		status  int
		sent    int
	}
	cases := []tc{
		{Name: "a shed GET is sent again", Method: "GET", Answers: []int{503, 503, 200}, status: 200, sent: 3},
		{Name: "a 429 of the host is retried", Method: "POST", Answers: []int{429, 201}, status: 201, sent: 2},
		{Name: "a POST (always with an Idempotency-Key) is retried on 503", Method: "POST", Answers: []int{503, 201}, status: 201, sent: 2},
		{Name: "retries are bounded", Method: "GET", Answers: []int{503}, status: 503, sent: 4},
		{Name: "a PATCH without If-Match is not repeated", Method: "PATCH", Answers: []int{503, 200}, status: 503, sent: 1},
		{Name: "a PATCH with If-Match is", Method: "PATCH", Headers: map[string]string{"If-Match": `"1"`}, Answers: []int{503, 200}, status: 200, sent: 2},
		{Name: "other failures are not retried", Method: "GET", Answers: []int{500, 200}, status: 500, sent: 1},
	}
	arg, _ := json.Marshal(cases)
	api, _ := filepath.Abs("static/js/api.js")
	out, err := exec.Command(node, "--no-warnings", "testdata/retry.mjs", "file://"+api, string(arg)).Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		MaxRetries int `json:"maxRetries"`
		Results    []struct {
			Name         string
			Status, Sent int
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.MaxRetries != 3 || len(got.Results) != len(cases) {
		t.Fatalf("%s", out)
	}
	for i, c := range cases {
		r := got.Results[i]
		if r.Status != c.status || r.Sent != c.sent {
			t.Errorf("%s: status %d after %d requests, want %d after %d", c.Name, r.Status, r.Sent, c.status, c.sent)
		}
	}
}
