package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// misdirecting is a stamp that answers every request 421 naming homeURL,
// with the problem shape of shared/stamp (TestTwoStamps checks the real
// handler's answer; this checks the client's rules).
func misdirecting(t *testing.T, homeURL string, hits *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusMisdirectedRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "https://studio-collab.dev/problems/misdirected", "status": 421,
			"title": "Served by another stamp", "detail": "project p is served by stamp a", "home": "a", "homeUrl": homeURL})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestClientFollowsTheHome(t *testing.T) {
	var homeHits, awayHits atomic.Int64
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		homeHits.Add(1)
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(map[string]string{"auth": r.Header.Get("Authorization"), "body": string(body),
			"path": r.URL.Path, "query": r.URL.RawQuery, "key": r.Header.Get("Idempotency-Key")})
	}))
	t.Cleanup(home.Close)
	away := misdirecting(t, home.URL, &awayHits)
	c := newClient(config{API: away.URL, Token: "tok"})

	var got map[string]string
	if err := c.do("POST", "/api/projects/p/catalog/checkins?x=1", map[string]string{"message": "m"}, &got, "Idempotency-Key", "k1"); err != nil {
		t.Fatal(err)
	}
	if got["auth"] != "Bearer tok" || got["body"] != `{"message":"m"}` || got["path"] != "/api/projects/p/catalog/checkins" || got["query"] != "x=1" || got["key"] != "k1" {
		t.Fatalf("the home received %v", got)
	}
	// The home is remembered for the project: the next call goes straight there.
	if err := c.do("GET", "/api/projects/p/members", nil, &got); err != nil {
		t.Fatal(err)
	}
	if awayHits.Load() != 1 || homeHits.Load() != 2 {
		t.Fatalf("away %d, home %d: the home was not remembered", awayHits.Load(), homeHits.Load())
	}
	// A streamed body (a pack) to a project whose home is not known yet: a
	// GET learns the home first, and the body goes there once.
	req, _ := http.NewRequest("POST", away.URL+"/api/projects/r/catalog/packs", io.MultiReader(strings.NewReader("pack bytes")))
	resp, err := c.send(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if resp.StatusCode != 200 || got["body"] != "pack bytes" || got["path"] != "/api/projects/r/catalog/packs" {
		t.Fatalf("streamed body: %d %v", resp.StatusCode, got)
	}
	awayHits.Store(1)
	// Another project asks again.
	if err := c.do("GET", "/api/projects/q", nil, &got); err != nil || awayHits.Load() != 2 {
		t.Fatalf("another project: %v, away %d", err, awayHits.Load())
	}
}

func TestClientRefusesUnsafeOrLoopingHomes(t *testing.T) {
	var hits atomic.Int64
	cases := []struct{ name, home string }{
		{"clear-text home on the network", "http://collab.example.com"},
		{"not a URL", "::"},
		{"no home", ""},
	}
	for _, tc := range cases {
		away := misdirecting(t, tc.home, &hits)
		err := newClient(config{API: away.URL, Token: "tok"}).do("GET", "/api/projects/p", nil, nil)
		if e, ok := err.(*apiError); !ok || e.Status != 421 || !strings.Contains(e.Detail, "stamp a") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// Two stamps naming each other: a bounded number of hops, then the 421.
	var loopHits atomic.Int64
	var loop *httptest.Server
	loop = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loopHits.Add(1)
		w.WriteHeader(http.StatusMisdirectedRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"title": "Served by another stamp", "homeUrl": loop.URL})
	}))
	t.Cleanup(loop.Close)
	err := newClient(config{API: loop.URL}).do("GET", "/api/projects/p", nil, nil)
	if e, ok := err.(*apiError); !ok || e.Status != 421 || loopHits.Load() != maxHomeHops+1 {
		t.Fatalf("loop: %v after %d requests", err, loopHits.Load())
	}
}
