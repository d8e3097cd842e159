package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/connector"
	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/jobs"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// maximum is one write route at its documented caps (api/openapi.yaml):
// at the caps it succeeds; one past the named field it is refused with a
// problem naming the field, and the table it writes gains no row.
type maximum struct {
	route, field, cap string
	method, path      string
	who               string
	at, past          func(n int) any // n keeps ids apart between the two calls
	ok, refused       int
	table             string // where the route stores its row (measured)
}

// rowsOf is every row of a table of the server's storage.
func rowsOf(t *testing.T, a *handlertest.API, table string) []store.Entity {
	t.Helper()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: a.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	es, err := acct.Table(table).QueryAll(context.Background(), store.Filter{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func largest(es []store.Entity) int {
	n := 0
	for _, e := range es {
		n = max(n, store.EntitySize(e))
	}
	return n
}

func rep(c string, n int) string { return strings.Repeat(c, n) }

// TestRoutesAtTheirMaxima: every write route whose input ends up in a
// table row, at its caps and one past. Each row's largest stored entity is
// logged (as Azure counts it) for the table in docs/limits.md.
func TestRoutesAtTheirMaxima(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	expires := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	choices := make([]string, 20)
	for i := range choices {
		choices[i] = fmt.Sprintf("%02d%s", i, rep("<", 62))
	}
	var fields []map[string]any
	for i := range 30 {
		fields = append(fields, map[string]any{"name": fmt.Sprintf("Field %02d", i), "type": "choice", "choices": choices})
	}
	prefixes := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("/%03d%s", i, rep("<", 2044))
		}
		return out
	}
	rows := []maximum{
		{route: "POST /api/subscriptions/{s}/projects", field: "description", cap: "4096 bytes (name 200)", method: "POST", path: "/api/subscriptions/acme/projects", who: alice,
			at: func(n int) any {
				return map[string]any{"id": fmt.Sprintf("max-%d", n), "name": rep("<", 200), "description": rep("<", 4096)}
			},
			past: func(n int) any { return map[string]any{"id": fmt.Sprintf("max-%d", n), "description": rep("<", 4097)} }, ok: 201, refused: 400, table: "projects"},
		{route: "PATCH /api/projects/{p}", field: "name", cap: "200 bytes (description 4096)", method: "PATCH", path: "/api/projects/claims", who: alice,
			at:   func(int) any { return map[string]any{"name": rep("é", 100), "description": rep("<", 4096)} },
			past: func(int) any { return map[string]any{"name": rep("n", 201)} }, ok: 200, refused: 400, table: "projects"},
		{route: "POST /api/projects/{p}/teams", field: "name", cap: "200 bytes", method: "POST", path: "/api/projects/claims/teams", who: alice,
			at:   func(n int) any { return map[string]any{"id": fmt.Sprintf("team-%d", n), "name": rep("<", 200)} },
			past: func(n int) any { return map[string]any{"id": fmt.Sprintf("team-%d", n), "name": rep("<", 201)} }, ok: 201, refused: 400, table: "teams"},
		{route: "POST /api/subscriptions/{s}/users", field: "name", cap: "200 bytes", method: "POST", path: "/api/subscriptions/acme/users", who: alice,
			at: func(n int) any {
				return map[string]any{"email": fmt.Sprintf("max%d@example.com", n), "name": rep("<", 200)}
			},
			past: func(n int) any {
				return map[string]any{"email": fmt.Sprintf("max%d@example.com", n), "name": rep("<", 201)}
			}, ok: 201, refused: 400, table: "subusers"},
		{route: "PATCH /api/projects/{p}/environments/{env}", field: "workPortalUrl", cap: "2048 bytes", method: "PATCH", path: envBase, who: carol,
			at: func(int) any {
				return map[string]any{"workPortalUrl": "https://portal.example.com/" + rep("p", 2048-27)}
			},
			past: func(int) any {
				return map[string]any{"workPortalUrl": "https://portal.example.com/" + rep("p", 2049-27)}
			}, ok: 200, refused: 400, table: "environments"},
		{route: "PUT …/parameters/{name}", field: "value", cap: "8192 bytes (default 8192, description 1024, enum 100×256)", method: "PUT", path: envBase + "/parameters/big", who: carol,
			at: func(int) any {
				return map[string]any{"type": "string", "description": rep("<", 1024), "default": rep("<", 8192), "value": rep(">", 8192), "impact": "restart-portal"}
			},
			past: func(int) any { return map[string]any{"type": "string", "value": rep(">", 8193)} }, ok: 201, refused: 400, table: "parameters"},
		{route: "POST …/connectors", field: "pathPrefixes", cap: "32 items of 2048 bytes (baseUrl 2048, description 1024)", method: "POST", path: envBase + "/connectors", who: carol,
			at: func(n int) any {
				return map[string]any{"name": fmt.Sprintf("big-%d", n), "description": rep("<", 1024), "baseUrl": "https://api.example.com/" + rep("b", 2048-24),
					"pathPrefixes": prefixes(32), "methods": []string{"GET", "POST"}}
			},
			past: func(n int) any {
				return map[string]any{"name": fmt.Sprintf("big-%d", n), "baseUrl": "https://api.example.com", "pathPrefixes": prefixes(33)}
			}, ok: 201, refused: 400, table: "connectors"},
		{route: "POST …/email-tasks", field: "instructions", cap: "10,000 bytes (30 fields × 20 choices × 64, subject 200, callbackUrl 2048)", method: "POST", path: envBase + "/email-tasks", who: carol,
			at: func(n int) any {
				return map[string]any{"taskId": fmt.Sprintf("max-%d", n), "assignee": "bob@example.com", "subject": rep("<", 200), "instructions": rep("<", 10000),
					"fields": fields, "expiresAt": expires, "callbackUrl": "https://portal.example.com/" + rep("c", 2048-27)}
			},
			past: func(n int) any {
				return map[string]any{"taskId": fmt.Sprintf("max-%d", n), "assignee": "bob@example.com", "subject": "s", "instructions": rep("<", 10001),
					"fields": fields[:1], "expiresAt": expires, "callbackUrl": "https://portal.example.com/"}
			}, ok: 201, refused: 400, table: "emailtasks"},
		{route: "POST …/jobs", field: "target", cap: "2048 bytes (schedule 256)", method: "POST", path: envBase + "/jobs", who: carol,
			at: func(n int) any {
				return map[string]any{"name": fmt.Sprintf("max-%d", n), "schedule": "0 0 2 * * Sat", "target": "https://portal.example.com/" + rep("t", 2048-27)}
			},
			past: func(n int) any {
				return map[string]any{"name": fmt.Sprintf("max-%d", n), "schedule": "0 0 2 * * Sat", "target": "https://portal.example.com/" + rep("t", 2049-27)}
			}, ok: 201, refused: 400, table: "jobs"},
		{route: "PUT …/runtime", field: "portal.healthUrl", cap: "2048 bytes", method: "PUT", path: envBase + "/runtime", who: carol,
			at: func(int) any {
				return map[string]any{"portal": map[string]any{"healthUrl": "https://portal.example.com/" + rep("h", 2048-27)}}
			},
			past: func(int) any {
				return map[string]any{"portal": map[string]any{"healthUrl": "https://portal.example.com/" + rep("h", 2049-27)}}
			}, ok: 200, refused: 400, table: "deployenvs"},
	}
	for i, m := range rows {
		t.Run(m.route, func(t *testing.T) {
			if resp, body := a.Call(t, m.who, m.method, m.path, m.at(2*i), nil); resp.StatusCode != m.ok {
				t.Fatalf("at the caps: %d %v", resp.StatusCode, body)
			}
			stored := rowsOf(t, a, m.table)
			resp, body := a.Call(t, m.who, m.method, m.path, m.past(2*i+1), nil)
			if resp.StatusCode != m.refused || !strings.Contains(fmt.Sprint(body["detail"]), m.field) {
				t.Fatalf("past the cap of %s: %d %v", m.field, resp.StatusCode, body)
			}
			if after := rowsOf(t, a, m.table); len(after) != len(stored) || largest(after) != largest(stored) {
				t.Fatalf("the refused request stored something: %d rows, then %d", len(stored), len(after))
			}
			t.Logf("| %s | %s | %s | %d |", m.route, m.field, m.cap, largest(stored))
		})
	}

	// The catalog: the longest path and message commit; one byte more of
	// path is refused before anything is written.
	t.Run("POST …/catalog/checkins", func(t *testing.T) {
		path := "applications/claims/processes/intake"
		for len(path) < catalog.MaxPathBytes {
			path += "/" + rep("p", min(100, catalog.MaxPathBytes-len(path)-1))
		}
		a.Commit(t, carol, "claims", path)
		stored := rowsOf(t, a, "cataloghistory")
		content := []byte("x")
		sum := sha256.Sum256(content)
		h := hex.EncodeToString(sum[:])
		req, _ := http.NewRequest("PUT", a.URL+"/api/projects/claims/catalog/blobs/"+h, strings.NewReader("x"))
		req.Header.Set("Authorization", "Bearer "+a.Token(t, carol))
		up, err := a.Srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, up.Body)
		up.Body.Close()
		resp, body := a.Call(t, carol, "POST", "/api/projects/claims/catalog/checkins", map[string]any{"message": rep("<", catalog.MaxMessage),
			"changes": []map[string]any{{"op": "put", "path": path + "x", "baseVersion": 0, "sha256": h, "size": 1}}}, map[string]string{"Idempotency-Key": "too-long"})
		if resp.StatusCode != 413 || !strings.Contains(fmt.Sprint(body["detail"]), "changes[0].path") {
			t.Fatalf("a path past the cap: %d %v", resp.StatusCode, body)
		}
		if after := rowsOf(t, a, "cataloghistory"); len(after) != len(stored) {
			t.Fatal("the refused check-in stored history")
		}
		t.Logf("| POST …/catalog/checkins | changes[].path | %d bytes (message 4096, 10,000 changes) | %d (history row); feed rows ≤ %d |",
			catalog.MaxPathBytes, largest(stored), store.MaxEntityBytes)
	})
}

