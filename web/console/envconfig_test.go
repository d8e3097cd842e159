package console_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/studio-collab/collab/web/console/consoletest"
)

// secretAbsent checks that a secret value is nowhere in the page: not in
// its markup, not in any field's value, not in its text.
func secretAbsent(t *testing.T, tab *consoletest.Tab, secret, where string) {
	t.Helper()
	var found string
	tab.Eval(fmt.Sprintf(`(() => {
  const s = %q;
  if (document.documentElement.outerHTML.includes(s)) return 'markup';
  if (document.body.innerText.includes(s)) return 'text';
  for (const el of document.querySelectorAll('input, textarea, select')) if (String(el.value).includes(s)) return 'the value of ' + (el.name || el.id);
  return '';
})()`, secret), &found)
	if found != "" {
		t.Fatalf("%s: the secret is in the page's %s", where, found)
	}
}

// inputType is the type (or tag) of the control labelled label in scope.
func inputType(t *testing.T, tab *consoletest.Tab, scope, label string) string {
	t.Helper()
	var got string
	tab.Eval(fmt.Sprintf(`(() => {
  const forms = [...document.querySelectorAll('form')].filter((f) => { const h = f.querySelector('h3'); return h && h.textContent === %q; });
  for (const f of forms) for (const l of f.querySelectorAll('label')) {
    if (l.textContent.replace(/\s*\*$/, '').trim() !== %q) continue;
    const c = document.getElementById(l.htmlFor);
    return c.tagName === 'INPUT' ? c.type + (c.autocomplete ? '/' + c.autocomplete : '') : c.tagName.toLowerCase();
  }
  return 'none';
})()`, scope, label), &got)
	return got
}

