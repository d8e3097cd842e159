package console_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/web/console/consoletest"
)

// put is one object of a push: its content and the version it is based on
// (0 = a new object); a nil content deletes it.
type put struct {
	content []byte
	base    int64
}

// push commits changes as who the way `collab push` does: ask which blobs
// the catalog lacks, upload those, then check in with an Idempotency-Key.
// It returns the commit's sequence number.
func push(t *testing.T, a *handlertest.API, who, message string, changes map[string]put) int64 {
	t.Helper()
	base := a.URL + "/api/projects/claims/catalog"
	send := func(method, url string, body []byte, ctype string, hdr ...string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+a.Token(t, who))
		req.Header.Set("Content-Type", ctype)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := a.Srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

	paths := make([]string, 0, len(changes))
	var hashes []string
	byHash := map[string][]byte{}
	for p, c := range changes {
		paths = append(paths, p)
		if c.content != nil {
			hashes = append(hashes, sum(c.content))
			byHash[sum(c.content)] = c.content
		}
	}
	sort.Strings(paths)
	if len(hashes) > 0 {
		body, _ := json.Marshal(map[string]any{"hashes": hashes})
		status, b := send("POST", base+"/blobs/missing", body, "application/json")
		if status != 200 {
			t.Fatalf("blobs/missing: %d %s", status, b)
		}
		var miss struct{ Missing []string }
		_ = json.Unmarshal(b, &miss)
		for _, h := range miss.Missing {
			if status, b := send("PUT", base+"/blobs/"+h, byHash[h], "application/octet-stream"); status != 201 {
				t.Fatalf("upload %s: %d %s", h, status, b)
			}
		}
	}
	var cs []map[string]any
	for _, p := range paths {
		c := changes[p]
		if c.content == nil {
			cs = append(cs, map[string]any{"op": "delete", "path": p, "baseVersion": c.base})
			continue
		}
		cs = append(cs, map[string]any{"op": "put", "path": p, "baseVersion": c.base, "sha256": sum(c.content),
			"size": len(c.content), "contentType": "application/json", "kind": strings.Split(p, "/")[0]})
	}
	body, _ := json.Marshal(map[string]any{"message": message, "changes": cs})
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	status, b := send("POST", base+"/checkins", body, "application/json", "Idempotency-Key", hex.EncodeToString(key))
	if status != 201 {
		t.Fatalf("check-in: %d %s", status, b)
	}
	var res struct{ Seq int64 }
	_ = json.Unmarshal(b, &res)
	return res.Seq
}

// lock checks path out for who through the API and returns the lock's id.
func lock(t *testing.T, a *handlertest.API, who, path string) string {
	t.Helper()
	l := a.Must(t, who, "POST", "/api/projects/claims/catalog/locks", map[string]any{"path": path, "ttlSeconds": 3600}, 201)
	return l["id"].(string)
}

