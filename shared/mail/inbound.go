package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/secevent"
	"github.com/studio-collab/collab/shared/store"
)

// MaxInbound is the largest inbound message accepted (the webhook answers
// 413 past it; the IMAP poller skips such messages).
const MaxInbound = 10 << 20

// Structure limits: a message with more multipart boundaries or part
// delimiters than this is refused before parsing (a MIME bomb nests
// multiparts thousands deep; real replies have a handful).
const (
	maxBoundaries = 64
	maxDelimiters = 4096
)

// Outcomes of an inbound message (stable: they are in the audit log, the
// task's attempts and the webhook's answer).
const (
	OutcomeCompleted    = "completed"     // the task is done; confirmation queued
	OutcomeInvalid      = "invalid"       // fields missing or wrong; one reply to the assignee
	OutcomeAmbiguous    = "ambiguous"     // two different answers to one field; nothing completed; one reply to the assignee
	OutcomeExpired      = "token-expired" // one reply to the assignee
	OutcomeTaskClosed   = "task-closed"   // already completed; one reply to the assignee
	OutcomeReplay       = "replay"        // this Message-ID was seen for this task: nothing sent
	OutcomeAutoReply    = "auto-reply"    // an auto-responder: nothing sent
	OutcomeWrongSender  = "wrong-sender"  // From is not the assignee: nothing sent
	OutcomeAuthFailed   = "auth-failed"   // DKIM/SPF verdict required and not passed: nothing sent
	OutcomeTokenInvalid = "token-invalid" // forged, altered, or for no known task: nothing sent
	OutcomeNoToken      = "no-token"      // not a reply to a task: nothing sent
	OutcomeMalformed    = "malformed"     // not a parseable message, or a MIME bomb: nothing sent
)

// InboundScope is the audit scope of messages that name no verified task.
const InboundScope = "inbound-email"

// InboundMessage is a received message and what its carrier says about it.
type InboundMessage struct {
	Raw        []byte
	Recipients []string // envelope recipients, when the provider gives them
	// Provider verdicts (form fields of the webhook), empty when unknown:
	// DKIM like SendGrid's "{@example.com : pass}", SPF like "pass";
	// EnvelopeFrom is the SMTP MAIL FROM, for SPF alignment.
	DKIM, SPF, EnvelopeFrom string
	Source                  string // "webhook", "imap"
	// AuthservID, when set, is the authserv-id of the receiving mail
	// server whose Authentication-Results field (the first with that id)
	// stands in for the verdicts above when they are empty: the mailbox
	// path (COLLAB_IMAP_AUTHSERV_ID). Fields with any other id are ignored.
	AuthservID string
}

// Outcome is what became of an inbound message.
type Outcome struct {
	Outcome  string   `json:"outcome"`
	Project  string   `json:"project,omitempty"`
	Env      string   `json:"env,omitempty"`
	TaskID   string   `json:"taskId,omitempty"`
	Problems []string `json:"problems,omitempty"`
	Replied  bool     `json:"replied"` // an answer to the assignee was queued
}

// Audit is where attempts are recorded; *audit.Log has it.
type Audit interface {
	Record(ctx context.Context, scope string, e audit.Entry, before, after any) error
}

// Inbound processes replies to task e-mails.
type Inbound struct {
	Tasks     *Tasks
	Callbacks store.Queue // emailcallbacks
	Audit     Audit
	// RequireAuth refuses replies whose provider verdict is not a pass
	// (DKIM aligned with From, or SPF aligned with From).
	RequireAuth bool
	// Lease is how long an attempt being processed blocks a concurrent
	// delivery of the same message (default 2 minutes); after it, a retry
	// takes the attempt over and finishes it.
	Lease time.Duration
	Now   func() time.Time
	// Events records the refused replies (DESIGN §4.10): a bad token (the
	// operator's log: a forged token names no tenant), an unverified
	// sender, a failed DKIM/SPF verdict, a replay (the task's project).
	Events secevent.Recorder
}

