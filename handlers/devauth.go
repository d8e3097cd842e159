package handlers

import (
	"net/http"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/identity"
)

// DevAuth serves the local dev token issuer: a token for any e-mail, and the
// discovery document and JWKS that let the very same go-oidc verification
// path check those tokens. With Issuer nil (always in Azure) every route
// answers 404, so the route table does not depend on configuration.
type DevAuth struct {
	Issuer *identity.DevIssuer
}

func (d DevAuth) enabled() error {
	if d.Issuer == nil {
		return fault.E("handlers.DevAuth", fault.NotFound, "the dev token issuer is off (COLLAB_DEV_AUTH)")
	}
	return nil
}

type devTokenRequest struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type devTokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

func (d DevAuth) token(w http.ResponseWriter, r *http.Request) error {
	if err := d.enabled(); err != nil {
		return err
	}
	var req devTokenRequest
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	tok, err := d.Issuer.Issue(req.Email, req.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.JSON(w, http.StatusOK, devTokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(identity.DevTokenLifetime.Seconds())})
	return nil
}

func (d DevAuth) discovery(w http.ResponseWriter, r *http.Request) error {
	if err := d.enabled(); err != nil {
		return err
	}
	httpapi.JSON(w, http.StatusOK, d.Issuer.Discovery())
	return nil
}

func (d DevAuth) jwks(w http.ResponseWriter, r *http.Request) error {
	if err := d.enabled(); err != nil {
		return err
	}
	httpapi.JSON(w, http.StatusOK, d.Issuer.JWKS())
	return nil
}

func registerDevAuth(rt *httpapi.Router, d DevAuth) {
	rt.Handle("POST /api/dev/token", d.token, httpapi.Public())
	rt.Handle("GET /api/dev/.well-known/openid-configuration", d.discovery, httpapi.Public())
	rt.Handle("GET /api/dev/jwks", d.jwks, httpapi.Public())
}
