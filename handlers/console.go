package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/web/console"
)

// ConsoleConfig is how the console signs people in: the local dev issuer,
// Entra ID (authorization code with PKCE), or both.
type ConsoleConfig struct {
	DevAuth   bool     // offer the dev issuer's sign-in (POST /api/dev/token)
	DemoUsers []string // e-mails the dev sign-in offers with one click
	Authority string   // Entra ID authority; empty = no Entra sign-in
	ClientID  string   // the console's app registration
	Scopes    []string // what the console asks for (the API's scope)
	// Provider names the authority on the sign-in button ("Sign in with
	// …"); empty: "Microsoft" for an Entra ID authority, else its host.
	Provider string
	// Stamps are the other stamps' origins: after a 421 the console calls
	// the customer's home stamp there (CSP connect-src).
	Stamps []string
}

// ProviderName is what the sign-in button calls the authority: "Microsoft"
// only when it is Entra ID (login.microsoftonline.com), so a console signed
// in through Dex, Auth0 or Okta never claims to be Microsoft's.
func ProviderName(authority, configured string) string {
	if configured != "" {
		return configured
	}
	u, err := url.Parse(authority)
	if err != nil || u.Host == "" {
		return authority
	}
	if strings.EqualFold(u.Hostname(), "login.microsoftonline.com") {
		return "Microsoft"
	}
	return u.Host
}

// Console serves the web console at / and /console/..., and the public
// configuration it reads before anyone is signed in. A nil *Console (the
// zero Deps) answers 404, so the route table never depends on configuration.
type Console struct {
	site *console.Site
	cfg  ConsoleConfig
}

// NewConsole builds the console for cfg; the page may fetch from the
// authority's origin (discovery and the token endpoint) and the other
// stamps' APIs, and nowhere else.
func NewConsole(cfg ConsoleConfig) (*Console, error) {
	var origins []string
	if cfg.Authority != "" {
		origins = append(origins, cfg.Authority)
	}
	origins = append(origins, cfg.Stamps...)
	site, err := console.New(console.Options{ConnectOrigins: origins})
	if err != nil {
		return nil, err
	}
	if cfg.DemoUsers == nil {
		cfg.DemoUsers = []string{}
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{}
	}
	return &Console{site: site, cfg: cfg}, nil
}

func registerConsole(rt *httpapi.Router, c *Console) {
	rt.Handle("GET /{$}", c.page, httpapi.Public())
	rt.Handle("GET /console/{path...}", c.console, httpapi.Public())
	rt.Handle("GET /api/console/config", c.config, httpapi.Public())
}

func (c *Console) off() error {
	return fault.E("handlers.Console", fault.NotFound, "the web console is not served by this instance")
}

func (c *Console) page(w http.ResponseWriter, r *http.Request) error {
	if c == nil {
		return c.off()
	}
	c.site.ServePage(w, r)
	return nil
}

// console serves a versioned asset, or the page for any other path (the
// page's own router shows the screen the path names).
func (c *Console) console(w http.ResponseWriter, r *http.Request) error {
	if c == nil {
		return c.off()
	}
	p := r.PathValue("path")
	if rest, ok := strings.CutPrefix(p, "assets/"); ok {
		if !c.site.ServeAsset(w, r, rest) {
			w.Header().Set("Cache-Control", "no-store")
			return fault.E("handlers.Console", fault.NotFound, "no asset "+p+" in this version of the console")
		}
		return nil
	}
	c.site.ServePage(w, r)
	return nil
}

// consoleConfig is GET /api/console/config: what the sign-in screen needs.
type consoleConfig struct {
	DevAuth      bool     `json:"devAuth"`
	DemoUsers    []string `json:"demoUsers"`
	Authority    string   `json:"authority,omitempty"`
	Provider     string   `json:"provider,omitempty"`
	ClientID     string   `json:"clientId,omitempty"`
	Scopes       []string `json:"scopes"`
	RedirectPath string   `json:"redirectPath"`
	Version      string   `json:"version"`
}

// ConsoleRedirectPath is where Entra ID sends the browser back with the
// authorization code (register <origin>/console/auth as a SPA redirect URI).
const ConsoleRedirectPath = "/console/auth"

func (c *Console) config(w http.ResponseWriter, r *http.Request) error {
	if c == nil {
		return c.off()
	}
	w.Header().Set("Cache-Control", "no-store")
	provider := ""
	if c.cfg.Authority != "" {
		provider = ProviderName(c.cfg.Authority, c.cfg.Provider)
	}
	httpapi.JSON(w, http.StatusOK, consoleConfig{DevAuth: c.cfg.DevAuth, DemoUsers: c.cfg.DemoUsers, Authority: c.cfg.Authority,
		Provider: provider, ClientID: c.cfg.ClientID, Scopes: c.cfg.Scopes, RedirectPath: ConsoleRedirectPath, Version: c.site.Version()})
	return nil
}
