package identity

import (
	"context"
	"strings"
)

// Principal is an authenticated caller: a person, or a service principal
// (app-only token: no user, application roles instead).
type Principal struct {
	ID      string   // oid (Entra) or "dev-<hash>" (dev issuer); stable per person
	Subject string   // who the issuer says it is: Entra's oid, else sub
	Email   string   // lower-cased and verified (docs/platform.md); empty for service principals
	Name    string   // display name
	Issuer  string   // the issuer that vouched for it, as its discovery document names it
	Service bool     // app-only token
	Roles   []string // application roles of a service principal
}

// HasRole reports whether a service principal carries role.
func (p Principal) HasRole(role string) bool {
	for _, r := range p.Roles {
		if strings.EqualFold(r, role) {
			return true
		}
	}
	return false
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the authenticated caller of a request.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
