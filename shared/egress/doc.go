// Package egress decides where the service's outbound calls to customers'
// endpoints may connect (connectors, Schedulers, Work Portals, task
// callbacks), so that a URL a customer typed cannot reach the service's own
// network: loopback, private, link-local and reserved ranges are refused
// unless an allow-list opens them, and the cloud metadata and platform
// endpoints and the unspecified address are refused always.
//
// Invariants: the check is made on the address actually being connected
// (net.Dialer.Control, after DNS resolution), so a DNS answer that changes
// between a check and the connection cannot slip through; no proxy from the
// environment is used; redirects never leave the first host.
package egress