// refused records a security event for a refused reply: who sent it and
// which task it aimed at, never its content.
func (in *Inbound) refused(ctx context.Context, reason string, p Parsed, task *Task) {
	e := secevent.Event{Kind: secevent.InboundRefused, Reason: reason, Principal: p.From, PrincipalName: p.FromHeader}
	if e.Principal == "" {
		e.Principal = p.FromHeader
	}
	if task != nil {
		e.Project, e.Target = task.Project, "email-tasks/"+task.Env+"/"+task.ID
	}
	secevent.Emit(ctx, in.Events, e)
}

func (in *Inbound) now() time.Time {
	if in.Now == nil {
		return time.Now().UTC()
	}
	return in.Now().UTC()
}

// Parsed is a message as the inbound checks read it.
type Parsed struct {
	MessageID  string   // cleaned, or "<sha256-of-body@inbound>" when absent
	From       string   // the bare address, lower case; "" unless exactly one
	FromHeader string   // the From header for the record, cleaned
	Recipients []string // bare addresses from To, Cc, Delivered-To, X-Original-To
	Text       string   // the text body (HTML converted when there is no text part)
	Auto       bool     // an auto-responder's message (RFC 3834 and common markers)
	// AuthResults are the Authentication-Results fields, topmost first.
	AuthResults []string
}

// Parse checks a raw message's structure and parses it with enmime. Every
// failure is a fault.Invalid; it never panics (FuzzInbound checks).
func Parse(raw []byte) (p Parsed, err error) {
	const op = "mail.Parse"
	if len(raw) > MaxInbound {
		return Parsed{}, fault.E(op, fault.TooLarge, "the message is over 10 MiB")
	}
	if n := countFold(raw, []byte("boundary")); n > maxBoundaries {
		return Parsed{}, fault.E(op, fault.Invalid, fmt.Sprintf("the message declares %d multipart boundaries; at most %d", n, maxBoundaries))
	}
	if n := bytes.Count(raw, []byte("\n--")); n > maxDelimiters {
		return Parsed{}, fault.E(op, fault.Invalid, fmt.Sprintf("the message has %d part delimiters; at most %d", n, maxDelimiters))
	}
	defer func() {
		if r := recover(); r != nil {
			p, err = Parsed{}, fault.E(op, fault.Invalid, fmt.Sprintf("the message could not be parsed: %v", r))
		}
	}()
	env, err := enmime.ReadEnvelope(bytes.NewReader(raw))
	if err != nil {
		return Parsed{}, fault.E(op, fault.Invalid, "the message could not be parsed", err)
	}
	if len(env.Root.Header) == 0 {
		return Parsed{}, fault.E(op, fault.Invalid, "the message has no header")
	}
	p.MessageID = cleanMessageID(env.Root.Header.Get("Message-Id"))
	if p.MessageID == "" {
		sum := sha256.Sum256(raw)
		p.MessageID = "<" + hex.EncodeToString(sum[:16]) + "@inbound.invalid>"
	}
	p.FromHeader = headerText(env.GetHeader("From"), 300)
	if from, err := env.AddressList("From"); err == nil && len(from) == 1 && !hasControl(from[0].Address) {
		p.From = strings.ToLower(from[0].Address)
	}
	for _, h := range []string{"To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"} {
		list, _ := env.AddressList(h)
		for _, a := range list {
			p.Recipients = append(p.Recipients, strings.ToLower(a.Address))
		}
		if h == "Delivered-To" || h == "X-Original-To" || h == "Envelope-To" {
			for _, v := range env.Root.Header.Values(h) {
				if a, err := mail.ParseAddress(v); err == nil {
					p.Recipients = append(p.Recipients, strings.ToLower(a.Address))
				}
			}
		}
	}
	p.Text = env.Text
	p.AuthResults = env.Root.Header.Values("Authentication-Results")
	p.Auto = isAuto(env)
	return p, nil
}

func countFold(b, sub []byte) int {
	return bytes.Count(bytes.ToLower(b), sub)
}

// isAuto recognizes auto-responders, which must never be answered.
func isAuto(env *enmime.Envelope) bool {
	h := env.Root.Header
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return true
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "junk", "list", "auto_reply":
		return true
	}
	return h.Get("X-Autoreply") != "" || h.Get("X-Autorespond") != "" || strings.EqualFold(h.Get("X-Auto-Response-Suppress"), "All")
}

