// Package contract checks HTTP answers against the API's OpenAPI document
// (api/openapi.yaml) with kin-openapi, a maintained OpenAPI 3.1 validator:
// hand-written checks of a document this size would drift from it, which
// is what the check exists to prevent.
//
// Every test server of handlertest wraps its handler with Middleware, so
// every response body that any test suite produces is validated against
// the schema the document declares for its operation and status.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/studio-collab/collab/api"
)

// Doc is the loaded document and a router over its operations.
type Doc struct {
	T      *openapi3.T
	router routers.Router
}

var (
	loadOnce sync.Once
	loaded   *Doc
	loadErr  error
)

// Load parses and validates api/openapi.yaml once per process.
func Load() (*Doc, error) {
	loadOnce.Do(func() { loaded, loadErr = parse(api.OpenAPI) })
	return loaded, loadErr
}

func parse(b []byte) (*Doc, error) {
	l := openapi3.NewLoader()
	t, err := l.LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("contract: loading api/openapi.yaml: %w", err)
	}
	if err := t.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contract: api/openapi.yaml is not valid OpenAPI: %w", err)
	}
	// The document's server is "/" (the origin that served it); the router
	// matches paths on any host.
	t.Servers = nil
	r, err := gorillamux.NewRouter(t)
	if err != nil {
		return nil, fmt.Errorf("contract: routing api/openapi.yaml: %w", err)
	}
	return &Doc{T: t, router: r}, nil
}

// Operation finds the documented operation of a request; ok is false for a
// path or method the document does not describe (the router's 404/405, the
// Functions host's non-HTTP invocations).
func (d *Doc) Operation(r *http.Request) (*routers.Route, map[string]string, bool) {
	route, params, err := d.router.FindRoute(r)
	if err != nil {
		return nil, nil, false
	}
	return route, params, true
}

// MaxBody is the largest response body validated; a larger one (a pack
// download) is checked for its status and content type only.
const MaxBody = 4 << 20

// CheckResponse validates one answer to r: its status must be declared for
// the operation, its content type declared for that status, and a JSON body
// must match the declared schema. It returns nil for requests the document
// does not describe.
func (d *Doc) CheckResponse(r *http.Request, status int, header http.Header, body []byte, truncated bool) error {
	route, params, ok := d.Operation(r)
	if !ok {
		return nil
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	ct, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	isJSON := ct == "application/json" || strings.HasSuffix(ct, "+json")
	if !isJSON || truncated || len(body) == 0 {
		opts.ExcludeResponseBody = true
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(r.Context(), in); err != nil {
		return fmt.Errorf("%s %s (%s) answered %d: %w", r.Method, r.URL.Path, route.Operation.OperationID, status, err)
	}
	if opts.ExcludeResponseBody && len(body) > 0 {
		// The body was not decoded; its media type must still be declared.
		resp := route.Operation.Responses.Status(status)
		if resp != nil && resp.Value != nil && len(resp.Value.Content) > 0 && resp.Value.Content.Get(header.Get("Content-Type")) == nil {
			return fmt.Errorf("%s %s (%s) answered %d with Content-Type %q, which the document does not declare",
				r.Method, r.URL.Path, route.Operation.OperationID, status, header.Get("Content-Type"))
		}
	}
	return nil
}

// problemDetail checks the project's rule for problem answers: a client
// error (and a 503, which says what is down) carries a `detail` that says
// what to change; only other 5xx keep their cause to the log.
func problemDetail(status int, header http.Header, body []byte, truncated bool) error {
	ct, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if ct != "application/problem+json" || truncated || (status >= 500 && status != http.StatusServiceUnavailable) {
		return nil
	}
	var p struct {
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return fmt.Errorf("problem body is not JSON: %w", err)
	}
	if strings.TrimSpace(p.Detail) == "" {
		return fmt.Errorf("a %d problem without a detail: %s", status, body)
	}
	return nil
}

// Middleware validates every answer of next that the document describes
// and hands each mismatch to report (a test server collects them and fails
// its test). The answer itself reaches the client unchanged and unbuffered.
func Middleware(d *Doc, next http.Handler, report func(error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := d.Operation(r); !ok {
			next.ServeHTTP(w, r)
			return
		}
		// The router may need the request after the handler consumed its body.
		probe := r.Clone(context.WithoutCancel(r.Context()))
		probe.Body = http.NoBody
		tw := &teeWriter{ResponseWriter: w}
		next.ServeHTTP(tw, r)
		status := tw.status
		if status == 0 {
			status = http.StatusOK
		}
		body := tw.buf.Bytes()
		if err := d.CheckResponse(probe, status, w.Header(), body, tw.truncated); err != nil {
			report(err)
		} else if err := problemDetail(status, w.Header(), body, tw.truncated); err != nil {
			report(fmt.Errorf("%s %s answered %d: %w", r.Method, r.URL.Path, status, err))
		}
	})
}

// teeWriter passes an answer through and keeps a copy of its first MaxBody
// bytes for validation.
type teeWriter struct {
	http.ResponseWriter
	status    int
	buf       bytes.Buffer
	truncated bool
}

func (t *teeWriter) WriteHeader(code int) {
	if t.status == 0 && code >= 200 {
		t.status = code
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *teeWriter) Write(p []byte) (int, error) {
	if t.status == 0 {
		t.status = http.StatusOK
	}
	if room := MaxBody - t.buf.Len(); room >= len(p) {
		t.buf.Write(p)
	} else {
		t.truncated = true
	}
	return t.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the server's writer (flushes,
// deadlines).
func (t *teeWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// Flush passes a streamed answer's flush through.
func (t *teeWriter) Flush() { _ = http.NewResponseController(t.ResponseWriter).Flush() }
