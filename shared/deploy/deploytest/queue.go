// Package deploytest holds the contract every deploy.Queue passes
// (QueueContract), run by the messaging package against the local Storage
// queue on Azurite and against the Service Bus adapter's messages.
package deploytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
)

// Delivery is a message as the trigger would get it, and when it became
// deliverable.
type Delivery struct {
	Msg deploy.Message
	At  time.Time
}

// Transport is one implementation under the contract.
type Transport struct {
	Queue deploy.Queue
	// Now is the transport's clock.
	Now func() time.Time
	// Receive waits up to within (advancing a fake clock, or polling a real
	// queue) and returns the messages that became deliverable, each once.
	Receive func(t *testing.T, within time.Duration) []Delivery
}

// QueueContract runs the contract; newTransport gives each case a fresh,
// empty transport.
func QueueContract(t *testing.T, newTransport func(t *testing.T) Transport) {
	cases := []struct {
		name string
		run  func(t *testing.T, tr Transport)
	}{
		{"a message arrives whole: id, session, body and properties", func(t *testing.T, tr Transport) {
			m := deploy.Message{ID: "claims/test:41", SessionID: "claims/test", Body: []byte(`{"kind":"deploy-request","project":"claims","env":"test","seq":41}`),
				Properties: map[string]string{"kind": "deploy-request", "project": "claims", "env": "test"}}
			send(t, tr, m)
			got := receiveN(t, tr, 1, 5*time.Second)
			same(t, got[0].Msg, m)
		}},
		{"a scheduled message is not delivered before its time", func(t *testing.T, tr Transport) {
			m := deploy.RequestMessage("claims", "test", 5)
			m.NotBefore = tr.Now().Add(2 * time.Second)
			send(t, tr, m)
			if early := tr.Receive(t, 0); len(early) != 0 {
				t.Fatalf("delivered %d messages before their time", len(early))
			}
			got := receiveN(t, tr, 1, 6*time.Second)
			if got[0].At.Before(m.NotBefore.Add(-100 * time.Millisecond)) {
				t.Fatalf("delivered at %v, scheduled for %v", got[0].At, m.NotBefore)
			}
			same(t, got[0].Msg, m)
		}},
		{"a time in the past means now", func(t *testing.T, tr Transport) {
			m := deploy.WindowMessage("claims", "test", "w000001", "start", tr.Now().Add(-time.Hour))
			send(t, tr, m)
			receiveN(t, tr, 1, 5*time.Second)
		}},
		{"request and window messages keep their ids and envelopes", func(t *testing.T, tr Transport) {
			at := tr.Now().Add(-time.Second).Truncate(time.Second)
			sent := []deploy.Message{deploy.RequestMessage("claims", "test", 7), deploy.WindowMessage("claims", "test", "w000003", "announce", at)}
			for _, m := range sent {
				send(t, tr, m)
			}
			got := receiveN(t, tr, 2, 5*time.Second)
			ids := map[string]deploy.Envelope{}
			for _, d := range got {
				e, err := deploy.DecodeEnvelope(d.Msg.Body)
				if err != nil {
					t.Fatal(err)
				}
				if d.Msg.SessionID != "claims/test" {
					t.Fatalf("session %q", d.Msg.SessionID)
				}
				ids[d.Msg.ID] = e
			}
			want := map[string]deploy.Envelope{
				"claims/test:7": {Kind: deploy.MsgRequest, Project: "claims", Env: "test", Seq: 7},
				fmt.Sprintf("claims/test:w000003:announce:%d", at.Unix()): {Kind: deploy.MsgWindow, Project: "claims", Env: "test", Window: "w000003"},
			}
			if !maps.Equal(ids, want) {
				t.Fatalf("got %v, want %v", ids, want)
			}
		}},
		{"many messages: none lost, none delivered twice", func(t *testing.T, tr Transport) {
			for i := 1; i <= 20; i++ {
				send(t, tr, deploy.RequestMessage("claims", fmt.Sprintf("env%d", i%3), int64(i)))
			}
			got := receiveN(t, tr, 20, 10*time.Second)
			seen := map[string]bool{}
			for _, d := range got {
				if seen[d.Msg.ID] {
					t.Fatalf("%s delivered twice", d.Msg.ID)
				}
				seen[d.Msg.ID] = true
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newTransport(t)) })
	}
}

func send(t *testing.T, tr Transport, m deploy.Message) {
	t.Helper()
	if err := tr.Queue.Send(t.Context(), m); err != nil {
		t.Fatalf("send %s: %v", m.ID, err)
	}
}

// receiveN collects n deliveries within the deadline, then checks no more
// come.
func receiveN(t *testing.T, tr Transport, n int, within time.Duration) []Delivery {
	t.Helper()
	var got []Delivery
	for step := within / 10; len(got) < n && within > 0; within -= step {
		got = append(got, tr.Receive(t, step)...)
	}
	if len(got) != n {
		t.Fatalf("received %d messages, want %d", len(got), n)
	}
	if extra := tr.Receive(t, 0); len(extra) != 0 {
		t.Fatalf("%d extra messages", len(extra))
	}
	return got
}

func same(t *testing.T, got, want deploy.Message) {
	t.Helper()
	if got.ID != want.ID || got.SessionID != want.SessionID || !maps.Equal(got.Properties, want.Properties) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	var a, b bytes.Buffer
	if json.Compact(&a, got.Body) != nil || json.Compact(&b, want.Body) != nil || a.String() != b.String() {
		t.Fatalf("body %s, want %s", got.Body, want.Body)
	}
	if !got.NotBefore.IsZero() && !got.NotBefore.Equal(want.NotBefore.UTC()) && !got.NotBefore.Equal(want.NotBefore) {
		t.Fatalf("not before %v, want %v", got.NotBefore, want.NotBefore)
	}
}
