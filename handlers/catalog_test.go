package handlers_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/platform"
)

const cat = "/api/projects/claims/catalog"

func hashOf(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// raw sends a request with a raw body and returns status, headers, body.
func raw(t testing.TB, a *handlertest.API, who, method, path string, body []byte, hdr map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, a.URL+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+a.Token(t, who))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := a.Srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// upload puts content as a blob and returns a put change.
func upload(t testing.TB, a *handlertest.API, who, path string, base int, content string) map[string]any {
	t.Helper()
	h := hashOf([]byte(content))
	if code, _, b := raw(t, a, who, "PUT", cat+"/blobs/"+h, []byte(content), map[string]string{"Content-Type": "application/octet-stream"}); code != 201 && code != 200 {
		t.Fatalf("upload: %d %s", code, b)
	}
	return map[string]any{"op": "put", "path": path, "baseVersion": base, "sha256": h, "size": len(content), "kind": "process", "contentType": "application/json"}
}

var keySeq struct {
	sync.Mutex
	n int
}

func newKey() string {
	keySeq.Lock()
	defer keySeq.Unlock()
	keySeq.n++
	return fmt.Sprintf("key-%d", keySeq.n)
}

// checkin posts changes with a fresh Idempotency-Key (or key, if given).
func checkin(t testing.TB, a *handlertest.API, who string, changes []map[string]any, key string) (int, map[string]any) {
	t.Helper()
	if key == "" {
		key = newKey()
	}
	resp, m := a.Call(t, who, "POST", cat+"/checkins", map[string]any{"message": "m", "changes": changes}, map[string]string{"Idempotency-Key": key})
	return resp.StatusCode, m
}

func TestCatalogOverHTTP(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	proc := "applications/claims/processes/intake"
	// Uploads: the hash names the content.
	if code, _, b := raw(t, a, bob, "PUT", cat+"/blobs/"+hashOf([]byte("a")), []byte("b"), nil); code != 400 || !strings.Contains(string(b), "SHA-256") {
		t.Fatalf("mismatched upload: %d %s", code, b)
	}
	m := a.Must(t, bob, "POST", cat+"/blobs/missing", map[string]any{"hashes": []string{hashOf([]byte("x")), hashOf([]byte("y"))}}, 200)
	if len(m["missing"].([]any)) != 2 {
		t.Fatalf("missing: %v", m)
	}
	put := upload(t, a, bob, proc, 0, `{"steps":1}`)
	m = a.Must(t, bob, "POST", cat+"/blobs/missing", map[string]any{"hashes": []string{put["sha256"].(string), hashOf([]byte("y"))}}, 200)
	if fmt.Sprint(m["missing"]) != fmt.Sprint([]any{hashOf([]byte("y"))}) {
		t.Fatalf("missing after upload: %v", m)
	}
	// Check-ins need a key.
	if resp, m := a.Call(t, bob, "POST", cat+"/checkins", map[string]any{"changes": []any{put}}, nil); resp.StatusCode != 400 || !strings.Contains(m["detail"].(string), "Idempotency-Key") {
		t.Fatalf("no key: %d %v", resp.StatusCode, m)
	}
	code, res := checkin(t, a, bob, []map[string]any{put}, "")
	if code != 201 || res["seq"] != 1.0 {
		t.Fatalf("check-in: %d %v", code, res)
	}
	// A stale base: 409 with who changed it.
	code, res = checkin(t, a, carol, []map[string]any{upload(t, a, carol, proc, 0, "other")}, "")
	cs, _ := res["conflicts"].([]any)
	if code != 409 || len(cs) != 1 || cs[0].(map[string]any)["committedBy"] != bob || cs[0].(map[string]any)["currentVersion"] != 1.0 {
		t.Fatalf("conflict: %d %v", code, res)
	}
	// Missing content: 422 listing it.
	code, res = checkin(t, a, bob, []map[string]any{{"op": "put", "path": "rules/functions/f", "sha256": hashOf([]byte("nope"))}}, "")
	if code != 422 || len(res["missing"].([]any)) != 1 {
		t.Fatalf("missing content: %d %v", code, res)
	}
	// Content: bytes, ETag, 304.
	status, hdr, body := raw(t, a, bob, "GET", cat+"/content?path="+proc, nil, nil)
	if status != 200 || string(body) != `{"steps":1}` || hdr.Get("ETag") != `"`+put["sha256"].(string)+`"` || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("content: %d %s %v", status, body, hdr)
	}
	if status, _, _ := raw(t, a, bob, "GET", cat+"/content?path="+proc, nil, map[string]string{"If-None-Match": hdr.Get("ETag")}); status != 304 {
		t.Fatalf("If-None-Match: %d", status)
	}
	a.Must(t, bob, "GET", cat+"/content?path=rules/functions/none", nil, 404)
	o := a.Must(t, carol, "GET", cat+"/object?path="+proc, nil, 200)
	if o["version"] != 1.0 || o["committedBy"] != bob {
		t.Fatalf("object: %v", o)
	}
	l := a.Must(t, carol, "GET", cat+"/objects?prefix=applications", nil, 200)
	if len(l["items"].([]any)) != 1 {
		t.Fatalf("objects: %v", l)
	}
	f := a.Must(t, carol, "GET", cat+"/changes?since=0", nil, 200)
	if f["head"] != 1.0 || f["next"] != "1" || len(f["changes"].([]any)) != 1 {
		t.Fatalf("feed: %v", f)
	}
	a.Must(t, carol, "GET", cat+"/changes?since=5", nil, 400)
	h := a.Must(t, carol, "GET", cat+"/history?path="+proc, nil, 200)
	if len(h["items"].([]any)) != 1 {
		t.Fatalf("history: %v", h)
	}
	cm := a.Must(t, carol, "GET", cat+"/commits/1", nil, 200)
	if cm["committedBy"] != bob || cm["message"] != "m" {
		t.Fatalf("commit: %v", cm)
	}
	a.Must(t, carol, "GET", cat+"/commits/2", nil, 404)
	// Outsiders see nothing: 404.
	for _, p := range []string{"/changes", "/objects", "/object?path=" + proc, "/locks"} {
		a.Must(t, erin, "GET", cat+p, nil, 404)
		a.Must(t, olga, "GET", cat+p, nil, 404)
	}
	// Locks: 423 for others, check-ins under it refused.
	lk := a.Must(t, carol, "POST", cat+"/locks", map[string]any{"path": "applications/claims", "ttlSeconds": 60}, 201)
	if resp, m := a.Call(t, bob, "POST", cat+"/locks", map[string]any{"path": proc}, nil); resp.StatusCode != 423 || m["locked"] == nil {
		t.Fatalf("overlapping lock: %d %v", resp.StatusCode, m)
	}
	code, res = checkin(t, a, bob, []map[string]any{upload(t, a, bob, proc, 1, "v2")}, "")
	if code != 423 || !strings.Contains(res["detail"].(string), carol) {
		t.Fatalf("check-in under a lock: %d %v", code, res)
	}
	ls := a.Must(t, bob, "GET", cat+"/locks?prefix="+proc, nil, 200)
	if len(ls["items"].([]any)) != 1 {
		t.Fatalf("locks: %v", ls)
	}
	a.Must(t, bob, "POST", cat+"/locks/"+lk["id"].(string)+"/renew", nil, 403)
	a.Must(t, carol, "POST", cat+"/locks/"+lk["id"].(string)+"/renew", map[string]any{"ttlSeconds": 120}, 200)
	a.Must(t, bob, "DELETE", cat+"/locks/"+lk["id"].(string), nil, 403)
	a.Must(t, dave, "DELETE", cat+"/locks/"+lk["id"].(string), nil, 204) // the owner has Full Control
	// The sweep of expired locks is a system job (catalog.Service.Housekeeping;
	// cmd/handler TestSystemJobsAtStartUp shows every instance creates it).
	if code, _ := checkin(t, a, bob, []map[string]any{upload(t, a, bob, proc, 1, "v2")}, ""); code != 201 {
		t.Fatalf("after unlock: %d", code)
	}
}

