package envconfig_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/envconfig"
	"github.com/studio-collab/collab/shared/envconfig/envconfigtest"
	"github.com/studio-collab/collab/shared/envconfig/localvault"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

func TestMain(m *testing.M) { azuritetest.Main(m) }

var prefixSeq atomic.Int64

type fixture struct {
	svc      *envconfig.Service
	restarts *envconfigtest.RestartRecorder
	audit    *audit.Log
	table    store.Table
	key      []byte
}

var ctx = context.Background()

var carol = envconfig.Actor{ID: "u-carol", Name: "carol@example.com", RequestID: "req-1"}

// newFixture is a Service on fresh Azurite tables with a local vault and a
// table-backed restart recorder; more services on the same storage model
// more instances.
func newFixture(t *testing.T) fixture {
	t.Helper()
	acct, err := azure.Open(azure.Config{ConnectionString: azuritetest.Server(t).ConnectionString(), NamePrefix: fmt.Sprintf("e%d", prefixSeq.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	if err := acct.Bootstrap(ctx, envconfig.Layout, audit.Layout, envconfigtest.Layout); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, localvault.KeySize)
	_, _ = rand.Read(key)
	vault, err := localvault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	log := audit.New(acct.Table("audit"), nil)
	svc := envconfig.New(acct.Table("parameters"), log, nil)
	rec := &envconfigtest.RestartRecorder{Table: acct.Table("restartlog")}
	svc.Secrets, svc.Restarts = vault, rec
	return fixture{svc: svc, restarts: rec, audit: log, table: acct.Table("parameters"), key: key}
}

func raw(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

func typ(t envconfig.Type) *envconfig.Type        { return &t }
func impact(i envconfig.Impact) *envconfig.Impact { return &i }
func ptr[T any](v T) *T                           { return &v }

func put(t *testing.T, f fixture, name string, c envconfig.Change) envconfig.Parameter {
	t.Helper()
	p, _, err := f.svc.Put(ctx, carol, "claims", "test", name, c, "")
	if err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
	return p
}

// TestTypeValidation: one row per rule of a parameter's type and
// validation; a refusal is Invalid and never quotes the value.
func TestTypeValidation(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name string
		c    envconfig.Change
		ok   bool
	}{
		{"string accepts a string", envconfig.Change{Type: typ("string"), Value: raw("EUR")}, true},
		{"string refuses a number", envconfig.Change{Type: typ("string"), Value: raw(42)}, false},
		{"string enum refuses another value", envconfig.Change{Type: typ("string"), Validation: &envconfig.Validation{Enum: []string{"EUR", "USD"}}, Value: raw("GBP-secretish")}, false},
		{"string pattern matches", envconfig.Change{Type: typ("string"), Validation: &envconfig.Validation{Pattern: `^[A-Z]{3}$`}, Value: raw("COP")}, true},
		{"string pattern refuses", envconfig.Change{Type: typ("string"), Validation: &envconfig.Validation{Pattern: `^[A-Z]{3}$`}, Value: raw("cop-secretish")}, false},
		{"string maxLength refuses", envconfig.Change{Type: typ("string"), Validation: &envconfig.Validation{MaxLength: ptr(3)}, Value: raw("toolong-secretish")}, false},
		{"bad pattern is refused", envconfig.Change{Type: typ("string"), Validation: &envconfig.Validation{Pattern: `(`}}, false},
		{"int accepts an integer", envconfig.Change{Type: typ("int"), Value: raw(30)}, true},
		{"int refuses a fraction", envconfig.Change{Type: typ("int"), Value: raw(1.5)}, false},
		{"int refuses a string", envconfig.Change{Type: typ("int"), Value: raw("30")}, false},
		{"int refuses past 64 bits", envconfig.Change{Type: typ("int"), Value: json.RawMessage(`99999999999999999999`)}, false},
		{"int min refuses", envconfig.Change{Type: typ("int"), Validation: &envconfig.Validation{Min: ptr(int64(1))}, Value: raw(0)}, false},
		{"int max holds", envconfig.Change{Type: typ("int"), Validation: &envconfig.Validation{Max: ptr(int64(10))}, Value: raw(10)}, true},
		{"min above max is refused", envconfig.Change{Type: typ("int"), Validation: &envconfig.Validation{Min: ptr(int64(5)), Max: ptr(int64(1))}}, false},
		{"min on a string is refused", envconfig.Change{Type: typ("string"), Validation: &envconfig.Validation{Min: ptr(int64(1))}}, false},
		{"bool accepts true", envconfig.Change{Type: typ("bool"), Value: raw(true)}, true},
		{"bool refuses a string", envconfig.Change{Type: typ("bool"), Value: raw("true")}, false},
		{"url accepts https", envconfig.Change{Type: typ("url"), Value: raw("https://crm.example.com/api")}, true},
		{"url refuses a relative URL", envconfig.Change{Type: typ("url"), Value: raw("/api")}, false},
		{"url refuses credentials in the URL", envconfig.Change{Type: typ("url"), Value: raw("https://u:secretish@crm.example.com/")}, false},
		{"url schemes restrict", envconfig.Change{Type: typ("url"), Validation: &envconfig.Validation{Schemes: []string{"https"}}, Value: raw("http://crm.example.com/")}, false},
		{"secret accepts a string", envconfig.Change{Type: typ("secret"), Value: raw("s3cr3t-secretish")}, true},
		{"secret refuses empty", envconfig.Change{Type: typ("secret"), Value: raw("")}, false},
		{"secret has no default", envconfig.Change{Type: typ("secret"), Default: raw("secretish")}, false},
		{"secret minLength refuses", envconfig.Change{Type: typ("secret"), Validation: &envconfig.Validation{MinLength: ptr(20)}, Value: raw("short-secretish")}, false},
		{"default is validated too", envconfig.Change{Type: typ("int"), Validation: &envconfig.Validation{Max: ptr(int64(3))}, Default: raw(4)}, false},
		{"unknown type", envconfig.Change{Type: typ("float"), Value: raw(1.5)}, false},
		{"unknown impact", envconfig.Change{Type: typ("int"), Impact: impact("reboot"), Value: raw(1)}, false},
		{"a new parameter needs a type", envconfig.Change{Value: raw(1)}, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := f.svc.Put(ctx, carol, "claims", "test", fmt.Sprintf("p%d", i), c.c, "")
			if c.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !c.ok {
				if !fault.Is(err, fault.Invalid) {
					t.Fatalf("want Invalid, got %v", err)
				}
				if strings.Contains(err.Error(), "secretish") {
					t.Fatalf("the error quotes the value: %v", err)
				}
			}
		})
	}
	// Changing the type of an existing parameter is a conflict.
	put(t, f, "timeout", envconfig.Change{Type: typ("int"), Value: raw(30)})
	if _, _, err := f.svc.Put(ctx, carol, "claims", "test", "timeout", envconfig.Change{Type: typ("string")}, ""); !fault.Is(err, fault.Conflict) {
		t.Fatalf("type change: %v", err)
	}
	// New validation that the current value breaks is refused.
	if _, _, err := f.svc.Put(ctx, carol, "claims", "test", "timeout", envconfig.Change{Validation: &envconfig.Validation{Max: ptr(int64(10))}}, ""); !fault.Is(err, fault.Invalid) {
		t.Fatalf("validation the value breaks: %v", err)
	}
	// Typed values render typed.
	p, _ := f.svc.Get(ctx, "claims", "test", "timeout")
	if b, _ := json.Marshal(p); !strings.Contains(string(b), `"value":30`) {
		t.Fatalf("int renders %s", b)
	}
}

// TestSecretsAreMaskedAndStoredSealed: the clear value appears in no
// rendering of the parameter, not in the stored row, not in the audit log;
// Resolve (for connectors) opens it.
func TestSecretsAreMaskedAndStoredSealed(t *testing.T) {
	f := newFixture(t)
	const clear = "hunter2-CLEAR-VALUE"
	p := put(t, f, "crm.apiKey", envconfig.Change{Type: typ("secret"), Description: ptr("CRM key"), Value: raw(clear)})
	b, _ := json.Marshal(p)
	renders := []string{string(b), p.String(), fmt.Sprintf("%v %+v %#v", p, p, p)}
	for _, r := range renders {
		if strings.Contains(r, clear) {
			t.Fatalf("a rendering shows the secret: %s", r)
		}
	}
	if !strings.Contains(string(b), `"value":"***"`) || !strings.Contains(string(b), `"valueSet":true`) {
		t.Fatalf("masked rendering %s", b)
	}
	pk, rk := store.EncodeKey("claims/test"), store.EncodeKey("crm.apiKey")
	row, err := f.table.Get(ctx, pk, rk)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(row.Chunked("Doc"))
	if strings.Contains(doc, clear) || !strings.Contains(doc, `"secretRef":"aesgcm:v1:`+localvault.KeyID(f.key)+`:`) {
		t.Fatalf("stored row %s", doc)
	}
	got, err := f.svc.Resolve(ctx, "claims", "test", "crm.apiKey")
	if err != nil || got != clear {
		t.Fatalf("resolve: %q %v", got, err)
	}
	page, err := f.audit.List(ctx, audit.ProjectScope("claims"), time.Time{}, 100, "")
	if err != nil || len(page.Entries) != 1 {
		t.Fatalf("audit %v %v", page, err)
	}
	if e, _ := json.Marshal(page.Entries); strings.Contains(string(e), clear) || strings.Contains(string(e), "aesgcm") {
		t.Fatalf("audit shows the secret or its sealed form: %s", e)
	}
}

// TestRestartChangesWaitForTheWindow: a hot change is active at once; a
// restart-needing one is pending (the active value stays, Resolve keeps
// answering it) and queued once with its impact; ApplyPending makes it
// active and is idempotent.
func TestRestartChangesWaitForTheWindow(t *testing.T) {
	f := newFixture(t)
	put(t, f, "pageSize", envconfig.Change{Type: typ("int"), Value: raw(50)})
	p := put(t, f, "pageSize", envconfig.Change{Value: raw(100)})
	if p.HasPending() {
		t.Fatal("a hot change is pending")
	}
	if v, _ := f.svc.Resolve(ctx, "claims", "test", "pageSize"); v != "100" {
		t.Fatalf("hot change not active: %q", v)
	}
	// A new restart-needing parameter waits too: nothing is applied yet.
	p = put(t, f, "portal.threads", envconfig.Change{Type: typ("int"), Impact: impact(envconfig.RestartPortal), Value: raw(8)})
	if !p.HasPending() {
		t.Fatal("new restart-needing parameter is not pending")
	}
	if _, err := f.svc.Resolve(ctx, "claims", "test", "portal.threads"); !fault.Is(err, fault.Unprocessable) {
		t.Fatalf("resolve before the window: %v", err)
	}
	if err := f.svc.ApplyPending(ctx, "claims", "test"); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.svc.Resolve(ctx, "claims", "test", "portal.threads"); v != "8" {
		t.Fatalf("after the window: %q", v)
	}
	// A change: pending, the old value stays active; the same PUT again
	// queues again (the deployment module coalesces); setting it back to the
	// active value cancels it.
	for i := 0; i < 2; i++ {
		if p = put(t, f, "portal.threads", envconfig.Change{Value: raw(16)}); !p.HasPending() {
			t.Fatal("change not pending")
		}
	}
	if v, _ := f.svc.Resolve(ctx, "claims", "test", "portal.threads"); v != "8" {
		t.Fatalf("the active value moved before the window: %q", v)
	}
	calls, _ := f.restarts.Calls(ctx, "claims", "test")
	one := envconfigtest.Call{Project: "claims", Env: "test", Source: "parameter:portal.threads", Impact: "restart-portal"}
	if fmt.Sprint(calls) != fmt.Sprint([]envconfigtest.Call{one, one, one}) {
		t.Fatalf("queued %v, want the create and the two puts of the change", calls)
	}
	if p = put(t, f, "portal.threads", envconfig.Change{Value: raw(8)}); p.HasPending() {
		t.Fatal("going back to the active value leaves a pending change")
	}
	put(t, f, "portal.threads", envconfig.Change{Value: raw(32)})
	put(t, f, "sched.workers", envconfig.Change{Type: typ("int"), Impact: impact(envconfig.RestartScheduler), Value: raw(2)})
	// Two windows apply concurrently: each change is applied exactly once.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f.svc.ApplyPending(ctx, "claims", "test") }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := f.svc.Resolve(ctx, "claims", "test", "portal.threads"); v != "32" {
		t.Fatalf("after the window: %q", v)
	}
	page, _ := f.audit.List(ctx, audit.ProjectScope("claims"), time.Time{}, 1000, "")
	applies := map[string]int{}
	for _, e := range page.Entries {
		if e.Action == "parameter.apply" {
			applies[e.Target]++
		}
	}
	if applies["environments/test/parameters/portal.threads"] != 2 || applies["environments/test/parameters/sched.workers"] != 1 {
		t.Fatalf("applies %v (want portal.threads twice over two windows, sched.workers once)", applies)
	}
	// Deleting an active restart-needing parameter waits for the window.
	pending, err := f.svc.Delete(ctx, carol, "claims", "test", "portal.threads", "")
	if err != nil || !pending {
		t.Fatalf("delete: %v %v", pending, err)
	}
	if v, _ := f.svc.Resolve(ctx, "claims", "test", "portal.threads"); v != "32" {
		t.Fatalf("deleted before the window: %q", v)
	}
	if err := f.svc.ApplyPending(ctx, "claims", "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(ctx, "claims", "test", "portal.threads"); !fault.Is(err, fault.NotFound) {
		t.Fatalf("after the window: %v", err)
	}
}

