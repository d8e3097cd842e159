package handlers_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/handlers/handlertest"
	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/jobs"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/mail/smtptest"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/secevent"
)

// securityEvents reads a log's events of one kind through the API.
func securityEvents(t *testing.T, a *handlertest.API, who, path string, kind secevent.Kind) []map[string]any {
	t.Helper()
	m := a.Must(t, who, "GET", path+"?kind="+string(kind)+"&limit=200", nil, 200)
	var out []map[string]any
	for _, e := range m["items"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

const (
	acmeEvents    = "/api/subscriptions/acme/security-events"
	otherEvents   = "/api/subscriptions/other/security-events"
	claimsEvents  = "/api/projects/claims/security-events"
	operatorEvent = "/api/security-events"
)

// registerTask has the Work Portal register an e-mail task for bob and
// returns its reply address (from the task e-mail).
func registerTask(t *testing.T, a *handlertest.API, id string) string {
	t.Helper()
	a.Deliver(t, a.Outbox, "OutboxSend")
	before := len(a.SMTP.Messages())
	a.Must(t, workPortal(t, a, "wp-app", "WorkPortal.Invoke"), "POST", envBase+"/email-tasks", taskSpec(id, "http://127.0.0.1:9/"+id), 201)
	a.Deliver(t, a.Outbox, "OutboxSend")
	ms := a.SMTP.Messages()[before:]
	if len(ms) != 1 {
		t.Fatalf("task e-mail: %d sent", len(ms))
	}
	return mail.AddrSpec(ms[0].Header.Get("Reply-To"))
}

func gmailReply(t *testing.T, reply, from, messageID string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../shared/mail/testdata/replies/gmail.eml")
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("{{REPLY}}"), []byte(reply))
	raw = bytes.Replace(raw, []byte("From: Bob Builder <bob@example.com>"), []byte("From: "+from), 1)
	return bytes.Replace(raw, []byte("<CAFz8kQ1xYZ+0abcdefGHIJ-klmno@mail.gmail.com>"), []byte(messageID), 1)
}

// TestEverySecurityEventKindThroughTheAPI: each kind of refusal is produced
// by the real call (API, webhook, egress), read back through the endpoint of
// the scope it concerns, and is invisible to another subscription's owner.
func TestEverySecurityEventKindThroughTheAPI(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	operator := workPortal(t, a, "ops", secevent.OperatorRole)
	bobID, olgaID, malloryID := platform.UserID(bob), platform.UserID(olga), platform.UserID(mallory)
	foreign, err := identity.NewDevIssuer("https://elsewhere.example/api/dev", handlertest.Audience, filepath.Join(t.TempDir(), "k.pem"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		log       string // which endpoint shows it
		reason    string
		principal string
		project   string
	}
	cases := []struct {
		name    string
		kind    secevent.Kind
		produce func(t *testing.T)
		want    want
	}{
		{"sign-in of a disabled user", secevent.SignInRefused, func(t *testing.T) {
			a.Must(t, mallory, "GET", "/api/me", nil, 401)
		}, want{acmeEvents, "disabled", malloryID, ""}},
		{"sign-in with an expired token", secevent.SignInRefused, func(t *testing.T) {
			tok, _ := a.Issuer.IssueRaw(map[string]any{"email": "exp@example.com", "email_verified": true}, "expired-sub", handlertest.Audience, a.Now().Add(-3*time.Hour), time.Hour)
			a.Must(t, "Bearer "+tok, "GET", "/api/me", nil, 401)
		}, want{operatorEvent, "expired", "expired-sub", ""}},
		{"sign-in with a token of a foreign issuer", secevent.SignInRefused, func(t *testing.T) {
			tok, _ := foreign.Issue("eve@example.com", "Eve")
			a.Must(t, "Bearer "+tok, "GET", "/api/me", nil, 401)
		}, want{operatorEvent, "foreign-issuer", identity.DevSubject("eve@example.com"), ""}},
		{"sign-in with a forged signature", secevent.SignInRefused, func(t *testing.T) {
			tok, _ := a.Issuer.IssueRaw(map[string]any{"email": "forger@example.com", "email_verified": true}, "forged-sub", handlertest.Audience, a.Now(), time.Hour)
			a.Must(t, "Bearer "+tok[:len(tok)-4]+"AAAA", "GET", "/api/me", nil, 401)
		}, want{operatorEvent, "bad-signature", "forged-sub", ""}},
		{"another subscription's owner probes an existing project", secevent.TenantProbe, func(t *testing.T) {
			a.Must(t, olga, "GET", "/api/projects/claims", nil, 404)
		}, want{acmeEvents, "other-subscription", olgaID, "claims"}},
		{"Studio Security refuses a check-in", secevent.SecurityDenied, func(t *testing.T) {
			a.Must(t, dave, "PUT", "/api/projects/claims/security/entries", grant("applications/locked", "user:"+bobID, "deny"), 200)
			if code, _ := checkin(t, a, bob, []map[string]any{upload(t, a, bob, "applications/locked/processes/p", 0, "x")}, ""); code != 403 {
				t.Fatalf("check-in: %d", code)
			}
		}, want{claimsEvents, "write", bobID, "claims"}},
		{"inbound reply with a forged token", secevent.InboundRefused, func(t *testing.T) {
			reply := []byte(registerTask(t, a, "t-forged"))
			at := bytes.IndexByte(reply, '@')
			if reply[at-5] == 'a' { // one character of the MAC changed
				reply[at-5] = 'b'
			} else {
				reply[at-5] = 'a'
			}
			_, out := postInbound(t, a, gmailReply(t, string(reply), "Bob <bob@example.com>", "<f1@x>"), basic(handlertest.InboundSecret))
			if out["outcome"] != "token-invalid" {
				t.Fatalf("outcome %v", out)
			}
		}, want{operatorEvent, "bad-token", "bob@example.com", ""}},
		{"inbound reply from someone else", secevent.InboundRefused, func(t *testing.T) {
			reply := registerTask(t, a, "t-impostor")
			_, out := postInbound(t, a, gmailReply(t, reply, "Eve <eve@example.com>", "<i1@x>"), basic(handlertest.InboundSecret))
			if out["outcome"] != "wrong-sender" {
				t.Fatalf("outcome %v", out)
			}
		}, want{claimsEvents, "unverified-sender", "eve@example.com", "claims"}},
		{"an e-mail task's callback to a loopback address", secevent.EgressRefused, func(t *testing.T) {
			// Before the replay row: the only completed task, so the only callback queued.
			reply := registerTask(t, a, "t-callback") // its callback is http://127.0.0.1:9/t-callback
			if _, out := postInbound(t, a, gmailReply(t, reply, "Bob <bob@example.com>", "<c1@x>"), basic(handlertest.InboundSecret)); out["outcome"] != "completed" {
				t.Fatalf("outcome %v", out)
			}
			a.Services().UseEgress(egress.NewPolicy(nil)) // Azure's policy
			a.Deliver(t, a.Callbacks, "EmailCallback")
		}, want{claimsEvents, "ssrf-target", "", "claims"}},
		{"inbound reply replayed", secevent.InboundRefused, func(t *testing.T) {
			reply := registerTask(t, a, "t-replay")
			msg := gmailReply(t, reply, "Bob <bob@example.com>", "<r1@x>")
			postInbound(t, a, msg, basic(handlertest.InboundSecret))
			if _, out := postInbound(t, a, msg, basic(handlertest.InboundSecret)); out["outcome"] != "replay" {
				t.Fatalf("outcome %v", out)
			}
		}, want{claimsEvents, "replay", "bob@example.com", "claims"}},
		{"inbound reply failing DKIM/SPF", secevent.InboundRefused, func(t *testing.T) {
			reply := registerTask(t, a, "t-auth")
			a.Services().Mail.Inbound.RequireAuth = true
			defer func() { a.Services().Mail.Inbound.RequireAuth = false }()
			hdr := basic(handlertest.InboundSecret)
			hdr["X-Inbound-DKIM"], hdr["X-Inbound-SPF"] = "{@example.com : fail}", "fail"
			if _, out := postInbound(t, a, gmailReply(t, reply, "Bob <bob@example.com>", "<a1@x>"), hdr); out["outcome"] != "auth-failed" {
				t.Fatalf("outcome %v", out)
			}
		}, want{claimsEvents, "auth-failed", "bob@example.com", "claims"}},
		{"egress to the metadata address", secevent.EgressRefused, func(t *testing.T) {
			a.Must(t, carol, "PUT", envBase+"/connectors/imds", map[string]any{"baseUrl": "http://169.254.169.254/metadata"}, 201)
			a.Must(t, carol, "POST", envBase+"/connectors/imds/invoke", map[string]any{"path": "/identity/oauth2/token"}, 422)
		}, want{claimsEvents, secevent.ReasonMetadata, platform.UserID(carol), "claims"}},
		{"egress redirected to another host", secevent.EgressRefused, func(t *testing.T) {
			hop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://attacker.example/steal", http.StatusFound)
			}))
			defer hop.Close()
			a.Must(t, carol, "PUT", envBase+"/connector-settings", map[string]any{"allowNetworks": []string{"127.0.0.0/8"}}, 200)
			a.Must(t, carol, "PUT", envBase+"/connectors/hop", map[string]any{"baseUrl": hop.URL}, 201)
			a.Must(t, carol, "POST", envBase+"/connectors/hop/invoke", map[string]any{"path": "/x"}, 422)
		}, want{claimsEvents, "redirect", platform.UserID(carol), "claims"}},
		{"a programmed job's call to a loopback Scheduler", secevent.EgressRefused, func(t *testing.T) {
			sched := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("the Scheduler was reached") }))
			defer sched.Close()
			a.Services().UseEgress(egress.NewPolicy(nil)) // Azure's policy
			a.Must(t, carol, "PATCH", "/api/projects/claims/environments/development", map[string]any{"schedulerUrl": sched.URL}, 200)
			a.Must(t, carol, "POST", envBase+"/jobs", map[string]any{"name": "probe", "schedule": "0 0 2 * * *", "target": "/jobs/probe", "retries": 0}, 201)
			a.Must(t, carol, "POST", envBase+"/jobs/probe/run", nil, 202)
			a.Tick(t)
		}, want{claimsEvents, "ssrf-target", "", "claims"}},
		{"inbound webhook with a wrong secret", secevent.WebhookSecret, func(t *testing.T) {
			if resp, _ := postInbound(t, a, []byte("From: x@example.com\r\n\r\nhi\r\n"), basic("guess")); resp.StatusCode != 401 {
				t.Fatalf("wrong secret: %d", resp.StatusCode)
			}
		}, want{operatorEvent, "wrong-secret", "ip:127.0.0.1", ""}},
		{"a caller's stream of malformed requests", secevent.RejectedRate, func(t *testing.T) {
			for range secevent.RateThreshold {
				resp, _ := a.Call(t, bob, "POST", "/api/projects/claims/teams", "not an object", nil)
				if resp.StatusCode != 400 {
					t.Fatalf("malformed: %d", resp.StatusCode)
				}
			}
		}, want{claimsEvents, "invalid", bobID, "claims"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reader := alice
			if c.want.log == operatorEvent {
				reader = operator
			}
			before := len(securityEvents(t, a, reader, c.want.log, c.kind))
			c.produce(t)
			evs := securityEvents(t, a, reader, c.want.log, c.kind)
			if len(evs) != before+1 {
				t.Fatalf("%s: %d events, want %d: %v", c.want.log, len(evs), before+1, evs)
			}
			e := evs[0] // newest first
			principal, _ := e["principal"].(string)
			if e["reason"] != c.want.reason || principal != c.want.principal || (e["project"] != nil && e["project"] != c.want.project) ||
				(c.want.project != "" && e["project"] != c.want.project) || e["id"] == "" || e["at"] == "" {
				t.Fatalf("event %v, want %+v", e, c.want)
			}
			if c.want.project != "" {
				if e["subscription"] != "acme" {
					t.Errorf("a project event without its subscription: %v", e)
				}
				if got := securityEvents(t, a, alice, acmeEvents, c.kind); len(got) == 0 || got[0]["id"] != e["id"] {
					t.Errorf("the subscription's log lacks the project's event")
				}
			}
			// Scoped: another subscription's owner sees none of it, and
			// cannot read acme's logs at all.
			for _, ev := range securityEvents(t, a, olga, otherEvents, c.kind) {
				if ev["id"] == e["id"] || ev["principal"] == c.want.principal && c.want.principal != olgaID {
					t.Errorf("olga sees %v", ev)
				}
			}
			a.Must(t, olga, "GET", acmeEvents, nil, 404)
			a.Must(t, olga, "GET", claimsEvents, nil, 404)
			if c.want.log == operatorEvent {
				for _, ev := range securityEvents(t, a, alice, acmeEvents, c.kind) {
					if ev["id"] == e["id"] {
						t.Errorf("an operator event is in acme's log: %v", ev)
					}
				}
			}
			// Never a secret: no token, no webhook secret, no body.
			for _, v := range e {
				s := fmt.Sprint(v)
				if strings.Contains(s, "eyJ") || strings.Contains(s, handlertest.InboundSecret) || strings.Contains(s, "guess") || strings.Contains(s, "Approve") {
					t.Errorf("an event holds a secret or a body: %v", e)
				}
			}
		})
	}
	// Who reads what: developers and admins are refused the project's log,
	// non-owners of the subscription its log; a person never reads the
	// operator's; the filters are checked.
	a.Must(t, bob, "GET", claimsEvents, nil, 403)
	a.Must(t, carol, "GET", claimsEvents, nil, 403)
	a.Must(t, dave, "GET", claimsEvents, nil, 200)
	a.Must(t, bob, "GET", acmeEvents, nil, 403)
	a.Must(t, alice, "GET", operatorEvent, nil, 403)
	a.Must(t, workPortal(t, a, "wp-app", "WorkPortal.Invoke"), "GET", operatorEvent, nil, 403)
	a.Must(t, alice, "GET", acmeEvents+"?kind=nope", nil, 400)
	a.Must(t, alice, "GET", acmeEvents+"?from=yesterday", nil, 400)
	a.Must(t, alice, "GET", acmeEvents+"?limit=100000", nil, 400)
	byBob := a.Must(t, alice, "GET", acmeEvents+"?principal="+url.QueryEscape(bobID), nil, 200)["items"].([]any)
	for _, e := range byBob {
		if e.(map[string]any)["principal"] != bobID {
			t.Errorf("principal filter: %v", e)
		}
	}
	if len(byBob) < 2 {
		t.Errorf("bob's events: %v", byBob)
	}
	// Paging walks every event once.
	all := map[any]bool{}
	next := ""
	for range 50 {
		m := a.Must(t, alice, "GET", acmeEvents+"?limit=2&cursor="+url.QueryEscape(next), nil, 200)
		for _, e := range m["items"].([]any) {
			id := e.(map[string]any)["id"]
			if all[id] {
				t.Fatalf("event %v twice", id)
			}
			all[id] = true
		}
		next, _ = m["next"].(string)
		if next == "" {
			break
		}
	}
	if total := len(a.Must(t, alice, "GET", acmeEvents+"?limit=200", nil, 200)["items"].([]any)); len(all) != total {
		t.Errorf("paging saw %d events of %d", len(all), total)
	}
	sum := a.Must(t, alice, "GET", "/api/subscriptions/acme/security-events/summary", nil, 200)
	if last := sum["last24h"].(map[string]any); last[string(secevent.InboundRefused)] != float64(3) || last[string(secevent.EgressRefused)] != float64(4) {
		t.Errorf("summary: %v", sum)
	}
}

