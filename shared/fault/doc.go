// Package fault is the one error type of the service. Domain code says what
// went wrong as a Kind (NotFound, Conflict, Locked, ...) together with the
// operation and the object path; only the HTTP layer turns a Kind into a
// status code and a problem type, in one table (see shared/httpapi).
//
// Invariants: a *Error always has a Kind; wrapping keeps the innermost
// non-Other kind visible to KindOf, so adding context never changes the
// status a caller sees.
package fault