// TestQueueFailureKeepsThePendingChange: when the window cannot be
// requested the caller gets 503 and the change stays visible as pending; the
// retry queues it.
func TestQueueFailureKeepsThePendingChange(t *testing.T) {
	f := newFixture(t)
	put(t, f, "portal.url", envconfig.Change{Type: typ("url"), Impact: impact(envconfig.RestartPortal), Value: raw("https://a.example.com/")})
	if err := f.svc.ApplyPending(ctx, "claims", "test"); err != nil {
		t.Fatal(err)
	}
	f.restarts.Fail.Store(true)
	_, _, err := f.svc.Put(ctx, carol, "claims", "test", "portal.url", envconfig.Change{Value: raw("https://b.example.com/")}, "")
	if !fault.Is(err, fault.Unavailable) {
		t.Fatalf("queue down: %v", err)
	}
	if p, _ := f.svc.Get(ctx, "claims", "test", "portal.url"); !p.HasPending() {
		t.Fatal("the pending change is lost")
	}
	f.restarts.Fail.Store(false)
	// The client's retry of the same PUT requests the window this time.
	if _, _, err := f.svc.Put(ctx, carol, "claims", "test", "portal.url", envconfig.Change{Value: raw("https://b.example.com/")}, ""); err != nil {
		t.Fatal(err)
	}
	if calls, _ := f.restarts.Calls(ctx, "claims", "test"); len(calls) != 2 {
		t.Fatalf("calls after the retry: %v (want the create and the retry)", calls)
	}
	if v, _ := f.svc.Resolve(ctx, "claims", "test", "portal.url"); v != "https://a.example.com/" {
		t.Fatalf("before the window: %q", v)
	}
	if err := f.svc.ApplyPending(ctx, "claims", "test"); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.svc.Resolve(ctx, "claims", "test", "portal.url"); v != "https://b.example.com/" {
		t.Fatalf("after the window: %q", v)
	}
	// Without a restart queue restart-needing changes are refused outright.
	f.svc.Restarts = nil
	if _, _, err := f.svc.Put(ctx, carol, "claims", "test", "portal.url", envconfig.Change{Value: raw("https://c.example.com/")}, ""); !fault.Is(err, fault.Unavailable) {
		t.Fatalf("no queue: %v", err)
	}
}

