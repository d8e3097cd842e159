// Package host is the local stand-in for the Azure Functions host, which
// cannot be installed here. It runs the same handler binary the same way:
// it starts it (Options.Instances times, as Flex runs several instances) on
// free ports with FUNCTIONS_CUSTOMHANDLER_PORT, forwards HTTP requests by
// the route templates of functions/*/function.json in the host's route
// order, polls storage queue triggers with the host's dequeue/poison rules,
// plays a session-enabled Service Bus queue for serviceBusTrigger functions
// (servicebus.go), fires timers and lets a developer fire any non-HTTP
// function through the admin API. Every invocation body is built by the
// shared/fnhost encoders, which reproduce the host's own encoding byte for
// byte (shared/fnhost/testdata/host).
//
// Invariants:
//   - a queue message is deleted only after its invocation answered 2xx with
//     an invocation response; any other answer is a failure whose body is
//     ignored, as the host ignores it;
//   - a message whose invocation failed maxDequeueCount times is copied to
//     <queue>-poison before it is deleted from its queue, so it is never lost;
//   - a Service Bus message is delivered at most once at a time per session,
//     in order; a duplicate id within the window is dropped; a failed
//     delivery is redelivered until MaxDeliveryCount, then copied to
//     <queue>-deadletter before it leaves its queue;
//   - routing is the host's: a wrong method is 404, a disabled function
//     answers 404 and never lets another route take its request;
//   - a disabled function is neither polled, fired nor invocable;
//   - every handler instance is restarted whenever it exits, until the host
//     is closed.
package host
