// Package consoletest drives the web console in a real headless Chromium
// (Debian's chromium package, installed with apt when missing) through the
// DevTools protocol (chromedp), for the browser tests of every screen.
//
// Invariants: every tab's CSP violations, uncaught exceptions and
// console.error calls are collected, and a test that produced any fails at
// its end unless it took them (TakeProblems) to assert on them; failed API
// calls (4xx the screens expect and show) are not problems. Screenshots go
// to build/screenshots/ at the repository root (git-ignored).
package consoletest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/audits"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/studio-collab/collab/shared/debpkg"
	"github.com/studio-collab/collab/shared/store/azuritetest"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// Main makes sure Chromium is there, then runs the package's tests with a
// shared Azurite (azuritetest.Main). Without a browser the tests fail: they
// are never skipped.
func Main(m *testing.M) {
	if err := EnsureChromium(); err != nil {
		fmt.Fprintln(os.Stderr, "consoletest:", err)
		os.Exit(1)
	}
	azuritetest.Main(m)
}

// EnsureChromium installs Debian's chromium with apt-get when it is missing
// (the test machines run as root; apt-get update first when the package
// lists are stale or absent).
func EnsureChromium() error { return debpkg.Ensure(ChromiumPath, "chromium", "the browser tests") }

// DefaultTimeout bounds one step or one wait. It is a deadline for a
// condition, never a time waited: a passing test waits only as long as its
// page needs. It is generous because `make test` runs every package at once
// on two shared cores, where Chromium, Azurite and the race detector can
// make one render take tens of seconds; a tighter bound made passing tests
// fail on a loaded machine (issue 19, finding 11).
const DefaultTimeout = 90 * time.Second

// Browser is one Chromium for one test.
type Browser struct {
	t       testing.TB
	Base    string // the console's origin, e.g. http://127.0.0.1:1234
	ctx     context.Context
	Timeout time.Duration // per step and per wait (default DefaultTimeout)

	mu       sync.Mutex
	problems []string
	front    *Tab // the tab brought to the front last
}

