// Package fnhost speaks the Azure Functions custom-handler protocol, so the
// same handler binary runs under the real Functions host in Azure and under
// cmd/devhost locally.
//
// The host calls the handler in two ways:
//   - non-HTTP triggers (timer, storage queue, Service Bus) arrive as
//     POST /<FunctionName> with an InvocationRequest body and expect an
//     InvocationResponse; any non-2xx answer is a failed invocation, whose
//     body the host ignores, and which it retries and finally sends to the
//     poison queue or dead letter;
//   - HTTP triggers, with enableForwardingHttpRequest, arrive as the original
//     request at its original path (/api/...), and go to the HTTP mux.
//
// Invariants:
//   - the host's own encoding of Data and Metadata (wire.go: strings
//     JSON-encoded once more, scalars as strings, quoted string metadata,
//     seconds-only times) decodes to the values the host meant, and so does
//     the plain form; testdata/host holds one body per trigger, each citing
//     the host's source, and the encoder (encode.go) reproduces them byte
//     for byte;
//   - metadata that is neither form fails the invocation (400) rather than
//     decoding to a zero value;
//   - a function name never collides with an HTTP route, because HTTP routes
//     live under "api/" (or are the site's catch-all, reached only by GET and
//     HEAD) and function names are single path segments registered explicitly.
package fnhost
