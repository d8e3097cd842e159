package messaging

import (
	"context"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/go-amqp"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/fault"
)

// SBSender is what the Service Bus adapter needs (*azservicebus.Sender has
// it); tests record the messages instead of sending them.
type SBSender interface {
	SendMessage(ctx context.Context, message *azservicebus.Message, options *azservicebus.SendMessageOptions) error
}

// ServiceBus is the Azure deploy.Queue.
type ServiceBus struct {
	S SBSender
}

// Send sends m as BuildMessage builds it.
func (b ServiceBus) Send(ctx context.Context, m deploy.Message) error {
	if err := b.S.SendMessage(ctx, BuildMessage(m), nil); err != nil {
		return fault.E("messaging.ServiceBus", sendKind(err), "sending to Service Bus", err)
	}
	return nil
}

// sendKind classifies a send error by whether a retry can help. Service
// Bus's refusals (the AMQP equivalents of a 4xx: the message is too large,
// the entity is missing, disabled or full, our identity lacks the Data
// Sender role) fail the same way every time, so they are not Unavailable;
// the SDK's own table says which conditions are fatal
// (azservicebus@v1.11.0 internal/errors.go, amqpConditionsToRecoveryKind).
// Time-outs, lost connections and anything unknown stay retryable.
func sendKind(err error) fault.Kind {
	var sbErr *azservicebus.Error
	if errors.As(err, &sbErr) {
		switch sbErr.Code {
		case azservicebus.CodeUnauthorizedAccess, azservicebus.CodeNotFound:
			return fault.Internal // an operator problem: the role or the queue is missing
		}
	}
	var amqpErr *amqp.Error
	if errors.As(err, &amqpErr) {
		switch amqpErr.Condition {
		case amqp.ErrCondMessageSizeExceeded:
			return fault.TooLarge
		case amqp.ErrCondUnauthorizedAccess, amqp.ErrCondNotFound, amqp.ErrCond("com.microsoft:entity-disabled"):
			return fault.Internal
		case amqp.ErrCondNotAllowed, amqp.ErrCondResourceLimitExceeded, amqp.ErrCondInvalidField, amqp.ErrCondDecodeError:
			return fault.Invalid
		}
	}
	return fault.Unavailable
}

// BuildMessage maps a deployment message onto Service Bus: MessageID for
// duplicate detection, SessionID (the environment) for ordered, exclusive
// processing per environment, ScheduledEnqueueTime for NotBefore, the
// properties as application properties, and the kind as the subject.
func BuildMessage(m deploy.Message) *azservicebus.Message {
	id, session := m.ID, m.SessionID
	ct := "application/json"
	msg := &azservicebus.Message{MessageID: &id, SessionID: &session, Body: append([]byte(nil), m.Body...), ContentType: &ct,
		ApplicationProperties: map[string]any{}}
	for k, v := range m.Properties {
		msg.ApplicationProperties[k] = v
	}
	if kind := m.Properties["kind"]; kind != "" {
		msg.Subject = &kind
	}
	if !m.NotBefore.IsZero() {
		at := m.NotBefore.UTC()
		msg.ScheduledEnqueueTime = &at
	}
	return msg
}

// DialServiceBus opens a sender on the deployment queue of a namespace
// (e.g. sb-x.servicebus.windows.net) with a token credential: the managed
// identity in Azure (Azure Service Bus Data Sender).
func DialServiceBus(namespace string, cred azcore.TokenCredential) (*ServiceBus, func(context.Context) error, error) {
	c, err := azservicebus.NewClient(namespace, cred, nil)
	if err != nil {
		return nil, nil, fault.E("messaging.DialServiceBus", fault.Invalid, err)
	}
	s, err := c.NewSender(deploy.QueueName, nil)
	if err != nil {
		return nil, nil, fault.E("messaging.DialServiceBus", fault.Invalid, err)
	}
	closeAll := func(ctx context.Context) error {
		_ = s.Close(ctx)
		return c.Close(ctx)
	}
	return &ServiceBus{S: s}, closeAll, nil
}
