package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// ProblemTypeBase prefixes every problem type URI; docs/problems.md lists
// them. The URIs are identifiers (RFC 9457 §3.1.1), stable across releases.
const ProblemTypeBase = "https://studio-collab.dev/problems/"

// Problem is an RFC 9457 problem details object. Extra members (the list of
// conflicting paths, the field that failed, ...) go in Extensions and are
// written at the top level of the JSON object, as the RFC asks.
type Problem struct {
	Type       string
	Title      string
	Status     int
	Detail     string
	Instance   string
	RequestID  string
	Extensions map[string]any
}

// MarshalJSON flattens Extensions beside the standard members; a standard
// member always wins over an extension of the same name.
func (p Problem) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(p.Extensions)+6)
	for k, v := range p.Extensions {
		m[k] = v
	}
	m["type"] = p.Type
	m["title"] = p.Title
	m["status"] = p.Status
	if p.Detail != "" {
		m["detail"] = p.Detail
	}
	if p.Instance != "" {
		m["instance"] = p.Instance
	}
	if p.RequestID != "" {
		m["requestId"] = p.RequestID
	}
	return json.Marshal(m)
}

type problemType struct {
	status int
	title  string
}

// problemTypes is the one table from error kind to HTTP status. The problem
// type URI is ProblemTypeBase + the kind's slug.
var problemTypes = map[fault.Kind]problemType{
	fault.Invalid:            {http.StatusBadRequest, "The request is not valid"},
	fault.Unauthenticated:    {http.StatusUnauthorized, "Authentication is required"},
	fault.Forbidden:          {http.StatusForbidden, "Not allowed"},
	fault.NotFound:           {http.StatusNotFound, "Not found"},
	fault.MethodNotAllowed:   {http.StatusMethodNotAllowed, "Method not allowed"},
	fault.Conflict:           {http.StatusConflict, "Conflict with the current state"},
	fault.PreconditionFailed: {http.StatusPreconditionFailed, "Precondition failed"},
	fault.Locked:             {http.StatusLocked, "Locked"},
	fault.TooLarge:           {http.StatusRequestEntityTooLarge, "Request too large"},
	fault.Unprocessable:      {http.StatusUnprocessableEntity, "Request cannot be processed"},
	fault.Unavailable:        {http.StatusServiceUnavailable, "Service unavailable"},
	fault.Internal:           {http.StatusInternalServerError, "Internal error"},
	fault.Gone:               {http.StatusGone, "No longer available"},
	fault.Misdirected:        {http.StatusMisdirectedRequest, "Served by another stamp"},
	fault.Other:              {http.StatusInternalServerError, "Internal error"},
}

// StatusOf is the HTTP status for an error.
func StatusOf(err error) int { return typeOf(fault.KindOf(err)).status }

func typeOf(k fault.Kind) problemType {
	if pt, ok := problemTypes[k]; ok {
		return pt
	}
	return problemTypes[fault.Internal]
}

// ProblemFor builds the problem for an error. Internal errors never expose
// their cause: the detail is generic and the cause goes to the log only.
func ProblemFor(r *http.Request, err error) Problem {
	k := fault.KindOf(err)
	if k == fault.Other {
		k = fault.Internal
	}
	pt := typeOf(k)
	p := Problem{
		Type:      ProblemTypeBase + k.String(),
		Title:     pt.title,
		Status:    pt.status,
		RequestID: RequestID(r.Context()),
		Instance:  r.URL.Path,
	}
	if pt.status < 500 || k == fault.Unavailable {
		p.Detail = fault.DetailOf(err)
	}
	if path := fault.PathOf(err); path != "" && pt.status < 500 {
		p.Extensions = map[string]any{"path": path}
	}
	var ext interface{ ProblemExtensions() map[string]any }
	if asExt(err, &ext) {
		if p.Extensions == nil {
			p.Extensions = map[string]any{}
		}
		for k, v := range ext.ProblemExtensions() {
			p.Extensions[k] = v
		}
	}
	return p
}

// Error writes err as a problem and logs it: server errors at error level
// with the cause, client errors at debug level.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	if abandoned(r) {
		// The client went away and the error is (most likely) the
		// cancellation reaching storage: nobody reads an answer, and it is
		// not an outage (DESIGN §5). One info line, no error-level log,
		// which the Functions host would count as a failure.
		setOutcome(w, OutcomeCancelled)
		Logger(r.Context()).Info("request abandoned by the client", "error", err.Error())
		return
	}
	p := ProblemFor(r, err)
	lvl := slog.LevelDebug
	if p.Status >= 500 {
		lvl = slog.LevelError
	}
	Logger(r.Context()).Log(r.Context(), lvl, "request failed", "status", p.Status, "error", err.Error())
	var ra interface{ RetryAfter() time.Duration }
	if p.Status == http.StatusServiceUnavailable && errors.As(err, &ra) && ra.RetryAfter() > 0 {
		// The domain knows when to come back (a lease that runs out).
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(ra.RetryAfter().Seconds()))))
	}
	if p.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		// A 503 always says when to come back (DESIGN §5); the CLI and the
		// console honour it instead of treating the failure as final.
		w.Header().Set("Retry-After", strconv.Itoa(DefaultRetryAfter))
	}
	WriteProblem(w, p)
}

// DefaultRetryAfter is the Retry-After, in seconds, of a 503 that did not
// set its own: a dependency (storage, the identity provider) is expected
// back within seconds.
const DefaultRetryAfter = 5

// WriteProblem writes p with its status and the problem+json content type.
func WriteProblem(w http.ResponseWriter, p Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Del("Content-Length")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// JSON writes v as a JSON answer with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
