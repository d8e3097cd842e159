package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/pack"
	"github.com/studio-collab/collab/shared/platform"
)

func packOf(t *testing.T, contents ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pack.NewWriter(&buf)
	for _, c := range contents {
		if err := w.Add(hashOf([]byte(c)), []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCatalogPacks: a pack upload stores every blob, checked by hash (a bad
// pack stores nothing); a pack download serves exactly the hashes named by
// changes the caller may view in the range, in one stream.
func TestCatalogPacks(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	ct := map[string]string{"Content-Type": pack.ContentType}
	missing := func(hs ...string) []any {
		m := a.Must(t, carol, "POST", cat+"/blobs/missing", map[string]any{"hashes": hs}, 200)
		return m["missing"].([]any)
	}

	// A pack whose second blob does not match its hash: 400, nothing stored.
	bad := packOf(t, "one", "two")
	bad = bytes.Replace(bad, []byte("two"), []byte("TWO"), 1)
	if code, _, b := raw(t, a, carol, "POST", cat+"/packs", bad, ct); code != 400 || !strings.Contains(string(b), "nothing was stored") {
		t.Fatalf("bad pack: %d %s", code, b)
	}
	if m := missing(hashOf([]byte("one"))); len(m) != 1 {
		t.Fatalf("the bad pack stored a blob: %v", m)
	}
	for _, c := range []struct {
		name, ctype string
		body        []byte
	}{
		{"cut", pack.ContentType, packOf(t, "one")[:20]},
		{"not a pack type", "application/octet-stream", packOf(t, "one")},
	} {
		if code, _, b := raw(t, a, carol, "POST", cat+"/packs", c.body, map[string]string{"Content-Type": c.ctype}); code != 400 {
			t.Errorf("%s: %d %s", c.name, code, b)
		}
	}
	// Outsiders are refused like a blob upload.
	if code, _, _ := raw(t, a, "mallory@example.com", "POST", cat+"/packs", packOf(t, "one"), ct); code < 400 {
		t.Fatalf("an outsider's pack: %d", code)
	}

	hidden, shown, entity := "applications/x/processes/p.json", "applications/y/processes/p.json", "entities/master/customer.json"
	code, _, b := raw(t, a, carol, "POST", cat+"/packs", packOf(t, "h", "s", "e", "s"), ct)
	var ans map[string]any
	_ = json.Unmarshal(b, &ans)
	if code != 200 || ans["blobs"] != 4.0 || ans["stored"] != 3.0 || ans["bytes"] != 4.0 {
		t.Fatalf("pack upload: %d %s", code, b)
	}
	if m := missing(hashOf([]byte("h")), hashOf([]byte("s")), hashOf([]byte("e"))); len(m) != 0 {
		t.Fatalf("after the pack: missing %v", m)
	}
	change := func(path, content string) map[string]any {
		return map[string]any{"op": "put", "path": path, "baseVersion": 0, "sha256": hashOf([]byte(content)), "size": len(content), "kind": "process", "contentType": "application/json"}
	}
	if code, m := checkin(t, a, carol, []map[string]any{change(hidden, "h"), change(shown, "s"), change(entity, "e")}, ""); code != 201 {
		t.Fatalf("checkin: %d %v", code, m)
	}
	bobU := "user:" + platform.UserID(bob)
	a.Must(t, dave, "PUT", "/api/projects/claims/security/entries", grant("applications/x", bobU, "deny"), 200)

	read := func(who string, since string, until int, hashes ...string) (int, []string, []string, string) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"since": since, "until": until, "hashes": hashes})
		code, hdr, b := raw(t, a, who, "POST", cat+"/packs/read", body, map[string]string{"Content-Type": "application/json"})
		if code != 200 {
			return code, nil, nil, string(b)
		}
		var sums, datas []string
		r := pack.NewReader(bytes.NewReader(b), 1<<20)
		for {
			s, d, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("pack: %v", err)
			}
			sums, datas = append(sums, s), append(datas, string(d))
		}
		if hdr.Get("X-Pack-Blobs") != fmt.Sprint(len(sums)) {
			t.Errorf("X-Pack-Blobs %s for %d blobs", hdr.Get("X-Pack-Blobs"), len(sums))
		}
		return code, sums, datas, ""
	}
	h, s, e := hashOf([]byte("h")), hashOf([]byte("s")), hashOf([]byte("e"))
	if code, _, datas, _ := read(carol, "0", 1, e, s, h, s); code != 200 || sorted(datas) != "e,h,s" {
		t.Fatalf("carol's pack: %d %v", code, datas)
	}
	// Bob may not view applications/x: its content is not served to him,
	// even though he knows its hash.
	if code, _, _, prob := read(bob, "0", 1, s, h); code != 404 || !strings.Contains(prob, h) || strings.Contains(prob, s) {
		t.Fatalf("bob asking for a hidden hash: %d %s", code, prob)
	}
	if code, _, datas, _ := read(bob, "0", 1, s, e); code != 200 || sorted(datas) != "e,s" {
		t.Fatalf("bob's pack: %d %v", code, datas)
	}
	// Content uploaded but not committed, and commits outside the range,
	// are not served.
	raw(t, a, carol, "POST", cat+"/packs", packOf(t, "loose"), ct)
	if code, _, _, _ := read(carol, "0", 1, hashOf([]byte("loose"))); code != 404 {
		t.Fatalf("loose blob: %d", code)
	}
	if code, _, _, _ := read(carol, "1", 1, s); code != 404 {
		t.Fatalf("outside the range: %d", code)
	}
	for _, c := range []struct {
		since string
		until int
	}{{"0", 2}, {"x", 1}, {"2", 1}} {
		if code, _, _, prob := read(carol, c.since, c.until, s); code != 400 {
			t.Errorf("range %s..%d: %d %s", c.since, c.until, code, prob)
		}
	}
	if code, _, _, _ := read(carol, "0", 1); code != 400 {
		t.Errorf("no hashes: %d", code)
	}
}

func sorted(s []string) string {
	s = slices.Clone(s)
	slices.Sort(s)
	return strings.Join(s, ",")
}
