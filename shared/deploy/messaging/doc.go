// Package messaging carries deployment messages (deploy.Queue) to the
// DeployRequests trigger: a Service Bus queue in Azure (sessions keyed by
// environment, duplicate detection by message id, scheduled messages), and
// locally a Storage queue on Azurite, the wire of the devhost's Service Bus
// stand-in (cmd/devhost/host/servicebus.go), which gives the same
// semantics. Both pass the one contract in deploy/deploytest.
//
// Invariants: a message is never delivered before its NotBefore (a Storage
// queue's delay is rounded up to the second and capped at its 7-day limit,
// which only makes a wake-up early, and the worker treats early wake-ups as
// no-ops); the body reaches the worker byte for byte; the id, session and
// properties travel with it (as Service Bus metadata, or in the local
// envelope).
package messaging
