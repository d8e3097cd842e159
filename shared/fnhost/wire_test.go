package fnhost

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// HostFixture reads testdata/host/<name>.jsonc: the "//" lines say which
// source line of the Functions host the body follows; the rest is the body.
func hostFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "host", name+".jsonc"))
	if err != nil {
		t.Fatal(err)
	}
	body := StripFixtureComments(b)
	if !json.Valid(body) {
		t.Fatalf("%s: the body is not JSON", name)
	}
	return body
}

func decodeFixture(t *testing.T, name string) *Invocation {
	t.Helper()
	inv := &Invocation{Function: name}
	if err := json.Unmarshal(hostFixture(t, name), &inv.Request); err != nil {
		t.Fatal(err)
	}
	return inv
}

// TestFixturesDecode: each trigger's body in the host's encoding decodes to
// the values the host meant (the 400 "cannot unmarshal string" was
// this decoding failing).
func TestFixturesDecode(t *testing.T) {
	t.Run("queue", func(t *testing.T) {
		inv := decodeFixture(t, "queue.outbox")
		var msg struct{ Project, ID string }
		if err := inv.Bind("msg", &msg); err != nil || msg.Project != "claims" || msg.ID != "n-fixture-1" {
			t.Fatalf("message %+v: %v", msg, err)
		}
		var m QueueMetadata
		if err := inv.Meta(&m); err != nil {
			t.Fatal(err)
		}
		want := QueueMetadata{ID: "71d4c6a2-3b0e-4a59-9a0e-3f1b1d2c5e77", DequeueCount: 2, PopReceipt: "AgAAAAMAAAAAAAAAAgtnj8x+1QE=",
			InsertionTime: time.Date(2026, 11, 24, 17, 58, 31, 0, time.UTC), ExpirationTime: time.Date(2026, 12, 1, 17, 58, 31, 0, time.UTC),
			NextVisibleTime: time.Date(2026, 11, 24, 18, 8, 32, 0, time.UTC)}
		if !sameQueueMeta(m, want) {
			t.Fatalf("metadata %+v, want %+v", m, want)
		}
		if s := inv.Sys(); s.MethodName != "OutboxSend" || s.UtcNow.IsZero() || s.RandGuid == "" {
			t.Fatalf("sys %+v", s)
		}
	})
	t.Run("queue fired by the admin API", func(t *testing.T) {
		inv := decodeFixture(t, "queue.admin")
		var m QueueMetadata
		if err := inv.Meta(&m); err != nil || m.ID != "" || m.DequeueCount != 0 || m.ExpirationTime.Year() != 9999 {
			t.Fatalf("metadata %+v: %v", m, err)
		}
	})
	t.Run("service bus", func(t *testing.T) {
		inv := decodeFixture(t, "servicebus.deployrequests")
		text, err := inv.Text("message")
		if err != nil || text != `{"kind":"deploy-request","project":"claims","env":"development","seq":1}` {
			t.Fatalf("text %q: %v", text, err)
		}
		var m ServiceBusMetadata
		if err := inv.Meta(&m); err != nil {
			t.Fatal(err)
		}
		if m.MessageID != "claims/development:1" || m.SessionID != "claims/development" || m.DeliveryCount != 1 || m.SequenceNumber != 118 ||
			m.ContentType != "application/json" || m.Subject != "deploy-request" || m.Properties()["kind"] != "deploy-request" ||
			!m.EnqueuedTimeUtc.Equal(time.Date(2026, 11, 24, 10, 15, 0, 0, time.UTC)) {
			t.Fatalf("metadata %+v", m)
		}
	})
	t.Run("service bus fired by the admin API", func(t *testing.T) {
		var m ServiceBusMetadata
		if err := decodeFixture(t, "servicebus.admin").Meta(&m); err != nil || m.MessageID != "" || m.DeliveryCount != 0 {
			t.Fatalf("metadata %+v: %v", m, err)
		}
	})
	t.Run("timer without the monitor", func(t *testing.T) {
		var ti TimerInfo
		if err := decodeFixture(t, "timer").Bind("timer", &ti); err != nil || ti.ScheduleStatus != nil || ti.IsPastDue || !ti.Schedule.AdjustForDST {
			t.Fatalf("timer %+v: %v", ti, err)
		}
	})
	t.Run("timer with the monitor", func(t *testing.T) {
		var ti TimerInfo
		if err := decodeFixture(t, "timer.monitor").Bind("timer", &ti); err != nil || ti.ScheduleStatus == nil || !ti.IsPastDue ||
			!ti.ScheduleStatus.Next.Equal(time.Date(2026, 11, 24, 9, 1, 0, 0, time.UTC)) {
			t.Fatalf("timer %+v: %v", ti, err)
		}
	})
}

