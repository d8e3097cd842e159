// Package portal reaches an environment's Work Portal and Scheduler for
// deployments (deploy.Runtime): it hands them deployments over HTTP,
// restarts them through Azure Resource Manager or a configured HTTP
// endpoint, and probes their health.
//
// Invariants: every call has a deadline; a deployment carries an
// Idempotency-Key of (environment, sequence, mode), so a repeated one is
// recognisable; ARM calls carry a bearer token for the management scope and
// go to HTTPS only; no redirect is followed to another host; response bodies
// are read up to a small cap and only a sentence of them reaches an error.
package portal
