// Package handlertest runs the whole HTTP API in-process for tests of the
// handlers and of the clients (the collab CLI): the real router, services
// and Azurite storage (one prefix of tables per server), and the dev issuer
// served by the same server, so tokens go through discovery over HTTP.
package handlertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers"
	"github.com/studio-collab/collab/internal/app"
	"github.com/studio-collab/collab/shared/contract"
	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/envconfig/localvault"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/mail/smtptest"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/settings"
	"github.com/studio-collab/collab/shared/stamp"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// Audience is the dev tokens' audience on a test server.
const Audience = "api://test"

// API is a running API.
type API struct {
	Srv    *httptest.Server
	URL    string
	Issuer *identity.DevIssuer
	Clock  *atomic.Int64 // offset added to time.Now, in nanoseconds
	Prefix string        // the storage names' prefix; StartOn(t, Prefix) shares it

	mu     sync.Mutex
	tokens map[string]string
	svcs   app.Services

	logs *logBuffer
	// SMTP receives every e-mail this instance sends; Outbox and Callbacks
	// are this storage prefix's queues (queues are not prefixed in Azure, so
	// tests give each server its own).
	SMTP      *smtptest.Server
	Outbox    store.Queue
	Callbacks store.Queue
}

// logBuffer keeps every log line of the server (debug level and up), so
// tests can assert what is never logged.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Logs returns everything the server logged so far.
func (a *API) Logs() string {
	a.logs.mu.Lock()
	defer a.logs.mu.Unlock()
	return a.logs.b.String()
}

// ApplyPending runs the parameters' part of a maintenance window's applying
// step for an environment, as a window does.
func (a *API) ApplyPending(t testing.TB, project, env string) {
	t.Helper()
	if err := a.svcs.Params.ApplyPending(context.Background(), project, env); err != nil {
		t.Fatalf("apply pending: %v", err)
	}
}

// InboundSecret is the inbound webhook's secret on a test server.
const InboundSecret = "inbound-test-secret"

// MailKeys are the reply token and callback keys of a test server.
const MailKeys = "t1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// Tick runs one JobsTick round on this instance, as the timer would.
func (a *API) Tick(t testing.TB) {
	t.Helper()
	if err := a.svcs.Jobs.Tick(context.Background(), handlers.JobsTickInterval); err != nil {
		t.Fatalf("tick: %v", err)
	}
}

var seq atomic.Int64

// issuers are the dev issuers by storage prefix (StartOn shares them).
var (
	issuersMu sync.Mutex
	issuers   = map[string]*identity.DevIssuer{}
)

// Start runs the API on storage of its own until the test ends. The
// caller's package must use azuritetest.Main in its TestMain.
func Start(t testing.TB) *API { return StartOn(t, fmt.Sprintf("h%d", seq.Add(1))) }

// StartOn runs another instance on the storage named by prefix (another
// API's Prefix): two handler instances sharing one storage account.
func StartOn(t testing.TB, prefix string) *API { return startOn(t, prefix, nil, Trust{}, nil) }

// StartWith runs the API on storage of its own after configure has changed
// its dependencies (the console's sign-in settings, for instance).
func StartWith(t testing.TB, configure func(*handlers.Deps)) *API {
	return startOn(t, fmt.Sprintf("h%d", seq.Add(1)), configure, Trust{}, nil)
}

// Trust is what a test server trusts besides its dev issuer: a real
// provider (Dex) and the HTTP client that reaches it (its test CA).
type Trust struct {
	Issuers []identity.IssuerConfig
	Client  *http.Client
	Options []identity.Option
}

// StartTrusting runs the API on storage of its own, trusting tr's issuers
// as well as the dev issuer; configure may be nil.
func StartTrusting(t testing.TB, tr Trust, configure func(*handlers.Deps)) *API {
	return startOn(t, fmt.Sprintf("h%d", seq.Add(1)), configure, tr, nil)
}

// shared are what the stamps of StartStamps share: their servers are made
// (and their URLs known) before any starts, and one dev issuer signs for
// all, as one Entra tenant does for every stamp in Azure.
type shared struct {
	srv    *httptest.Server
	issuer *identity.DevIssuer
}