// TestCatalogBrowseHistoryCommitAndLocks: objects pushed through the API
// (the CLI's protocol) are browsed by prefix, an object's history shows
// each version's author, time and commit, its content is text (an XSS
// attempt in it and in the commit message does nothing), a commit lists
// its changes; a lock is released by an owner (Full Control) and by its
// holder, never offered to a developer without Full Control; bob, denied
// on applications/x, sees none of it anywhere in the console, and the
// Studio Security tree gains the catalog's objects.
func TestCatalogBrowseHistoryCommitAndLocks(t *testing.T) {
	a := demo(t, nil)
	const (
		intake = "applications/claims/processes/intake"
		secret = "applications/x/processes/payroll"
		entity = "entities/master/customer"
	)
	v1 := []byte(`{"name":"intake","steps":["receive","check"]}`)
	v2 := []byte("{\"name\":\"intake\",\n \"label\":\"" + xss + "\",\n \"steps\":[\"receive\",\"check\",\"pay\"]}")
	first := push(t, a, alice, xss+" first import", map[string]put{
		intake: {content: v1}, secret: {content: []byte(`{"name":"payroll"}`)}, entity: {content: []byte(`{"fields":["id"]}`)},
	})
	second := push(t, a, alice, "intake: pay step", map[string]put{intake: {content: v2, base: 1}, secret: {content: []byte(`{"name":"payroll2"}`), base: 1}})
	if first != 1 || second != 2 {
		t.Fatalf("commits %d, %d", first, second)
	}
	a.Must(t, alice, "PUT", "/api/projects/claims/security/entries", map[string]any{"path": "applications/x", "principal": "user:" + userID(bob), "level": "deny"}, 200)
	lock(t, a, bob, intake)
	lock(t, a, carol, entity)

	b := consoletest.New(t, a.URL)
	al := b.Laptop("alice")
	al.SignIn(alice)
	al.Nav("Catalog")
	al.WaitText("Every object you may see, by path")
	for _, p := range []string{intake, secret, entity} {
		al.WaitText(p)
	}
	// Each object by its file name in a working copy and its content type
	// (these were pushed the old way: no extension, a JSON content type).
	var files [][]string
	al.Eval(`[...document.querySelectorAll('main tbody tr')].map((r) => [r.cells[0].innerText.trim(), r.cells[1].innerText.trim()])`, &files)
	if fmt.Sprint(files) != fmt.Sprint([][]string{{intake, "intake.json\napplication/json"}, {secret, "payroll.json\napplication/json"}, {entity, "customer.json\napplication/json"}}) {
		t.Fatalf("objects by path, file and type: %q", files)
	}
	al.Screenshot("catalog-browse")

	// A prefix the API refuses shows its problem by the field.
	al.Fill("Object tree", "Prefix", "entities/nope")
	al.ClickIn("Object tree", "Go")
	al.WaitText("the groups are application, master and parameter")
	if got := al.FieldError("Object tree", "Prefix"); !strings.HasPrefix(got, "invalid: entities/nope: the groups are") {
		t.Fatalf("prefix error %q", got)
	}

	// The change feed starts 20 commits before the head: here, at the start.
	al.Click("Change feed")
	al.WaitText("The head is commit #2.")
	al.WaitText("Changes after commit #0, oldest first")
	if n := al.Count(`main tbody tr`); n != 5 {
		t.Fatalf("the feed shows %d changes, want 5 (3 of commit 1, 2 of commit 2)", n)
	}
	al.Screenshot("catalog-changes")
	al.Click("Browse")
	al.WaitText("Every object you may see, by path")

	// Down the tree to the process, then its page.
	al.ClickIn("#main", "applications")
	al.WaitText("Objects at or under applications, by path")
	al.ClickIn("Object tree", "claims")
	al.WaitText("Objects at or under applications/claims, by path")
	if txt := al.Text(); strings.Contains(txt, secret) {
		t.Fatalf("applications/claims lists another application's object:\n%s", txt)
	}
	al.Click(intake)
	al.WaitText("Versions of " + intake)
	al.WaitText("Content of version 2")
	al.WaitText(`"pay"`)
	if txt := al.Text(); !strings.Contains(txt, "View version 1") || !strings.Contains(txt, "Locks on "+intake) || !strings.Contains(txt, intake+".json in a working copy") {
		t.Fatalf("object page:\n%s", txt)
	}
	assertInert(t, al, "object content")
	var history [][]string
	al.Eval(`[...[...document.querySelectorAll('main table')].find((t) => t.caption.textContent.startsWith('Versions of')).querySelectorAll('tbody tr')].map((r) => [...r.cells].slice(0, 5).map((c) => c.innerText.trim()))`, &history)
	if len(history) != 2 || history[0][0] != "2" || history[1][0] != "1" || history[0][2] != alice || history[0][4] != "#2" || history[1][4] != "#1" || history[0][3] == "" {
		t.Fatalf("history rows (version, change, author, when, commit): %v", history)
	}
	al.Screenshot("catalog-object")

	// Version 1's content, then the commit that made it.
	al.Click("View version 1")
	al.WaitText("Content of version 1")
	al.WaitText(`"steps":["receive","check"]`)
	al.ClickIn("History", "#1")
	al.WaitText("Changes of commit #1, by path")
	assertInert(t, al, "commit message")
	if txt := al.Text(); !strings.Contains(txt, xss+" first import") || !strings.Contains(txt, entity) || !strings.Contains(txt, secret) || !strings.Contains(txt, "Newer: #2") {
		t.Fatalf("commit #1:\n%s", al.Text())
	}
	al.Screenshot("catalog-commit")

	// The lock bob holds: alice, an owner, has Full Control and releases it.
	al.Go("/console/projects/claims/catalog/object?path=" + intake)
	al.WaitText("Locks on " + intake)
	al.Confirm("Release the lock of bob@example.com on " + intake)
	al.WaitText("Nobody has it checked out.")
	if ls := a.Must(t, alice, "GET", "/api/projects/claims/catalog/locks?prefix="+intake, nil, 200); len(ls["items"].([]any)) != 0 {
		t.Fatalf("the lock is still there: %v", ls)
	}

	// bob: applications/x is nowhere; carol's lock is shown without Release,
	// his own lock is released from the Locks view.
	lock(t, a, bob, "rules/functions/round")
	bo := b.Laptop("bob")
	bo.SignIn(bob)
	bo.Go("/console/projects/claims/catalog")
	bo.WaitText(intake)
	bo.WaitText(entity)
	bo.Go("/console/projects/claims/catalog/changes?since=0")
	bo.WaitText("Changes after commit #0, oldest first")
	bo.WaitText(intake)
	bo.Go("/console/projects/claims/catalog/commits/1")
	bo.WaitText("Changes of commit #1, by path")
	bo.WaitText(entity)
	bo.Go("/console/projects/claims/catalog/object?path=" + secret)
	bo.WaitText("no object at " + secret)
	bo.Go("/console/projects/claims/security?path=applications")
	bo.WaitText("Object tree")
	bo.WaitJS(`[...document.querySelectorAll('.tree-list a')].some((a) => a.textContent === 'claims')`)
	bo.Go("/console/projects/claims/catalog/locks")
	bo.WaitText("Live locks, by path")
	bo.WaitText("The holder, or Full Control, releases it") // carol's lock
	if bo.Count(`button[aria-label="Release the lock of carol@example.com on `+entity+`"]`) != 0 {
		t.Fatal("bob is offered to release carol's lock")
	}
	bo.Confirm("Release the lock of bob@example.com on rules/functions/round")
	bo.WaitGone("rules/functions/round")
	bo.Screenshot("catalog-locks-developer")
	for _, page := range []string{"/console/projects/claims/catalog", "/console/projects/claims/catalog/changes?since=0",
		"/console/projects/claims/catalog/commits/2", "/console/projects/claims/security?path=applications"} {
		bo.Go(page)
		bo.WaitJS(`!document.querySelector('main progress')`)
		bo.WaitJS(`document.querySelectorAll('main table, main .empty, main .tree-list').length > 0`)
		if txt := bo.Text(); strings.Contains(txt, "applications/x") || strings.Contains(txt, "payroll") || strings.Contains(txt, "\nx\n") {
			t.Fatalf("%s shows bob what he is denied:\n%s", page, txt)
		}
	}

	// alice's Security tree shows both applications, from the catalog.
	al.Go("/console/projects/claims/security?path=applications")
	al.WaitJS(`(() => { const n = [...document.querySelectorAll('.tree-list a')].map((a) => a.textContent); return n.includes('claims') && n.includes('x'); })()`)
	al.Screenshot("security-tree-from-catalog")

	// A deleted object: its page says so and keeps its history; the old
	// version's content is still there.
	push(t, a, carol, "customer moves", map[string]put{entity: {base: 1}}) // carol holds its lock
	al.Go("/console/projects/claims/catalog/object?path=" + entity)
	al.WaitText(entity + " was deleted; its history and earlier versions remain below.")
	al.WaitText("deleted")
	al.Click("View version 1")
	al.WaitText(`{"fields":["id"]}`)
	al.Screenshot("catalog-object-deleted")

	// On a phone: the object page as cards.
	ph := b.Phone("alice-phone")
	ph.SignIn(alice)
	ph.Go("/console/projects/claims/catalog/object?path=" + intake)
	ph.WaitText("Content of version 2")
	ph.Screenshot("phone-catalog-object")
}