// TestCatalogCheckinLimits: 10,001 changes is a clear 413; 10,000 commit.
func TestCatalogCheckinLimits(t *testing.T) {
	t.Parallel() // long (check-ins at the limits) on its own storage prefix: runs beside the others
	a := fixture(t)
	put := upload(t, a, bob, "x", 0, "same")
	mk := func(n int) []map[string]any {
		cs := make([]map[string]any, n)
		for i := range cs {
			cs[i] = map[string]any{"op": "put", "path": fmt.Sprintf("applications/big/processes/p%05d", i), "sha256": put["sha256"], "size": 4}
		}
		return cs
	}
	code, res := checkin(t, a, bob, mk(10001), "")
	if code != 413 || !strings.Contains(res["detail"].(string), "at most 10000 changes") {
		t.Fatalf("10,001: %d %v", code, res)
	}
	if testing.Short() {
		return
	}
	// 10,000 commit atomically (shared/catalog TestTenThousandChanges shows a
	// reader sees none or all); here the whole request goes over HTTP.
	start := time.Now()
	code, res = checkin(t, a, bob, mk(10000), "")
	if code != 201 || res["seq"] != 1.0 || len(res["objects"].([]any)) != 10000 {
		t.Fatalf("10,000: %d %v", code, res["detail"])
	}
	t.Logf("10,000 changes over HTTP: %v", time.Since(start))
	if o := a.Must(t, carol, "GET", cat+"/object?path=applications/big/processes/p09999", nil, 200); o["seq"] != 1.0 || o["version"] != 1.0 {
		t.Fatalf("the last object: %v", o)
	}
	if f := a.Must(t, carol, "GET", cat+"/changes?since=0", nil, 200); f["head"] != 1.0 || len(f["changes"].([]any)) != 1000 || f["next"] != "0:1000" {
		t.Fatalf("the first feed page: head %v, %d changes, next %v", f["head"], len(f["changes"].([]any)), f["next"])
	}
}

