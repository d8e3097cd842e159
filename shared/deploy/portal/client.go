package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/fault"
)

// Restarter restarts an App Service site by resource id (*ARM).
type Restarter interface {
	Restart(ctx context.Context, siteID string) error
}

// Client is the deploy.Runtime of environments reached over HTTP.
type Client struct {
	HTTP *http.Client
	// ARM restarts components configured with an ARM resource id; nil where
	// ARM is not configured (locally).
	ARM Restarter
	// CallTimeout bounds each call (default 30 s; health probes 10 s).
	CallTimeout time.Duration
}

// NewClient returns a client whose HTTP client follows no redirect to
// another host.
func NewClient(arm Restarter) *Client {
	return &Client{ARM: arm, HTTP: &http.Client{CheckRedirect: sameHost}}
}

func sameHost(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 || req.URL.Host != via[0].URL.Host {
		return http.ErrUseLastResponse
	}
	return nil
}

func (c *Client) timeout(d time.Duration) time.Duration {
	if c.CallTimeout > 0 && c.CallTimeout < d {
		return c.CallTimeout
	}
	return d
}

// Deploy POSTs the deployment to the Work Portal's {base}/deployments. An
// environment without a Work Portal endpoint has nobody to tell: nil.
func (c *Client) Deploy(ctx context.Context, t deploy.Target, d deploy.Deployment) error {
	if t.Portal.BaseURL == "" {
		return nil
	}
	body, err := json.Marshal(struct {
		Project string `json:"project"`
		Env     string `json:"env"`
		deploy.Deployment
	}{t.Project, t.Env, d})
	if err != nil {
		return fault.E("portal.Deploy", fault.Internal, err)
	}
	key := fmt.Sprintf("%s:%d:%s", deploy.EnvKey(t.Project, t.Env), d.Seq, d.Mode)
	return c.call(ctx, "portal.Deploy", http.MethodPost, strings.TrimSuffix(t.Portal.BaseURL, "/")+"/deployments", body, key, c.timeout(30*time.Second))
}

// Restart restarts a component through ARM when it has a resource id, else
// by POSTing its restart URL.
func (c *Client) Restart(ctx context.Context, t deploy.Target, component string) error {
	ep := t.Endpoint(component)
	if ep.ARMResourceID != "" {
		if c.ARM == nil {
			return fault.E("portal.Restart", fault.Unprocessable, "restarts through Azure Resource Manager are not configured here")
		}
		return c.ARM.Restart(ctx, ep.ARMResourceID)
	}
	u := ep.RestartTarget()
	if u == "" {
		return fault.E("portal.Restart", fault.Unprocessable, fmt.Sprintf("the environment has no %s restart endpoint", component))
	}
	return c.call(ctx, "portal.Restart", http.MethodPost, u, nil, "", c.timeout(30*time.Second))
}

// Healthy GETs a component's health URL: a 2xx answer is healthy. A
// component with no endpoint at all has nothing to probe: healthy.
func (c *Client) Healthy(ctx context.Context, t deploy.Target, component string) error {
	u := t.Endpoint(component).HealthTarget()
	if u == "" {
		return nil
	}
	return c.call(ctx, "portal.Healthy", http.MethodGet, u, nil, "", c.timeout(10*time.Second))
}

func (c *Client) call(ctx context.Context, op, method, u string, body []byte, idemKey string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fault.E(op, fault.Invalid, "bad endpoint URL", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{CheckRedirect: sameHost}
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fault.E(op, fault.Unavailable, fmt.Sprintf("%s %s: %v", method, redact(u), err))
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fault.E(op, fault.Unavailable, fmt.Sprintf("%s %s answered %d %s", method, redact(u), resp.StatusCode, firstLine(msg)))
	}
	return nil
}

// redact drops a URL's query (it may hold a key) for messages.
func redact(u string) string {
	if p, err := url.Parse(u); err == nil {
		p.RawQuery, p.User = "", nil
		return p.String()
	}
	return "the endpoint"
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}
