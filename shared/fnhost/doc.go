// Package fnhost speaks the Azure Functions custom-handler protocol, so the
// same handler binary runs under the real Functions host in Azure and under
// cmd/devhost locally.
//
// The host calls the handler in two ways:
//   - non-HTTP triggers (timer, storage queue, Service Bus) arrive as
//     POST /<FunctionName> with an InvocationRequest body and expect an
//     InvocationResponse; any non-2xx answer is a failed invocation, which the
//     host retries and finally sends to the poison queue or dead letter;
//   - HTTP triggers, with enableForwardingHttpRequest, arrive as the original
//     request at its original path (/api/...), and go to the HTTP mux.
//
// Invariant: a function name never collides with an HTTP route, because HTTP
// routes live under the "api" route prefix and function names are single path
// segments that are registered explicitly.
package fnhost
