package store

import (
	"context"
	"time"
)

// Queue is one queue. Texts are what the caller sent; the driver chooses
// the wire encoding (Azure: base64, what the Functions host's queue trigger
// expects). Safe for concurrent use.
type Queue interface {
	// Name is the queue's name.
	Name() string
	// Send enqueues text, invisible for delay, living for ttl (0: the
	// service's default of 7 days; -1: forever). It returns the message id.
	Send(ctx context.Context, text string, delay, ttl time.Duration) (string, error)
	// Receive takes up to max (1–32) messages, hidden from others for
	// visibility.
	Receive(ctx context.Context, max int, visibility time.Duration) ([]Message, error)
	// Delete removes a received message; Conflict (or NotFound) if its
	// pop receipt is stale: another receiver holds it now.
	Delete(ctx context.Context, m Message) error
	// SetVisibility makes a received message visible again after d (0:
	// now), returning its new pop receipt.
	SetVisibility(ctx context.Context, m Message, d time.Duration) (string, error)
	// Length is the approximate number of messages.
	Length(ctx context.Context) (int, error)
}

// Message is a received message.
type Message struct {
	ID            string
	PopReceipt    string
	DequeueCount  int64
	InsertionTime time.Time
	Expiration    time.Time
	NextVisible   time.Time
	Text          string
}
