package handlers

import (
	"log/slog"
	"os"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/studio-collab/collab/shared/httpapi"
)

// openAPIDoc is the part of api/openapi.yaml the consistency check reads.
type openAPIDoc struct {
	OpenAPI string                                 `yaml:"openapi"`
	Paths   map[string]map[string]openAPIOperation `yaml:"paths"`
}

type openAPIOperation struct {
	OperationID string            `yaml:"operationId"`
	Security    *[]map[string]any `yaml:"security"`
	Responses   map[string]any    `yaml:"responses"`
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	b, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	return doc
}

// routeKey spells a route the same way for the router and the document;
// parameter names do not count ({p} and {project} are the same route).
func routeKey(method, path string) string {
	path = strings.TrimSuffix(path, "{$}") // ServeMux's "exactly /" is the document's "/"
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return strings.ToUpper(method) + " " + strings.Join(segs, "/")
}

func registeredRoutes() []httpapi.Route {
	rt := httpapi.NewRouter(slog.Default(), nil, 0)
	Register(rt, Deps{})
	return rt.Routes()
}

// diffRoutes reports the routes only in the router and only in the document.
func diffRoutes(routes []httpapi.Route, doc openAPIDoc) (undocumented, unrouted []string) {
	inRouter := map[string]bool{}
	for _, r := range routes {
		inRouter[routeKey(r.Method, r.Pattern)] = true
	}
	inDoc := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if httpMethods[method] {
				inDoc[routeKey(method, path)] = true
			}
		}
	}
	for k := range inRouter {
		if !inDoc[k] {
			undocumented = append(undocumented, k)
		}
	}
	for k := range inDoc {
		if !inRouter[k] {
			unrouted = append(unrouted, k)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(unrouted)
	return undocumented, unrouted
}

func TestOpenAPIMatchesRouter(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi version %q, want 3.1.x", doc.OpenAPI)
	}
	undocumented, unrouted := diffRoutes(registeredRoutes(), doc)
	for _, k := range undocumented {
		t.Errorf("route %s is served but not in api/openapi.yaml", k)
	}
	for _, k := range unrouted {
		t.Errorf("api/openapi.yaml documents %s, which no handler serves", k)
	}
}

// TestOpenAPIDiffDetectsDrift proves the check above can fail: a route added
// to the router without documentation, and a documented route removed from
// the router, are both reported.
func TestOpenAPIDiffDetectsDrift(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	routes := append(registeredRoutes(), httpapi.Route{Method: "POST", Pattern: "/api/undocumented/{id}"})
	undocumented, _ := diffRoutes(routes, doc)
	if len(undocumented) != 1 || undocumented[0] != "POST /api/undocumented/{}" {
		t.Fatalf("added route not reported: %v", undocumented)
	}
	_, unrouted := diffRoutes(nil, doc)
	if len(unrouted) == 0 {
		t.Fatal("documented routes with no handler not reported")
	}
}

func TestOpenAPIOperationsAreComplete(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	public := map[string]bool{}
	for _, r := range registeredRoutes() {
		if r.Public {
			public[routeKey(r.Method, r.Pattern)] = true
		}
	}
	ids := map[string]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if !httpMethods[method] {
				continue
			}
			key := routeKey(method, path)
			if op.OperationID == "" {
				t.Errorf("%s has no operationId", key)
			} else if prev, dup := ids[op.OperationID]; dup {
				t.Errorf("operationId %s used by %s and %s", op.OperationID, prev, key)
			}
			ids[op.OperationID] = key
			if len(op.Responses) == 0 {
				t.Errorf("%s documents no responses", key)
			}
			// The document must say which routes are anonymous, and only those.
			docPublic := op.Security != nil && len(*op.Security) == 0
			if docPublic != public[key] {
				t.Errorf("%s: anonymous in the document = %v, in the router = %v", key, docPublic, public[key])
			}
		}
	}
}
