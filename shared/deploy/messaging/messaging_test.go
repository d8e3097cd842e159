package messaging

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/go-amqp"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/deploy/deploytest"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

var queueSeq atomic.Int64

// TestStorageQueueContract runs the contract against a real Storage queue
// on Azurite, each case on a queue of its own.
func TestStorageQueueContract(t *testing.T) {
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString()})
	if err != nil {
		t.Fatal(err)
	}
	deploytest.QueueContract(t, func(t *testing.T) deploytest.Transport {
		name := fmt.Sprintf("deploy-contract-%d-%d", time.Now().UnixNano()%1e6, queueSeq.Add(1))
		if err := acct.Bootstrap(t.Context(), store.Layout{Queues: []string{name}}); err != nil {
			t.Fatal(err)
		}
		q := acct.Queue(name)
		return deploytest.Transport{Queue: StorageQueue{Q: q}, Now: time.Now,
			Receive: func(t *testing.T, within time.Duration) []deploytest.Delivery {
				deadline := time.Now().Add(within)
				var out []deploytest.Delivery
				for {
					ms, err := q.Receive(t.Context(), 32, time.Minute)
					if err != nil {
						t.Fatal(err)
					}
					for _, m := range ms {
						msg, err := DecodeLocal(m.Text)
						if err != nil {
							t.Fatal(err)
						}
						out = append(out, deploytest.Delivery{Msg: msg, At: time.Now()})
						if err := q.Delete(t.Context(), m); err != nil {
							t.Fatal(err)
						}
					}
					if !time.Now().Before(deadline) {
						return out
					}
					time.Sleep(min(100*time.Millisecond, time.Until(deadline))) // polling a real queue with a deadline
				}
			}}
	})
}

// recorder stands where Service Bus would: it keeps the messages the
// adapter builds and delivers them by their ScheduledEnqueueTime on a fake
// clock.
type recorder struct {
	mu   sync.Mutex
	now  time.Time
	msgs []*azservicebus.Message
	sent []time.Time
	done []bool
}

func (r *recorder) SendMessage(_ context.Context, m *azservicebus.Message, _ *azservicebus.SendMessageOptions) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs, r.sent, r.done = append(r.msgs, m), append(r.sent, r.now), append(r.done, false)
	return nil
}

func (r *recorder) clock() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now }

func (r *recorder) receive(_ *testing.T, within time.Duration) []deploytest.Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(within)
	var out []deploytest.Delivery
	for i, m := range r.msgs {
		at := r.sent[i]
		if m.ScheduledEnqueueTime != nil && m.ScheduledEnqueueTime.After(at) {
			at = *m.ScheduledEnqueueTime
		}
		if r.done[i] || at.After(r.now) {
			continue
		}
		r.done[i] = true
		props := map[string]string{}
		for k, v := range m.ApplicationProperties {
			props[k] = v.(string)
		}
		msg := deploy.Message{ID: *m.MessageID, SessionID: *m.SessionID, Body: m.Body, Properties: props}
		if m.ScheduledEnqueueTime != nil {
			msg.NotBefore = *m.ScheduledEnqueueTime
		}
		out = append(out, deploytest.Delivery{Msg: msg, At: at})
	}
	return out
}

// TestServiceBusContract runs the same contract against the messages the
// Service Bus adapter builds.
func TestServiceBusContract(t *testing.T) {
	deploytest.QueueContract(t, func(t *testing.T) deploytest.Transport {
		r := &recorder{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}
		return deploytest.Transport{Queue: ServiceBus{S: r}, Now: r.clock, Receive: r.receive}
	})
}

