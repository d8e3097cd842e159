package deploy

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/fault"
)

// armSiteID is an App Service site (or slot) resource id: what ARM restarts.
var armSiteID = regexp.MustCompile(`(?i)^/subscriptions/[0-9a-f-]{36}/resourceGroups/[A-Za-z0-9._()-]{1,90}/providers/Microsoft\.Web/sites/[A-Za-z0-9-]{2,60}(/slots/[A-Za-z0-9-]{1,59})?$`)

// MaxURLBytes caps an endpoint's URLs (documented in api/openapi.yaml).
const MaxURLBytes = 2048

// Validate checks an endpoint's settings: http(s) URLs with a host, and an
// App Service site resource id for ARM.
func (e Endpoint) Validate() error {
	for _, f := range [...]struct{ name, u string }{{"healthUrl", e.HealthURL}, {"restartUrl", e.RestartURL}} {
		name, u := f.name, f.u
		if u == "" {
			continue
		}
		if len(u) > MaxURLBytes {
			return fault.E("deploy.Endpoint", fault.Invalid, fmt.Sprintf("%s is at most %d bytes", name, MaxURLBytes))
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.User != nil {
			return fault.E("deploy.Endpoint", fault.Invalid, name+" must be an http(s) URL without credentials")
		}
		if err := egress.NeverHost(p.Hostname()); err != nil {
			return fault.E("deploy.Endpoint", fault.Invalid, name+": "+err.Error(), err)
		}
	}
	if e.ARMResourceID != "" && !armSiteID.MatchString(e.ARMResourceID) {
		return fault.E("deploy.Endpoint", fault.Invalid,
			"armResourceId must be /subscriptions/{id}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{name}[/slots/{slot}]")
	}
	return nil
}

// HealthTarget is the URL probed for health, "" when there is none.
func (e Endpoint) HealthTarget() string { return e.url(e.HealthURL, "/health") }

// RestartTarget is the URL POSTed to restart, "" when there is none.
func (e Endpoint) RestartTarget() string { return e.url(e.RestartURL, "/restart") }

// url is the configured URL, else the base URL with suffix, else "".
func (e Endpoint) url(configured, suffix string) string {
	if configured != "" || e.BaseURL == "" {
		return configured
	}
	return strings.TrimSuffix(e.BaseURL, "/") + suffix
}