// findToken returns the first recipient that is a reply token.
func findToken(recipients []string) (Token, bool) {
	for _, r := range recipients {
		at := strings.LastIndexByte(r, '@')
		if at <= 0 {
			continue
		}
		if tok, err := ParseToken(r[:at]); err == nil {
			return tok, true
		}
	}
	return Token{}, false
}

// ErrWrongSecret is the cause of a webhook post refused for its shared
// secret (missing or wrong): the security events count it.
var ErrWrongSecret = errors.New("the inbound webhook secret is missing or wrong")

// Receive runs every check on one inbound message and acts on the result.
// An error means the message could not be processed for a reason a retry
// may fix (storage); every refusal is an Outcome, audited.
func (in *Inbound) Receive(ctx context.Context, m InboundMessage) (Outcome, error) {
	p, err := Parse(m.Raw)
	if err != nil {
		out := Outcome{Outcome: OutcomeMalformed, Problems: []string{fault.DetailOf(err)}}
		return out, in.audit(ctx, InboundScope, "", p, m, out)
	}
	tok, ok := findToken(append(append([]string(nil), m.Recipients...), p.Recipients...))
	if !ok {
		out := Outcome{Outcome: OutcomeNoToken}
		return out, in.audit(ctx, InboundScope, "", p, m, out)
	}
	task, err := in.Tasks.load(ctx, tok.Handle)
	if err != nil && !fault.Is(err, fault.NotFound) {
		return Outcome{}, fault.E("mail.Receive", err)
	}
	if err != nil || in.Tasks.Keys == nil || !in.Tasks.Keys.Verify(tok, task) {
		out := Outcome{Outcome: OutcomeTokenInvalid}
		in.refused(ctx, "bad-token", p, nil)
		return out, in.audit(ctx, InboundScope, "", p, m, out)
	}
	// The token is genuine: the task is known, attempts go on its record.
	out := Outcome{Project: task.Project, Env: task.Env, TaskID: task.ID}
	if p.From == "" || p.From != task.Assignee {
		out.Outcome = OutcomeWrongSender
		in.refused(ctx, "unverified-sender", p, &task)
		return out, in.unverified(ctx, task, p, m, out)
	}
	if m.AuthservID != "" && m.DKIM == "" && m.SPF == "" {
		m.DKIM, m.SPF, m.EnvelopeFrom, _ = verdictsFrom(p.AuthResults, m.AuthservID)
	}
	if in.RequireAuth && !verdictPasses(m, p.From) {
		out.Outcome = OutcomeAuthFailed
		in.refused(ctx, "auth-failed", p, &task)
		return out, in.unverified(ctx, task, p, m, out)
	}
	return in.verified(ctx, task, tok, p, m, out)
}

// unverified records an attempt whose sender is not verified: nothing is
// sent, and the attempt does not claim its Message-ID (an impostor must not
// be able to block the assignee's real reply).
func (in *Inbound) unverified(ctx context.Context, task Task, p Parsed, m InboundMessage, out Outcome) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	a := Attempt{Key: "x-" + hex.EncodeToString(rnd[:]), At: in.now(), MessageID: p.MessageID, From: p.FromHeader, Outcome: out.Outcome, Done: true}
	if _, err := in.Tasks.Table.Insert(ctx, attemptEntity(task.Ref, a)); err != nil {
		return fault.E("mail.Receive", err)
	}
	return in.audit(ctx, auditScope(task), task.Env+"/"+task.ID, p, m, out)
}

func auditScope(t Task) string { return audit.ProjectScope(t.Project) }

func attemptKey(messageID string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(messageID)))
	return "a-" + hex.EncodeToString(sum[:16])
}

func attemptEntity(ref string, a Attempt) store.Entity {
	props := map[string]any{}
	_ = attemptDoc.Set(props, a) // TooLarge: the write is refused
	return store.Entity{PartitionKey: ref, RowKey: a.Key, Props: props}
}

func (in *Inbound) lease() time.Duration {
	if in.Lease > 0 {
		return in.Lease
	}
	return 2 * time.Minute
}

