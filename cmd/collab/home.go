package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// homeTransport follows a stamp's 421 Misdirected answer: the request was
// about a customer whose data lives in another stamp (its home), and the
// problem names that stamp's URL (homeUrl, docs/decisions.md). The request
// is re-sent there with the same headers and body (the bearer token
// included: every stamp accepts the same tokens), and the home is
// remembered for the rest of the command, per subscription or project, so
// later calls go straight to it. Only https homes are followed, or http on
// loopback (the local two-stamp simulation): a redirect never downgrades a
// token to clear text on the network.
type homeTransport struct {
	base http.RoundTripper

	mu    sync.Mutex
	homes map[string]*url.URL // "/api/projects/<id>" or "/api/subscriptions/<id>" -> home base
}

// maxHomeHops bounds re-sends: a home that is itself misdirected means the
// stamps disagree, and the caller sees the second 421.
const maxHomeHops = 2

func newHomeTransport(base http.RoundTripper) *homeTransport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &homeTransport{base: base, homes: map[string]*url.URL{}}
}

// RoundTrip implements http.RoundTripper.
func (t *homeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	scope := homeScope(req.URL.Path)
	if t.home(scope) == nil && scope != "" && !replayable(req) {
		// A streamed body (a pack upload) cannot be sent twice: learn the
		// home first with a GET of the project or subscription.
		t.learn(req, scope)
	}
	if home := t.home(scope); home != nil {
		if next, ok := retarget(req, home, true); ok {
			req = next
		}
	}
	for hop := 0; ; hop++ {
		resp, err := t.base.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusMisdirectedRequest || hop == maxHomeHops {
			return resp, err
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		var p struct {
			HomeURL string `json:"homeUrl"`
		}
		_ = json.Unmarshal(raw, &p)
		home, err := url.Parse(p.HomeURL)
		if err != nil || !followable(home) {
			return resp, nil
		}
		next, ok := retarget(req, home, false)
		if !ok {
			return resp, nil
		}
		if scope != "" {
			t.mu.Lock()
			t.homes[scope] = home
			t.mu.Unlock()
		}
		req = next
	}
}

// replayable: no body, or one the request can produce again.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// learn asks the stamp for the scope itself (GET, same headers) and
// remembers the home a 421 names; any other answer leaves the request where
// it is going.
func (t *homeTransport) learn(req *http.Request, scope string) {
	probe := req.Clone(req.Context())
	probe.Method, probe.Body, probe.GetBody, probe.ContentLength = http.MethodGet, http.NoBody, nil, 0
	probe.Header.Del("Content-Type")
	probe.Header.Del("Idempotency-Key")
	u := *req.URL
	u.Path, u.RawPath, u.RawQuery = scope, "", ""
	probe.URL = &u
	resp, err := t.base.RoundTrip(probe)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusMisdirectedRequest {
		return
	}
	var p struct {
		HomeURL string `json:"homeUrl"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return
	}
	if home, err := url.Parse(p.HomeURL); err == nil && followable(home) {
		t.mu.Lock()
		t.homes[scope] = home
		t.mu.Unlock()
	}
}

func (t *homeTransport) home(scope string) *url.URL {
	if scope == "" {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.homes[scope]
}

// homeScope is the customer part of an API path: /api/projects/<id> or
// /api/subscriptions/<id>; "" for any other path.
func homeScope(path string) string {
	segs := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 4)
	if len(segs) >= 3 && segs[0] == "api" && (segs[1] == "projects" || segs[1] == "subscriptions") && segs[2] != "" {
		return "/api/" + segs[1] + "/" + segs[2]
	}
	return ""
}

// followable: https, or http to a loopback address.
func followable(u *url.URL) bool {
	if u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	if u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// retarget copies req to the same path under home. A request not sent yet
// (fresh) keeps its body; one already sent gets its body replayed, or false
// when it cannot be.
func retarget(req *http.Request, home *url.URL, fresh bool) (*http.Request, bool) {
	next := req.Clone(req.Context())
	if !fresh && req.Body != nil && req.Body != http.NoBody {
		if req.GetBody == nil {
			return nil, false
		}
		body, err := req.GetBody()
		if err != nil {
			return nil, false
		}
		next.Body = body
	}
	u := *req.URL
	u.Scheme, u.Host = home.Scheme, home.Host
	if prefix := strings.TrimRight(home.Path, "/"); prefix != "" {
		u.Path, u.RawPath = prefix+u.Path, ""
	}
	next.URL, next.Host = &u, ""
	return next, true
}