func TestCatalogSecurity(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	bobU := "user:" + platform.UserID(bob)
	hidden, shown := "applications/x/processes/p", "applications/y/processes/p"
	entity := "entities/master/customer"
	// Carol (admin) creates three objects; then bob is denied applications/x and the entity.
	code, _ := checkin(t, a, carol, []map[string]any{upload(t, a, carol, hidden, 0, "h"), upload(t, a, carol, shown, 0, "s"), upload(t, a, carol, entity, 0, "e")}, "")
	if code != 201 {
		t.Fatal(code)
	}
	a.Must(t, dave, "PUT", "/api/projects/claims/security/entries", grant("applications/x", bobU, "deny"), 200)
	a.Must(t, dave, "PUT", "/api/projects/claims/security/entries", grant(entity, bobU, "deny"), 200)

	feed := a.Must(t, bob, "GET", cat+"/changes", nil, 200)
	paths := map[string]bool{}
	for _, c := range feed["changes"].([]any) {
		paths[c.(map[string]any)["path"].(string)] = true
	}
	if paths[hidden] || !paths[shown] || !paths[entity] {
		t.Fatalf("bob's feed: %v", paths)
	}
	list := a.Must(t, bob, "GET", cat+"/objects", nil, 200)
	if n := len(list["items"].([]any)); n != 2 {
		t.Fatalf("bob's listing has %d objects: %v", n, list)
	}
	commit := a.Must(t, bob, "GET", cat+"/commits/1", nil, 200)
	if n := len(commit["changes"].([]any)); n != 2 {
		t.Fatalf("bob's view of commit 1 has %d changes", n)
	}
	for _, p := range []string{"/content?path=" + hidden, "/object?path=" + hidden, "/history?path=" + hidden} {
		if resp, m := a.Call(t, bob, "GET", cat+p, nil, nil); resp.StatusCode != 404 || strings.Contains(fmt.Sprint(m), "deny") {
			t.Errorf("%s: %d %v", p, resp.StatusCode, m)
		}
	}
	// Deny on the entity: readable, not writable.
	if status, _, body := raw(t, a, bob, "GET", cat+"/content?path="+entity, nil, nil); status != 200 || string(body) != "e" {
		t.Fatalf("entity content: %d %s", status, body)
	}
	code, res := checkin(t, a, bob, []map[string]any{upload(t, a, bob, hidden, 1, "h2"), upload(t, a, bob, shown, 1, "s2"), upload(t, a, bob, entity, 1, "e2")}, "")
	if code != 403 || fmt.Sprint(res["forbidden"]) != fmt.Sprint([]any{hidden, entity}) {
		t.Fatalf("bob's check-in: %d %v", code, res)
	}
	for _, p := range []string{"applications/x", hidden + "/forms/f", entity} {
		if resp, m := a.Call(t, bob, "POST", cat+"/locks", map[string]any{"path": p}, nil); resp.StatusCode != 403 || fmt.Sprint(m["forbidden"]) != "["+p+"]" {
			t.Errorf("lock %s: %d %v", p, resp.StatusCode, m)
		}
	}
	// Carol's lock under applications/x is invisible to bob.
	a.Must(t, carol, "POST", cat+"/locks", map[string]any{"path": hidden}, 201)
	if ls := a.Must(t, bob, "GET", cat+"/locks", nil, 200); len(ls["items"].([]any)) != 0 {
		t.Fatalf("bob sees a hidden lock: %v", ls)
	}
	if code, _ := checkin(t, a, bob, []map[string]any{upload(t, a, bob, shown, 1, "s2")}, ""); code != 201 {
		t.Fatalf("bob's allowed check-in: %d", code)
	}
}

