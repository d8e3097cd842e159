package handlers_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/fnhost/manifest"
)

// hostFixtures are the bodies the Functions host POSTs, one per trigger,
// each citing the source line it follows (shared/fnhost/testdata/host).
const hostFixtures = "../shared/fnhost/testdata/host"

func readHostFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hostFixtures, name+".jsonc"))
	if err != nil {
		t.Fatal(err)
	}
	return fnhost.StripFixtureComments(b)
}

// fixturesFor names the host bodies a function's trigger receives: its own
// queue's (and the admin API's) for queue and Service Bus triggers, with
// and without the schedule monitor for timers.
func fixturesFor(f *manifest.Function) []string {
	switch f.Kind {
	case manifest.QueueTrigger:
		out := []string{"queue." + f.Queue}
		if f.Queue == "outbox" {
			out = append(out, "queue.admin")
		}
		return out
	case manifest.ServiceBusTrigger:
		return []string{"servicebus." + f.Queue, "servicebus.admin"}
	case manifest.TimerTrigger:
		return []string{"timer", "timer.monitor"}
	}
	return nil
}

// TestEveryNonHTTPFunctionTakesTheHostEncoding: every timer, queue and
// Service Bus function of functions/ answers 2xx to its trigger's body in
// the host's own encoding (the issue: a queue message JSON-encoded once more
// and "DequeueCount":"1" failed every invocation with a 400 in Azure).
func TestEveryNonHTTPFunctionTakesTheHostEncoding(t *testing.T) {
	t.Parallel()
	a, _ := deployFixture(t)
	devCommit(t, a, bob, "applications/claims/forms/search") // seq 1, which the Service Bus fixture asks for
	app, err := manifest.Load("..", "", func(string) string { return "x" })
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, f := range app.Functions {
		if f.Kind == manifest.HTTPTrigger {
			continue
		}
		names := fixturesFor(f)
		if len(names) == 0 {
			t.Errorf("%s: no host fixture for a %s trigger", f.Name, f.Kind)
		}
		for _, name := range names {
			t.Run(f.Name+"/"+name, func(t *testing.T) {
				body := readHostFixture(t, name)
				resp, err := a.Srv.Client().Post(a.URL+"/"+f.Name, "application/json", strings.NewReader(string(body)))
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					t.Fatalf("%s with %s: %d\n%s", f.Name, name, resp.StatusCode, a.Logs())
				}
				ran++
			})
		}
	}
	if ran < 10 {
		t.Fatalf("only %d invocations ran", ran)
	}
	if st := a.Must(t, bob, "GET", envBase+"/status", nil, 200); st["deployedSeq"] != float64(1) {
		t.Fatalf("the Service Bus fixture's deployment request was not applied: %v", st)
	}
}

// TestRedeliveredOutboxMessageSendsNothing: the host delivers a queue
// message at least once; OutboxSend invoked again with the same message
// (a higher DequeueCount, in the host's encoding) for a notification that
// was sent answers 2xx and sends nothing more.
func TestRedeliveredOutboxMessageSendsNothing(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	ctx := context.Background()
	msgs, err := a.Outbox.Receive(ctx, 1, time.Minute)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("the fixture's invitation is not queued: %v %v", msgs, err)
	}
	m := msgs[0]
	qm := fnhost.QueueMessage{ID: m.ID, PopReceipt: m.PopReceipt, Text: m.Text, DequeueCount: m.DequeueCount,
		InsertionTime: m.InsertionTime, ExpirationTime: m.Expiration, NextVisibleTime: m.NextVisible}
	before := len(a.SMTP.Messages())
	if code := a.InvokeQueue(t, "OutboxSend", qm); code != http.StatusOK {
		t.Fatalf("first delivery: %d\n%s", code, a.Logs())
	}
	if n := len(a.SMTP.Messages()) - before; n != 1 {
		t.Fatalf("first delivery sent %d messages, want 1", n)
	}
	// The host lost the delete (or the instance died before it): the same message again.
	for dq := m.DequeueCount + 1; dq <= 3; dq++ {
		qm.DequeueCount = dq
		if code := a.InvokeQueue(t, "OutboxSend", qm); code != http.StatusOK {
			t.Fatalf("redelivery %d: %d", dq, code)
		}
	}
	if n := len(a.SMTP.Messages()) - before; n != 1 {
		t.Fatalf("redeliveries sent %d messages in all, want 1", n)
	}
}
