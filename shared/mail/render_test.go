package mail_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/mail"
)

var update = flag.Bool("update", false, "rewrite the golden renders in testdata/golden")

// sampleData is one notification of every kind, as its producer sends it.
func sampleData() map[string]mail.Notification {
	at := time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC)
	fields := []map[string]any{
		{"name": "Decision", "type": "choice", "required": true, "choices": []string{"Approve", "Reject"}},
		{"name": "Amount", "type": "number"}, {"name": "Due", "type": "date"}, {"name": "Urgent", "type": "bool"},
	}
	n := func(kind string, data map[string]any) mail.Notification {
		return mail.Notification{ID: kind + ":1", Project: "claims", Kind: kind, To: []string{"bob@example.com"}, Data: data}
	}
	return map[string]mail.Notification{
		mail.KindInvitation: {ID: "invitation:1", Project: mail.SubscriptionScope("demo"), Kind: mail.KindInvitation, To: []string{"dave@example.com"},
			Data: map[string]any{"subscription": "demo", "invitedBy": "alice@example.com", "acceptUrl": "https://collab.example.com/invitations/tok123/accept", "expiresAt": at}},
		mail.KindWindowAnnounced:  n(mail.KindWindowAnnounced, map[string]any{"env": "test", "windowId": "w1", "start": at, "end": at.Add(time.Hour), "changes": []string{"applications/claims/processes/intake", "entities/master/customer"}, "restarts": []string{"Work Portal", "Scheduler"}}),
		mail.KindWindowOpened:     n(mail.KindWindowOpened, map[string]any{"env": "test", "end": at.Add(time.Hour)}),
		mail.KindWindowEnded:      n(mail.KindWindowEnded, map[string]any{"env": "test", "seq": 42}),
		mail.KindWindowFailed:     n(mail.KindWindowFailed, map[string]any{"env": "test", "seq": 41, "error": "the Work Portal did not become healthy within 5 minutes"}),
		mail.KindDeploymentFailed: n(mail.KindDeploymentFailed, map[string]any{"env": "production", "seq": 43, "error": "classification rule table is invalid <script>"}),
		mail.KindJobFailing:       n(mail.KindJobFailing, map[string]any{"env": "test", "job": "nightly-sync", "failures": 5, "lastError": "work portal answered 500"}),
		mail.KindTaskEmail:        n(mail.KindTaskEmail, map[string]any{"taskRef": "abc", "subject": "Approve claim 4711", "instructions": "Please approve the claim 4711.\nIt is for a car repair.", "fields": fields, "expiresAt": at}),
		mail.KindTaskConfirmation: n(mail.KindTaskConfirmation, map[string]any{"subject": "Approve claim 4711", "values": map[string]any{"Decision": "Approve", "Amount": 1250000.5, "Urgent": true}}),
		mail.KindTaskReplyError:   n(mail.KindTaskReplyError, map[string]any{"taskRef": "abc", "subject": "Approve claim 4711", "problems": []string{"Decision is required: write a line \"Decision: Approve or Reject\""}, "fields": fields}),
		mail.KindSecurityAlert: {ID: "security-alert:1", Project: mail.SubscriptionScope("demo"), Kind: mail.KindSecurityAlert, To: []string{"alice@example.com"},
			Data: map[string]any{"subscription": "demo", "title": "an outbound call aimed at a cloud metadata or platform address", "kind": "egress-refused",
				"principal": "u-12ab", "count": 1, "threshold": 1, "windowStart": at, "windowEnd": at.Add(time.Hour), "consoleUrl": "https://collab.example.com/console/subscriptions/demo/security"}},
	}
}

// TestGoldenRenders: every kind renders its subject, text and HTML exactly
// as testdata/golden says (go test -run Golden -update rewrites them after a
// deliberate change). HTML escapes data; subjects have no line breaks.
func TestGoldenRenders(t *testing.T) {
	tpl, err := mail.LoadTemplates()
	if err != nil {
		t.Fatal(err)
	}
	samples := sampleData()
	for _, kind := range mail.Kinds() {
		t.Run(kind, func(t *testing.T) {
			n, ok := samples[kind]
			if !ok {
				t.Fatalf("no sample for kind %s", kind)
			}
			if err := n.Validate(); err != nil {
				t.Fatalf("the sample does not validate: %v", err)
			}
			n = roundTrip(t, n)
			got, err := tpl.Render(n)
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(got.Subject, "\r\n") || strings.Contains(got.Text+got.HTML, "<no value>") {
				t.Fatalf("bad render: %+v", got)
			}
			for ext, body := range map[string]string{"subject": got.Subject + "\n", "txt": got.Text, "html": got.HTML} {
				path := filepath.Join("testdata", "golden", kind+"."+ext)
				if *update {
					_ = os.MkdirAll(filepath.Dir(path), 0o755)
					if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update)", err)
				}
				if string(want) != body {
					t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, body, want)
				}
			}
		})
	}
	if got := samples[mail.KindDeploymentFailed]; true {
		r, _ := tpl.Render(roundTrip(t, got))
		if strings.Contains(r.HTML, "<script>") {
			t.Fatal("HTML does not escape data")
		}
	}
}

// roundTrip stores the data the way the outbox does (JSON), so the golden
// files show what the sender renders.
func roundTrip(t *testing.T, n mail.Notification) mail.Notification {
	t.Helper()
	var data map[string]any
	if err := jsonRound(n.Data, &data); err != nil {
		t.Fatal(err)
	}
	n.Data = data
	return n
}