// TestETagsRefuseStaleWrites: If-Match with a stale ETag is
// PreconditionFailed for put and delete; concurrent writers without
// If-Match each land (no lost update).
func TestETagsRefuseStaleWrites(t *testing.T) {
	f := newFixture(t)
	p := put(t, f, "region", envconfig.Change{Type: typ("string"), Value: raw("eu")})
	p2, _, err := f.svc.Put(ctx, carol, "claims", "test", "region", envconfig.Change{Value: raw("us")}, p.ETag)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Put(ctx, carol, "claims", "test", "region", envconfig.Change{Value: raw("ap")}, p.ETag); !fault.Is(err, fault.PreconditionFailed) {
		t.Fatalf("stale put: %v", err)
	}
	if _, err := f.svc.Delete(ctx, carol, "claims", "test", "region", p.ETag); !fault.Is(err, fault.PreconditionFailed) {
		t.Fatalf("stale delete: %v", err)
	}
	if _, _, err := f.svc.Put(ctx, carol, "claims", "test", "nope", envconfig.Change{Type: typ("int")}, p2.ETag); !fault.Is(err, fault.PreconditionFailed) {
		t.Fatalf("If-Match on a missing parameter: %v", err)
	}
	// Concurrent description edits and value edits: both survive.
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _, _ = f.svc.Put(ctx, carol, "claims", "test", "region", envconfig.Change{Description: ptr("deployment region")}, "")
	}()
	go func() {
		defer wg.Done()
		_, _, _ = f.svc.Put(ctx, carol, "claims", "test", "region", envconfig.Change{Value: raw("sa")}, "")
	}()
	wg.Wait()
	got, _ := f.svc.Get(ctx, "claims", "test", "region")
	b, _ := json.Marshal(got)
	if !strings.Contains(string(b), `"description":"deployment region"`) || !strings.Contains(string(b), `"value":"sa"`) {
		t.Fatalf("a concurrent edit was lost: %s", b)
	}
}

