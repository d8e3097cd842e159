// Package dextest runs Dex, a real OpenID Connect provider, on loopback for
// the sign-in tests: HTTPS with a throw-away CA (idptest), memory storage,
// static clients and static users (password "password"), the password grant
// for API tests and the login form for the browser's PKCE flow.
//
// Dex is built once from the wrapper module tools/dex (its own go.mod, so
// Dex's dependencies stay out of the service's) into bin/dex-<version>,
// under a file lock so that test packages running in parallel build it
// once. `make test` builds it before the tests run (make bin/dex); a test
// never skips for want of it: a build failure fails the test.
package dextest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/identity/idptest"
)

// Password is every static user's password ("password"; the bcrypt hash
// is the one in Dex's own config.dev.yaml).
const (
	Password     = "password"
	passwordHash = "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W"
)

// Client is a static OAuth2 client of Dex.
type Client struct {
	ID, Secret   string // no secret: a public client (the console, with PKCE)
	RedirectURIs []string
}

// User is a static user of Dex's password database.
type User struct {
	Email         string
	Name          string
	EmailVerified bool
}

// Options configure one Dex.
type Options struct {
	Clients        []Client
	Users          []User
	AllowedOrigins []string // CORS: the console's origin, for its token request
	// KeysRotation is how often Dex rotates its signing key (Dex checks
	// every 30 s); 0 keeps Dex's default of 6 h.
	KeysRotation time.Duration
}

// Dex is a running Dex.
type Dex struct {
	URL    string       // the issuer: https://127.0.0.1:<port>/dex
	Client *http.Client // trusts the CA
	Leaf   idptest.Leaf // the server certificate (Chromium trusts its key)

	t    testing.TB
	bin  string
	dir  string
	addr string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs Dex until the test ends.
func Start(t testing.TB, o Options) *Dex {
	t.Helper()
	d := New(t)
	d.Run(o)
	return d
}

// New reserves Dex's address (so URL is known to what Dex must know in
// turn, like a client's redirect URI) without starting it; Run starts it.
func New(t testing.TB) *Dex {
	t.Helper()
	bin := Binary(t)
	ca := idptest.NewCA(t)
	d := &Dex{t: t, bin: bin, dir: t.TempDir(), Leaf: ca.Issue(t, "127.0.0.1", "localhost")}
	d.Client = ca.Client("")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.addr = l.Addr().String()
	l.Close()
	d.URL = "https://" + d.addr + "/dex"
	return d
}

// Run starts Dex with o until the test ends.
func (d *Dex) Run(o Options) {
	d.t.Helper()
	d.writeConfig(o)
	d.start()
	d.t.Cleanup(d.stop)
}

func (d *Dex) writeConfig(o Options) {
	cert, key := d.Leaf.WriteFiles(d.t, d.dir)
	clients := []map[string]any{}
	for _, c := range o.Clients {
		m := map[string]any{"id": c.ID, "name": c.ID, "redirectURIs": c.RedirectURIs}
		if c.Secret == "" {
			m["public"] = true
		} else {
			m["secret"] = c.Secret
		}
		clients = append(clients, m)
	}
	users := []map[string]any{}
	for i, u := range o.Users {
		users = append(users, map[string]any{"email": u.Email, "hash": passwordHash, "username": strings.Split(u.Email, "@")[0],
			"name": u.Name, "emailVerified": u.EmailVerified, "userID": fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)})
	}
	rotation := "6h"
	if o.KeysRotation > 0 {
		rotation = o.KeysRotation.String()
	}
	cfg := map[string]any{
		"issuer":  d.URL,
		"storage": map[string]any{"type": "memory"},
		"web": map[string]any{"https": d.addr, "tlsCert": cert, "tlsKey": key,
			"allowedOrigins": o.AllowedOrigins, "allowedHeaders": []string{"Authorization", "Content-Type"}},
		"signer":           map[string]any{"type": "local", "config": map[string]any{"keysRotationPeriod": rotation}},
		"expiry":           map[string]any{"idTokens": "1h"},
		"oauth2":           map[string]any{"skipApprovalScreen": true, "passwordConnector": "local", "responseTypes": []string{"code"}},
		"logger":           map[string]any{"level": "info"},
		"enablePasswordDB": true,
		"staticClients":    clients,
		"staticPasswords":  users,
	}
	b, _ := json.MarshalIndent(cfg, "", "  ") // JSON is YAML
	if err := os.WriteFile(filepath.Join(d.dir, "config.yaml"), b, 0o600); err != nil {
		d.t.Fatal(err)
	}
}

