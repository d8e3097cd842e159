package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/platform"
)

// TestCatalogHistoryOverHTTP: diffs are filtered by Studio Security; a
// revert touching a path the caller may not modify is refused whole; under
// another user's lock it answers 423; a later commit gives 409 listing the
// path, then force merges it; a retried revert with the same key answers
// the same commit; restore brings a version back; both are audited.
func TestCatalogHistoryOverHTTP(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	bobU := "user:" + platform.UserID(bob)
	proc, entity := "applications/claims/processes/intake.json", "entities/master/customer.json"
	code, _ := checkin(t, a, carol, []map[string]any{upload(t, a, carol, proc, 0, `{"name":"Intake","sla":5}`), upload(t, a, carol, entity, 0, "a\nb\n")}, "")
	if code != 201 {
		t.Fatal(code)
	}
	code, _ = checkin(t, a, carol, []map[string]any{upload(t, a, carol, proc, 1, `{"name":"Intake form","sla":5}`), upload(t, a, carol, entity, 1, "a\nB\n")}, "")
	if code != 201 {
		t.Fatal(code)
	}
	// Diffs.
	d := a.Must(t, bob, "GET", cat+"/diff?path="+proc, nil, 200)
	keys := d["diff"].(map[string]any)["keys"].([]any)
	if d["diff"].(map[string]any)["kind"] != "json" || len(keys) != 1 || keys[0].(map[string]any)["key"] != "/name" {
		t.Fatalf("diff: %v", d)
	}
	d = a.Must(t, bob, "GET", cat+"/diff?path="+entity+"&from=c1&to=2", nil, 200)
	if u := d["diff"].(map[string]any)["unified"].(string); !strings.Contains(u, "-b\n+B\n") {
		t.Fatalf("text diff: %v", d)
	}
	a.Must(t, bob, "GET", cat+"/diff?path="+entity+"&from=x", nil, 400)
	cd := a.Must(t, bob, "GET", cat+"/commits/2/diff", nil, 200)
	if n := len(cd["files"].([]any)); n != 2 {
		t.Fatalf("commit diff: %v", cd)
	}
	// Bob is denied the application: its diff is hidden and the revert refused whole.
	a.Must(t, dave, "PUT", "/api/projects/claims/security/entries", grant("applications/claims", bobU, "deny"), 200)
	a.Must(t, bob, "GET", cat+"/diff?path="+proc, nil, 404)
	cd = a.Must(t, bob, "GET", cat+"/commits/2/diff", nil, 200)
	if files := cd["files"].([]any); len(files) != 1 || files[0].(map[string]any)["path"] != entity {
		t.Fatalf("bob's commit diff: %v", cd)
	}
	resp, m := a.Call(t, bob, "POST", cat+"/commits/2/revert", map[string]any{}, map[string]string{"Idempotency-Key": newKey()})
	if resp.StatusCode != 403 || fmt.Sprint(m["forbidden"]) != "[(1 path(s) you cannot see)]" {
		t.Fatalf("bob's revert: %d %v", resp.StatusCode, m)
	}
	// A key is required; a lock refuses with 423.
	a.Must(t, carol, "POST", cat+"/commits/2/revert", map[string]any{}, 400)
	a.Must(t, dave, "POST", cat+"/locks", map[string]any{"path": entity}, 201)
	resp, m = a.Call(t, carol, "POST", cat+"/commits/2/revert", map[string]any{}, map[string]string{"Idempotency-Key": newKey()})
	if resp.StatusCode != 423 || !strings.Contains(fmt.Sprint(m["locked"]), entity) {
		t.Fatalf("revert under a lock: %d %v", resp.StatusCode, m)
	}
	ls := a.Must(t, dave, "GET", cat+"/locks", nil, 200)
	a.Must(t, dave, "DELETE", cat+"/locks/"+ls["items"].([]any)[0].(map[string]any)["id"].(string), nil, 204)
	// A later commit: 409 listing it, then force merges key by key.
	if code, _ := checkin(t, a, dave, []map[string]any{upload(t, a, dave, proc, 2, `{"name":"Intake form","sla":7}`)}, ""); code != 201 {
		t.Fatal(code)
	}
	resp, m = a.Call(t, carol, "POST", cat+"/commits/2/revert", map[string]any{}, map[string]string{"Idempotency-Key": newKey()})
	if resp.StatusCode != 409 || !strings.Contains(fmt.Sprint(m["conflicts"]), proc) || strings.Contains(fmt.Sprint(m["conflicts"]), entity) {
		t.Fatalf("revert across a later commit: %d %v", resp.StatusCode, m)
	}
	key := newKey()
	rev := mustKey(t, a, carol, cat+"/commits/2/revert", map[string]any{"force": true, "message": "undo the rename"}, 201, key)
	if rev["seq"] != 4.0 || rev["undoes"] != 2.0 || fmt.Sprint(rev["merged"]) != "["+proc+"]" {
		t.Fatalf("forced revert: %v", rev)
	}
	again := mustKey(t, a, carol, cat+"/commits/2/revert", map[string]any{"force": true, "message": "undo the rename"}, 201, key)
	if again["seq"] != 4.0 {
		t.Fatalf("retried revert: %v", again)
	}
	if _, _, body := raw(t, a, carol, "GET", cat+"/content?path="+proc, nil, nil); string(body) != `{"name":"Intake","sla":7}` {
		t.Fatalf("after the forced revert: %s", body)
	}
	// Restore the entity to version 2 (the revert made it v3).
	res := mustKey(t, a, carol, cat+"/restore", map[string]any{"path": entity, "version": 2}, 201, newKey())
	if res["seq"] != 5.0 {
		t.Fatalf("restore: %v", res)
	}
	if _, _, body := raw(t, a, carol, "GET", cat+"/content?path="+entity, nil, nil); string(body) != "a\nB\n" {
		t.Fatalf("after the restore: %s", body)
	}
	mustKey(t, a, carol, cat+"/restore", map[string]any{"path": entity, "version": 0}, 400, newKey())
	log := a.Must(t, dave, "GET", "/api/projects/claims/audit", nil, 200)
	text := fmt.Sprint(log)
	if !strings.Contains(text, "catalog.revert") || !strings.Contains(text, "commits/2") || !strings.Contains(text, "catalog.restore") {
		t.Fatalf("audit: %v", log)
	}
}

// mustKey posts body with an Idempotency-Key and wants status.
func mustKey(t *testing.T, a *handlertest.API, who, path string, body map[string]any, want int, key string) map[string]any {
	t.Helper()
	resp, m := a.Call(t, who, "POST", path, body, map[string]string{"Idempotency-Key": key})
	if resp.StatusCode != want {
		t.Fatalf("POST %s as %s: %d, want %d: %v", path, who, resp.StatusCode, want, m)
	}
	return m
}