// New starts Chromium for t with the flags the project fixed (headless, no
// sandbox, no GPU, no QUIC, no first run, no background networking,
// component updates or sync; a fresh profile). The test fails at its end if
// a page reported a problem.
func New(t testing.TB, base string, extra ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	b := &Browser{t: t, Base: strings.TrimRight(base, "/"), Timeout: DefaultTimeout}
	t.Cleanup(func() {
		for _, p := range b.TakeProblems() {
			t.Errorf("browser: %s", p)
		}
	})
	// Not t.TempDir: Chromium's helpers may still be writing the profile
	// for a moment after the browser exits, and TempDir's cleanup fails the
	// test on that. This one is removed once they are done.
	profile, err := os.MkdirTemp("", "consoletest-profile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for os.RemoveAll(profile) != nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond) // retrying a removal, not waiting for a condition
		}
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	if err := chromedp.Run(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b.ctx = ctx
	return b
}

// TrustKey makes the browser accept a server certificate with this public
// key (base64 SHA-256 of its SubjectPublicKeyInfo, idptest.Leaf.SPKIHash):
// a throw-away CA's server, and that one only, is trusted.
func TrustKey(spkiHash string) chromedp.ExecAllocatorOption {
	return chromedp.Flag("ignore-certificate-errors-spki-list", spkiHash)
}

func (b *Browser) problem(tab, s string) {
	b.mu.Lock()
	b.problems = append(b.problems, tab+": "+s)
	b.mu.Unlock()
}

// TakeProblems returns the problems reported so far and forgets them.
func (b *Browser) TakeProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// WaitProblems waits until the problems reported include every one of
// wants (substrings), through tab, then returns them all and forgets them;
// for the tests that provoke a violation on purpose.
func (b *Browser) WaitProblems(tab *Tab, wants ...string) []string {
	b.t.Helper()
	deadline := time.Now().Add(b.Timeout)
	for {
		b.mu.Lock()
		all := strings.ToLower(strings.Join(b.problems, "\n"))
		b.mu.Unlock()
		missing := ""
		for _, w := range wants {
			if !strings.Contains(all, strings.ToLower(w)) {
				missing = w
			}
		}
		if missing == "" {
			return b.TakeProblems()
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no problem mentioning %q was reported; got:\n%s", missing, all)
		}
		tab.pause()
	}
}

// Tab is one tab: its own session (sessionStorage), viewport and events.
type Tab struct {
	b    *Browser
	t    testing.TB
	ctx  context.Context
	Name string
}

// Tab opens a tab of width×height CSS pixels; mobile emulates a phone.
func (b *Browser) Tab(name string, width, height int64, mobile bool) *Tab {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	// The first Run creates the tab and ties it to the context it gets: give
	// it the tab's own context, never a step's (a step's timeout would close
	// the tab).
	if err := chromedp.Run(ctx); err != nil {
		b.t.Fatalf("open tab %s: %v", name, err)
	}
	tab := &Tab{b: b, t: b.t, ctx: ctx, Name: name}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			tab.b.problem(name, "uncaught exception: "+e.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				tab.b.problem(name, "console."+string(e.Type)+": "+strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			// 4xx/5xx answers are logged with source "network": the screens
			// expect and show them. Everything else at error level counts,
			// CSP violations (source "security") first of all.
			if e.Entry.Source == cdplog.SourceSecurity || (e.Entry.Level == cdplog.LevelError && e.Entry.Source != cdplog.SourceNetwork) {
				tab.b.problem(name, fmt.Sprintf("log %s/%s: %s", e.Entry.Source, e.Entry.Level, e.Entry.Text))
			}
		case *audits.EventIssueAdded:
			if e.Issue.Code == audits.InspectorIssueCodeContentSecurityPolicyIssue {
				d := e.Issue.Details.ContentSecurityPolicyIssueDetails
				what := ""
				if d != nil {
					what = fmt.Sprintf("%s blocked %s (%s)", d.ViolatedDirective, d.BlockedURL, d.ContentSecurityPolicyViolationType)
				}
				tab.b.problem(name, "CSP violation: "+what)
			}
		}
	})
	tab.Run(cdplog.Enable(), audits.Enable())
	if mobile {
		tab.Run(chromedp.EmulateViewport(width, height, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	} else {
		tab.Run(chromedp.EmulateViewport(width, height))
	}
	return tab
}

// Laptop and Phone open tabs of those sizes.
func (b *Browser) Laptop(name string) *Tab { return b.Tab(name, 1280, 860, false) }

// Phone opens a tab the size of a phone (390×844, touch, 2× pixels).
func (b *Browser) Phone(name string) *Tab { return b.Tab(name, 390, 844, true) }

// Run performs actions within the step timeout; an error fails the test.
func (tab *Tab) Run(actions ...chromedp.Action) {
	tab.t.Helper()
	ctx, cancel := context.WithTimeout(tab.ctx, tab.b.Timeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var body string
		diag, stop := context.WithTimeout(tab.ctx, 10*time.Second)
		_ = chromedp.Run(diag, chromedp.Evaluate(`(document.getElementById('main') || document.body).innerText.slice(-4000)`, &body))
		stop()
		tab.t.Fatalf("%s: %v\n--- page text:\n%s", tab.Name, err, body)
	}
}

// Go loads a path of the console.
func (tab *Tab) Go(path string) {
	tab.t.Helper()
	tab.Run(chromedp.Navigate(tab.b.Base + path))
}

// Eval evaluates a JavaScript expression into out (DevTools evaluation,
// which the page's CSP does not govern).
func (tab *Tab) Eval(expr string, out any) {
	tab.t.Helper()
	tab.Run(chromedp.Evaluate(expr, out))
}

// WaitJS waits until expr is truthy in the page.
func (tab *Tab) WaitJS(expr string) {
	tab.t.Helper()
	var ok any
	deadline := time.Now().Add(tab.b.Timeout)
	for {
		// An interval, not animation frames: a background tab paints none.
		// No polling timeout of chromedp's own (30 s by default, which cut
		// waits short on a loaded machine): the deadline decides.
		ctx, cancel := context.WithDeadline(tab.ctx, deadline)
		err := chromedp.Run(ctx, chromedp.Poll(expr, &ok, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0)))
		cancel()
		if err == nil {
			return
		}
		// A navigation (a sign-in redirect) ends the page the poll ran in:
		// poll again in the new one.
		if !navigated(err) || time.Now().After(deadline) {
			tab.t.Fatalf("%s: waiting for %s: %v\n--- page text:\n%s", tab.Name, expr, err, tab.Text())
		}
	}
}

// navigated reports whether err is a page's end by a navigation (the
// evaluation ran in a document that has gone), after which the same
// question asked again in the new document is the right retry.
func navigated(err error) bool {
	return strings.Contains(err.Error(), "navigated or closed") || strings.Contains(err.Error(), "Cannot find context") ||
		strings.Contains(err.Error(), "Execution context was destroyed")
}

// gone reports whether err says the element acted on is no longer there
// (the screen drew it again, the page moved on): finding it again and
// acting once more is the right retry.
func gone(err error) bool {
	for _, s := range []string{"did not return any nodes", "Could not compute box model", "Node is detached",
		"No node with given id", "Could not find node with given id"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return navigated(err)
}

// tryEval evaluates expr into out before deadline and returns the error
// instead of failing the test.
func (tab *Tab) tryEval(expr string, out any, deadline time.Time) error {
	ctx, cancel := context.WithDeadline(tab.ctx, deadline)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate(expr, out))
}

// WaitText waits until the main region shows text.
func (tab *Tab) WaitText(text string) {
	tab.t.Helper()
	// Null-safe: between a redirect and the next page there is no body yet.
	tab.WaitJS(fmt.Sprintf(`((document.getElementById('main') || document.body || {}).innerText || '').includes(%s)`, jsString(text)))
}

// Count is how many elements of the page match a CSS selector.
func (tab *Tab) Count(selector string) int {
	tab.t.Helper()
	var n int
	tab.Eval(fmt.Sprintf(`document.querySelectorAll(%s).length`, jsString(selector)), &n)
	return n
}

// WaitAnnounced waits until the live status region has said text.
func (tab *Tab) WaitAnnounced(text string) {
	tab.t.Helper()
	tab.WaitJS(fmt.Sprintf(`(document.getElementById('status') || {textContent: ''}).textContent.includes(%s)`, jsString(text)))
}

// Nav clicks the navigation's link named name.
func (tab *Tab) Nav(name string) { tab.t.Helper(); tab.ClickIn("#nav", name) }

// WaitGone waits until the main region no longer shows text.
func (tab *Tab) WaitGone(text string) {
	tab.t.Helper()
	tab.WaitJS(fmt.Sprintf(`!(document.getElementById('main') || document.body).innerText.includes(%s)`, jsString(text)))
}

// Text is what the main region shows.
func (tab *Tab) Text() string {
	tab.t.Helper()
	var s string
	tab.Eval(`(document.getElementById('main') || document.body).innerText`, &s)
	return s
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x2028 || r == 0x2029 || r == '<' || r == '>':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// find tags the one visible control that matches and returns its selector.
// kind "control": the input or select a <label> with this text names;
// kind "action": the button, link or summary whose aria-label or text is
// name. scope (may be "") is the heading text of the section or form to
// search in.
func (tab *Tab) find(kind, name, scope string) string {
	tab.t.Helper()
	expr := fmt.Sprintf(`(() => {
  const kind = %s, name = %s, scope = %s;
  const norm = (s) => s.replace(/\s+/g, ' ').replace(/\s*\*$/, '').trim();
  let roots = [document];
  if (scope.startsWith('#')) {
    roots = [...document.querySelectorAll(scope)];
  } else if (scope) {
    roots = [...document.querySelectorAll('section, form')].filter((s) => {
      const hd = s.querySelector('h2, h3');
      return hd && norm(hd.textContent) === scope;
    });
    if (!roots.length) return 'no section or form titled ' + scope;
  }
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  let found = [];
  for (const root of roots) {
    if (kind === 'control') {
      for (const l of root.querySelectorAll('label')) {
        if (norm(l.textContent) !== name) continue;
        const c = l.htmlFor ? document.getElementById(l.htmlFor) : l.querySelector('input, select');
        if (c) found.push(c);
      }
      for (const c of root.querySelectorAll('[aria-label]')) {
        if ((c.tagName === 'SELECT' || c.tagName === 'INPUT') && c.getAttribute('aria-label') === name) found.push(c);
      }
    } else {
      for (const el of root.querySelectorAll('button, a, summary')) {
        if ((el.getAttribute('aria-label') || norm(el.textContent)) === name) found.push(el);
      }
    }
  }
  // A disabled control (a pager while it loads) is not clickable yet: wait.
  found = [...new Set(found)].filter(visible).filter((el) => kind === 'control' || !el.disabled);
  if (found.length !== 1) return found.length + ' visible matches for ' + kind + ' ' + name;
  const tag = 't' + Math.random().toString(36).slice(2);
  found[0].setAttribute('data-t', tag);
  found[0].scrollIntoView({ block: 'center' });
  return '[data-t="' + tag + '"]';
})()`, jsString(kind), jsString(name), jsString(scope))
	deadline := time.Now().Add(tab.b.Timeout)
	var sel string
	for {
		if err := tab.tryEval(expr, &sel, deadline); err != nil {
			// A navigation (a sign-in redirect, a screen's own redirect)
			// ended the page the search ran in: search the new one.
			if !navigated(err) || time.Now().After(deadline) {
				tab.t.Fatalf("%s: looking for %s %s: %v\n--- page text:\n%s", tab.Name, kind, name, err, tab.Text())
			}
			continue
		}
		if strings.HasPrefix(sel, "[data-t=") {
			return sel
		}
		if time.Now().After(deadline) {
			tab.t.Fatalf("%s: %s (in %q)\n--- page text:\n%s", tab.Name, sel, scope, tab.Text())
		}
		// The screen may still be rendering: ask again a little later.
		tab.pause()
	}
}

// Click clicks (a real mouse click) the button or link named name.
func (tab *Tab) Click(name string) { tab.t.Helper(); tab.ClickIn("", name) }

// ClickIn clicks the button or link named name inside the section or form
// titled scope (or, when scope starts with #, inside that element).
func (tab *Tab) ClickIn(scope, name string) {
	tab.t.Helper()
	tab.click(scope, name)
}

// click finds the control and clicks it, and returns its selector. A screen
// that re-renders between the search and the click (a status refresh)
// replaces the tagged element: chromedp.Click would then wait for it until
// the deadline. The click does not wait for the tag (AtLeast(0)); when it
// is gone, nothing was clicked, and the control is searched for again.
func (tab *Tab) click(scope, name string) string {
	tab.t.Helper()
	deadline := time.Now().Add(tab.b.Timeout)
	for {
		sel := tab.find("action", name, scope)
		// A mouse click goes to coordinates read a moment before it is sent;
		// a layout shift in between (a progress line replaced as data
		// arrives) sends it elsewhere. The element notes the click it gets,
		// and a click that missed it is made again.
		var armed bool
		tab.Eval(fmt.Sprintf(`(() => { const el = document.querySelector(%s); if (!el) return false;
  el.__consoletestClicked = false;
  el.addEventListener('click', () => { el.__consoletestClicked = true; }, { once: true, capture: true });
  return true; })()`, jsString(sel)), &armed)
		tab.toFront()
		ctx, cancel := context.WithDeadline(tab.ctx, deadline)
		err := chromedp.Run(ctx, chromedp.Click(sel, chromedp.ByQuery, chromedp.AtLeast(0)))
		cancel()
		if err == nil {
			var hit bool
			herr := tab.tryEval(fmt.Sprintf(`(() => { const el = document.querySelector(%s); return !el || el.__consoletestClicked === true; })()`, jsString(sel)), &hit, deadline)
			if hit || (herr != nil && navigated(herr)) { // gone or navigated away: the click did it
				return sel
			}
			if herr != nil || time.Now().After(deadline) {
				tab.t.Fatalf("%s: clicking %s: the click never reached it (%v)\n--- page text:\n%s", tab.Name, name, herr, tab.Text())
			}
			continue
		}
		if !gone(err) || time.Now().After(deadline) {
			tab.t.Fatalf("%s: clicking %s: %v\n--- page text:\n%s", tab.Name, name, err, tab.Text())
		}
	}
}

// Confirm presses a button that asks for a second press (dom.js
// confirmButton) twice. The button disarms itself after 5 s of wall time,
// which a loaded machine can spend between two DevTools round trips; so the
// second press is made in one evaluation with the check that the button is
// still armed (JavaScript runs one task at a time: its timer cannot fire in
// between), and a button found disarmed or re-rendered is pressed again from
// the start.
func (tab *Tab) Confirm(name string) {
	tab.t.Helper()
	deadline := time.Now().Add(tab.b.Timeout)
	for {
		sel := tab.click("", name) // arms it (a real mouse click)
		var res string
		tab.Eval(fmt.Sprintf(`(() => {
  const b = document.querySelector(%s);
  if (!b) return 'gone';
  if (!b.classList.contains('btn-danger')) return 'disarmed';
  b.click();
  return 'ok';
})()`, jsString(sel)), &res)
		if res == "ok" {
			return
		}
		if time.Now().After(deadline) {
			tab.t.Fatalf("%s: confirming %s: the button was %s at every second press\n--- page text:\n%s", tab.Name, name, res, tab.Text())
		}
	}
}

// toFront brings the tab to the front: input events sent to a background
// tab are not delivered.
func (tab *Tab) toFront() {
	tab.t.Helper()
	tab.b.mu.Lock()
	front := tab.b.front == tab
	tab.b.front = tab
	tab.b.mu.Unlock()
	if !front {
		tab.Run(page.BringToFront())
	}
}

// Fill types value into the field labelled label (in scope, may be "").
func (tab *Tab) Fill(scope, label, value string) {
	tab.t.Helper()
	deadline := time.Now().Add(tab.b.Timeout)
	for {
		sel := tab.find("control", label, scope)
		var cleared bool
		tab.Eval(fmt.Sprintf(`(() => { const c = document.querySelector(%s); if (!c) return false; c.value = ''; c.focus(); return true; })()`, jsString(sel)), &cleared)
		tab.toFront()
		// A field drawn again (or a document replaced) between the search
		// and the typing is typed into again from the start.
		ctx, cancel := context.WithDeadline(tab.ctx, deadline)
		err := chromedp.Run(ctx, chromedp.SendKeys(sel, value, chromedp.ByQuery, chromedp.AtLeast(0)))
		cancel()
		// Without AtLeast's wait, a field gone before the typing got
		// nothing: it is still there if it got the keys.
		var there bool
		if err == nil {
			if err = tab.tryEval(fmt.Sprintf(`!!document.querySelector(%s)`, jsString(sel)), &there, deadline); err == nil && there {
				return
			}
		}
		if (err != nil && !gone(err)) || time.Now().After(deadline) {
			tab.t.Fatalf("%s: typing into %s: %v\n--- page text:\n%s", tab.Name, label, err, tab.Text())
		}
	}
}

// Choose selects the option with value (or visible text) in the select
// labelled label, as a person would, firing change.
func (tab *Tab) Choose(scope, label, value string) {
	tab.t.Helper()
	sel := tab.find("control", label, scope)
	var res string
	tab.Eval(fmt.Sprintf(`(() => {
  const s = document.querySelector(%s), want = %s;
  const o = [...s.options].find((o) => o.value === want || o.textContent === want);
  if (!o) return 'no option ' + want;
  s.value = o.value;
  s.dispatchEvent(new Event('change', { bubbles: true }));
  return 'ok';
})()`, jsString(sel), jsString(value)), &res)
	if res != "ok" {
		tab.t.Fatalf("%s: %s in %q", tab.Name, res, label)
	}
}

// SetValue sets the control labelled label (in scope) to value and fires
// input and change, as a person picking it in the browser's own picker
// would (date and time inputs, whose typing order depends on the locale).
func (tab *Tab) SetValue(scope, label, value string) {
	tab.t.Helper()
	sel := tab.find("control", label, scope)
	var got string
	tab.Eval(fmt.Sprintf(`(() => {
  const c = document.querySelector(%s);
  c.focus();
  c.value = %s;
  c.dispatchEvent(new Event('input', { bubbles: true }));
  c.dispatchEvent(new Event('change', { bubbles: true }));
  return c.value;
})()`, jsString(sel), jsString(value)), &got)
	if got != value {
		tab.t.Fatalf("%s: %q took the value %q, not %q", tab.Name, label, got, value)
	}
}

// TimeZone makes the tab's clock read in zone (an IANA name), as for a
// person there: dates the page shows and the times typed into it.
func (tab *Tab) TimeZone(zone string) {
	tab.t.Helper()
	tab.Run(emulation.SetTimezoneOverride(zone))
}

// Alerts is what the shell's alert line (above every screen) shows.
func (tab *Tab) Alerts() string {
	tab.t.Helper()
	var s string
	tab.Eval(`(document.getElementById('alerts') || {innerText: ''}).innerText`, &s)
	return s
}

// Key types keys (e.g. "\t", "\r") into whatever has the focus.
func (tab *Tab) Key(keys string) {
	tab.t.Helper()
	tab.toFront()
	tab.Run(chromedp.KeyEvent(keys))
}

// EvalAwait evaluates an expression that yields a promise, into out.
func (tab *Tab) EvalAwait(expr string, out any) {
	tab.t.Helper()
	tab.Run(chromedp.Evaluate(expr, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
}

// Check ticks the checkbox labelled label.
func (tab *Tab) Check(scope, label string) {
	tab.t.Helper()
	sel := tab.find("control", label, scope)
	tab.toFront()
	tab.Run(chromedp.Click(sel, chromedp.ByQuery))
}

// FieldError is the problem shown next to the field labelled label.
func (tab *Tab) FieldError(scope, label string) string {
	tab.t.Helper()
	sel := tab.find("control", label, scope)
	var s string
	tab.Eval(fmt.Sprintf(`(() => {
  const c = document.querySelector(%s);
  const ids = (c.getAttribute('aria-describedby') || '').split(' ');
  const err = ids.map((id) => document.getElementById(id)).find((e) => e && e.classList.contains('field-error') && !e.hidden);
  return (c.getAttribute('aria-invalid') === 'true' ? 'invalid: ' : '') + (err ? err.textContent : '');
})()`, jsString(sel)), &s)
	return s
}

// SignIn signs in through the dev issuer's form as email and waits for the
// overview.
func (tab *Tab) SignIn(email string) {
	tab.t.Helper()
	tab.Go("/console/signin")
	tab.Fill("Any e-mail address", "E-mail", email)
	tab.ClickIn("Any e-mail address", "Sign in")
	tab.WaitJS(fmt.Sprintf(`(document.getElementById('who') || {textContent: ''}).textContent.includes(%s)`, jsString(strings.ToLower(email))))
}

// ScreenshotDir is build/screenshots at the repository root.
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	out := filepath.Join(repoRoot(t), "build", "screenshots")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// Screenshot saves the whole page as build/screenshots/<name>.png.
func (tab *Tab) Screenshot(name string) string {
	tab.t.Helper()
	var png []byte
	tab.toFront()
	tab.nextFrame() // let the last change paint
	tab.Run(chromedp.FullScreenshot(&png, 100))
	path := filepath.Join(ScreenshotDir(tab.t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tab.t.Fatal(err)
	}
	return path
}

// pause lets the page run for 50 ms (between two polls of a condition).
func (tab *Tab) pause() {
	tab.t.Helper()
	var ok bool
	tab.Run(chromedp.Evaluate(`new Promise((r) => setTimeout(() => r(true), 50))`, &ok,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
}

// nextFrame waits until the page (in front) has painted another frame.
func (tab *Tab) nextFrame() {
	tab.t.Helper()
	var ok bool
	tab.Run(chromedp.Evaluate(`new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, &ok,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
}

// repoRoot is the directory of go.mod above the test's directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// AxeViolation is one rule axe-core found broken on a page, with the
// elements that break it.
type AxeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

var (
	axeOnce   sync.Once
	axeSource string
	axeErr    error
)

// axeScript is axe-core's browser build as package.json pins it
// (node_modules/axe-core/axe.min.js, installed by `make deps`): the same
// engine and rules on every machine.
func axeScript(t testing.TB) string {
	t.Helper()
	axeOnce.Do(func() {
		var b []byte
		b, axeErr = os.ReadFile(filepath.Join(repoRoot(t), "node_modules", "axe-core", "axe.min.js"))
		axeSource = string(b)
	})
	if axeErr != nil {
		t.Fatalf("axe-core is not installed (run `make deps`): %v", axeErr)
	}
	return axeSource
}

// Axe runs axe-core (WCAG 2.0-2.2 A and AA rules and axe's best practices)
// on the whole page as it is now and returns the rules it breaks. The
// engine is injected through DevTools, which the page's CSP does not
// govern: the console itself never loads it.
func (tab *Tab) Axe() []AxeViolation {
	tab.t.Helper()
	var loaded bool
	tab.Eval(`typeof window.axe === 'object'`, &loaded)
	if !loaded {
		var ok bool
		tab.Eval(axeScript(tab.t)+"\n;true", &ok)
	}
	var out []AxeViolation
	tab.EvalAwait(`axe.run(document, { resultTypes: ['violations'],
  runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } }).then((r) => r.violations)`, &out)
	return out
}

// AssertAccessible fails the test when axe-core finds any violation on the
// page, naming each rule and the elements that break it.
func (tab *Tab) AssertAccessible(where string) {
	tab.t.Helper()
	vs := tab.Axe()
	if len(vs) == 0 {
		return
	}
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "\n  %s (%s): %s", v.ID, v.Impact, v.Help)
		for i, n := range v.Nodes {
			if i == 5 {
				fmt.Fprintf(&b, "\n    … and %d more", len(v.Nodes)-5)
				break
			}
			fmt.Fprintf(&b, "\n    %v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " "))
		}
	}
	tab.Screenshot("axe-" + strings.NewReplacer("/", "-", " ", "-", "?", "-", "=", "-").Replace(strings.Trim(where, "/")))
	tab.t.Errorf("%s: %d axe-core violations:%s", where, len(vs), b.String())
}