// StartStamps runs one API per name as the stamps of one deployment: each
// on storage of its own, all sharing one global directory and one dev
// issuer; dedicated maps a stamp to the one subscription it serves.
// configure (may be nil) then adjusts each stamp's dependencies; the
// console is mounted with the dev sign-in and the other stamps' origins.
func StartStamps(t testing.TB, dedicated map[string]string, configure func(name string, d *handlers.Deps), names ...string) map[string]*API {
	t.Helper()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: fmt.Sprintf("dir%d", seq.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(context.Background(), stamp.Layout); err != nil {
		t.Fatal(err)
	}
	dir := stamp.NewDirectory(acct.Table(stamp.TableName), nil)
	srvs, urls := map[string]*httptest.Server{}, map[string]string{}
	for _, n := range names {
		srvs[n] = httptest.NewUnstartedServer(nil)
		urls[n] = "http://" + srvs[n].Listener.Addr().String()
	}
	issuer, err := identity.NewDevIssuer(urls[names[0]]+"/api/dev", Audience, filepath.Join(t.TempDir(), "k.pem"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*API{}
	for _, n := range names {
		out[n] = startOn(t, fmt.Sprintf("h%d", seq.Add(1)), func(d *handlers.Deps) {
			d.Stamps = &stamp.Stamps{Self: n, URLs: urls, Dedicated: dedicated[n], Dir: dir}
			d.Platform.Svc.Homes = d.Stamps
			c, err := handlers.NewConsole(handlers.ConsoleConfig{DevAuth: true, Stamps: d.Stamps.Origins()})
			if err != nil {
				t.Fatal(err)
			}
			d.Console = c
			if configure != nil {
				configure(n, d)
			}
		}, Trust{}, &shared{srv: srvs[n], issuer: issuer})
	}
	return out
}

func startOn(t testing.TB, prefix string, configure func(*handlers.Deps), tr Trust, sh *shared) *API {
	t.Helper()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(),
		NamePrefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(context.Background(), app.StorageLayouts()...); err != nil {
		t.Fatal(err)
	}
	a := &API{Clock: &atomic.Int64{}, tokens: map[string]string{}, Prefix: prefix, logs: &logBuffer{}}
	a.Srv = httptest.NewUnstartedServer(nil)
	if sh != nil {
		a.Srv = sh.srv
	}
	a.URL = "http://" + a.Srv.Listener.Addr().String()
	// Instances on one storage prefix are one deployment: they share one dev
	// issuer (the first instance's URL and key), as instances in Azure share
	// one tenant; with an issuer each, every address would be bound to the
	// first instance's identity and refused by the others. Stamps share one
	// issuer across storage accounts (sh).
	issuersMu.Lock()
	if sh != nil {
		a.Issuer = sh.issuer
	} else if known, ok := issuers[prefix]; ok {
		a.Issuer = known
	} else {
		a.Issuer, err = identity.NewDevIssuer(a.URL+"/api/dev", Audience, filepath.Join(t.TempDir(), "k.pem"), false, a.Now)
		if err == nil {
			issuers[prefix] = a.Issuer
		}
	}
	issuersMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	opts := append([]identity.Option{identity.WithClock(a.Now), identity.WithDiscoveryRetry(0)}, tr.Options...)
	if tr.Client != nil {
		opts = append(opts, identity.WithHTTPClient(tr.Client))
	}
	auth := identity.NewAuthenticator(append([]identity.IssuerConfig{a.Issuer.Config()}, tr.Issuers...), opts...)
	svcs := app.New(acct, a.Now)
	qs := store.Layout{Queues: []string{strings.ToLower(prefix) + "-outbox", strings.ToLower(prefix) + "-callbacks"}}
	if err := acct.Bootstrap(context.Background(), qs); err != nil {
		t.Fatal(err)
	}
	a.Outbox, a.Callbacks = acct.Queue(qs.Queues[0]), acct.Queue(qs.Queues[1])
	svcs.Mail.Outbox.Queue, svcs.Mail.Inbound.Callbacks = a.Outbox, a.Callbacks
	a.SMTP = smtptest.Start(t, smtptest.Options{})
	if err := svcs.Mail.Configure(settings.Mail{SMTPHost: a.SMTP.Host, SMTPPort: a.SMTP.Port, SMTPSecurity: "none", SMTPTimeout: 5 * time.Second,
		From: "Studio Collaboration <noreply@collab.test>", ReplyDomain: "reply.collab.test", TokenKeys: MailKeys, CallbackKeys: MailKeys,
		InboundSecret: InboundSecret, PublicURL: a.URL}, false); err != nil {
		t.Fatal(err)
	}
	svcs.Platform.PublicURL = a.URL
	svcs.UseEgress(egress.Local()) // the tests' Schedulers, Work Portals and callbacks are on loopback
	a.svcs = svcs
	svcs.Platform.CanCreateSubscriptions = func(platform.Caller) bool { return true }
	// Secret parameters: a fresh local key per server; restart-needing
	// changes: a table-backed recorder shared by servers on one prefix.
	vault, err := localvault.New(testKey(prefix))
	if err != nil {
		t.Fatal(err)
	}
	svcs.Params.Secrets = vault
	auth.SetGate(handlers.Gate{Svc: svcs.Platform})
	log := slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rt := httpapi.NewRouter(log, auth, 0)
	deps := svcs.Deps(handlers.Health{Storage: acct, Timeout: 2 * time.Second}, handlers.DevAuth{Issuer: a.Issuer})
	// The console as the handler mounts it (cmd/handler), with the dev sign-in.
	if deps.Console, err = handlers.NewConsole(handlers.ConsoleConfig{DevAuth: true}); err != nil {
		t.Fatal(err)
	}
	if configure != nil {
		configure(&deps)
	}
	handlers.Register(rt, deps)
	// Non-HTTP functions answer POST /<Name> with the host's invocation body,
	// as in the handler binary.
	root := fnhost.NewRouter(rt, log)
	handlers.RegisterFunctions(root, deps)
	a.Srv.Config.Handler = validated(t, root)
	a.Srv.Start()
	t.Cleanup(a.Srv.Close)
	return a
}

// validated checks every answer the test server gives against
// api/openapi.yaml (shared/contract, kin-openapi): a status the operation
// does not declare, a body that does not match its schema, or a client
// error without a detail fails the test that made the request. The
// mismatches are reported when the test ends (after the server closed), so
// an answer written after the test's last assertion still counts.
func validated(t testing.TB, h http.Handler) http.Handler {
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var found []error
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, err := range found {
			t.Errorf("api/openapi.yaml: %v", err)
		}
	})
	return contract.Middleware(doc, h, func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(found) < 20 {
			found = append(found, err)
		}
	})
}