// TestServiceBusMessageShape pins what Service Bus receives: the
// duplicate-detection id, the session (the environment), the scheduled
// enqueue time, the content type, subject and application properties.
func TestServiceBusMessageShape(t *testing.T) {
	at := time.Date(2026, 11, 28, 7, 0, 0, 0, time.FixedZone("COT", -5*3600))
	cases := []struct {
		name        string
		m           deploy.Message
		id, session string
		scheduled   *time.Time
		subject     string
	}{
		{"a request", deploy.RequestMessage("claims", "production", 7), "claims/production:7", "claims/production", nil, "deploy-request"},
		{"a window start", deploy.WindowMessage("claims", "test", "w000002", "start", at), fmt.Sprintf("claims/test:w000002:start:%d", at.Unix()), "claims/test", &at, "window-due"},
		{"two projects' environments of one name differ", deploy.RequestMessage("billing", "production", 7), "billing/production:7", "billing/production", nil, "deploy-request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := BuildMessage(c.m)
			if *m.MessageID != c.id || *m.SessionID != c.session || *m.ContentType != "application/json" || *m.Subject != c.subject {
				t.Fatalf("id %q session %q type %q subject %q", *m.MessageID, *m.SessionID, *m.ContentType, *m.Subject)
			}
			if (m.ScheduledEnqueueTime == nil) != (c.scheduled == nil) || (c.scheduled != nil && !m.ScheduledEnqueueTime.Equal(*c.scheduled)) {
				t.Fatalf("scheduled %v, want %v", m.ScheduledEnqueueTime, c.scheduled)
			}
			if c.scheduled != nil && m.ScheduledEnqueueTime.Location() != time.UTC {
				t.Fatal("the scheduled time is not in UTC")
			}
			e, err := deploy.DecodeEnvelope(m.Body)
			if err != nil {
				t.Fatal(err)
			}
			if m.ApplicationProperties["kind"] != e.Kind || m.ApplicationProperties["project"] != e.Project || m.ApplicationProperties["env"] != e.Env {
				t.Fatalf("properties %v for %+v", m.ApplicationProperties, e)
			}
		})
	}
}

// TestStorageQueueDelay: the local delay is rounded up to whole seconds
// (never early) and capped at the Storage queue's limit.
func TestStorageQueueDelay(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		notBefore time.Time
		want      time.Duration
	}{
		{time.Time{}, 0},
		{now.Add(-time.Minute), 0},
		{now.Add(1500 * time.Millisecond), 2 * time.Second},
		{now.Add(time.Hour), time.Hour},
		{now.Add(30 * 24 * time.Hour), MaxStorageDelay},
	}
	for _, c := range cases {
		var got time.Duration
		q := StorageQueue{Q: senderFunc(func(_ string, d time.Duration) { got = d }), Now: func() time.Time { return now }}
		if err := q.Send(t.Context(), deploy.Message{ID: "x", Body: []byte(`{}`), NotBefore: c.notBefore}); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("not before %v: delay %v, want %v", c.notBefore, got, c.want)
		}
	}
	if err := (StorageQueue{Q: senderFunc(func(string, time.Duration) {})}).Send(t.Context(), deploy.Message{Body: []byte("not json")}); err == nil {
		t.Fatal("a body that is not JSON was sent")
	}
}

type senderFunc func(text string, delay time.Duration)

func (f senderFunc) Send(_ context.Context, text string, delay, _ time.Duration) (string, error) {
	f(text, delay)
	return "id", nil
}

// failing is a Service Bus sender that refuses every message with err.
type failing struct{ err error }

func (f failing) SendMessage(context.Context, *azservicebus.Message, *azservicebus.SendMessageOptions) error {
	return f.err
}

// TestServiceBusRefusalsAreNotRetryable: errors shaped as the SDK returns
// them (*azservicebus.Error codes, *amqp.Error conditions; azservicebus
// v1.11.0 internal/errors.go) are Unavailable (retry) only when a retry can
// help. Before the fix every send error was Unavailable.
func TestServiceBusRefusalsAreNotRetryable(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want fault.Kind
	}{
		{"message too large", &amqp.Error{Condition: amqp.ErrCondMessageSizeExceeded}, fault.TooLarge},
		{"no Data Sender role", &azservicebus.Error{Code: azservicebus.CodeUnauthorizedAccess}, fault.Internal},
		{"queue missing", &azservicebus.Error{Code: azservicebus.CodeNotFound}, fault.Internal},
		{"entity disabled", &amqp.Error{Condition: "com.microsoft:entity-disabled"}, fault.Internal},
		{"quota exceeded", &amqp.Error{Condition: amqp.ErrCondResourceLimitExceeded}, fault.Invalid},
		{"server busy", &amqp.Error{Condition: "com.microsoft:server-busy"}, fault.Unavailable},
		{"timeout", &azservicebus.Error{Code: azservicebus.CodeTimeout}, fault.Unavailable},
		{"connection lost", &azservicebus.Error{Code: azservicebus.CodeConnectionLost}, fault.Unavailable},
		{"network", errors.New("dial tcp: connection refused"), fault.Unavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ServiceBus{S: failing{fmt.Errorf("send: %w", c.err)}}.Send(context.Background(), deploy.Message{ID: "a", SessionID: "s"})
			if got := fault.KindOf(err); got != c.want {
				t.Fatalf("kind %v, want %v (%v)", got, c.want, err)
			}
		})
	}
}
