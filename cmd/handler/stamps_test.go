package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/store/azurite"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// stampSet is a local multi-stamp deployment: each stamp is the real
// handler binary on an Azurite of its own; all share one directory Azurite
// and trust the same dev issuer (one key, one issuer URL), as every stamp
// trusts the same Entra tenant in Azure.
type stampSet struct {
	urls    map[string]string
	storage map[string]*azurite.Server
	procs   map[string]*handlerProcess
}

func startStamps(t *testing.T, dedicated map[string]string, names ...string) *stampSet {
	t.Helper()
	dir := azuritetest.Fresh(t)
	s := &stampSet{urls: map[string]string{}, storage: map[string]*azurite.Server{}, procs: map[string]*handlerProcess{}}
	ports := map[string]int{}
	var list []string
	for _, n := range names {
		ports[n] = freePort(t)
		s.urls[n] = "http://127.0.0.1:" + strconv.Itoa(ports[n])
		list = append(list, n+"="+s.urls[n])
	}
	key := filepath.Join(t.TempDir(), "dev-issuer.pem")
	issuer := s.urls[names[0]] + "/api/dev"
	for _, n := range names {
		s.storage[n] = azuritetest.Fresh(t)
		env := []string{"COLLAB_STAMP=" + n, "COLLAB_STAMP_URLS=" + strings.Join(list, ","), "COLLAB_DIRECTORY=" + dir.ConnectionString(),
			"COLLAB_DEV_AUTH=true", "COLLAB_DEV_ISSUER_URL=" + issuer, "COLLAB_DEV_ISSUER_KEY_FILE=" + key}
		if d := dedicated[n]; d != "" {
			env = append(env, "COLLAB_DEDICATED_SUBSCRIPTION="+d)
		}
		s.procs[n] = startHandlerOn(t, ports[n], s.storage[n], env...)
	}
	for _, n := range names {
		s.procs[n].waitHealthy(t, 30*time.Second)
	}
	return s
}