// testKey is the parameters' key of the servers sharing a storage prefix
// (derived from it, so StartOn instances open each other's secrets).
func testKey(prefix string) []byte {
	k := sha256.Sum256([]byte("handlertest parameters key " + prefix))
	return k[:]
}

// Now is the server's clock.
func (a *API) Now() time.Time { return time.Now().Add(time.Duration(a.Clock.Load())) }

// ForgetTokens drops cached tokens (after moving the clock past their expiry).
func (a *API) ForgetTokens() { a.mu.Lock(); a.tokens = map[string]string{}; a.mu.Unlock() }

// Token returns a dev token for email, fetched once.
func (a *API) Token(t testing.TB, email string) string {
	t.Helper()
	a.mu.Lock()
	tok, ok := a.tokens[email]
	a.mu.Unlock()
	if ok {
		return tok
	}
	resp, body := a.Call(t, "", "POST", "/api/dev/token", map[string]string{"email": email}, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("token for %s: %d %v", email, resp.StatusCode, body)
	}
	tok = body["access_token"].(string)
	a.mu.Lock()
	a.tokens[email] = tok
	a.mu.Unlock()
	return tok
}

// Call sends a request; who is an e-mail (a dev token is used), a raw
// "Bearer ..." header, or "" for anonymous. The body is JSON-encoded.
func (a *API) Call(t testing.TB, who, method, path string, body any, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, a.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case strings.HasPrefix(who, "Bearer "):
		req.Header.Set("Authorization", who)
	case who != "":
		req.Header.Set("Authorization", "Bearer "+a.Token(t, who))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := a.Srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{"_raw": string(raw)}
	}
	return resp, m
}

// Must is Call that fails the test unless the status is want.
func (a *API) Must(t testing.TB, who, method, path string, body any, want int) map[string]any {
	t.Helper()
	resp, m := a.Call(t, who, method, path, body, nil)
	if resp.StatusCode != want {
		t.Fatalf("%s %s as %s: %d, want %d: %v", method, path, who, resp.StatusCode, want, m)
	}
	return m
}

// Invite has owner invite email to sub and the invitee accept.
func (a *API) Invite(t testing.TB, owner, sub, email string) {
	t.Helper()
	inv := a.Must(t, owner, "POST", "/api/subscriptions/"+sub+"/users", map[string]any{"email": email}, 201)
	a.Must(t, email, "POST", "/api/invitations/"+inv["token"].(string)+"/accept", nil, 200)
}

// Services are this instance's domain services (tests tune or drive them).
func (a *API) Services() app.Services { return a.svcs }

