package host

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/deploy/messaging"
)

// sendSB sends a message as the local sender does (shared/deploy/messaging.StorageQueue).
func (th *testHost) sendSB(t *testing.T, id, session, body string, notBefore time.Time) {
	t.Helper()
	b, _ := json.Marshal(body)
	m := deploy.Message{ID: id, SessionID: session, Body: b, NotBefore: notBefore, Properties: map[string]string{"kind": "test"}}
	if err := (messaging.StorageQueue{Q: th.account.Queue(th.sb)}).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func (th *testHost) deliveries(text string) []recorded {
	var out []recorded
	for _, r := range th.records() {
		if r.Fn == "Deploy" && r.Text == `"`+text+`"` {
			out = append(out, r)
		}
	}
	return out
}

func (th *testHost) waitQueue(t *testing.T, suffix string) {
	t.Helper()
	waitFor(t, "queue "+th.sb+suffix, func() bool {
		_, err := th.account.Queue(th.sb + suffix).Length(context.Background())
		return err == nil
	})
}

// TestServiceBusRedeliveryAndDeadLetter: a failed delivery is abandoned and
// delivered again with DeliveryCount+1; after the queue's max delivery
// count (10) the message is dead-lettered, never lost; one that succeeds on
// its third delivery is completed and not delivered again.
func TestServiceBusRedeliveryAndDeadLetter(t *testing.T) {
	th := startHost(t, nil)
	th.waitQueue(t, "")
	th.sendSB(t, "m-fail", "p/e1", "always fail", time.Time{})
	th.sendSB(t, "m-three", "p/e2", "fail-until-3", time.Time{})
	ctx := context.Background()
	waitFor(t, "dead-lettered", func() bool { n, _ := th.account.Queue(th.sb + "-deadletter").Length(ctx); return n == 1 })
	var counts []int64
	for _, r := range th.deliveries("always fail") {
		counts = append(counts, r.DeliveryCount)
		if r.MessageID != "m-fail" || r.SessionID != "p/e1" {
			t.Fatalf("metadata %+v", r)
		}
	}
	if fmt.Sprint(counts) != "[1 2 3 4 5 6 7 8 9 10]" {
		t.Fatalf("delivery counts %v, want 1..10", counts)
	}
	ms, err := th.account.Queue(th.sb+"-deadletter").Receive(ctx, 1, time.Second)
	if err != nil || len(ms) != 1 {
		t.Fatalf("dead letter %v %v", ms, err)
	}
	if m, err := messaging.DecodeLocal(ms[0].Text); err != nil || m.ID != "m-fail" {
		t.Fatalf("dead-lettered %q: %v", ms[0].Text, err)
	}
	waitFor(t, "the wire is empty", func() bool { n, _ := th.account.Queue(th.sb).Length(ctx); return n == 0 })
	var three []int64
	for _, r := range th.deliveries("fail-until-3") {
		three = append(three, r.DeliveryCount)
	}
	if fmt.Sprint(three) != "[1 2 3]" {
		t.Fatalf("fail-until-3 deliveries %v, want [1 2 3]", three)
	}
}

// TestServiceBusSessionsDuplicatesAndSchedule: messages of one session are
// delivered one at a time in order, other sessions meanwhile; a message id
// seen within the duplicate window is dropped; a scheduled message is not
// delivered before its time.
func TestServiceBusSessionsDuplicatesAndSchedule(t *testing.T) {
	th := startHost(t, nil)
	th.waitQueue(t, "")
	for i := range 4 {
		th.sendSB(t, fmt.Sprintf("a:%d", i), "p/a", fmt.Sprintf("slow a%d", i), time.Time{})
	}
	th.sendSB(t, "b:0", "p/b", "slow b0", time.Time{})
	th.sendSB(t, "a:1", "p/a", "slow a1 again", time.Time{}) // the same id: a duplicate
	at := time.Now().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	th.sendSB(t, "c:0", "p/c", "scheduled c0", at)
	waitFor(t, "every message delivered", func() bool {
		return len(th.deliveries("slow a3")) == 1 && len(th.deliveries("slow b0")) == 1 && len(th.deliveries("scheduled c0")) == 1
	})
	var a []recorded
	for _, r := range th.records() {
		if r.SessionID == "p/a" {
			a = append(a, r)
		}
	}
	sort.Slice(a, func(i, j int) bool { return a[i].Start.Before(a[j].Start) })
	for i, r := range a {
		if r.Text != fmt.Sprintf(`"slow a%d"`, i) {
			t.Fatalf("session p/a delivered out of order or a duplicate got through: %d: %s", i, r.Text)
		}
		if i > 0 && r.Start.Before(a[i-1].End) {
			t.Fatalf("session p/a: %s started before %s ended", r.Text, a[i-1].Text)
		}
	}
	b := th.deliveries("slow b0")[0]
	if !b.Start.Before(a[len(a)-1].Start) {
		t.Fatalf("session p/b waited for p/a: it started at %v, p/a's last at %v", b.Start, a[len(a)-1].Start)
	}
	if c := th.deliveries("scheduled c0")[0]; c.Start.Before(at) {
		t.Fatalf("the scheduled message was delivered at %v, before %v", c.Start, at)
	}
	if len(th.deliveries("slow a1 again")) != 0 {
		t.Fatal("the duplicate was delivered")
	}
}