// TestParametersTypedSecretsAndPending: carol (an admin) creates
// parameters with inputs of their type, sees the API's refusal by the
// Value field, sets and rotates a secret that never reaches the page, and
// sees a restart-needing parameter (and its delete) pending until the
// window applies it; bob reads the list and changes nothing. A
// description carrying an XSS attempt shows as text.
func TestParametersTypedSecretsAndPending(t *testing.T) {
	a := demo(t, nil)
	const secret1, secret2 = "s3cr3t-Value-9f8e7d", "rotated-S3cret-1a2b3c"
	b := consoletest.New(t, a.URL)
	ca := b.Laptop("carol")
	ca.SignIn(carol)
	ca.Nav("Parameters")
	ca.WaitText("No parameter in this environment.")

	// Inputs follow the type.
	for typ, want := range map[string]map[string]string{
		"int":    {"Value": "number/off", "Minimum": "number/off"},
		"bool":   {"Value": "select", "Default": "select"},
		"url":    {"Value": "url/off", "Allowed schemes": "text/off"},
		"secret": {"Secret value": "password/new-password", "Default": "none"},
		"string": {"Value": "text/off", "Pattern (RE2)": "text/off"},
	} {
		ca.Choose("New parameter", "Type", typ)
		for label, w := range want {
			ca.WaitJS(fmt.Sprintf(`!!document.querySelector('form select[name="type"]') && document.querySelector('form select[name="type"]').value === %q`, typ))
			if got := inputType(t, ca, "New parameter", label); got != w {
				t.Fatalf("type %s: %s is %s, want %s", typ, label, got, w)
			}
		}
	}

	// An int above its maximum: the API's problem by the Value field.
	ca.Fill("New parameter", "Name", "portal.threads")
	ca.Choose("New parameter", "Type", "int")
	ca.Fill("New parameter", "Value", "100")
	ca.Fill("New parameter", "Maximum", "64")
	ca.Fill("New parameter", "Description", xss)
	ca.ClickIn("New parameter", "Create parameter")
	ca.WaitText("above the maximum 64")
	if got := ca.FieldError("New parameter", "Value"); !strings.Contains(got, "parameter portal.threads: the value is above the maximum 64") {
		t.Fatalf("value error %q", got)
	}
	ca.Fill("New parameter", "Value", "8")
	ca.ClickIn("New parameter", "Create parameter")
	ca.WaitAnnounced("portal.threads created.")
	ca.WaitText(xss) // the list, reloaded, shows the description
	assertInert(t, ca, "parameter description")

	// A secret: write-only, masked in the list, never in the page.
	ca.Choose("New parameter", "Type", "secret")
	ca.Fill("New parameter", "Name", "crm.apiKey")
	ca.Fill("New parameter", "Secret value", secret1)
	ca.ClickIn("New parameter", "Create parameter")
	ca.WaitAnnounced("crm.apiKey created.")
	ca.WaitText("set, hidden")
	secretAbsent(t, ca, secret1, "after creating the secret")
	if got := a.Must(t, carol, "GET", "/api/projects/claims/environments/development/parameters/crm.apiKey", nil, 200); got["value"] != "***" || got["valueSet"] != true {
		t.Fatalf("the API shows the secret as %v", got)
	}
	// Editing without typing a value keeps it; typing one rotates it.
	ca.Click("Edit crm.apiKey")
	ca.WaitText("Write-only: leave empty to keep the stored secret.")
	ca.Fill("Edit crm.apiKey (secret)", "Description", "the CRM's API key")
	ca.ClickIn("Edit crm.apiKey (secret)", "Save")
	ca.WaitGone("Write-only: leave empty to keep the stored secret.")
	ca.WaitText("the CRM's API key")
	ca.Click("Edit crm.apiKey")
	ca.Fill("Edit crm.apiKey (secret)", "Secret value", secret2)
	ca.ClickIn("Edit crm.apiKey (secret)", "Save")
	ca.WaitGone("Write-only: leave empty to keep the stored secret.") // saved: the edit form is gone
	secretAbsent(t, ca, secret2, "after rotating the secret")
	secretAbsent(t, ca, secret1, "after rotating the secret")
	ca.Screenshot("parameters")

	// A restart-needing parameter waits for the window: pending, then
	// applied; its delete waits too.
	ca.Choose("New parameter", "Type", "string")
	ca.Fill("New parameter", "Name", "portal.theme")
	ca.Choose("New parameter", "When a change takes effect", "restart-portal")
	ca.Fill("New parameter", "Value", "dark")
	ca.ClickIn("New parameter", "Create parameter")
	ca.WaitText("the change waits for the next maintenance window (restart-portal)")
	ca.WaitText("not applied yet")
	ca.WaitText("value dark at the next window (restart-portal)")
	ca.Screenshot("parameters-pending")
	a.ApplyPending(t, "claims", "development")
	ca.Go("/console/projects/claims/parameters?env=development")
	ca.WaitText("portal.theme")
	ca.WaitGone("not applied yet")
	ca.Confirm("Delete portal.theme")
	ca.WaitText("portal.theme: deleted; the change waits for the next maintenance window")
	ca.WaitText("delete at the next window (restart-portal)")

	// The edit form of a string with allowed values offers them.
	a.Must(t, carol, "PUT", "/api/projects/claims/environments/development/parameters/portal.locale",
		map[string]any{"type": "string", "validation": map[string]any{"enum": []string{"en", "es"}}, "value": "en"}, 201)
	ca.Go("/console/projects/claims/parameters?env=development")
	ca.Click("Edit portal.locale")
	ca.Choose("Edit portal.locale (string)", "Value", "es")
	ca.ClickIn("Edit portal.locale (string)", "Save")
	ca.WaitAnnounced("portal.locale saved.")
	if got := a.Must(t, carol, "GET", "/api/projects/claims/environments/development/parameters/portal.locale", nil, 200); got["value"] != "es" {
		t.Fatalf("portal.locale: %v", got)
	}

	// bob reads, changes nothing.
	bo := b.Laptop("bob")
	bo.SignIn(bob)
	bo.Go("/console/projects/claims/parameters")
	bo.WaitText("Only admins and owners change parameters.")
	bo.WaitText("crm.apiKey")
	if n := bo.Count(`button[aria-label^="Edit "], button[aria-label^="Delete "], main form:not(.chooser)`); n != 0 {
		t.Fatalf("a developer is offered %d editing controls", n)
	}
	secretAbsent(t, bo, secret2, "bob's view")
	if logs := a.Logs(); strings.Contains(logs, secret1) || strings.Contains(logs, secret2) {
		t.Fatal("a secret reached the server's log")
	}

	ph := b.Phone("carol-phone")
	ph.SignIn(carol)
	ph.Go("/console/projects/claims/parameters")
	ph.WaitText("crm.apiKey")
	ph.Screenshot("phone-parameters")
}