// runAlertTimer runs the security-alerts housekeeping job once, as the
// JobsTick timer does: the clock moves just past the job's next occurrence
// and one tick runs it.
func runAlertTimer(t *testing.T, a *handlertest.API) {
	t.Helper()
	now := a.Now()
	next := now.Truncate(time.Minute).Add(15 * time.Second)
	if !next.After(now) {
		next = next.Add(time.Minute)
	}
	a.Clock.Add(int64(next.Sub(now) + time.Second))
	a.Tick(t)
}

// TestAlertMailOncePerWindow: a refusal that crosses a threshold (any
// egress refusal to a metadata address) raises one alert when the timer
// runs; the Subscription Owners get exactly one e-mail through the outbox
// and the real SMTP server for the window, however many more refusals and
// evaluations follow in it; the alert is listed for the subscription only.
func TestAlertMailOncePerWindow(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	ctx := t.Context()
	if err := a.Services().Jobs.EnsureSystem(ctx, a.Services().Jobs.SystemJobs()); err != nil {
		t.Fatal(err)
	}
	a.Deliver(t, a.Outbox, "OutboxSend") // the fixture's invitations
	alerts := func() []smtptest.Message {
		var out []smtptest.Message
		for _, m := range a.SMTP.Messages() {
			if strings.Contains(m.Header.Get("Subject"), "Security alert") {
				out = append(out, m)
			}
		}
		return out
	}
	// Align to the start of an hour window so that the whole test stays in it.
	now := a.Now()
	a.Clock.Add(int64(now.Truncate(time.Hour).Add(time.Hour + time.Second).Sub(now)))
	a.ForgetTokens() // tokens issued before the move may have expired
	a.Must(t, carol, "PUT", envBase+"/connectors/imds", map[string]any{"baseUrl": "http://169.254.169.254/metadata"}, 201)
	a.Must(t, carol, "POST", envBase+"/connectors/imds/invoke", map[string]any{"path": "/identity/oauth2/token"}, 422)
	runAlertTimer(t, a)
	a.Deliver(t, a.Outbox, "OutboxSend")
	got := alerts()
	if len(got) != 1 || len(got[0].To) != 1 || got[0].To[0] != alice {
		t.Fatalf("alert e-mails: %d %+v", len(got), got)
	}
	if body := string(got[0].Data); !strings.Contains(body, "metadata") || !strings.Contains(body, "egress-refused") {
		t.Errorf("the alert e-mail does not say what happened:\n%s", body)
	}
	// More refusals and evaluations in the same window: no second e-mail.
	for range 3 {
		a.Must(t, carol, "POST", envBase+"/connectors/imds/invoke", map[string]any{"path": "/identity/oauth2/token"}, 422)
		runAlertTimer(t, a)
		a.Deliver(t, a.Outbox, "OutboxSend")
	}
	if got := alerts(); len(got) != 1 {
		t.Fatalf("%d alert e-mails in one window", len(got))
	}
	list := a.Must(t, alice, "GET", "/api/subscriptions/acme/security-alerts", nil, 200)["items"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["rule"] != "metadata-egress" {
		t.Fatalf("alerts: %v", list)
	}
	if other := a.Must(t, olga, "GET", "/api/subscriptions/other/security-alerts", nil, 200)["items"].([]any); len(other) != 0 {
		t.Fatalf("another subscription lists %v", other)
	}
	a.Must(t, olga, "GET", "/api/subscriptions/acme/security-alerts", nil, 404)
	a.Must(t, dave, "GET", "/api/subscriptions/acme/security-alerts", nil, 403)
}

// TestSecurityEventRetention: the security-retention housekeeping job deletes
// security events and alerts older than the retention (90 days unless
// COLLAB_SECURITY_EVENT_RETENTION_DAYS says otherwise), and keeps younger
// ones; each event is also one structured log line, without secrets.
func TestSecurityEventRetention(t *testing.T) {
	t.Parallel()
	a := fixture(t)
	a.Must(t, olga, "GET", "/api/projects/claims", nil, 404)
	if n := len(securityEvents(t, a, alice, acmeEvents, secevent.TenantProbe)); n != 1 {
		t.Fatalf("%d events", n)
	}
	line := ""
	for _, l := range strings.Split(a.Logs(), "\n") {
		if strings.Contains(l, `msg="security event"`) {
			line = l
		}
	}
	if !strings.Contains(line, "kind=cross-tenant-probe reason=other-subscription principal="+platform.UserID(olga)) || !strings.Contains(line, "subscription=acme project=claims") {
		t.Fatalf("no structured security line: %q", line)
	}
	retention := a.Services().Jobs.Executors["security-retention"]
	if err := retention(t.Context(), jobs.Job{}, time.Now().Add(89*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := len(securityEvents(t, a, alice, acmeEvents, secevent.TenantProbe)); n != 1 {
		t.Fatalf("an 89-day-old event was purged (%d left)", n)
	}
	if err := retention(t.Context(), jobs.Job{}, time.Now().Add(91*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := len(securityEvents(t, a, alice, acmeEvents, secevent.TenantProbe)); n != 0 {
		t.Fatalf("a 91-day-old event was kept (%d left)", n)
	}
	if n := len(securityEvents(t, a, alice, claimsEvents, secevent.TenantProbe)); n != 0 {
		t.Fatalf("the project's copy was kept (%d left)", n)
	}
}
