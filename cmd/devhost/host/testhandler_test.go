package host

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fnhost"
)

// runTestHandler is the handler the devhost starts in these tests: the test
// binary itself, re-executed with DEVHOST_TEST_HANDLER=1. It echoes HTTP
// requests and appends every non-HTTP invocation to the file named by
// DEVHOST_RECORD; queue messages containing "fail" fail.
func runTestHandler() {
	mux := http.NewServeMux()
	echo := func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "999" { // the tests' request that waits
			<-r.Context().Done() // held until its client gives up
			return
		}
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		_ = json.NewEncoder(w).Encode(map[string]string{
			"method": r.Method, "path": r.URL.Path, "query": r.URL.RawQuery, "body": string(body), "host": r.Host, "pid": strconv.Itoa(os.Getpid()),
			"id": r.PathValue("id"), "rest": r.PathValue("rest"),
			"forwardedFor": r.Header.Get("X-Forwarded-For"), "requestId": r.Header.Get("X-Request-Id"), "invocationId": r.Header.Get("X-Azure-Functions-InvocationId"),
		})
	}
	mux.HandleFunc("GET /api/items/{id}", echo)
	mux.HandleFunc("POST /api/items/{id}", echo)
	mux.HandleFunc("GET /api/files/{rest...}", echo)
	mux.HandleFunc("POST /api/files/{rest...}", echo)
	router := fnhost.NewRouter(mux, slog.New(slog.NewTextHandler(io.Discard, nil)))
	record := func(ctx context.Context, inv *fnhost.Invocation) (map[string]any, any, error) {
		var meta fnhost.QueueMetadata
		var sb fnhost.ServiceBusMetadata
		if err := inv.Meta(&meta); err != nil {
			return nil, nil, err
		}
		if err := inv.Meta(&sb); err != nil {
			return nil, nil, err
		}
		text, _ := inv.Text(inv.Function)
		for k := range inv.Request.Data {
			text, _ = inv.Text(k)
		}
		raw, _ := json.Marshal(inv.Request)
		start := time.Now()
		if strings.Contains(text, "slow") {
			time.Sleep(300 * time.Millisecond) // a long invocation, so that overlapping deliveries would show
		}
		line, _ := json.Marshal(map[string]any{"fn": inv.Function, "text": text, "dequeueCount": meta.DequeueCount, "pid": os.Getpid(),
			"messageId": sb.MessageID, "sessionId": sb.SessionID, "deliveryCount": sb.DeliveryCount, "sequence": sb.SequenceNumber,
			"start": start, "end": time.Now(), "body": json.RawMessage(raw)})
		f, err := os.OpenFile(os.Getenv("DEVHOST_RECORD"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return nil, nil, err
		}
		_, _ = f.Write(append(line, '\n'))
		f.Close()
		if strings.Contains(text, "fail") && !(strings.Contains(text, "fail-until-3") && sb.DeliveryCount >= 3) {
			return nil, nil, errors.New("told to fail")
		}
		return nil, nil, nil
	}
	router.Handle("Work", record)
	router.Handle("Off", record)
	router.Handle("Tick", record)
	router.Handle("Deploy", record)
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"))
	if err != nil {
		os.Exit(3)
	}
	_ = http.Serve(ln, router)
}