func TestCatalogIdempotency(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	p := "rules/functions/f"
	put := upload(t, a, bob, p, 0, "f1")
	// Replayed after success: the same answer, one commit.
	key := newKey()
	c1, r1 := checkin(t, a, bob, []map[string]any{put}, key)
	c2, r2 := checkin(t, a, bob, []map[string]any{put}, key)
	if c1 != 201 || c2 != 201 || fmt.Sprint(r1) != fmt.Sprint(r2) {
		t.Fatalf("after success: %d %v / %d %v", c1, r1, c2, r2)
	}
	// Replayed after a 409: the same 409, even once the base is current again.
	stale := upload(t, a, carol, p, 0, "f2")
	key = newKey()
	c1, r1 = checkin(t, a, carol, []map[string]any{stale}, key)
	c2, r2 = checkin(t, a, carol, []map[string]any{stale}, key)
	delete(r1, "requestId")
	delete(r2, "requestId")
	if c1 != 409 || c2 != 409 || fmt.Sprint(r1) != fmt.Sprint(r2) {
		t.Fatalf("after 409: %d %v / %d %v", c1, r1, c2, r2)
	}
	// The same key with another body is refused.
	if c, _ := checkin(t, a, carol, []map[string]any{upload(t, a, carol, p, 1, "f3")}, key); c != 422 {
		t.Fatalf("same key, other body: %d", c)
	}
	// Concurrent with the first request: one commit, identical answers.
	key = newKey()
	next := upload(t, a, bob, p, 1, "f4")
	var wg sync.WaitGroup
	answers := make([]string, 6)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, r := checkin(t, a, bob, []map[string]any{next}, key)
			answers[i] = fmt.Sprint(c, r)
		}()
	}
	wg.Wait()
	for _, ans := range answers[1:] {
		if ans != answers[0] {
			t.Fatalf("concurrent answers differ:\n%s\n%s", answers[0], ans)
		}
	}
	if !strings.HasPrefix(answers[0], "201") {
		t.Fatalf("concurrent: %s", answers[0])
	}
	feed := a.Must(t, bob, "GET", cat+"/changes", nil, 200)
	if feed["head"] != 2.0 {
		t.Fatalf("head %v: the retries committed more than once", feed["head"])
	}
}

