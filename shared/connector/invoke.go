package connector

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/secevent"
)

// Request is an invocation: method, a path under the connector's base URL,
// query parameters, headers and a body (a JSON string is sent as its text,
// any other JSON value as JSON).
type Request struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   map[string]string `json:"query,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// Response is what the connector's service answered. Body is text when it
// is UTF-8, else base64 (BodyEncoding "base64").
type Response struct {
	Status       int               `json:"status"`
	Headers      map[string]string `json:"headers"`
	Body         string            `json:"body"`
	BodyEncoding string            `json:"bodyEncoding,omitempty"`
	DurationMs   int64             `json:"durationMs"`
}

// Reasons an invocation is refused or fails, in the problem's "reason".
const (
	ReasonMethod    = "method-not-allowed"
	ReasonPath      = "path-not-allowed"
	ReasonAddress   = "address-refused"
	ReasonRedirect  = "redirect-refused"
	ReasonTooLarge  = "response-too-large"
	ReasonTimeout   = "timeout"
	ReasonNetwork   = "unreachable"
	ReasonToken     = "token"
	ReasonParameter = "parameter"
)

// callError carries the reason into the problem answer.
type callError struct {
	reason string
	cause  error
}

// Error is the reason and the cause, for the logs.
func (e *callError) Error() string {
	if e.cause == nil {
		return e.reason
	}
	return e.reason + ": " + e.cause.Error()
}

// Unwrap exposes the cause to errors.Is/As.
func (e *callError) Unwrap() error { return e.cause }

// ProblemExtensions adds "reason" to the problem (shared/httpapi).
func (e *callError) ProblemExtensions() map[string]any { return map[string]any{"reason": e.reason} }

func refuse(k fault.Kind, reason, detail string, cause error) error {
	return fault.E("connector.Invoke", k, detail, &callError{reason: reason, cause: cause})
}

// hopByHop are the RFC 9110 §7.6.1 connection-specific headers (and the
// legacy ones proxies still send); Connection may name more.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func stripHopByHop(h http.Header) {
	for _, v := range h.Values("Connection") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, k := range hopByHop {
		h.Del(k)
	}
}

func validHeaderName(s string) bool { return httpguts.ValidHeaderFieldName(s) }

// reservedHeader: headers the connector sets itself, never the caller.
func reservedHeader(s string) bool {
	switch http.CanonicalHeaderKey(s) {
	case "Host", "Authorization", "Proxy-Authorization", "Content-Length", "Cookie2":
		return true
	}
	return false
}

// checkPath accepts "/segment/segment" without dot segments, backslashes,
// queries, fragments or control characters (also when percent-decoded).
func checkPath(p string) error {
	bad := func(why string) error { return fault.E("connector.path", fault.Invalid, "path "+why) }
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
		return bad("must start with a single /")
	}
	if len(p) > 2048 {
		return bad("is over 2048 bytes")
	}
	dec, err := url.PathUnescape(p)
	if err != nil {
		return bad("has a bad percent escape")
	}
	for _, s := range []string{p, dec} {
		if strings.ContainsAny(s, "\\?#") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return bad("may not hold \\, ?, # or control characters")
		}
		for _, seg := range strings.Split(s, "/") {
			if seg == "." || seg == ".." {
				return bad("may not hold . or .. segments")
			}
		}
	}
	return nil
}

// underPrefix: "/orders" allows "/orders" and "/orders/1", not "/ordersX".
func underPrefix(p string, prefixes []string) bool {
	for _, pre := range prefixes {
		pre = strings.TrimSuffix(pre, "/")
		if pre == "" || p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}

// client returns the guarded client for a policy; transports are shared
// per allow-list so connections are reused, each one checked when it was
// dialled under that same list.
func (s *Service) transport(p egress.Policy) *http.Transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.transports[p.Key()]; ok {
		return t
	}
	t := &http.Transport{
		Proxy:                 nil, // an environment proxy would be dialled instead of the checked address
		DialContext:           egress.Dialer{Policy: p, Resolver: s.Resolver, Timeout: MaxTimeout}.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	s.transports[p.Key()] = t
	return t
}

var errRedirect = errors.New("redirect refused")

// guardedClient follows redirects only to the same scheme and host, within
// the connector's path prefixes, at most 5 times.
func guardedClient(t *http.Transport, prefixes []string, basePath string) *http.Client {
	return &http.Client{Transport: t, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if len(via) >= 5 {
			return fmt.Errorf("%w: more than 5 redirects", errRedirect)
		}
		if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
			return fmt.Errorf("%w: to another host (%s)", errRedirect, req.URL.Host)
		}
		rel, ok := strings.CutPrefix(req.URL.Path, basePath)
		if !ok || checkPath(rel) != nil || !underPrefix(rel, prefixes) {
			return fmt.Errorf("%w: outside the connector's paths", errRedirect)
		}
		return nil
	}}
}

// Invoke makes the connector's outbound call.
func (s *Service) Invoke(ctx context.Context, project, env, name string, in Request) (Response, error) {
	start := time.Now()
	c, err := s.read(ctx, project, env, name)
	if err != nil {
		return Response{}, err
	}
	st, err := s.GetSettings(ctx, project, env)
	if err != nil {
		return Response{}, err
	}
	method := strings.ToUpper(in.Method)
	if method == "" {
		method = "GET"
	}
	if !slices.Contains(c.Methods, method) {
		return Response{}, refuse(fault.Forbidden, ReasonMethod, fmt.Sprintf("connector %s does not allow %s (allowed: %s)", name, method, strings.Join(c.Methods, ", ")), nil)
	}
	if err := checkPath(in.Path); err != nil {
		return Response{}, err
	}
	if !underPrefix(in.Path, c.PathPrefixes) {
		return Response{}, refuse(fault.Forbidden, ReasonPath, fmt.Sprintf("connector %s allows only paths under %s", name, strings.Join(c.PathPrefixes, ", ")), nil)
	}
	out, err := s.call(ctx, project, env, c, st, method, in)
	outcome := "ok"
	var ce *callError
	if errors.As(err, &ce) {
		outcome = ce.reason
	} else if err != nil {
		outcome = "error"
	}
	out.DurationMs = time.Since(start).Milliseconds()
	if outcome == ReasonAddress || outcome == ReasonRedirect {
		s.egressRefused(ctx, project, env, name, c.BaseURL, outcome, err)
	}
	// The one log line of a call: never credentials, paths, queries or bodies.
	s.logger(ctx).Info("connector call", "project", project, "env", env, "connector", name, "method", method,
		"status", out.Status, "durationMs", out.DurationMs, "bytes", len(out.Body), "outcome", outcome)
	if err != nil {
		return Response{}, err
	}
	return out, nil
}

func (s *Service) call(ctx context.Context, project, env string, c Connector, st Settings, method string, in Request) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(c.TimeoutMs)*time.Millisecond)
	defer cancel()
	base, err := url.Parse(c.BaseURL)
	if err != nil {
		return Response{}, fault.E("connector.Invoke", fault.Internal, err)
	}
	policy := egress.NewPolicy(st.AllowNetworks)
	// An early, readable refusal; the binding check is at connect time.
	if err := (egress.Dialer{Policy: policy, Resolver: s.Resolver}).Precheck(ctx, base.Hostname()); err != nil {
		return Response{}, classify(ctx, c, err)
	}
	u := *base
	u.Path = strings.TrimSuffix(base.Path, "/") + in.Path
	q := url.Values{}
	for k, v := range in.Query {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	var body io.Reader
	contentType := ""
	if len(in.Body) > 0 && string(in.Body) != "null" {
		var text string
		if json.Unmarshal(in.Body, &text) == nil {
			body = strings.NewReader(text)
		} else {
			body, contentType = bytes.NewReader(in.Body), "application/json"
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return Response{}, fault.E("connector.Invoke", fault.Invalid, "the request cannot be built", err)
	}
	for k, v := range in.Headers {
		if !validHeaderName(k) || !httpguts.ValidHeaderFieldValue(v) {
			return Response{}, fault.E("connector.Invoke", fault.Invalid, fmt.Sprintf("header %q is not a valid header", k))
		}
		if reservedHeader(k) || (c.Auth.Kind == AuthAPIKey && http.CanonicalHeaderKey(k) == c.Auth.Header) {
			return Response{}, fault.E("connector.Invoke", fault.Invalid, fmt.Sprintf("header %s is set by the connector, not the caller", http.CanonicalHeaderKey(k)))
		}
		req.Header.Set(k, v)
	}
	stripHopByHop(req.Header)
	if contentType != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	t := s.transport(policy)
	if err := s.authenticate(ctx, project, env, c, t, req); err != nil {
		return Response{}, classify(ctx, c, err)
	}
	resp, err := guardedClient(t, c.PathPrefixes, strings.TrimSuffix(base.Path, "/")).Do(req)
	if err != nil {
		return Response{}, classify(ctx, c, err)
	}
	defer resp.Body.Close()
	out := Response{Status: resp.StatusCode, Headers: map[string]string{}}
	if resp.ContentLength > c.MaxResponseBytes {
		return out, refuse(fault.Unprocessable, ReasonTooLarge, fmt.Sprintf("the response (%d bytes) is over the connector's cap of %d bytes", resp.ContentLength, c.MaxResponseBytes), nil)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.MaxResponseBytes+1))
	if err != nil {
		return out, classify(ctx, c, err)
	}
	if int64(len(b)) > c.MaxResponseBytes {
		return out, refuse(fault.Unprocessable, ReasonTooLarge, fmt.Sprintf("the response is over the connector's cap of %d bytes", c.MaxResponseBytes), nil)
	}
	stripHopByHop(resp.Header)
	for k, v := range resp.Header {
		out.Headers[k] = strings.Join(v, ", ")
	}
	if utf8.Valid(b) {
		out.Body = string(b)
	} else {
		out.Body, out.BodyEncoding = base64.StdEncoding.EncodeToString(b), "base64"
	}
	return out, nil
}

// classify turns a transport error into a refusal with a reason.
func classify(ctx context.Context, c Connector, err error) error {
	var re *egress.RefusedError
	var ce *callError
	switch {
	case errors.As(err, &ce):
		return err
	case fault.KindOf(err) != fault.Other:
		return err
	case errors.As(err, &re):
		return refuse(fault.Unprocessable, ReasonAddress, fmt.Sprintf("connector %s: %s", c.Name, re.Error()), err)
	case errors.Is(err, errRedirect):
		return refuse(fault.Unprocessable, ReasonRedirect, fmt.Sprintf("connector %s: %s", c.Name, redirectDetail(err)), err)
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return refuse(fault.Unavailable, ReasonTimeout, fmt.Sprintf("connector %s did not answer within %d ms", c.Name, c.TimeoutMs), err)
	}
	return refuse(fault.Unavailable, ReasonNetwork, fmt.Sprintf("connector %s could not be reached", c.Name), err)
}

func redirectDetail(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.HasPrefix(e.Error(), errRedirect.Error()) {
			return e.Error()
		}
	}
	return errRedirect.Error()
}

// egressRefused records a refused outbound call as a security event: the
// connector, its host and why, never the path, query, credentials or body.
func (s *Service) egressRefused(ctx context.Context, project, env, name, baseURL, outcome string, err error) {
	host := ""
	if u, perr := url.Parse(baseURL); perr == nil {
		host = u.Host
	}
	target := "environments/" + env + "/connectors/" + name + " -> " + host
	e, ok := secevent.EgressEvent(project, target, err)
	switch {
	case outcome == ReasonRedirect:
		e = secevent.Event{Kind: secevent.EgressRefused, Reason: "redirect", Project: project, Target: target, Detail: fault.DetailOf(err)}
	case !ok:
		e = secevent.Event{Kind: secevent.EgressRefused, Reason: "ssrf-target", Project: project, Target: target, Detail: fault.DetailOf(err)}
	}
	secevent.Emit(ctx, s.Events, e)
}