func sameQueueMeta(a, b QueueMetadata) bool {
	return a.ID == b.ID && a.DequeueCount == b.DequeueCount && a.PopReceipt == b.PopReceipt && a.InsertionTime.Equal(b.InsertionTime) &&
		a.ExpirationTime.Equal(b.ExpirationTime) && a.NextVisibleTime.Equal(b.NextVisibleTime)
}

// TestEncoderMatchesFixtures: the encoder the devhost and the tests use
// produces the fixtures byte for byte, so what they send is what the host sends.
func TestEncoderMatchesFixtures(t *testing.T) {
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339Nano, s); return v }
	sys := func(name, guid, now string) SysMetadata {
		return SysMetadata{MethodName: name, RandGuid: guid, UtcNow: at(now)}
	}
	props := map[string]any{"kind": "deploy-request", "project": "claims", "env": "development"}
	deployBody := `{"kind":"deploy-request","project":"claims","env":"development","seq":1}`
	cases := []struct {
		fixture string
		build   func() ([]byte, error)
	}{
		{"queue.outbox", func() ([]byte, error) {
			return QueueInvocation("msg", QueueMessage{ID: "71d4c6a2-3b0e-4a59-9a0e-3f1b1d2c5e77", PopReceipt: "AgAAAAMAAAAAAAAAAgtnj8x+1QE=",
				Text: `{"project":"claims","id":"n-fixture-1"}`, DequeueCount: 2, InsertionTime: at("2026-11-24T17:58:31.123Z"),
				ExpirationTime: at("2026-12-01T17:58:31.9Z"), NextVisibleTime: at("2026-11-24T18:08:32Z")},
				sys("OutboxSend", "24ad4c06-24ad-4e5b-8294-3da9714877e9", "2026-11-24T17:58:32.2205399Z"))
		}},
		{"queue.emailcallbacks", func() ([]byte, error) {
			return QueueInvocation("msg", QueueMessage{ID: "0c6f9b6e-8d7f-4c2c-a3f5-2b6a8e4d9f10", PopReceipt: "AgAAAAMAAAAAAAAAk1kIkMx+1QE=",
				Text: `{"ref":"fixture-task"}`, DequeueCount: 1, InsertionTime: at("2026-11-24T17:58:31Z"),
				ExpirationTime: at("2026-12-01T17:58:31Z"), NextVisibleTime: at("2026-11-24T17:58:41Z")},
				sys("EmailCallback", "5f0b7d3e-1c2a-4b8e-9d6f-7a3c2e1b0f94", "2026-11-24T17:58:31.5012345Z"))
		}},
		{"queue.admin", func() ([]byte, error) {
			return QueueInvocation("msg", QueueMessage{Text: `{"project":"claims","id":"n-fixture-2"}`, InsertionTime: at("2026-11-24T17:58:31Z")},
				sys("OutboxSend", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "2026-11-24T17:58:31.0000001Z"))
		}},
		{"servicebus.deployrequests", func() ([]byte, error) {
			return ServiceBusInvocation("message", ServiceBusMessage{MessageID: "claims/development:1", SessionID: "claims/development",
				ContentType: "application/json", Subject: "deploy-request", LockToken: "7e8a2b44-6f3d-4ad6-9b2f-3f9c3c0d2b1e",
				DeliveryCount: 1, SequenceNumber: 118, EnqueuedTime: at("2026-11-24T10:15:00.123Z"), ExpiresAt: at("2026-12-08T10:15:00.123Z"),
				Properties: props, Body: deployBody},
				sys("DeployRequests", "0b1d8b0e-4d5e-4d0a-9f7d-0d6e2c1f7b55", "2026-11-24T10:15:00.5Z"))
		}},
		{"servicebus.admin", func() ([]byte, error) {
			return ServiceBusInvocation("message", ServiceBusMessage{Body: deployBody, ExpiresAt: time.Time(MaxDateTime)},
				sys("DeployRequests", "3c2b1a09-8f7e-4d6c-b5a4-9382716f5e4d", "2026-11-24T10:15:00.5Z"))
		}},
		{"timer", func() ([]byte, error) {
			var ti TimerInfo
			ti.Schedule.AdjustForDST = true
			return TimerInvocation("timer", ti, sys("JobsTick", "6d6f8c0d-1a57-4d1e-8c36-5c3e0f0f4a21", "2026-11-24T09:00:00.0458221Z"))
		}},
		{"timer.monitor", func() ([]byte, error) {
			ti := TimerInfo{IsPastDue: true, ScheduleStatus: &ScheduleStatus{Last: at("2026-11-24T09:00:00Z"), Next: at("2026-11-24T09:01:00Z"),
				LastUpdated: at("2026-11-24T09:00:00.0123456Z")}}
			ti.Schedule.AdjustForDST = true
			return TimerInvocation("timer", ti, sys("WindowsReconcile", "7e707d1e-2b68-4e2f-9d47-6d4f1f1f5b32", "2026-11-24T09:01:02.0458221Z"))
		}},
	}
	for _, c := range cases {
		t.Run(c.fixture, func(t *testing.T) {
			got, err := c.build()
			if err != nil {
				t.Fatal(err)
			}
			if want := hostFixture(t, c.fixture); !bytes.Equal(got, want) {
				t.Fatalf("encoder:\n%s\nfixture:\n%s", got, want)
			}
		})
	}
}

