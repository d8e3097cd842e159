// Package conns builds the HTTP connection pools of the service's own
// outbound hops: the Azure SDK's clients to storage (and Key Vault) in the
// handler, and the devhost's proxy to the handler.
//
// Go's default transport keeps 2 idle connections per host (the Azure SDK's
// keeps 10) and puts no cap on the connections it opens: under a burst every
// request past the idle pool dials a new connection and closes it after, so
// an overloaded instance opened thousands of sockets a second until both
// ends ran out of file descriptors (issue 23). A pool from this package
// keeps as many idle connections as the instance has requests in flight
// and caps the connections per host, so that past the cap a request waits
// for a connection instead of dialling one: the number of sockets is bounded
// by configuration, never by load.
package conns
