// Package connector keeps an environment's REST connectors (DESIGN §4.8)
// and makes their outbound calls for process applications: a connector is a
// base URL, the methods and path prefixes it allows, an authentication
// (none, API key header, basic, OAuth2 client credentials) whose
// credentials are references to environment parameters, a timeout and a
// response-size cap.
//
// Invariants of an outbound call (docs/connectors.md):
//   - the address connected to is checked at connect time, after DNS
//     resolution (net.Dialer.Control on the resolved IP), so a DNS answer
//     that changes between a check and the connection cannot reach a
//     refused address; loopback, private, link-local, multicast, CGNAT and
//     reserved ranges are refused unless the environment's allow-list names
//     them, and unspecified and cloud metadata addresses are refused always;
//   - no proxy from the environment, no redirect to another host or scheme,
//     the method and path within what the connector allows;
//   - one deadline for the whole call (token, connect, headers, body); the
//     response is read up to the cap and refused past it, never truncated;
//   - hop-by-hop headers are stripped both ways; callers cannot set Host or
//     credentials;
//   - credentials are resolved from parameters at call time (secrets opened
//     only then and only in memory); an OAuth2 token is cached until shortly
//     before its expiry, keyed by the versions of the parameters it came from;
//   - each call is logged with the connector, method, status, duration and
//     size, never with credentials, paths, queries or bodies.
package connector