// claim records the attempt of a verified sender, keyed by Message-ID:
// a second delivery of a finished message is a replay; one of a message
// being processed waits; one whose processing died takes it over.
func (in *Inbound) claim(ctx context.Context, task Task, p Parsed) (Attempt, bool, error) {
	a := Attempt{Key: attemptKey(p.MessageID), At: in.now(), MessageID: p.MessageID, From: p.FromHeader, Outcome: "processing"}
	etag, err := in.Tasks.Table.Insert(ctx, attemptEntity(task.Ref, a))
	if err == nil {
		a.ETag = etag
		return a, true, nil
	}
	if !fault.Is(err, fault.Conflict) {
		return a, false, err
	}
	e, err := in.Tasks.Table.Get(ctx, task.Ref, a.Key)
	if err != nil {
		return a, false, err
	}
	cur, err := attemptDoc.Get(e)
	if err != nil {
		return a, false, fault.E("mail.claim", err)
	}
	if cur.Done {
		return cur, false, nil // a replay
	}
	if in.now().Before(cur.At.Add(in.lease())) {
		return a, false, fault.E("mail.claim", fault.Unavailable, "this message is being processed; retry later")
	}
	cur.At = in.now()
	etag, err = in.Tasks.Table.Update(ctx, attemptEntity(task.Ref, cur), e.ETag)
	if err != nil {
		if fault.Is(err, fault.PreconditionFailed) {
			return a, false, fault.E("mail.claim", fault.Unavailable, "this message is being processed; retry later")
		}
		return a, false, err
	}
	cur.ETag = etag
	return cur, true, nil
}

// verified handles a reply from the verified assignee.
func (in *Inbound) verified(ctx context.Context, task Task, tok Token, p Parsed, m InboundMessage, out Outcome) (Outcome, error) {
	const op = "mail.Receive"
	att, mine, err := in.claim(ctx, task, p)
	if err != nil {
		return Outcome{}, fault.E(op, err)
	}
	if !mine {
		out.Outcome = OutcomeReplay
		in.refused(ctx, "replay", p, &task)
		return out, in.audit(ctx, auditScope(task), task.Env+"/"+task.ID, p, m, out)
	}
	for round := 0; ; round++ {
		if round > 5 {
			return Outcome{}, fault.E(op, fault.Conflict, "the task keeps changing")
		}
		switch {
		case p.Auto:
			out.Outcome = OutcomeAutoReply
		case task.Status == TaskCompleted && task.CompletedBy == p.MessageID:
			out.Outcome = OutcomeCompleted // this very reply completed it; finish what follows
		case task.Status == TaskCompleted:
			out.Outcome = OutcomeTaskClosed
			out.Problems = []string{fmt.Sprintf("this task was already completed on %s; nothing was changed", when(task.CompletedAt))}
		case !in.now().Before(tok.Expires):
			out.Outcome = OutcomeExpired
			out.Problems = []string{fmt.Sprintf("this task expired on %s and can no longer be completed by e-mail", when(tok.Expires))}
		default:
			ans := ReadAnswer(ExtractReply(p.Text), task.Fields)
			if len(ans.Ambiguous) > 0 {
				out.Outcome, out.Problems = OutcomeAmbiguous, ans.Ambiguous
				break
			}
			if len(ans.Problems) > 0 {
				out.Outcome, out.Problems = OutcomeInvalid, ans.Problems
				break
			}
			done := task
			done.Status, done.Values, done.CompletedAt, done.CompletedBy = TaskCompleted, ans.Values, in.now(), p.MessageID
			done.Callback = &CallbackState{Status: CallbackPending}
			// The completed task and its confirmation are sized before the
			// first write: answers too long to store are a problem to fix
			// in another reply, not a task left open for every retry.
			row, err := taskEntity(done)
			if err == nil {
				_, err = recordEntity(Record{Notification: confirmation(done, p)})
			}
			if err != nil {
				out.Outcome, out.Problems = OutcomeInvalid, []string{"your answers are too long to store; shorten them and reply again"}
				break
			}
			task = done
			etag, err := in.Tasks.Table.Update(ctx, row, task.ETag)
			if fault.Is(err, fault.PreconditionFailed) {
				if task, err = in.Tasks.load(ctx, task.Ref); err != nil {
					return Outcome{}, fault.E(op, err)
				}
				continue
			}
			if err != nil {
				return Outcome{}, fault.E(op, err)
			}
			task.ETag = etag
			out.Outcome = OutcomeCompleted
		}
		break
	}
	switch out.Outcome {
	case OutcomeCompleted:
		if err := in.afterCompletion(ctx, task, p); err != nil {
			return Outcome{}, fault.E(op, err)
		}
		out.Replied = true
	case OutcomeInvalid, OutcomeAmbiguous, OutcomeTaskClosed, OutcomeExpired:
		n := Notification{ID: "task-reply-error:" + task.Env + ":" + task.ID + ":" + att.Key, Project: task.Project, Kind: KindTaskReplyError,
			To: []string{task.Assignee}, Data: map[string]any{"taskRef": task.Ref, "taskId": task.ID, "subject": task.Subject,
				"problems": out.Problems, "inReplyTo": p.MessageID}}
		if out.Outcome == OutcomeInvalid || out.Outcome == OutcomeAmbiguous {
			n.Data["fields"] = fieldData(task.Fields)
		}
		if err := in.Tasks.Outbox.Enqueue(ctx, n); err != nil {
			return Outcome{}, fault.E(op, err)
		}
		out.Replied = true
	}
	att.Outcome, att.Problems, att.Done = out.Outcome, out.Problems, true
	if _, err := in.Tasks.Table.Update(ctx, attemptEntity(task.Ref, att), att.ETag); err != nil {
		return Outcome{}, fault.E(op, err)
	}
	return out, in.audit(ctx, auditScope(task), task.Env+"/"+task.ID, p, m, out)
}