// TestDocumentedCapsAreEnforced: the caps api/openapi.yaml publishes for
// the fields above are the constants the code enforces.
func TestDocumentedCapsAreEnforced(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	at := func(path ...string) any {
		var v any = doc
		for _, k := range path {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: no %s", path, k)
			}
			v = m[k]
		}
		return v
	}
	schema := func(name string) []string { return []string{"components", "schemas", name, "properties"} }
	cases := []struct {
		path []string
		want int
	}{
		{append(schema("CheckinRequest"), "changes", "items", "properties", "path", "maxLength"), catalog.MaxPathBytes},
		{append(schema("CheckinRequest"), "message", "maxLength"), catalog.MaxMessage},
		{append(schema("CheckinRequest"), "changes", "maxItems"), catalog.MaxChanges},
		{append(schema("Connector"), "pathPrefixes", "maxItems"), connector.MaxPathPrefixes},
		{append(schema("Connector"), "baseUrl", "maxLength"), connector.MaxURLBytes},
		{append(schema("EmailTaskSpec"), "callbackUrl", "maxLength"), mail.MaxCallbackURL},
		{append(schema("RuntimeEndpoint"), "healthUrl", "maxLength"), deploy.MaxURLBytes},
		{[]string{"paths", "/api/subscriptions/{s}/projects", "post", "requestBody", "content", "application/json", "schema", "properties", "description", "maxLength"}, platform.MaxDescriptionBytes},
		{[]string{"paths", "/api/projects/{p}/teams", "post", "requestBody", "content", "application/json", "schema", "properties", "name", "maxLength"}, platform.MaxNameBytes},
		{[]string{"paths", "/api/projects/{p}/environments/{env}/jobs", "post", "requestBody", "content", "application/json", "schema", "properties", "target", "maxLength"}, jobs.MaxTargetBytes},
	}
	for _, c := range cases {
		if got, _ := at(c.path...).(int); got != c.want {
			t.Errorf("%s: documented %v, enforced %d", strings.Join(c.path, "."), at(c.path...), c.want)
		}
	}
}