// call sends a JSON request with a bearer token and decodes the answer;
// redirects are not followed (the test looks at them).
func call(t *testing.T, token, method, url string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// dump is everything an Azurite holds in tables and blobs, as text: the
// test searches it for a customer's ids.
func dump(t *testing.T, srv *azurite.Server) string {
	t.Helper()
	ctx := context.Background()
	var out strings.Builder
	ts, err := aztables.NewServiceClientFromConnectionString(srv.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tp := ts.NewListTablesPager(nil)
	for tp.More() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range page.Tables {
			ep := ts.NewClient(*tb.Name).NewListEntitiesPager(nil)
			for ep.More() {
				es, err := ep.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range es.Entities {
					fmt.Fprintf(&out, "table %s: %s\n", *tb.Name, e)
				}
			}
		}
	}
	bs, err := azblob.NewClientFromConnectionString(srv.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cp := bs.NewListContainersPager(nil)
	for cp.More() {
		page, err := cp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.ContainerItems {
			bp := bs.NewListBlobsFlatPager(*c.Name, nil)
			for bp.More() {
				blobs, err := bp.NextPage(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, b := range blobs.Segment.BlobItems {
					fmt.Fprintf(&out, "blob %s/%s: ", *c.Name, *b.Name)
					resp, err := bs.DownloadStream(ctx, *c.Name, *b.Name, nil)
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
					resp.Body.Close()
					out.Write(body)
					out.WriteString("\n")
				}
			}
		}
	}
	return out.String()
}

var collabBuilt = &binary{pkg: "../collab", name: "collab"}

// collab runs the real CLI with its configuration in configDir.
func collab(t *testing.T, configDir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(collabBuilt.get(t), args...)
	cmd.Env = append(os.Environ(), "COLLAB_CONFIG_DIR="+configDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("collab %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestTwoStamps is the local simulation of a multi-region deployment
// (issue 22): a subscription homed in stamp A is served by A and answered
// 421 naming A by stamp B, for every kind of scoped route, and nothing of
// it is ever written to B's storage; creating a subscription picks its home
// (this stamp, or an explicit one, which B sends to A); ids are global; a
// dedicated stamp refuses every other customer; the collab CLI pointed at
// B works unchanged, following the 421 to A.
func TestTwoStamps(t *testing.T) {
	t.Parallel()
	s := startStamps(t, map[string]string{"c": "solo"}, "a", "b", "c")
	a, b, c := s.urls["a"], s.urls["b"], s.urls["c"]
	alice := devToken(t, b, "alice@example.com") // any stamp's dev issuer: the same key and issuer
	// A subscription created at A is homed in A; its project too.
	if code, m := call(t, alice, "POST", a+"/api/subscriptions", map[string]string{"id": "northwind", "name": "Northwind"}); code != 201 || m["home"] != "a" {
		t.Fatalf("create at A: %d %v", code, m)
	}
	if code, m := call(t, alice, "POST", a+"/api/subscriptions/northwind/projects", map[string]string{"id": "orders"}); code != 201 {
		t.Fatalf("project at A: %d %v", code, m)
	}
	if code, m := call(t, alice, "GET", a+"/api/projects/orders", nil); code != 200 || m["subscriptionId"] != "northwind" {
		t.Fatalf("A serves its project: %d %v", code, m)
	}
	// B answers 421 naming A for every kind of scoped route, reads and writes.
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/subscriptions/northwind"},
		{"POST", "/api/subscriptions/northwind/projects"},
		{"GET", "/api/projects/orders"},
		{"DELETE", "/api/projects/orders"},
		{"PUT", "/api/projects/orders/environments/development/parameters/Region"},
		{"POST", "/api/projects/orders/catalog/checkins"},
		{"GET", "/api/projects/orders/catalog/changes"},
	} {
		code, m := call(t, alice, r.method, b+r.path, map[string]any{"id": "x", "value": "eu"})
		if code != http.StatusMisdirectedRequest || m["type"] != httpapi.ProblemTypeBase+"misdirected" || m["home"] != "a" || m["homeUrl"] != a {
			t.Errorf("%s %s at B: %d %v", r.method, r.path, code, m)
		}
	}
	// Without a token B says nothing about where anything lives.
	if code, _ := call(t, "", "GET", b+"/api/projects/orders", nil); code != 401 {
		t.Fatalf("anonymous at B: %d", code)
	}
	// Creation picks the home: an explicit other home is sent there; ids are global.
	if code, m := call(t, alice, "POST", b+"/api/subscriptions", map[string]string{"id": "fabrikam", "home": "a"}); code != 421 || m["homeUrl"] != a {
		t.Fatalf("explicit home A at B: %d %v", code, m)
	}
	if code, m := call(t, alice, "POST", b+"/api/subscriptions", map[string]string{"id": "fabrikam", "home": "mars"}); code != 400 {
		t.Fatalf("unknown home: %d %v", code, m)
	}
	if code, m := call(t, alice, "POST", b+"/api/subscriptions", map[string]string{"id": "northwind"}); code != 409 {
		t.Fatalf("northwind again at B: %d %v", code, m)
	}
	if code, m := call(t, alice, "POST", b+"/api/subscriptions", map[string]string{"id": "contoso"}); code != 201 || m["home"] != "b" {
		t.Fatalf("create at B: %d %v", code, m)
	}
	if code, m := call(t, alice, "POST", b+"/api/subscriptions/contoso/projects", map[string]string{"id": "orders"}); code != 409 {
		t.Fatalf("project id taken in another stamp: %d %v", code, m)
	}
	if code, m := call(t, alice, "GET", a+"/api/subscriptions/contoso", nil); code != 421 || m["homeUrl"] != b {
		t.Fatalf("contoso at A: %d %v", code, m)
	}

	// The CLI pointed at B follows the 421 to A: members, a clone, a push.
	cfg := t.TempDir()
	collab(t, cfg, "login", "--api", b, "--email", "alice@example.com")
	// (collab fails on a 421 it did not follow; alice is an owner through
	// the subscription, so the project's member list is empty.)
	if out := collab(t, cfg, "members", "orders"); !strings.Contains(out, "ROLE") {
		t.Fatalf("collab members through B: %s", out)
	}
	work := filepath.Join(t.TempDir(), "orders")
	collab(t, cfg, "clone", "orders", work)
	if err := os.MkdirAll(filepath.Join(work, "applications", "orders"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "applications", "orders", "app.json"), []byte(`{"northwind-marker":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := collab(t, cfg, "push", "-C", work, "-m", "first"); !strings.Contains(out, "pushed commit 1") {
		t.Fatalf("collab push through B: %s", out)
	}
	if code, m := call(t, alice, "GET", a+"/api/projects/orders/catalog/changes?since=0", nil); code != 200 || fmt.Sprint(m["head"]) != "1" {
		t.Fatalf("the push landed in A: %d %v", code, m)
	}

	// A dedicated stamp serves its one customer and refuses every other.
	if code, m := call(t, alice, "POST", c+"/api/subscriptions", map[string]string{"id": "intruder"}); code != 403 {
		t.Fatalf("another subscription at the dedicated stamp: %d %v", code, m)
	}
	if code, m := call(t, alice, "POST", c+"/api/subscriptions", map[string]string{"id": "solo"}); code != 201 || m["home"] != "c" {
		t.Fatalf("its own subscription: %d %v", code, m)
	}
	for _, p := range []string{"/api/subscriptions/northwind", "/api/projects/orders", "/api/subscriptions/contoso/users"} {
		if code, m := call(t, alice, "GET", c+p, nil); code != 404 {
			t.Errorf("foreign %s at the dedicated stamp: %d %v", p, code, m)
		}
	}
	if code, m := call(t, alice, "GET", a+"/api/subscriptions/solo", nil); code != 421 || m["homeUrl"] != c {
		t.Fatalf("solo at A: %d %v", code, m)
	}

	// Northwind's data is in A's storage and nowhere in B's or C's.
	for _, marker := range []string{"northwind", "northwind-marker"} {
		if !strings.Contains(dump(t, s.storage["a"]), marker) {
			t.Fatalf("%q is not in A's storage: the search below proves nothing", marker)
		}
		for _, other := range []string{"b", "c"} {
			if d := dump(t, s.storage[other]); strings.Contains(d, marker) {
				t.Fatalf("%q appears in %s's storage:\n%s", marker, other, d)
			}
		}
	}
	if d := dump(t, s.storage["a"]); strings.Contains(d, "contoso") {
		t.Fatalf("contoso (homed in B) appears in A's storage:\n%s", d)
	}
}
