package identity

import (
	"fmt"
	"strings"
)

// claims are the token claims a principal is made of: those of an OpenID
// Connect provider (sub, email, email_verified) and those of Entra ID access
// tokens (oid, tid, scp, roles, idtyp, xms_edov), as documented in
// https://learn.microsoft.com/en-us/entra/identity-platform/access-token-claims-reference
type claims struct {
	Sub               string   `json:"sub"`
	OID               string   `json:"oid"`
	TID               string   `json:"tid"`
	Email             string   `json:"email"`
	EmailVerified     any      `json:"email_verified"` // a bool; some providers send "true"
	EmailDomainOwner  any      `json:"xms_edov"`       // Entra: the e-mail domain's owner is verified
	PreferredUsername string   `json:"preferred_username"`
	Name              string   `json:"name"`
	Roles             []string `json:"roles"`
	IDType            string   `json:"idtyp"`
	Scp               string   `json:"scp"`
}

// truthy reads a JSON boolean claim that some providers send as a string.
func truthy(v any) (value, present bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		return strings.EqualFold(b, "true"), true
	}
	return false, false
}

// principal applies the address rule (docs/platform.md, "Which address is
// trusted"): a person is known by a verified address only.
//   - OpenID Connect providers (Dex, Auth0, the dev issuer): "email" with
//     "email_verified": true.
//   - Entra ID: the "email" claim, which Entra leaves out of tokens when the
//     address's domain owner is not verified (and "xms_edov", when the app
//     asks for it, must not say false). "preferred_username" and "upn" are
//     never an address: a user can often change them, and nobody verified
//     them.
//
// A person's identity is (issuer, subject): the subject is Entra's "oid"
// (the same for every application of the tenant; "sub" is per application)
// and "sub" elsewhere.
func (c claims) principal(is *issuer) (Principal, error) {
	entra := is.tenant != ""
	if entra && c.TID != is.tenant {
		return Principal{}, refuse("foreign-tenant", fmt.Sprintf("the token is from tenant %q, not the trusted tenant %q", c.TID, is.tenant), nil)
	}
	subject := c.Sub
	if entra && c.OID != "" {
		subject = c.OID
	}
	if subject == "" {
		return Principal{}, refuse("unusable-claims", "the token has no subject (sub or oid)", nil)
	}
	iss := is.bindAs
	if iss == "" {
		iss = is.issuer
	}
	p := Principal{ID: is.cfg.IDPrefix + subject, Subject: subject, Name: c.Name, Issuer: iss}
	// An app-only token: Entra says so with idtyp=app (an optional claim);
	// without it, Entra's app-only tokens are those with no delegated scope.
	// Elsewhere: application roles and no scope, no address, no name.
	app := c.IDType == "app"
	if entra {
		app = app || c.Scp == ""
	} else {
		app = app || (c.Scp == "" && len(c.Roles) > 0 && c.Email == "" && c.Name == "")
	}
	if app {
		if entra && len(c.Roles) == 0 {
			return Principal{}, refuse("unusable-claims", "an app-only token must carry application roles (roles): assign one of the API's app roles to the calling application", nil)
		}
		p.Service, p.Roles = true, c.Roles
		return p, nil
	}
	email := strings.ToLower(strings.TrimSpace(c.Email))
	if entra {
		if email == "" {
			return Principal{}, refuse("unusable-claims", "the token carries no e-mail address: the API's app registration must add the optional claim \"email\" to its access tokens (preferred_username is never used as an address)", nil)
		}
		if ok, present := truthy(c.EmailDomainOwner); present && !ok {
			return Principal{}, refuse("unusable-claims", "the token's e-mail address is in a domain whose owner Entra has not verified (xms_edov is false)", nil)
		}
	} else {
		if email == "" {
			return Principal{}, refuse("unusable-claims", "the token carries no e-mail address: sign in again requesting the \"email\" scope (the email claim is missing)", nil)
		}
		if ok, _ := truthy(c.EmailVerified); !ok {
			return Principal{}, refuse("unusable-claims", "the token's e-mail address is not verified by its issuer (email_verified is not true)", nil)
		}
	}
	p.Email = email
	return p, nil
}
