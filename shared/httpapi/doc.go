// Package httpapi holds the HTTP conventions of DESIGN §5 that every endpoint
// shares, so that no handler chooses a status code or writes an error by hand:
//
//   - errors are application/problem+json (RFC 9457) with a stable type URI,
//     chosen from the fault.Kind of the error in one table (problemTypes);
//   - every request has a request id (X-Request-Id accepted when well formed,
//     else generated), echoed in the response and carried by every log line;
//   - request bodies are capped (1 MiB by default, per route overridable) and a
//     body past the cap is a 413 problem, never a silent truncation;
//   - JSON bodies are decoded strictly: unknown fields and trailing data are
//     400 problems that name the field or the offset;
//   - a panic in a handler is a 500 problem with the request id and a logged
//     stack, and the server keeps serving;
//   - an unknown route is a 404 problem, a known path with the wrong method a
//     405 problem with an Allow header;
//   - a route is authenticated unless registered as Public.
package httpapi
