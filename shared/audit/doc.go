// Package audit is the append-only log of security-relevant actions:
// memberships, roles, teams, environments, and later security entries,
// catalog check-ins and parameters.
//
// Invariants: an entry is written once and never updated or deleted by the
// service (retention is a separate job); entries of one scope (a project or
// a subscription) read back newest first; values marked secret are masked
// before they are stored, never after; an entry always fits its row (an
// over-size one is trimmed by the rule in fit and marked trimmed, never
// dropped), so no change is lost or left unaudited for its size.
package audit