// afterCompletion queues the callback and the confirmation; both are
// idempotent, so a retry after a crash here repeats them harmlessly.
func (in *Inbound) afterCompletion(ctx context.Context, task Task, p Parsed) error {
	b, _ := json.Marshal(CallbackRef{Ref: task.Ref})
	if _, err := in.Callbacks.Send(ctx, string(b), 0, 0); err != nil {
		return err
	}
	return in.Tasks.Outbox.Enqueue(ctx, confirmation(task, p))
}

// confirmation is the e-mail that confirms a completed task.
func confirmation(task Task, p Parsed) Notification {
	return Notification{ID: "task-confirmation:" + task.Env + ":" + task.ID, Project: task.Project,
		Kind: KindTaskConfirmation, To: []string{task.Assignee},
		Data: map[string]any{"taskId": task.ID, "subject": task.Subject, "values": task.Values, "inReplyTo": p.MessageID}}
}

// audit records one attempt.
func (in *Inbound) audit(ctx context.Context, scope, target string, p Parsed, m InboundMessage, out Outcome) error {
	if in.Audit == nil {
		return nil
	}
	if target != "" {
		target = "email-tasks/" + target
	}
	after := map[string]any{"outcome": out.Outcome, "messageId": p.MessageID, "from": p.FromHeader, "source": m.Source}
	if len(out.Problems) > 0 {
		after["problems"] = out.Problems
	}
	who := p.From
	if who == "" {
		who = p.FromHeader
	}
	return in.Audit.Record(ctx, scope, audit.Entry{Actor: "inbound-email", ActorName: who, Action: "email.reply", Target: target}, nil, after)
}

// verdictPasses reads the provider's verdicts: DKIM passed for a domain
// aligned with From's, or SPF passed for an envelope sender aligned with it.
func verdictPasses(m InboundMessage, from string) bool {
	fromDomain := domainOf(from)
	aligned := func(d string) bool {
		d = strings.ToLower(strings.Trim(strings.TrimSpace(d), "@{}"))
		return d != "" && (d == fromDomain || strings.HasSuffix(fromDomain, "."+d))
	}
	dkim := strings.ToLower(m.DKIM)
	if strings.TrimSpace(dkim) == "pass" {
		return true // the provider checked alignment itself
	}
	for _, part := range strings.FieldsFunc(dkim, func(r rune) bool { return r == ',' || r == '{' || r == '}' }) {
		d, res, ok := strings.Cut(part, ":")
		if ok && strings.TrimSpace(res) == "pass" && aligned(d) {
			return true
		}
	}
	if strings.EqualFold(strings.TrimSpace(m.SPF), "pass") && m.EnvelopeFrom != "" {
		return aligned(domainOf(AddrSpec(m.EnvelopeFrom)))
	}
	return false
}