// TestPlainFormStillDecodes: a string sent once (not JSON-encoded again),
// numbers as numbers and RFC 3339 times are read too.
func TestPlainFormStillDecodes(t *testing.T) {
	body := `{"Data":{"msg":"{\"project\":\"claims\",\"id\":\"n1\"}"},"Metadata":{"Id":"abc","DequeueCount":3,"InsertionTime":"2026-11-24T17:58:31.5Z",
		"MessageId":"e:1","SessionId":"p/e","DeliveryCount":2,"UserProperties":{"kind":"k"}}}`
	inv := &Invocation{}
	if err := json.Unmarshal([]byte(body), &inv.Request); err != nil {
		t.Fatal(err)
	}
	var msg struct{ Project, ID string }
	var qm QueueMetadata
	var sb ServiceBusMetadata
	if err := inv.Bind("msg", &msg); err != nil || msg.ID != "n1" {
		t.Fatalf("%+v %v", msg, err)
	}
	if err := inv.Meta(&qm); err != nil || qm.ID != "abc" || qm.DequeueCount != 3 || qm.InsertionTime.Nanosecond() != 5e8 {
		t.Fatalf("%+v %v", qm, err)
	}
	if err := inv.Meta(&sb); err != nil || sb.MessageID != "e:1" || sb.SessionID != "p/e" || sb.DeliveryCount != 2 || sb.Properties()["kind"] != "k" {
		t.Fatalf("%+v %v", sb, err)
	}
}

// TestBadMetadataIsInvalid: metadata that is neither form fails the
// invocation with a 400 naming the key, instead of a zero value.
func TestBadMetadataIsInvalid(t *testing.T) {
	for _, meta := range []string{`{"DequeueCount":"two"}`, `{"DequeueCount":"\"2\""}`, `{"InsertionTime":"yesterday"}`, `{"Id":3}`} {
		r := NewRouter(http.NotFoundHandler(), quietLog())
		r.Handle("F", func(ctx context.Context, inv *Invocation) (map[string]any, any, error) {
			var m QueueMetadata
			return nil, nil, inv.Meta(&m)
		})
		rec, resp := post(t, r, "/F", `{"Data":{},"Metadata":`+meta+`}`)
		if rec.Code != 400 || !strings.Contains(strings.Join(resp.Logs, " "), "metadata does not decode") {
			t.Errorf("%s: %d %v", meta, rec.Code, resp.Logs)
		}
	}
}

// TestBytes: a byte[] arrives as base64 text.
func TestBytes(t *testing.T) {
	raw, _, _ := HostValue([]byte{0, 1, 0xfe})
	inv := &Invocation{Request: InvocationRequest{Data: map[string]json.RawMessage{"b": raw}}}
	if b, err := inv.Bytes("b"); err != nil || !bytes.Equal(b, []byte{0, 1, 0xfe}) || string(raw) != `"AAH+"` {
		t.Fatalf("%q %v (%s)", b, err, raw)
	}
}
