package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/contract"
	"github.com/studio-collab/collab/shared/platform"
)

// The contract test is generated from api/openapi.yaml: every operation the
// document lists is probed, so an operation added to the document (and the
// router: TestOpenAPIMatchesRouter) is covered without a line here. Each
// answer must be a status the operation declares and, for an error, an
// application/problem+json with a detail (the server's validation hook,
// shared/contract, also checks every body against its schema).
//
//   - without a token: 401 (every operation not marked `security: []`);
//   - with a malformed JSON body: 400 (every operation with a JSON body);
//   - with a stale If-Match: 412 (every operation declaring If-Match);
//   - with a replayed Idempotency-Key: the first answer again, and 422 for
//     another body under the same key (every operation declaring it); an
//     operation that answers that 422 without declaring the header fails.

// contractWorld is the fixture's world plus one of each resource a path can
// name, so the probes reach the handlers' checks instead of a 404.
type contractWorld struct {
	a      *handlertest.API
	params map[string]string // path parameter -> value ("name" and "id" depend on the path)
	// bodies are the valid bodies a schema cannot spell (a CIDR, a principal,
	// a name that must be the path's), by operationId; queries likewise.
	bodies, queries map[string]string
}

func newContractWorld(t *testing.T) *contractWorld {
	a, _ := deployFixture(t)
	env := "/api/projects/claims/environments/development"
	a.Must(t, alice, "POST", env+"/jobs", map[string]any{"name": "nightly", "schedule": "0 0 2 * * *", "timeZone": "UTC", "target": "/jobs/close"}, 201)
	a.Must(t, alice, "PUT", env+"/parameters/pageSize", map[string]any{"type": "int", "value": 20}, 201)
	a.Must(t, alice, "POST", env+"/connectors", map[string]any{"name": "crm", "baseUrl": "https://crm.example.com"}, 201)
	seq := a.Commit(t, alice, "claims", "entities/application/Claim") // a restart-needing change: its window is w000001
	reconcile(t, a)
	lock := a.Must(t, alice, "POST", "/api/projects/claims/catalog/locks", map[string]any{"path": "applications/claims/forms"}, 201)
	inv := a.Must(t, alice, "POST", "/api/subscriptions/acme/users", map[string]any{"email": "frank@example.com"}, 201)
	return &contractWorld{a: a, params: map[string]string{
		"s": "acme", "p": "claims", "env": "development", "t": "finance", "u": platform.UserID(bob),
		"token": fmt.Sprint(inv["token"]), "job": "nightly", "seq": fmt.Sprint(seq), "sha256": strings.Repeat("0", 64),
		"lock": fmt.Sprint(lock["id"]), "parameter": "pageSize", "connector": "crm", "path": "index.html", "window": "w000001",
	}, bodies: map[string]string{
		"patchEnvironment":     `{"workPortalUrl":"https://portal.example.com/claims"}`,
		"putConnectorSettings": `{"allowNetworks":["10.1.0.0/16"]}`,
		"putConnector":         `{"name":"crm","baseUrl":"https://crm.example.com"}`,
		"rescheduleWindow":     `{"start":"` + a.Now().Add(48*time.Hour).UTC().Format(time.RFC3339) + `"}`,
		"putSecurityEntry":     `{"path":"applications/claims","principal":"user:` + platform.UserID(bob) + `","level":"deny"}`,
	}, queries: map[string]string{
		"deleteSecurityEntry": "path=applications%2Fclaims&principal=user:" + platform.UserID(bob),
	}}
}

// pathFor fills an operation's path template from the world.
func (w *contractWorld) pathFor(tmpl string) string {
	return regexp.MustCompile(`\{([^}]+)\}`).ReplaceAllStringFunc(tmpl, func(m string) string {
		name := m[1 : len(m)-1]
		switch {
		case name == "name" && strings.Contains(tmpl, "/connectors/"):
			name = "connector"
		case name == "name":
			name = "parameter"
		case name == "id" && strings.Contains(tmpl, "/locks/"):
			name = "lock"
		case name == "id" && strings.Contains(tmpl, "/windows/"):
			name = "window"
		}
		if v, ok := w.params[name]; ok {
			return url.PathEscape(v)
		}
		return "none" // an id the world has none of (an e-mail task): the answer is checked, not its status
	})
}

type contractOp struct {
	method, path string
	op           *openapi3.Operation
}

func (o contractOp) String() string { return o.method + " " + o.path + " (" + o.op.OperationID + ")" }

func (o contractOp) declares(header string) bool {
	for _, p := range o.op.Parameters {
		if p.Value != nil && p.Value.In == "header" && strings.EqualFold(p.Value.Name, header) {
			return true
		}
	}
	return false
}