// InvokeFunction calls a non-HTTP function as the Functions host does: POST
// /<name> with the invocation body in the host's encoding (data: binding
// name -> payload; a string is a message text, JSON-encoded once more as the
// host does; a map is an object such as a TimerInfo). It returns the status
// and the decoded response.
func (a *API) InvokeFunction(t testing.TB, name string, data map[string]any) (int, fnhost.InvocationResponse) {
	t.Helper()
	b, err := fnhost.EncodeInvocation(data, nil, a.sys(name))
	if err != nil {
		t.Fatal(err)
	}
	return a.post(t, name, b)
}

func (a *API) sys(name string) fnhost.SysMetadata {
	return fnhost.SysMetadata{MethodName: name, UtcNow: a.Now().UTC(), RandGuid: fmt.Sprint(seq.Add(1))}
}

func (a *API) post(t testing.TB, name string, body []byte) (int, fnhost.InvocationResponse) {
	t.Helper()
	resp, err := a.Srv.Client().Post(a.URL+"/"+name, "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out fnhost.InvocationResponse
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// InvokeQueue calls a queue-triggered function (binding "msg") with m in
// the host's encoding and returns the HTTP status of the invocation.
func (a *API) InvokeQueue(t testing.TB, name string, m fnhost.QueueMessage) int {
	t.Helper()
	b, err := fnhost.QueueInvocation("msg", m, a.sys(name))
	if err != nil {
		t.Fatal(err)
	}
	code, _ := a.post(t, name, b)
	return code
}

// Deliver plays the host's queue trigger once over q for function name:
// every visible message is invoked with its dequeue count, deleted when the
// invocation succeeds, and made visible again when it fails (the host's
// retry, which the next Deliver performs). It returns the statuses.
func (a *API) Deliver(t testing.TB, q store.Queue, name string) []int {
	t.Helper()
	var out []int
	var failed []store.Message
	defer func() {
		for _, m := range failed {
			_, _ = q.SetVisibility(context.Background(), m, 0)
		}
	}()
	for {
		msgs, err := q.Receive(context.Background(), 32, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			status := a.InvokeQueue(t, name, fnhost.QueueMessage{ID: m.ID, PopReceipt: m.PopReceipt, Text: m.Text, DequeueCount: m.DequeueCount,
				InsertionTime: m.InsertionTime, ExpirationTime: m.Expiration, NextVisibleTime: m.NextVisible})
			out = append(out, status)
			if status == http.StatusOK {
				_ = q.Delete(context.Background(), m)
			} else {
				failed = append(failed, m)
			}
		}
	}
}

var commitSeq atomic.Int64

// Commit checks one change per path into project's catalog as who, as a
// co-developer's push does: content unique to this call, uploaded as a blob,
// each put based on the path's current version. It returns the commit's
// sequence number (the check-in's Committed hook requests its deployment).
func (a *API) Commit(t testing.TB, who, project string, paths ...string) int64 {
	t.Helper()
	base := "/api/projects/" + url.PathEscape(project) + "/catalog"
	var changes []map[string]any
	for _, p := range paths {
		version := 0.0
		resp, obj := a.Call(t, who, "GET", base+"/object?path="+url.QueryEscape(p), nil, nil)
		switch {
		case resp.StatusCode == http.StatusOK && obj["deleted"] != true:
			version, _ = obj["version"].(float64)
		case resp.StatusCode == http.StatusOK, resp.StatusCode == http.StatusNotFound:
		default:
			t.Fatalf("commit: reading %s: %d %v", p, resp.StatusCode, obj)
		}
		content := []byte(fmt.Sprintf(`{"path":%q,"edit":%d}`, p, commitSeq.Add(1)))
		sum := sha256.Sum256(content)
		h := hex.EncodeToString(sum[:])
		req, _ := http.NewRequest("PUT", a.URL+base+"/blobs/"+h, strings.NewReader(string(content)))
		req.Header.Set("Authorization", "Bearer "+a.Token(t, who))
		req.Header.Set("Content-Type", "application/octet-stream")
		up, err := a.Srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, up.Body)
		up.Body.Close()
		if up.StatusCode != http.StatusCreated && up.StatusCode != http.StatusOK {
			t.Fatalf("commit: uploading %s: %d", p, up.StatusCode)
		}
		changes = append(changes, map[string]any{"op": "put", "path": p, "baseVersion": version, "sha256": h,
			"size": len(content), "contentType": "application/json"})
	}
	resp, m := a.Call(t, who, "POST", base+"/checkins", map[string]any{"message": "commit " + strings.Join(paths, ", "), "changes": changes},
		map[string]string{"Idempotency-Key": fmt.Sprintf("commit-%d", commitSeq.Add(1))})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("commit %v as %s: %d %v", paths, who, resp.StatusCode, m)
	}
	return int64(m["seq"].(float64))
}
