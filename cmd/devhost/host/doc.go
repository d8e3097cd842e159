// Package host is the local stand-in for the Azure Functions host, which
// cannot be installed here. It runs the same handler binary the same way:
// it starts it on a free port with FUNCTIONS_CUSTOMHANDLER_PORT, forwards
// HTTP requests by the route templates of functions/*/function.json, polls
// storage queue triggers with the host's dequeue/poison rules, fires timers
// and lets a developer fire any non-HTTP function through the admin API.
//
// Invariants:
//   - a queue message is deleted only after its invocation answered 2xx;
//   - a message whose invocation failed maxDequeueCount times is copied to
//     <queue>-poison before it is deleted from its queue, so it is never lost;
//   - a disabled function is neither routed, polled, fired nor invocable;
//   - the handler is restarted whenever it exits, until the host is closed.
package host
