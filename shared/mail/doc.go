// Package mail is the service's e-mail, out and in (DESIGN §4.7).
//
// Out: every notification is a row of the notifications table plus a
// message on the Storage queue "outbox" (Outbox.Enqueue); the OutboxSend
// function hands each message to a Sender, which renders the kind's text and
// HTML templates and delivers through a Transport (SMTP, shared/mail/smtpclient).
//
// In: the Work Portal registers e-mail tasks (Tasks.Register); the task
// e-mail's Reply-To carries a signed token; replies arrive through the
// inbound webhook or an IMAP mailbox and go through Inbound.Receive, which
// verifies, parses, validates and completes the task.
//
// Invariants:
//   - a notification is identified by its caller-chosen ID within its
//     project; Enqueue is insert-if-absent, so a duplicate is a no-op;
//   - a notification whose send was recorded is never sent again: the
//     sender claims it with the row's ETag (queued -> sending), records the
//     point of no return just before the SMTP end-of-data (committing), and
//     a retry never starts a second SMTP transaction for a committing or
//     sent row (docs/mail.md explains the one window where a crash leaves
//     the outcome unknown, and why that window is resolved as sent);
//   - the Message-ID of a notification is a function of its project and ID,
//     so every attempt carries the same one;
//   - no header carries CR, LF or another control character that came from
//     data: addresses go through net/mail, display names are encoded by the
//     writer, subjects are cleaned (headerText);
//   - a reply completes a task only when its token verifies and has not
//     expired, its From is the assignee, the provider's verdict passed (when
//     required), its Message-ID is new for the task, the task is open and the
//     fields validate; a sender that is not verified never gets a message;
//   - the fields are read only from the reply's own text (ExtractReply: not
//     quoted history, attributions or signatures, wherever the person wrote
//     above, below or between the quoted lines), and a field answered two
//     different ways is ambiguous: it completes nothing (ReadAnswer);
//   - an Authentication-Results field is trusted only from the configured
//     authserv-id, and only the first such field (InboundMessage.AuthservID);
//   - a task completes once: the completion is a conditional write of the
//     task row, and every step after it (callback, confirmation) is
//     idempotent and resumed by a retry of the same message.
package mail
