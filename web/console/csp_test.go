package console_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/studio-collab/collab/handlers"
	"github.com/studio-collab/collab/web/console/consoletest"
)

// TestCSPBlocksInjectedCodeAndIsReported is the control of every other
// test's "no CSP violation": markup injected past the console's own code
// (as a bug would) runs nothing: setting a script's text or innerHTML is
// refused outright (Trusted Types), and so is an inline event handler; an
// inline style does not apply, an image from another origin is not
// fetched, and every violation reaches the harness.
func TestCSPBlocksInjectedCodeAndIsReported(t *testing.T) {
	a := demo(t, nil)
	b := consoletest.New(t, a.URL)
	tab := b.Laptop("attacker")
	tab.SignIn(bob)
	var out map[string]any
	tab.Eval(`(() => {
  const r = {};
  const s = document.createElement('script');
  try { s.textContent = 'window.__inline = 1'; r.scriptText = 'allowed'; } catch (e) { r.scriptText = e.name; }
  try { document.body.appendChild(document.createElement('div')).innerHTML = '<b>x</b>'; r.innerHTML = 'allowed'; } catch (e) { r.innerHTML = e.name; }
  const img = document.createElement('img');
  try { img.setAttribute('onerror', 'window.__inline = 1'); r.handler = 'allowed'; } catch (e) { r.handler = e.name; }
  img.setAttribute('src', 'https://images.invalid/x.png');
  document.body.appendChild(img);
  const p = document.createElement('p');
  p.setAttribute('style', 'color: red');
  document.body.appendChild(p);
  r.styled = getComputedStyle(p).color === 'rgb(255, 0, 0)';
  return r;
})()`, &out)
	if out["scriptText"] != "TypeError" || out["innerHTML"] != "TypeError" || out["handler"] != "TypeError" || out["styled"] != false {
		t.Fatalf("the CSP let injected code through: %v", out)
	}
	var ran bool
	tab.Eval(`window.__inline === 1`, &ran)
	if ran {
		t.Fatal("an inline event handler ran")
	}
	b.WaitProblems(tab, "trusted", "style-src", "img-src")
}

// TestPhoneWidthAndKeyboard: on a phone the navigation folds behind Menu
// (a disclosure button: aria-expanded, Escape closes it and gives the
// focus back), tables become labelled cards; the first Tab reaches the
// skip link.
func TestPhoneWidthAndKeyboard(t *testing.T) {
	a := demo(t, nil)
	b := consoletest.New(t, a.URL)
	ph := b.Phone("alice-phone")
	ph.SignIn(alice)
	ph.WaitText("Your projects")
	var navShown bool
	ph.Eval(`getComputedStyle(document.getElementById('nav')).display !== 'none'`, &navShown)
	if navShown {
		t.Fatal("the navigation is open on a phone before Menu is pressed")
	}
	ph.Screenshot("phone-overview")
	ph.Click("Menu")
	ph.WaitJS(`document.getElementById('menu').getAttribute('aria-expanded') === 'true' && getComputedStyle(document.getElementById('nav')).display !== 'none'`)
	ph.Screenshot("phone-menu")
	ph.Nav("Users")
	ph.WaitText("Users of this subscription")
	ph.WaitJS(`getComputedStyle(document.getElementById('nav')).display === 'none'`) // closed by the navigation
	// The heading shows while the table still says "Loading users…", and
	// the table is drawn again once the users' roles are read: find a cell
	// and read its label in one evaluation (issue 19, finding 11).
	ph.WaitJS(`(() => { const td = document.querySelector('main td'); if (!td) return false; window.__label = getComputedStyle(td, '::before').content; return true; })()`)
	var label string
	ph.Eval(`window.__label`, &label)
	if label != `"E-mail"` {
		t.Fatalf("table cells on a phone are labelled %q", label)
	}
	ph.Screenshot("phone-users")
	for _, p := range []string{"/console/projects/claims/security?path=applications", "/console/projects/claims/jobs"} {
		ph.Go(p)
		ph.WaitJS(`!!document.querySelector('main .card') && !document.querySelector('main .progress')`)
		ph.Screenshot("phone-" + strings.Split(strings.TrimPrefix(p, "/console/projects/claims/"), "?")[0])
	}

	lap := b.Laptop("keyboard")
	lap.SignIn(carol)
	lap.Go("/console/projects/claims/members")
	lap.WaitText("Members of Claims")
	lap.Key("\t")
	var focused string
	lap.Eval(`document.activeElement.textContent`, &focused)
	if focused != "Skip to content" {
		t.Fatalf("the first Tab focuses %q", focused)
	}
	lap.Key("\r")
	// The fragment's focus move is the browser's, after the key: wait for it.
	lap.WaitJS(`document.activeElement.id === 'main' || document.activeElement !== document.querySelector('a.skip')`)
	lap.Eval(`document.activeElement.id`, &focused)
	if focused != "main" {
		t.Fatalf("the skip link moves the focus to %q", focused)
	}
	// Navigating moves the focus to the new screen's heading.
	lap.Nav("Teams")
	lap.WaitText("Teams of Claims")
	lap.Eval(`document.activeElement.tagName + ' ' + document.activeElement.textContent`, &focused)
	if focused != "H1 Teams of Claims" {
		t.Fatalf("after navigating the focus is on %q", focused)
	}
}

