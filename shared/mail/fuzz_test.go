package mail_test

import (
	"fmt"
	"os"
	"path/filepath"
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
		text := mail.ReplyText(p.Text)
		values, _ := mail.ParseReply(text, claimFields)
		for name, v := range values {
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
// storage: parse (enmime), strip the quoted history, parse and validate the
// fields. Target: under 5 ms per message.
func BenchmarkInboundParseValidate(b *testing.B) {
	for _, name := range []string{"outlook.eml", "gmail.eml", "shift_jis.eml"} {
		raw := fixture(b, name, "reply+k1.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@reply.collab.test")
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for i := 0; i < b.N; i++ {
				p, err := mail.Parse(raw)
				if err != nil {
					b.Fatal(err)
				}
				if _, problems := mail.ParseReply(mail.ReplyText(p.Text), claimFields); len(problems) > 0 {
					b.Fatal(problems)
				}
			}
		})
	}
}
