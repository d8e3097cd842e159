package mail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// Message is one e-mail as a Transport sends it. Every header value here is
// already safe: addresses parsed by ParseAddress, the subject cleaned by
// headerText, message ids checked by cleanMessageID.
type Message struct {
	MessageID  string   // "<...@...>"
	From       string   // "Name <addr>"
	To         []string // "Name <addr>"
	ReplyTo    string   // optional
	Subject    string
	Text       string
	HTML       string
	InReplyTo  string // optional, "<...>"
	References string // optional
	// AutoSubmitted marks answers to inbound mail (RFC 3834), so that
	// auto-responders do not answer them back.
	AutoSubmitted bool
}

// Transport delivers messages. Send must call commit after the server has
// accepted the envelope and received the whole content, and before the
// end-of-data that makes the server take responsibility for it; if commit
// fails, Send abandons the transaction (the server discards it) and returns
// that error.
type Transport interface {
	Send(ctx context.Context, m Message, commit func() error) error
}

// SendError is a Transport failure, classified.
type SendError struct {
	Code      int  // the SMTP reply code, 0 when there was none
	Permanent bool // a 5xx answer: retrying will not help
	// Unknown: the connection failed after the end-of-data was sent and
	// before the server answered; the message may have been taken.
	Unknown bool
	Err     error
}

func (e *SendError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("smtp %d: %v", e.Code, e.Err)
	}
	return e.Err.Error()
}

func (e *SendError) Unwrap() error { return e.Err }

// DefaultMaxAttempts equals host.json's extensions.queues.maxDequeueCount:
// the sender marks a notification failed on the attempt after which the host
// would poison its message (a test keeps the two equal).
const DefaultMaxAttempts = 5

// Sender delivers notifications from the outbox, once.
type Sender struct {
	Outbox    *Outbox
	Transport Transport
	Templates *Templates
	From      string // "Name <addr>", parsed
	// Lease is how long a claim (sending, committing) holds before another
	// attempt may take it over; it must exceed a whole SMTP transaction.
	Lease       time.Duration
	MaxAttempts int
	// ReplyTo gives the Reply-To of kinds that take replies (task e-mails);
	// nil or "" means none.
	ReplyTo func(ctx context.Context, n Notification) (string, error)
}

// Process handles one outbox message: ref names the notification and
// dequeueCount is the host's count for this message (1 on the first try).
// A nil error acknowledges the message; an error makes the host retry it.
func (s *Sender) Process(ctx context.Context, ref Ref, dequeueCount int64) error {
	const op = "mail.Send"
	if s.Transport == nil {
		return fault.E(op, fault.Unavailable, "no SMTP server is configured (COLLAB_SMTP_HOST)")
	}
	for round := 0; round < 5; round++ {
		rec, err := s.Outbox.Get(ctx, ref.Project, ref.ID)
		if fault.Is(err, fault.NotFound) {
			return nil // nothing to send (a message for a row that was never written)
		}
		if err != nil {
			return fault.E(op, err)
		}
		now := s.Outbox.now()
		switch rec.Status {
		case StatusSent, StatusFailed:
			return nil // recorded: never again
		case StatusCommitting:
			if now.Before(rec.LeaseUntil) {
				return s.later(ctx, ref, rec.LeaseUntil.Sub(now))
			}
			// The committer died between handing over the message and
			// recording the answer: it is counted as sent (docs/mail.md).
			rec.Status, rec.SentAt, rec.Unconfirmed = StatusSent, now, true
			rec.LastError = "the sender stopped after the end of data; counted as sent, not repeated"
			if err := s.save(ctx, &rec); fault.Is(err, fault.PreconditionFailed) {
				continue
			} else if err != nil {
				return fault.E(op, err)
			}
			return nil
		case StatusSending:
			if now.Before(rec.LeaseUntil) {
				return s.later(ctx, ref, rec.LeaseUntil.Sub(now))
			}
			// The claimant died before the end of data: nothing was taken. Take over.
		}
		err = s.attempt(ctx, rec, dequeueCount)
		if fault.Is(err, fault.PreconditionFailed) {
			continue // another attempt moved the row: look again
		}
		return err
	}
	return fault.E(op, fault.Conflict, "the notification keeps changing under this sender")
}

// later acknowledges this message and queues another one for when the
// current claim expires, so a live claimant is not raced and a dead one is
// taken over, without spending the message's dequeue count on waiting.
func (s *Sender) later(ctx context.Context, ref Ref, d time.Duration) error {
	if err := s.Outbox.send(ctx, ref, d+time.Second); err != nil {
		return fault.E("mail.Send", err)
	}
	return nil
}

