package mail_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/mail"
)

// TestLargestTaskIsSentAndAnswered: a task at the spec's maxima (30
// fields, 14 of them choices of 20 options of 64 characters, 10,000
// characters of instructions that JSON escapes six-fold) is stored and its
// e-mail sent; a reply answering 30 text fields with 1,500 characters each
// completes its task and is confirmed. Before the fix the task was stored
// and its e-mail refused on every retry (over a 30,000-byte cap), and the
// answers could not be stored (the task stayed open).
func TestLargestTaskIsSentAndAnswered(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	var fields []mail.Field
	for i := range 14 {
		f := mail.Field{Name: fmt.Sprintf("Choice %02d", i), Type: mail.FieldChoice}
		for j := range 20 {
			f.Choices = append(f.Choices, fmt.Sprintf("%02d%s", j, strings.Repeat("<", 62)))
		}
		fields = append(fields, f)
	}
	for i := range 16 {
		fields = append(fields, mail.Field{Name: fmt.Sprintf("Text %02d", i), Type: mail.FieldText})
	}
	spec := mail.TaskSpec{TaskID: "big-spec", Assignee: "bob@example.com", Subject: "Approve the large claim",
		Instructions: strings.Repeat("<", 10000), Fields: fields, ExpiresAt: r.clock.now().Add(72 * time.Hour), CallbackURL: "http://127.0.0.1:1/cb"}
	if _, _, err := r.tasks.Register(ctx, "claims", "test", spec, "test"); err != nil {
		t.Fatalf("the largest spec: %v", err)
	}
	if sent := r.sentSince(0); len(sent) != 1 || !strings.Contains(sent[0], "Approve the large claim") {
		t.Fatalf("sent %v", sent)
	}

	texts := make([]mail.Field, 30)
	var body strings.Builder
	for i := range texts {
		texts[i] = mail.Field{Name: fmt.Sprintf("Answer %02d", i), Type: mail.FieldText, Required: true}
		fmt.Fprintf(&body, "Answer %02d: %s\r\n", i, strings.Repeat(string(rune('a'+i%26)), 1500))
	}
	spec = mail.TaskSpec{TaskID: "big-answers", Assignee: "bob@example.com", Subject: "Tell us everything",
		Fields: texts, ExpiresAt: r.clock.now().Add(72 * time.Hour), CallbackURL: "http://127.0.0.1:1/cb"}
	task, _, err := r.tasks.Register(ctx, "claims", "test", spec, "test")
	if err != nil {
		t.Fatal(err)
	}
	addr, err := r.tasks.ReplyTo(ctx, mail.Notification{Kind: mail.KindTaskEmail, Data: map[string]any{"taskRef": task.Ref}})
	if err != nil {
		t.Fatal(err)
	}
	before := len(r.sentSince(0))
	if out := r.receive(replyFrom("bob@example.com", mail.AddrSpec(addr), "<long@example.com>", body.String())); out.Outcome != mail.OutcomeCompleted {
		t.Fatalf("30 answers of 1,500 characters: %+v", out)
	}
	got, _ := r.task("big-answers")
	if got.Status != mail.TaskCompleted || len(got.Values) != 30 || len(fmt.Sprint(got.Values["Answer 29"])) != 1500 {
		t.Fatalf("task %s with %d values", got.Status, len(got.Values))
	}
	if sent := r.sentSince(before); len(sent) != 1 || !strings.Contains(sent[0], "Done:") {
		t.Fatalf("confirmation: %v", sent)
	}
}