// TestCatalogConcurrentWriters: 32 writers × 50 check-ins on overlapping
// paths, through two handler instances on one storage account.
func TestCatalogConcurrentWriters(t *testing.T) {
	t.Parallel() // long and bound by the project's commit latency, not the CPU: its own storage prefix, so it runs beside the others
	a1 := fixture(t)
	a2 := handlertest.StartOn(t, a1.Prefix)
	const writers, rounds = 32, 50
	var paths []string // 24 paths in three areas; each check-in touches 1 to 3 of them
	for i := 0; i < 8; i++ {
		paths = append(paths, fmt.Sprintf("applications/claims/processes/p%d", i), fmt.Sprintf("entities/master/e%d", i), fmt.Sprintf("rules/functions/f%d", i))
	}
	users := []string{bob, carol, dave, alice}
	contents := make([]map[string]any, 4)
	for i := range contents {
		contents[i] = upload(t, a1, bob, "x", 0, fmt.Sprintf("content %d", i))
	}
	for _, u := range users {
		a1.Token(t, u)
		a2.Token(t, u)
	}
	type attempt struct {
		base     map[string]int // path -> base version sent
		code     int
		seq      int
		versions map[string]int // 201: path -> new version
		stale    map[string]int // 409: path -> current version reported
	}
	// What writers believe the versions are: refreshed by every writer's
	// answers, so bases are mostly current and sometimes stale.
	var mu sync.Mutex
	latest := map[string]int{}
	learn := func(p string, v int) {
		mu.Lock()
		latest[p] = max(latest[p], v)
		mu.Unlock()
	}
	results := make([][]attempt, writers)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			api := []*handlertest.API{a1, a2}[w%2]
			who := users[w%len(users)]
			for r := 0; r < rounds; r++ {
				mu.Lock()
				known := maps.Clone(latest)
				mu.Unlock()
				n := 1 + (w+r)%3
				at := attempt{base: map[string]int{}}
				var changes []map[string]any
				for k := 0; k < n; k++ {
					p := paths[(w*7+r*5+k*11)%len(paths)]
					if _, dup := at.base[p]; dup {
						continue
					}
					c := map[string]any{}
					for key, v := range contents[(w+r+k)%len(contents)] {
						c[key] = v
					}
					c["path"], c["baseVersion"] = p, known[p]
					at.base[p] = known[p]
					changes = append(changes, c)
				}
				code, res := checkin(t, api, who, changes, "")
				at.code = code
				switch code {
				case 201:
					at.seq = int(res["seq"].(float64))
					at.versions = map[string]int{}
					for _, o := range res["objects"].([]any) {
						om := o.(map[string]any)
						at.versions[om["path"].(string)] = int(om["version"].(float64))
						learn(om["path"].(string), int(om["version"].(float64)))
					}
				case 409:
					at.stale = map[string]int{}
					for _, c := range res["conflicts"].([]any) {
						cm := c.(map[string]any)
						at.stale[cm["path"].(string)] = int(cm["currentVersion"].(float64))
						learn(cm["path"].(string), int(cm["currentVersion"].(float64)))
					}
				default:
					t.Errorf("writer %d round %d: %d %v", w, r, code, res)
					return
				}
				results[w] = append(results[w], at)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// The whole feed, page by page.
	var feed []map[string]any
	since := "0"
	for {
		pg := a1.Must(t, carol, "GET", cat+"/changes?since="+since, nil, 200)
		for _, c := range pg["changes"].([]any) {
			feed = append(feed, c.(map[string]any))
		}
		if pg["next"] == fmt.Sprint(pg["head"]) {
			break
		}
		since = pg["next"].(string)
	}
	// seqOf[path][version] = the commit that made it.
	seqOf := map[string]map[int]int{}
	bySeq := map[int]map[string]int{}
	for _, c := range feed {
		p, v, s := c["path"].(string), int(c["version"].(float64)), int(c["seq"].(float64))
		if seqOf[p] == nil {
			seqOf[p] = map[int]int{}
		}
		seqOf[p][v] = s
		if bySeq[s] == nil {
			bySeq[s] = map[string]int{}
		}
		bySeq[s][p] = v
	}
	accepted, puts, refused := 0, map[string]int{}, 0
	seen := map[int]bool{}
	for w, rs := range results {
		for r, at := range rs {
			switch at.code {
			case 201:
				accepted++
				if seen[at.seq] {
					t.Errorf("seq %d acknowledged twice", at.seq)
				}
				seen[at.seq] = true
				if fmt.Sprint(bySeq[at.seq]) != fmt.Sprint(at.versions) {
					t.Errorf("writer %d round %d: 201 seq %d %v, feed has %v", w, r, at.seq, at.versions, bySeq[at.seq])
				}
				for p := range at.versions {
					puts[p]++
				}
			case 409:
				refused++
				// The answer names exactly the stale paths: some head s exists at
				// which every unnamed path was at its base version and every
				// named one at its reported current version.
				lo, hi := 0, 1<<30
				for p, base := range at.base {
					v := base
					if cur, named := at.stale[p]; named {
						if cur == base {
							t.Errorf("writer %d round %d: %s named with current = base %d", w, r, p, base)
						}
						v = cur
					}
					if v > 0 {
						s, ok := seqOf[p][v]
						if !ok {
							t.Errorf("writer %d round %d: %s version %d never existed", w, r, p, v)
						}
						lo = max(lo, s)
					}
					if s, ok := seqOf[p][v+1]; ok {
						hi = min(hi, s-1)
					}
				}
				if lo > hi {
					t.Errorf("writer %d round %d: no head fits the 409 %v for bases %v", w, r, at.stale, at.base)
				}
			}
		}
	}
	if len(bySeq) != accepted {
		t.Errorf("%d commits in the feed, %d check-ins acknowledged", len(bySeq), accepted)
	}
	for s := 1; s <= accepted; s++ {
		if !seen[s] {
			t.Errorf("seq %d missing: sequence numbers have a gap", s)
		}
	}
	for _, p := range paths {
		o := a2.Must(t, carol, "GET", cat+"/object?path="+p, nil, 200)
		if int(o["version"].(float64)) != puts[p] {
			t.Errorf("%s: version %v, %d accepted puts", p, o["version"], puts[p])
		}
	}
	t.Logf("%d check-ins: %d accepted (seq 1..%d), %d refused with 409", writers*rounds, accepted, accepted, refused)

}