func (s *Sender) save(ctx context.Context, rec *Record) error {
	rec.UpdatedAt = s.Outbox.now()
	e, err := recordEntity(*rec)
	if err != nil {
		return err
	}
	etag, err := s.Outbox.Table.Update(ctx, e, rec.ETag)
	if err != nil {
		return err
	}
	rec.ETag = etag
	return nil
}

func (s *Sender) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return DefaultMaxAttempts
}

func (s *Sender) lease() time.Duration {
	if s.Lease > 0 {
		return s.Lease
	}
	return 2 * time.Minute
}

// attempt claims rec and sends it once.
func (s *Sender) attempt(ctx context.Context, rec Record, dequeueCount int64) error {
	const op = "mail.Send"
	now := s.Outbox.now()
	rec.Status, rec.Attempts, rec.LeaseUntil = StatusSending, rec.Attempts+1, now.Add(s.lease())
	rec.MessageID = messageID(rec.Project, rec.ID, domainOf(AddrSpec(s.From)))
	if err := s.save(ctx, &rec); err != nil {
		return err // PreconditionFailed: someone else claimed it
	}
	msg, err := s.compose(ctx, rec)
	if err != nil {
		// A notification that cannot be rendered never will be.
		return s.finish(ctx, rec, StatusFailed, "cannot compose: "+err.Error())
	}
	committed := false
	var commitErr error
	err = s.Transport.Send(ctx, msg, func() error {
		rec.Status = StatusCommitting
		if commitErr = s.save(ctx, &rec); commitErr != nil {
			return fmt.Errorf("recording the commit point: %w", commitErr)
		}
		committed = true
		return nil
	})
	if err == nil {
		rec.Status, rec.SentAt, rec.LastError, rec.LeaseUntil = StatusSent, s.Outbox.now(), "", time.Time{}
		if err := s.save(ctx, &rec); err != nil {
			// The server has it; a retry finds "committing" and, once the
			// lease is over, records it as sent without sending again.
			return fault.E(op, fault.Unavailable, "sent, but recording it failed", err)
		}
		return nil
	}
	var se *SendError
	isSE := errors.As(err, &se)
	switch {
	case committed && isSE && se.Unknown:
		rec.Unconfirmed = true
		rec.Status, rec.SentAt, rec.LeaseUntil = StatusSent, s.Outbox.now(), time.Time{}
		rec.LastError = "no answer after the end of data; counted as sent, not repeated: " + err.Error()
		if err := s.save(ctx, &rec); err != nil {
			return fault.E(op, fault.Unavailable, "recording an unconfirmed send failed", err)
		}
		return nil
	case commitErr != nil && fault.Is(commitErr, fault.PreconditionFailed):
		// Lost the claim before the end of data: the other claimant sends.
		return nil
	case commitErr != nil:
		// Abandoned before the end of data: nothing was taken. The row stays
		// claimed until the lease ends; the retry takes it over then.
		return fault.E(op, fault.Unavailable, "could not record the commit point; nothing was sent", commitErr)
	case isSE && se.Permanent:
		return s.finish(ctx, rec, StatusFailed, err.Error())
	case rec.Attempts >= s.maxAttempts() || dequeueCount >= int64(s.maxAttempts()):
		return s.finish(ctx, rec, StatusFailed, fmt.Sprintf("after %d attempts: %v", rec.Attempts, err))
	}
	if ferr := s.finish(ctx, rec, StatusQueued, err.Error()); ferr != nil {
		return ferr
	}
	return fault.E(op, fault.Unavailable, "sending failed; the host retries", err)
}

// finish records a final or retryable state.
func (s *Sender) finish(ctx context.Context, rec Record, status, why string) error {
	rec.Status, rec.LastError, rec.LeaseUntil = status, why, time.Time{}
	if err := s.save(ctx, &rec); err != nil {
		if fault.Is(err, fault.PreconditionFailed) {
			return nil // taken over meanwhile; the other attempt records its own outcome
		}
		return fault.E("mail.Send", err)
	}
	return nil
}

// compose renders rec into a Message.
func (s *Sender) compose(ctx context.Context, rec Record) (Message, error) {
	r, err := s.Templates.Render(rec.Notification)
	if err != nil {
		return Message{}, err
	}
	m := Message{MessageID: rec.MessageID, From: s.From, To: rec.To, Subject: r.Subject, Text: r.Text, HTML: r.HTML}
	if s.ReplyTo != nil {
		if m.ReplyTo, err = s.ReplyTo(ctx, rec.Notification); err != nil {
			return Message{}, err
		}
	}
	if irt, _ := rec.Data["inReplyTo"].(string); irt != "" {
		if id := cleanMessageID(irt); id != "" {
			m.InReplyTo, m.References = id, id
		}
	}
	m.AutoSubmitted = rec.Kind == KindTaskConfirmation || rec.Kind == KindTaskReplyError
	return m, nil
}