// TestConnectorsSettingsAndTestInvoke: carol registers a connector (a bad
// base URL first, shown by its field; an XSS attempt as its description),
// a test call is refused until the settings allow loopback, then shows the
// upstream's status, duration and body (an XSS attempt, as text); the
// path rule shows by the Path field; edit and delete; bob reads only.
func TestConnectorsSettingsAndTestInvoke(t *testing.T) {
	a := demo(t, nil)
	const key = "api-key-7c6b5a"
	var mu sync.Mutex
	var gotKey, gotPath string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		gotKey, gotPath = r.Header.Get("X-API-Key"), r.URL.RequestURI()
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "<p>order 7</p>"+xss)
	}))
	defer up.Close()
	a.Must(t, carol, "PUT", "/api/projects/claims/environments/development/parameters/crm.key", map[string]any{"type": "secret", "value": key}, 201)

	b := consoletest.New(t, a.URL)
	ca := b.Laptop("carol")
	ca.SignIn(carol)
	ca.Nav("Connectors")
	ca.WaitText("No connector in this environment.")
	ca.Fill("New connector", "Name", "crm")
	ca.Fill("New connector", "Description", xss)
	ca.Fill("New connector", "Base URL", "ftp://crm.example.com")
	ca.Fill("New connector", "Methods", "GET, POST")
	ca.Fill("New connector", "Path prefixes", "/orders")
	ca.Choose("New connector", "Authentication", "apiKey")
	ca.Fill("New connector", "Key parameter", "crm.key")
	ca.ClickIn("New connector", "Register connector")
	ca.WaitText("baseUrl is an http(s) URL")
	if got := ca.FieldError("New connector", "Base URL"); !strings.HasPrefix(got, "invalid: baseUrl is an http(s) URL") {
		t.Fatalf("base URL error %q", got)
	}
	ca.Fill("New connector", "Base URL", up.URL)
	ca.ClickIn("New connector", "Register connector")
	ca.WaitAnnounced("Connector crm registered.")
	ca.WaitText("crm.key") // the key parameter's name, never its value
	assertInert(t, ca, "connector description")

	// Loopback is refused until the settings allow it.
	ca.Click("Test crm")
	ca.Fill("Test crm", "Path", "/orders/7")
	ca.ClickIn("Test crm", "Send")
	ca.WaitJS(`!!document.querySelector('.form-error:not([hidden])')`)
	if txt := ca.Text(); !strings.Contains(txt, "127.0.0.1") {
		t.Fatalf("the refusal:\n%s", txt)
	}
	ca.Fill("Connector settings", "Private networks connectors may reach", "10.0.0.0/99")
	ca.ClickIn("Connector settings", "Save settings")
	ca.WaitText("is not a CIDR prefix")
	if got := ca.FieldError("Connector settings", "Private networks connectors may reach"); !strings.Contains(got, `allowNetworks: "10.0.0.0/99" is not a CIDR prefix`) {
		t.Fatalf("settings error %q", got)
	}
	ca.Fill("Connector settings", "Private networks connectors may reach", "127.0.0.0/8")
	ca.ClickIn("Connector settings", "Save settings")
	ca.WaitText("Connector settings saved.")

	ca.ClickIn("Test crm", "Send")
	ca.WaitText("Answered HTTP 201 in")
	ca.WaitText("<p>order 7</p>")
	assertInert(t, ca, "the upstream's body")
	mu.Lock()
	if gotKey != key || gotPath != "/orders/7" {
		t.Fatalf("upstream saw key %q path %q", gotKey, gotPath)
	}
	mu.Unlock()
	secretAbsent(t, ca, key, "after a test call")
	ca.Screenshot("connectors-test")

	// Outside the path prefixes: by the Path field.
	ca.Fill("Test crm", "Path", "/customers/1")
	ca.ClickIn("Test crm", "Send")
	ca.WaitText("allows only paths under /orders")
	if got := ca.FieldError("Test crm", "Path"); !strings.Contains(got, "connector crm allows only paths under /orders") {
		t.Fatalf("path error %q", got)
	}

	// Edit (the form holds what is stored), then delete.
	ca.Click("Edit crm")
	ca.WaitText("Edit crm")
	ca.Fill("Edit crm", "Timeout (ms)", "2500")
	ca.ClickIn("Edit crm", "Save")
	ca.WaitAnnounced("crm saved.")
	ca.WaitText("2500 ms")
	ca.Screenshot("connectors")
	if got := a.Must(t, carol, "GET", "/api/projects/claims/environments/development/connectors/crm", nil, 200); got["timeoutMs"] != float64(2500) ||
		got["auth"].(map[string]any)["keyParam"] != "crm.key" || len(got["methods"].([]any)) != 2 {
		t.Fatalf("after the edit: %v", got)
	}

	// bob reads the list and the settings; nothing to change or call.
	bo := b.Laptop("bob")
	bo.SignIn(bob)
	bo.Go("/console/projects/claims/connectors")
	bo.WaitText("Only admins and owners register, change and test connectors.")
	bo.WaitText("127.0.0.0/8")
	// The settings show before the list: count controls once the list (the
	// connector's description) is there, or the count proves nothing.
	assertInert(t, bo, "bob's connectors")
	if n := bo.Count(`button[aria-label^="Test "], button[aria-label^="Edit "], main form:not(.chooser)`); n != 0 {
		t.Fatalf("a developer is offered %d controls", n)
	}

	ca.Confirm("Delete crm")
	ca.WaitAnnounced("crm deleted.")
	ca.WaitText("No connector in this environment.")
}
