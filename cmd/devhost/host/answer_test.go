package host

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/studio-collab/collab/shared/fnhost/manifest"
)

// TestInvocationAnswers: as with the host (DefaultHttpWorkerService.cs lines
// 194-238), any non-2xx fails the invocation whatever its body says, and a
// 2xx fails too unless its body is an invocation response.
func TestInvocationAnswers(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"2xx with a response", 200, `{"Outputs":{},"Logs":["fine"],"ReturnValue":null}`, true},
		{"2xx with an empty object", 200, `{}`, true},
		{"500 whose body claims success", 500, `{"Outputs":{"x":1},"Logs":["all good"],"ReturnValue":"ok"}`, false},
		{"400", 400, `{"Logs":["bad message"]}`, false},
		{"2xx that is not a response", 200, `not json`, false},
		{"2xx with no body", 204, ``, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			}))
			defer srv.Close()
			ready := make(chan struct{})
			close(ready)
			h := &Host{procs: []*process{{base: srv.URL, ready: ready}}, client: srv.Client(), log: slog.New(slog.DiscardHandler)}
			err := h.invoke(context.Background(), &manifest.Function{Name: "F"}, "queue", []byte(`{}`))
			if (err == nil) != c.ok {
				t.Fatalf("error %v, want ok=%v", err, c.ok)
			}
		})
	}
}
