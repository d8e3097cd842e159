package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/deploy/standin"
	"github.com/studio-collab/collab/shared/fnhost/manifest"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// TestThreeInstances runs the real handler binary (built with -race when
// the tests are) as three instances behind the devhost, as Flex scales out,
// and repeats the concurrency checks of the catalog, the jobs and the
// maintenance windows through it: nothing acknowledged is lost and nothing
// runs twice. Each subtest logs its lost/duplicated counts.
func TestThreeInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the handler three times")
	}
	start := time.Now()
	sc := startScale(t, 3)
	t.Logf("3 handler instances up in %v (pids %v)", time.Since(start).Round(time.Millisecond), sc.h.HandlerPIDs())
	sc.seed(t)
	t.Run("catalog: 32 writers", sc.catalogWriters)
	t.Run("jobs: exactly once", sc.jobsExactlyOnce)
	t.Run("windows: each transition once", sc.windowTransitions)
	if pids := sc.h.HandlerPIDs(); len(pids) != 3 || pids[0] == 0 || pids[1] == 0 || pids[2] == 0 {
		t.Fatalf("instances %v", pids)
	}
	// The race detector in the handlers reports on their stderr.
	if out := sc.output.String(); strings.Contains(out, "DATA RACE") {
		t.Fatalf("a handler instance raced:\n%s", out)
	}
	if strings.Contains(sc.logs.String(), "handler exited; restarting") {
		t.Fatalf("a handler instance died:\n%s", sc.logs)
	}
}

type scale struct {
	h      *Host
	url    string
	logs   *syncBuffer
	output *syncBuffer // the handlers' stdout and stderr
	tokens map[string]string
}

var handlerBuild struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// realHandler builds cmd/handler once per test binary, with the race
// detector when the tests have it.
func realHandler(t *testing.T) string {
	t.Helper()
	handlerBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "devhost-handler-")
		if err != nil {
			handlerBuild.err = err
			return
		}
		handlerBuild.path = filepath.Join(dir, "handler")
		args := []string{"build", "-o", handlerBuild.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		handlerBuild.out, handlerBuild.err = exec.Command("go", append(args, "../../handler")...).CombinedOutput()
	})
	if handlerBuild.err != nil {
		t.Fatalf("build handler: %v\n%s", handlerBuild.err, handlerBuild.out)
	}
	return handlerBuild.path
}