func (o contractOp) jsonBody() *openapi3.Schema {
	rb := o.op.RequestBody
	if rb == nil || rb.Value == nil {
		return nil
	}
	mt := rb.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return nil
	}
	return mt.Schema.Value
}

func (o contractOp) public() bool { return o.op.Security != nil && len(*o.op.Security) == 0 }

// contractOps lists the document's operations, writes that delete last (so
// they do not take the world's resources from the probes after them).
func contractOps(t *testing.T) []contractOp {
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	var ops []contractOp
	for path, item := range doc.T.Paths.Map() {
		for method, op := range item.Operations() {
			ops = append(ops, contractOp{method: method, path: path, op: op})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		di, dj := ops[i].method == http.MethodDelete, ops[j].method == http.MethodDelete
		if di != dj {
			return dj
		}
		return ops[i].String() < ops[j].String()
	})
	return ops
}

// answer is one response, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (w *contractWorld) send(t *testing.T, o contractOp, who string, body []byte, hdr map[string]string) answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	u := w.a.URL + w.pathFor(o.path)
	if q := w.queries[o.op.OperationID]; q != "" {
		u += "?" + q
	}
	req, err := http.NewRequest(o.method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+w.a.Token(t, who))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := w.a.Srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// findings are the probes' disagreements with the document.
type findings []string

func (f *findings) add(format string, args ...any) { *f = append(*f, fmt.Sprintf(format, args...)) }

// expect records a finding unless got is want, declared by the operation,
// and a problem with a detail.
func (f *findings) expect(o contractOp, probe string, got answer, want int) {
	if got.status != want {
		f.add("%s %s: %d, want %d: %s", o, probe, got.status, want, got.body)
		return
	}
	if o.op.Responses.Status(want) == nil {
		f.add("%s %s: answers %d, which the document does not declare", o, probe, want)
	}
	ct, _, _ := mime.ParseMediaType(got.header.Get("Content-Type"))
	var p struct {
		Detail string `json:"detail"`
	}
	if ct != "application/problem+json" || json.Unmarshal(got.body, &p) != nil || p.Detail == "" {
		f.add("%s %s: %d is not a problem with a detail (%s): %s", o, probe, got.status, ct, got.body)
	}
}

func TestContractOfEveryOperation(t *testing.T) {
	t.Parallel()
	w := newContractWorld(t)
	ops := contractOps(t)
	if len(ops) < 90 {
		t.Fatalf("only %d operations in the document", len(ops))
	}
	var f findings
	probes := 0
	for _, o := range ops {
		probes += w.probeBasics(t, &f, o)
	}
	for _, o := range ops {
		probes += w.probeIfMatch(t, &f, o) + w.probeIdempotency(t, &f, o)
	}
	for _, msg := range f {
		t.Error(msg)
	}
	t.Logf("%d operations, %d probes", len(ops), probes)
}

// probeBasics: no token (401) and a malformed JSON body (400).
func (w *contractWorld) probeBasics(t *testing.T, f *findings, o contractOp) int {
	n := 0
	if !o.public() {
		f.expect(o, "without a token", w.send(t, o, "", nil, nil), http.StatusUnauthorized)
		n++
	}
	if o.jsonBody() != nil {
		f.expect(o, "with a malformed body", w.send(t, o, alice, []byte(`{"malformed":`), nil), http.StatusBadRequest)
		n++
	}
	return n
}

// TestContractTestDetectsDrift proves the probes can fail: the document's
// operations with one thing taken away (a declared If-Match, a declared
// Idempotency-Key, a declared 401) are each reported against the server.
func TestContractTestDetectsDrift(t *testing.T) {
	t.Parallel()
	w := newContractWorld(t)
	byID := map[string]contractOp{}
	for _, o := range contractOps(t) {
		byID[o.op.OperationID] = o
	}
	without := func(id, header string) contractOp {
		o := byID[id]
		op := *o.op
		op.Parameters = nil
		for _, p := range o.op.Parameters {
			if !strings.EqualFold(p.Value.Name, header) {
				op.Parameters = append(op.Parameters, p)
			}
		}
		o.op = &op
		return o
	}
	me := byID["getMe"]
	op := *me.op
	op.Responses = openapi3.NewResponses()
	for code, r := range me.op.Responses.Map() {
		if code != "401" {
			op.Responses.Set(code, r)
		}
	}
	me.op = &op
	cases := []struct {
		name  string
		probe func(*findings)
		want  string
	}{
		{"If-Match honoured, not declared", func(f *findings) { w.probeIfMatch(t, f, without("patchUser", "If-Match")) }, "does not declare the header"},
		{"Idempotency-Key honoured, not declared", func(f *findings) { w.probeIdempotency(t, f, without("createTeam", "Idempotency-Key")) }, "does not declare it"},
		{"401 answered, not declared", func(f *findings) { w.probeBasics(t, f, me) }, "which the document does not declare"},
	}
	for _, c := range cases {
		var f findings
		c.probe(&f)
		if len(f) != 1 || !strings.Contains(f[0], c.want) {
			t.Errorf("%s: findings %q, want one containing %q", c.name, f, c.want)
		}
	}
}