// TestEntraSignInWithPKCE runs the authorization code flow with PKCE against
// a fake authority on loopback (Entra ID cannot be reached from here): the
// console discovers the endpoints, sends an S256 challenge and a state, the
// authority redirects back, and the token request must carry the verifier
// of that challenge. A state that does not match is refused.
func TestEntraSignInWithPKCE(t *testing.T) {
	var mu sync.Mutex
	var challenge, state string
	var seen []string
	var tokenFor func() string
	var fake *httptest.Server
	fake = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		switch r.URL.Path {
		case "/tenant/v2.0/.well-known/openid-configuration":
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": fake.URL + "/tenant/v2.0",
				"authorization_endpoint": fake.URL + "/tenant/oauth2/v2.0/authorize", "token_endpoint": fake.URL + "/tenant/oauth2/v2.0/token"})
		case "/tenant/oauth2/v2.0/authorize":
			q := r.URL.Query()
			if q.Get("client_id") != "console-app" || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
				q.Get("scope") != "api://collab/user_impersonation" || len(q.Get("code_challenge")) != 43 || q.Get("state") == "" {
				http.Error(w, "bad authorization request: "+r.URL.RawQuery, 400)
				return
			}
			challenge, state = q.Get("code_challenge"), q.Get("state")
			back, _ := url.Parse(q.Get("redirect_uri"))
			back.RawQuery = url.Values{"code": {"the-code"}, "state": {state}}.Encode()
			http.Redirect(w, r, back.String(), http.StatusFound)
		case "/tenant/oauth2/v2.0/token":
			_ = r.ParseForm()
			sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
			if r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("code") != "the-code" || r.PostForm.Get("client_id") != "console-app" ||
				!strings.HasSuffix(r.PostForm.Get("redirect_uri"), "/console/auth") || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
				w.WriteHeader(400)
				_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": "the verifier does not match the challenge"})
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tokenFor(), "token_type": "Bearer", "expires_in": 3600})
		default:
			http.NotFound(w, r)
		}
	}))
	defer fake.Close()
	a := demo(t, &handlers.ConsoleConfig{Authority: fake.URL + "/tenant/v2.0", ClientID: "console-app", Scopes: []string{"api://collab/user_impersonation"}})
	// The fake authority hands out a token the API trusts (the test's dev
	// issuer stands in for the tenant's keys).
	tokenFor = func() string { return a.Token(t, bob) }

	b := consoletest.New(t, a.URL)
	tab := b.Laptop("entra")
	// The S256 challenge is RFC 7636's own example (appendix B).
	var known string
	tab.Go("/console/signin")
	tab.WaitText("Your organisation account")
	tab.EvalAwait((`import(document.querySelector('script[type=module]').src.replace('app.js', 'auth.js')).then((m) => m.challengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'))`), &known)
	if known != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Fatalf("challenge of the RFC 7636 verifier: %q", known)
	}
	var devOffered bool
	tab.Eval(`document.body.innerText.includes('Local sign-in')`, &devOffered)
	if devOffered {
		t.Fatal("the dev sign-in is offered although the dev issuer is off")
	}
	tab.Screenshot("signin-entra")
	// Not Entra: the button names the authority's host, never Microsoft.
	tab.Click("Sign in with " + strings.TrimPrefix(fake.URL, "http://"))
	tab.WaitText("Welcome, bob")
	mu.Lock()
	got := strings.Join(seen, ", ")
	mu.Unlock()
	if !strings.Contains(got, "GET /tenant/oauth2/v2.0/authorize") || !strings.Contains(got, "POST /tenant/oauth2/v2.0/token") {
		t.Fatalf("authority saw %s", got)
	}

	// An answer that belongs to no sign-in started here is refused.
	other := b.Laptop("forged")
	other.Go("/console/auth?code=the-code&state=forged")
	other.WaitText("state mismatch")
	other.Screenshot("signin-entra-state-mismatch")
}