func startScale(t *testing.T, instances int) *scale {
	t.Helper()
	az := azuritetest.Server(t)
	exe := realHandler(t)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	keyFile := filepath.Join(t.TempDir(), "dev-issuer.pem")
	// One signing key for every instance, made before they start.
	if _, err := identity.NewDevIssuer(base+"/api/dev", "x", keyFile, false, nil); err != nil {
		t.Fatal(err)
	}
	overrides := map[string]string{
		"COLLAB_ENVIRONMENT": "local", "AzureWebJobsStorage": az.ConnectionString(), "COLLAB_DEV_AUTH": "true", "COLLAB_DEV_ISSUER_URL": base + "/api/dev",
		"COLLAB_DEV_ISSUER_KEY_FILE": keyFile, "COLLAB_LOG_LEVEL": "warn",
	}
	getenv := func(k string) string { return overrides[k] }
	app, err := manifest.Load("../../..", "", getenv)
	if err != nil {
		t.Fatal(err)
	}
	logs, output := &syncBuffer{}, &syncBuffer{}
	h, err := New(Options{App: app, HandlerPath: exe, Getenv: func(string) string { return "" }, Overrides: overrides,
		Log: slog.New(slog.NewJSONHandler(logs, nil)), Output: output, Instances: instances})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(func() { srv.Close(); h.Close() })
	sc := &scale{h: h, url: base, logs: logs, output: output, tokens: map[string]string{}}
	// Healthy on every instance: requests go round the instances in turn.
	deadline := time.Now().Add(2 * time.Minute)
	for ok := 0; ok < 2*instances; {
		if time.Now().After(deadline) {
			t.Fatalf("the instances did not become healthy:\n%s", logs)
		}
		resp, err := http.Get(base + "/api/health")
		if err == nil {
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == 200 {
			ok++
			continue
		}
		ok = 0
		time.Sleep(100 * time.Millisecond) // polling the instances' start with a deadline
	}
	return sc
}

const (
	owner  = "alice@example.com"
	envAPI = "/api/projects/claims/environments/development"
	catAPI = "/api/projects/claims/catalog"
)

func (sc *scale) token(t *testing.T, email string) string {
	t.Helper()
	if tok := sc.tokens[email]; tok != "" {
		return tok
	}
	resp, err := http.Post(sc.url+"/api/dev/token", "application/json", strings.NewReader(`{"email":"`+email+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("dev token: %d %v", resp.StatusCode, err)
	}
	sc.tokens[email] = out.AccessToken
	return out.AccessToken
}

// call sends a JSON request as alice; safe for concurrent use once her token is known.
func (sc *scale) call(t *testing.T, tok, method, path string, body any, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, sc.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	if rd != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return 0, nil
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (sc *scale) must(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	code, m := sc.call(t, sc.token(t, owner), method, path, body, map[string]string{"Idempotency-Key": fmt.Sprint(time.Now().UnixNano())})
	if code != want {
		t.Fatalf("%s %s: %d, want %d: %v", method, path, code, want, m)
	}
	return m
}

func (sc *scale) seed(t *testing.T) {
	sc.must(t, "POST", "/api/subscriptions", map[string]any{"id": "acme", "name": "Acme"}, 201)
	sc.must(t, "POST", "/api/subscriptions/acme/projects", map[string]any{"id": "claims", "name": "Claims"}, 201)
	sc.must(t, "POST", "/api/projects/claims/environments", map[string]any{"name": "development", "kind": "development"}, 201)
	// A second owner, who receives the window notices.
	const bob = "bob@example.com"
	inv := sc.must(t, "POST", "/api/subscriptions/acme/users", map[string]any{"email": bob}, 201)
	if code, m := sc.call(t, sc.token(t, bob), "POST", "/api/invitations/"+fmt.Sprint(inv["token"])+"/accept", nil, nil); code != 200 {
		t.Fatalf("accept: %d %v", code, m)
	}
	sc.must(t, "PUT", "/api/projects/claims/members/"+platform.UserID(bob), map[string]any{"role": "owner"}, 201)
}

// fire invokes a non-HTTP function through the admin API n times at once
// (the devhost spreads them over the instances) and waits for them all.
func (sc *scale) fire(t *testing.T, fn string, n int) {
	t.Helper()
	line := `"function":"` + fn + `","trigger":"manual"`
	before := strings.Count(sc.logs.String(), line)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(sc.url+"/admin/functions/"+fn, "application/json", strings.NewReader(`{}`))
			if err != nil || resp.StatusCode != 202 {
				t.Errorf("fire %s: %v %v", fn, resp, err)
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(time.Minute)
	for strings.Count(sc.logs.String(), line) < before+n {
		if time.Now().After(deadline) {
			t.Fatalf("%s invocations did not finish", fn)
		}
		time.Sleep(20 * time.Millisecond) // polling the devhost's log with a deadline
	}
}

// catalogWriters: 32 writers check in on 8 shared paths through the three
// instances; every acknowledged check-in is in the feed once, the sequence
// is gapless, and the 409s name real conflicts.
func (sc *scale) catalogWriters(t *testing.T) {
	const writers, rounds = 32, 6
	tok := sc.token(t, owner)
	content := []byte(`{"steps":1}`)
	sum := sha256.Sum256(content)
	hash := hex.EncodeToString(sum[:])
	if code, m := sc.call(t, tok, "PUT", catAPI+"/blobs/"+hash, content, map[string]string{"Content-Type": "application/octet-stream"}); code != 201 && code != 200 {
		t.Fatalf("upload: %d %v", code, m)
	}
	var paths []string
	for i := range 8 {
		paths = append(paths, fmt.Sprintf("applications/claims/processes/p%d", i))
	}
	var mu sync.Mutex
	latest := map[string]int{}
	acked := map[int]map[string]int{} // seq -> path -> version
	ackCount := map[int]int{}
	accepted, refused := 0, 0
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				mu.Lock()
				known := maps.Clone(latest)
				mu.Unlock()
				p := paths[(w*3+r)%len(paths)]
				change := map[string]any{"op": "put", "path": p, "baseVersion": known[p], "sha256": hash, "size": len(content), "contentType": "application/json"}
				code, res := sc.call(t, tok, "POST", catAPI+"/checkins", map[string]any{"message": "m", "changes": []any{change}},
					map[string]string{"Idempotency-Key": fmt.Sprintf("w%d-r%d", w, r)})
				mu.Lock()
				switch code {
				case 201:
					accepted++
					seq := int(res["seq"].(float64))
					ackCount[seq]++
					acked[seq] = map[string]int{}
					for _, o := range res["objects"].([]any) {
						om := o.(map[string]any)
						v := int(om["version"].(float64))
						acked[seq][om["path"].(string)] = v
						latest[om["path"].(string)] = max(latest[om["path"].(string)], v)
					}
				case 409:
					refused++
					for _, c := range res["conflicts"].([]any) {
						cm := c.(map[string]any)
						latest[cm["path"].(string)] = max(latest[cm["path"].(string)], int(cm["currentVersion"].(float64)))
					}
				default:
					t.Errorf("writer %d round %d: %d %v", w, r, code, res)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	feed := map[int]map[string]int{}
	entries := 0
	for since := "0"; ; {
		_, pg := sc.call(t, tok, "GET", catAPI+"/changes?since="+since, nil, nil)
		for _, c := range pg["changes"].([]any) {
			cm := c.(map[string]any)
			s := int(cm["seq"].(float64))
			if feed[s] == nil {
				feed[s] = map[string]int{}
			}
			feed[s][cm["path"].(string)] = int(cm["version"].(float64))
			entries++
		}
		if pg["next"] == fmt.Sprint(pg["head"]) {
			break
		}
		since = pg["next"].(string)
	}
	lost, duplicated := 0, 0
	for seq, vs := range acked {
		if fmt.Sprint(feed[seq]) != fmt.Sprint(vs) {
			lost++
			t.Errorf("acknowledged seq %d %v, feed has %v", seq, vs, feed[seq])
		}
		if ackCount[seq] > 1 {
			duplicated++
			t.Errorf("seq %d acknowledged %d times", seq, ackCount[seq])
		}
	}
	if len(feed) != accepted || entries != accepted {
		duplicated += entries - accepted
		t.Errorf("%d commits (%d entries) in the feed, %d check-ins acknowledged", len(feed), entries, accepted)
	}
	for s := 1; s <= accepted; s++ {
		if feed[s] == nil {
			t.Errorf("seq %d missing: a gap", s)
		}
	}
	t.Logf("%d check-ins through 3 instances: %d accepted, %d refused with 409; lost %d, duplicated %d", writers*rounds, accepted, refused, lost, duplicated)
}

// jobsExactlyOnce: a job due every second, JobsTick fired on all three
// instances at once, round after round: every occurrence calls the
// Scheduler exactly once, with no gap.
func (sc *scale) jobsExactlyOnce(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	sched := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls[r.Header.Get("Idempotency-Key")]++
		mu.Unlock()
	}))
	defer sched.Close()
	sc.must(t, "PATCH", envAPI, map[string]any{"schedulerUrl": sched.URL}, 200)
	sc.must(t, "POST", envAPI+"/jobs", map[string]any{"name": "every-second", "schedule": "* * * * * *", "target": "/run",
		"catchUp": "all", "catchUpBound": 1000}, 201)
	until := time.Now().Add(5 * time.Second)
	rounds := 0
	for time.Now().Before(until) {
		sc.fire(t, "JobsTick", 3)
		rounds++
	}
	sc.fire(t, "JobsTick", 3) // a last round once every earlier one is over
	_, runs := sc.call(t, sc.token(t, owner), "GET", envAPI+"/jobs/every-second/runs?limit=1000", nil, nil)
	items, _ := runs["items"].([]any)
	var occ []time.Time
	for _, it := range items {
		m := it.(map[string]any)
		at, _ := time.Parse(time.RFC3339, fmt.Sprint(m["occurrence"]))
		occ = append(occ, at)
		if m["status"] != "succeeded" {
			t.Errorf("run %v", m)
		}
	}
	sort.Slice(occ, func(i, j int) bool { return occ[i].Before(occ[j]) })
	lost, duplicated := 0, 0
	mu.Lock()
	defer mu.Unlock()
	for i, at := range occ {
		key := fmt.Sprintf("claims/development/every-second/%d", at.Unix())
		switch n := calls[key]; {
		case n == 0:
			lost++
			t.Errorf("occurrence %v recorded but the Scheduler was never called", at)
		case n > 1:
			duplicated += n - 1
			t.Errorf("occurrence %v called the Scheduler %d times", at, n)
		}
		if i > 0 && at.Sub(occ[i-1]) != time.Second {
			if at.Equal(occ[i-1]) {
				duplicated++
			} else {
				lost += int(at.Sub(occ[i-1])/time.Second) - 1
			}
			t.Errorf("occurrences %v then %v", occ[i-1], at)
		}
	}
	if len(calls) != len(occ) {
		t.Errorf("%d occurrences called, %d run rows", len(calls), len(occ))
	}
	if len(occ) < 3 {
		t.Fatalf("only %d occurrences ran: %v", len(occ), runs)
	}
	t.Logf("%d JobsTick rounds × 3 instances: %d occurrences; lost %d, duplicated %d", rounds+1, len(occ), lost, duplicated)
}

// windowTransitions: a change that needs a restart, a window opened now,
// WindowsReconcile fired on all three instances at once until the window
// completes: each transition happens once, the Work Portal restarts once.
func (sc *scale) windowTransitions(t *testing.T) {
	portal := standin.New(0, nil)
	srv := httptest.NewServer(portal)
	defer srv.Close()
	sc.must(t, "PATCH", envAPI, map[string]any{"workPortalUrl": srv.URL + "/claims/development/portal", "schedulerUrl": srv.URL + "/claims/development/scheduler"}, 200)
	tok := sc.token(t, owner)
	content := []byte(`{"attr":1}`)
	sum := sha256.Sum256(content)
	hash := hex.EncodeToString(sum[:])
	sc.call(t, tok, "PUT", catAPI+"/blobs/"+hash, content, map[string]string{"Content-Type": "application/octet-stream"})
	change := map[string]any{"op": "put", "path": "entities/master/Claim", "baseVersion": 0, "sha256": hash, "size": len(content), "contentType": "application/json"}
	if code, m := sc.call(t, tok, "POST", catAPI+"/checkins", map[string]any{"message": "entity", "changes": []any{change}},
		map[string]string{"Idempotency-Key": "entity-1"}); code != 201 {
		t.Fatalf("check-in: %d %v", code, m)
	}
	// The deployment request reaches DeployRequests through the Service Bus stand-in.
	deadline := time.Now().Add(time.Minute)
	for {
		_, st := sc.call(t, tok, "GET", envAPI+"/status", nil, nil)
		if st["pendingRestart"] == float64(1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the change was not classified: %v\n%s", st, sc.logs)
		}
		time.Sleep(100 * time.Millisecond) // polling the environment's status with a deadline
	}
	win := sc.must(t, "POST", envAPI+"/windows/open-now", nil, 200)
	id := fmt.Sprint(win["id"])
	var w map[string]any
	for deadline := time.Now().Add(2 * time.Minute); ; {
		sc.fire(t, "WindowsReconcile", 3)
		_, w = sc.call(t, tok, "GET", envAPI+"/windows/"+id, nil, nil)
		if w["state"] == "completed" || w["state"] == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("window %v", w)
		}
	}
	var path []string
	seen := map[string]int{}
	duplicated := 0
	for _, h := range w["history"].([]any) {
		to := fmt.Sprint(h.(map[string]any)["to"])
		path = append(path, to)
		if seen[to]++; seen[to] > 1 {
			duplicated++
		}
	}
	restarts := portal.Get("/claims/development/portal").Restarts
	lost := 0
	for _, want := range []string{"open", "applying", "restarting", "completed"} {
		if seen[want] == 0 {
			lost++
		}
	}
	if duplicated != 0 || lost != 0 || restarts != 1 {
		t.Errorf("transitions %v, Work Portal restarts %d", path, restarts)
	}
	t.Logf("window %s through 3 instances: transitions %v, Work Portal restarts %d; lost %d, duplicated %d", id, path, restarts, lost, duplicated+max(restarts-1, 0))
}
