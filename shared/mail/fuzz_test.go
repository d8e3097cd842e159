package mail_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/studio-collab/collab/shared/mail"
)

// FuzzInbound feeds the inbound parser (structure checks, enmime, reply
// extraction and field parsing) arbitrary messages, seeded with the
// testdata replies: it must never panic or hang, and whatever it extracts
// must be valid for the task's field types.
func FuzzInbound(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "replies", "*.eml"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("From: a@b.c\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\n\r\nApprove\r\n--y--\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		// A watchdog turns a hang into a recorded failure with its input.
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				panic(fmt.Sprintf("FuzzInbound: hung on %q", raw))
			}
		}()
		p, err := mail.Parse(raw)
		if err != nil {
			return
		}
		a := mail.ReadAnswer(mail.ExtractReply(p.Text), claimFields)
		if len(a.Ambiguous) > 0 && len(a.Values) > 0 && a.Values["Decision"] != nil && strings.Contains(strings.Join(a.Ambiguous, " "), "Decision ") {
			t.Fatalf("an ambiguous Decision was given a value: %+v", a)
		}
		for name, v := range a.Values {
			switch name {
			case "Decision":
				if v != "Approve" && v != "Reject" {
					t.Fatalf("Decision %v", v)
				}
			case "Amount":
				if _, ok := v.(float64); !ok {
					t.Fatalf("Amount %T", v)
				}
			case "Urgent":
				if _, ok := v.(bool); !ok {
					t.Fatalf("Urgent %T", v)
				}
			case "Comment", "Due":
				if s, ok := v.(string); !ok || (!utf8.ValidString(s) && name == "Due") {
					t.Fatalf("%s %v", name, v)
				}
			}
		}
	})
}

// BenchmarkInboundParseValidate is the cost of one inbound reply without
// storage: parse (enmime), extract the reply's own text, read and validate
// the fields; one sub-benchmark per fixture in testdata/replies. Target:
// under 5 ms per message on every fixture.
func BenchmarkInboundParseValidate(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("testdata", "replies", "*.eml"))
	if len(files) < 10 {
		b.Fatalf("%d fixtures", len(files))
	}
	for _, path := range files {
		name := filepath.Base(path)
		raw := fixture(b, name, "reply+k1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@reply.collab.test")
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for i := 0; i < b.N; i++ {
				p, err := mail.Parse(raw)
				if err != nil {
					b.Fatal(err)
				}
				a := mail.ReadAnswer(mail.ExtractReply(p.Text), claimFields)
				if (len(a.Problems) > 0 || len(a.Ambiguous) > 0) != (name == "ambiguous.eml") {
					b.Fatal(a)
				}
			}
		})
	}
}
