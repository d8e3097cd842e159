package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/studio-collab/collab/shared/fault"
)

// cachedToken is an OAuth2 access token and when to stop using it.
type cachedToken struct {
	access    string
	refreshAt time.Time
}

// param resolves a credential parameter at call time. A missing or
// unapplied parameter is the connector's configuration problem (422), not a
// missing connector.
func (s *Service) param(ctx context.Context, project, env, name string) (string, error) {
	v, err := s.params.Resolve(ctx, project, env, name)
	if fault.Is(err, fault.NotFound) || fault.Is(err, fault.Unprocessable) {
		return "", refuse(fault.Unprocessable, ReasonParameter, fmt.Sprintf("credential parameter %s: %s", name, fault.DetailOf(err)), err)
	}
	return v, err
}

// authenticate adds the connector's credentials to req.
func (s *Service) authenticate(ctx context.Context, project, env string, c Connector, t *http.Transport, req *http.Request) error {
	a := c.Auth
	switch a.Kind {
	case AuthAPIKey:
		v, err := s.param(ctx, project, env, a.KeyParam)
		if err != nil {
			return err
		}
		req.Header.Set(a.Header, v)
	case AuthBasic:
		user, err := s.param(ctx, project, env, a.UsernameParam)
		if err != nil {
			return err
		}
		pass, err := s.param(ctx, project, env, a.PasswordParam)
		if err != nil {
			return err
		}
		req.SetBasicAuth(user, pass)
	case AuthOAuth2:
		tok, err := s.token(ctx, project, env, c, t)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return nil
}

func tokenPrefix(project, env, name string) string { return project + "/" + env + "/" + name + "|" }

// token returns a cached access token, or fetches one with the client
// credentials grant. The cache key holds the versions of the credential
// parameters, not their values: a changed secret means a new token, and a
// cached token needs no secret opened.
func (s *Service) token(ctx context.Context, project, env string, c Connector, t *http.Transport) (string, error) {
	a := c.Auth
	idVer, err := s.params.Version(ctx, project, env, a.ClientIDParam)
	if err == nil {
		var secVer string
		secVer, err = s.params.Version(ctx, project, env, a.ClientSecretParam)
		idVer += "/" + secVer
	}
	if err != nil {
		if fault.Is(err, fault.NotFound) {
			return "", refuse(fault.Unprocessable, ReasonParameter, "credential parameter: "+fault.DetailOf(err), err)
		}
		return "", err
	}
	key := tokenPrefix(project, env, c.Name) + a.TokenURL + "|" + strings.Join(a.Scopes, " ") + "|" + idVer + "|" + c.ETag
	s.mu.Lock()
	ct, ok := s.tokens[key]
	s.mu.Unlock()
	if ok && s.now().Before(ct.refreshAt) {
		return ct.access, nil
	}
	id, err := s.param(ctx, project, env, a.ClientIDParam)
	if err != nil {
		return "", err
	}
	secret, err := s.param(ctx, project, env, a.ClientSecretParam)
	if err != nil {
		return "", err
	}
	cfg := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: a.TokenURL, Scopes: a.Scopes, AuthStyle: oauth2.AuthStyleInHeader}
	// The token endpoint is reached through the same guarded transport, and
	// no redirect is followed at all.
	hc := &http.Client{Transport: t, CheckRedirect: func(*http.Request, []*http.Request) error {
		return fmt.Errorf("%w: the token endpoint redirected", errRedirect)
	}}
	tok, err := cfg.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			// Never the error body: some servers echo what they were sent.
			k := fault.Unprocessable
			if re.Response.StatusCode >= 500 {
				k = fault.Unavailable
			}
			return "", refuse(k, ReasonToken, fmt.Sprintf("connector %s: the token endpoint answered %d", c.Name, re.Response.StatusCode), nil)
		}
		return "", classify(ctx, c, err)
	}
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 && !tok.Expiry.IsZero() {
		life = time.Until(tok.Expiry)
	}
	if life <= 0 {
		life = time.Minute // no expiry given: reuse briefly
	}
	now := s.now()
	s.mu.Lock()
	for k, old := range s.tokens { // sweep expired ones: the cache stays as small as the live tokens
		if !now.Before(old.refreshAt) {
			delete(s.tokens, k)
		}
	}
	s.tokens[key] = cachedToken{access: tok.AccessToken, refreshAt: now.Add(life - min(30*time.Second, life/10))}
	s.mu.Unlock()
	return tok.AccessToken, nil
}

// forgetTokens drops a deleted connector's tokens.
func (s *Service) forgetTokens(project, env, name string) {
	p := tokenPrefix(project, env, name)
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tokens {
		if strings.HasPrefix(k, p) {
			delete(s.tokens, k)
		}
	}
}