// sampleBody is a request body made from the operation's schema (the
// world's names where the schema has no enum), or nil without a JSON body.
func (w *contractWorld) sampleBody(o contractOp) []byte {
	if b, ok := w.bodies[o.op.OperationID]; ok {
		return []byte(b)
	}
	s := o.jsonBody()
	if s == nil {
		return nil
	}
	b, _ := json.Marshal(sample(s, 0))
	return b
}

func sample(s *openapi3.Schema, depth int) any {
	switch {
	case s == nil || depth > 6:
		return nil
	case s.Const != nil:
		return s.Const
	case len(s.Enum) > 0:
		return s.Enum[0]
	case len(s.OneOf) > 0:
		return sample(s.OneOf[0].Value, depth+1)
	case len(s.AnyOf) > 0:
		return sample(s.AnyOf[0].Value, depth+1)
	case len(s.AllOf) > 0:
		out := map[string]any{}
		for _, sub := range s.AllOf {
			if m, ok := sample(sub.Value, depth+1).(map[string]any); ok {
				for k, v := range m {
					out[k] = v
				}
			}
		}
		return out
	}
	switch {
	case s.Type.Is("object") || len(s.Properties) > 0:
		out := map[string]any{}
		names := s.Required
		if len(names) == 0 { // a patch: every member it can change
			for n := range s.Properties {
				names = append(names, n)
			}
		}
		for _, n := range names {
			if p := s.Properties[n]; p != nil {
				out[n] = sample(p.Value, depth+1)
			}
		}
		return out
	case s.Type.Is("array"):
		out := []any{}
		for range max(int(s.MinItems), 1) {
			out = append(out, sample(s.Items.Value, depth+1))
		}
		return out
	case s.Type.Includes("integer"), s.Type.Includes("number"):
		if s.Min != nil {
			return *s.Min
		}
		return 1
	case s.Type.Includes("boolean"):
		return false
	case s.Type.Includes("string"):
		switch s.Format {
		case "date-time":
			return "2030-01-01T00:00:00Z"
		case "email":
			return "sample@example.com"
		case "uri":
			return "https://sample.example.com/"
		}
		return strings.Repeat("x", max(int(s.MinLength), 1))
	}
	return nil
}

// probeIfMatch: an operation that declares If-Match answers 412 to a stale
// one; an operation that does not declare it must not answer 412 (it would
// honour a header the document hides).
func (w *contractWorld) probeIfMatch(t *testing.T, f *findings, o contractOp) int {
	if o.method == http.MethodGet || o.public() {
		return 0
	}
	got := w.send(t, o, alice, w.sampleBody(o), map[string]string{"If-Match": `"stale-etag"`})
	switch {
	case o.declares("If-Match") && strings.Contains(w.pathFor(o.path), "/none"):
		t.Logf("%s: no such resource in the world, a stale If-Match answers %d", o, got.status)
	case o.declares("If-Match"):
		f.expect(o, "with a stale If-Match", got, http.StatusPreconditionFailed)
	case got.status == http.StatusPreconditionFailed:
		f.add("%s answers 412 to a stale If-Match but does not declare the header: %s", o, got.body)
	}
	return 1
}

// probeIdempotency: an operation that declares Idempotency-Key answers a
// replay with its first answer and another body under the key with 422;
// one that does not declare it must not answer that 422.
func (w *contractWorld) probeIdempotency(t *testing.T, f *findings, o contractOp) int {
	if o.method != http.MethodPost || o.public() {
		return 0
	}
	key := map[string]string{"Idempotency-Key": "contract-" + o.op.OperationID}
	body := w.sampleBody(o)
	if body == nil {
		body = []byte("{}")
	}
	first := w.send(t, o, alice, body, key)
	again := w.send(t, o, alice, body, key)
	other := w.send(t, o, alice, append(body, ' '), key)
	if !o.declares("Idempotency-Key") {
		if other.status == http.StatusUnprocessableEntity && strings.Contains(string(other.body), "Idempotency-Key") {
			f.add("%s honours Idempotency-Key but does not declare it: %s", o, other.body)
		}
		return 1
	}
	if first.status >= 500 || again.status != first.status || !bytes.Equal(again.body, first.body) {
		f.add("%s: a replayed Idempotency-Key answered %d %s, the first answer was %d %s", o, again.status, again.body, first.status, first.body)
	}
	f.expect(o, "with another body under a used Idempotency-Key", other, http.StatusUnprocessableEntity)
	return 1
}