func (d *Dex) start() {
	d.t.Helper()
	cmd := exec.Command(d.bin, "serve", filepath.Join(d.dir, "config.yaml"))
	logs := &strings.Builder{}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("start dex: %v", err)
	}
	done := make(chan struct{})
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logMu.Lock()
			logs.WriteString(sc.Text() + "\n")
			logMu.Unlock()
		}
	}()
	go func() { _ = cmd.Wait(); pw.Close(); close(done) }()
	d.mu.Lock()
	d.cmd, d.done = cmd, done
	d.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := d.Client.Get(d.URL + "/.well-known/openid-configuration")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-done:
			logMu.Lock()
			defer logMu.Unlock()
			d.t.Fatalf("dex exited at start-up:\n%s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			logMu.Lock()
			defer logMu.Unlock()
			d.t.Fatalf("dex did not answer within 30 s: %v\n%s", err, logs.String())
		}
	}
}

func (d *Dex) stop() {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops Dex and starts it again on the same address. Its storage
// is memory: it comes back with a new signing key and without the old one,
// as a provider that rotated and stopped publishing the old key.
func (d *Dex) Restart() {
	d.t.Helper()
	d.stop()
	d.start()
}

// Keys returns the key ids Dex publishes now.
func (d *Dex) Keys(t testing.TB) []string {
	t.Helper()
	resp, err := d.Client.Get(d.URL + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// Token signs email in through the password grant of client (with its
// secret) asking for scopes, and returns the access token.
func (d *Dex) Token(t testing.TB, c Client, email, scopes string) string {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "username": {email}, "password": {Password}, "scope": {scopes}}
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := d.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 || body.AccessToken == "" {
		t.Fatalf("dex token for %s: %d %s %s", email, resp.StatusCode, body.Error, body.Description)
	}
	return body.AccessToken
}

// Version is the Dex pseudo-version tools/dex/go.mod requires.
func Version(root string) (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "tools", "dex", "go.mod"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && (f[0] == "github.com/dexidp/dex" || (f[0] == "require" && len(f) >= 3 && f[1] == "github.com/dexidp/dex")) {
			return f[len(f)-1], nil
		}
	}
	return "", errors.New("tools/dex/go.mod requires no github.com/dexidp/dex")
}

// root is the repository's root: the nearest directory up from the test's
// working directory that holds tools/dex/go.mod.
func root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "dex", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no tools/dex/go.mod above the working directory")
		}
		dir = parent
	}
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary returns the path of the Dex binary, building it when missing.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { buildPath, buildErr = build() })
	if buildErr != nil {
		t.Fatalf("building Dex (tools/dex): %v", buildErr)
	}
	return buildPath
}

func build() (string, error) {
	r, err := root()
	if err != nil {
		return "", err
	}
	v, err := Version(r)
	if err != nil {
		return "", err
	}
	bin := filepath.Join(r, "bin", "dex-"+v)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(filepath.Join(r, "bin"), 0o755); err != nil {
		return "", err
	}
	// Test binaries of several packages run at once: one builds, the others
	// wait for the lock and then find the binary.
	lock, err := os.OpenFile(filepath.Join(r, "bin", ".dex.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	tmp := bin + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", tmp, "github.com/dexidp/dex/cmd/dex")
	cmd.Dir = filepath.Join(r, "tools", "dex")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build in tools/dex: %v\n%s", err, out)
	}
	return bin, os.Rename(tmp, bin)
}