// TestAuditRecordsOldAndNewValues: put, change and delete leave entries
// with before and after, secrets masked.
func TestAuditRecordsOldAndNewValues(t *testing.T) {
	f := newFixture(t)
	put(t, f, "currency", envconfig.Change{Type: typ("string"), Value: raw("EUR")})
	put(t, f, "currency", envconfig.Change{Value: raw("USD")})
	put(t, f, "smtp.password", envconfig.Change{Type: typ("secret"), Value: raw("first-CLEAR")})
	put(t, f, "smtp.password", envconfig.Change{Value: raw("second-CLEAR")})
	if _, err := f.svc.Delete(ctx, carol, "claims", "test", "currency", ""); err != nil {
		t.Fatal(err)
	}
	page, _ := f.audit.List(ctx, audit.ProjectScope("claims"), time.Time{}, 100, "")
	var got []string
	for i := len(page.Entries) - 1; i >= 0; i-- {
		e := page.Entries[i]
		val := func(m json.RawMessage) string {
			var v struct{ Value any }
			if json.Unmarshal(m, &v) != nil {
				return "-"
			}
			return fmt.Sprint(v.Value)
		}
		got = append(got, fmt.Sprintf("%s %s %s->%s %s", e.Action, e.Target, val(e.Before), val(e.After), e.RequestID))
		if strings.Contains(string(e.Before)+string(e.After), "CLEAR") {
			t.Fatalf("audit shows a secret: %s %s", e.Before, e.After)
		}
	}
	want := []string{
		"parameter.put environments/test/parameters/currency -->EUR req-1",
		"parameter.put environments/test/parameters/currency EUR->USD req-1",
		"parameter.put environments/test/parameters/smtp.password -->*** req-1",
		"parameter.put environments/test/parameters/smtp.password ***->*** req-1",
		"parameter.delete environments/test/parameters/currency USD->- req-1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestWrongKeyFailsLoudly: a secret sealed under one key does not open
// under another: Resolve fails with an error naming both key ids.
func TestWrongKeyFailsLoudly(t *testing.T) {
	f := newFixture(t)
	put(t, f, "token", envconfig.Change{Type: typ("secret"), Value: raw("CLEAR-token")})
	other := make([]byte, localvault.KeySize)
	_, _ = rand.Read(other)
	f.svc.Secrets, _ = localvault.New(other)
	_, err := f.svc.Resolve(ctx, "claims", "test", "token")
	if !fault.Is(err, fault.Internal) || !strings.Contains(err.Error(), "the wrong key is configured") ||
		!strings.Contains(err.Error(), localvault.KeyID(f.key)) || !strings.Contains(err.Error(), localvault.KeyID(other)) {
		t.Fatalf("wrong key: %v", err)
	}
	if strings.Contains(err.Error(), "CLEAR") {
		t.Fatal("the error shows the value")
	}
}

// The deployment module calls every registered Applier in a window's
// applying step (its contract, issue 7); the Service is one.
var _ interface {
	ApplyPending(ctx context.Context, project, env string) error
} = (*envconfig.Service)(nil)

// TestLargestParameterIsStoredAndAudited: a parameter at every limit (a
// 1 KiB description, 100 enum values of 256 bytes, 8 KiB values that JSON
// escapes six-fold) is stored, changed and audited; the audit entry is
// trimmed by its rule, never dropped. Before the fix the update was saved
// and then its audit entry refused (400, no detail, no entry).
func TestLargestParameterIsStoredAndAudited(t *testing.T) {
	f := newFixture(t)
	enum := make([]string, 100)
	for i := range enum {
		enum[i] = fmt.Sprintf("%03d", i) + strings.Repeat("<", 253)
	}
	big := func(c string) json.RawMessage { return raw(strings.Repeat(c, envconfig.MaxValueBytes)) }
	put(t, f, "banner", envconfig.Change{Type: typ("string"), Description: ptr(strings.Repeat("d", 1024)),
		Validation: &envconfig.Validation{Pattern: strings.Repeat("a?", 256)}, Default: big("<"), Value: big(">"), Impact: impact(envconfig.RestartPortal)})
	p := put(t, f, "banner", envconfig.Change{Value: big("&")})
	if !p.HasPending() {
		t.Fatalf("a restart parameter's change waits: %s", p.Name())
	}
	put(t, f, "choice", envconfig.Change{Type: typ("string"), Validation: &envconfig.Validation{Enum: enum}, Value: raw(enum[99])})
	page, err := f.audit.List(ctx, audit.ProjectScope("claims"), time.Time{}, 100, "")
	if err != nil || len(page.Entries) != 3 {
		t.Fatalf("audit: %d entries, %v; want 3", len(page.Entries), err)
	}
	if e := page.Entries[1]; e.Action != "parameter.put" || !e.Trimmed || !strings.Contains(string(e.After), "trimmed from") {
		t.Fatalf("the update's entry: trimmed %v, after %.200s", e.Trimmed, e.After)
	}
	enum[0] += "<"
	_, _, err = f.svc.Put(ctx, carol, "claims", "test", "other", envconfig.Change{Type: typ("string"), Validation: &envconfig.Validation{Enum: enum}, Value: raw(enum[1])}, "")
	if !fault.Is(err, fault.Invalid) || !strings.Contains(fault.DetailOf(err), "enum value is over 256 bytes") {
		t.Fatalf("an enum value past its cap: %v", err)
	}
}
