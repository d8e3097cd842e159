package mail_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/mail"
)

// Sources of the reply cases. Cases marked with a public test suite restate
// that suite's situation (the layout of the message: where the reply, the
// attribution, the quote and the signature sit) in our own words, with our
// task e-mail as the quoted history where that matters; the expected text is
// what this service must read as the person's own words.
const (
	talon    = "mailgun/talon tests/text_quotations_test.py:"
	talonStd = "mailgun/talon tests/fixtures/standard_replies/"
	trimmer  = "discourse/email_reply_trimmer test/emails/"
	erp      = "github/email_reply_parser test/emails/"
	issue18  = "issue 18 (as reported)"
	client   = "client layout: " // a client's reply layout, as the .eml fixtures in testdata/replies show it
	ours     = "this service's rule: "
)

// task is the quoted task e-mail, as clients quote it with "> ".
const task = `> Please approve the claim 4711.
> It is for a car repair.
>
> Reply to this e-mail to complete the task, one line per field:
>
>   Decision: Approve, Reject (required)
>   Amount: a number
>   Due: a date, YYYY-MM-DD
>   Urgent: yes or no
>
> Or write just Approve or Reject on the first line.`

// taskNoSpace is the same quote with ">" and no space (some clients, and
// quotes of quotes).
var taskNoSpace = strings.ReplaceAll(strings.ReplaceAll(task, "> ", ">"), ">  ", ">")

// taskPlain is the task e-mail as Outlook leaves it below its header block:
// not quoted at all.
const taskPlain = `Please approve the claim 4711.
It is for a car repair.

Decision: Approve, Reject (required)
Amount: a number`

type replyCase struct {
	src  string // where the case comes from
	name string
	body string
	want string // the reply's own text
	// Optional: what the answer to claimFields must be.
	values    map[string]any
	ambiguous bool
}

func replyCases() []replyCase {
	on := "On Sun, 6 Dec 2026 at 13:00, Studio Collaboration <noreply@collab.localhost> wrote:"
	appr := map[string]any{"Decision": "Approve"}
	rej := map[string]any{"Decision": "Reject"}
	return []replyCase{
		// --- issue 18 and the basic layouts
		{src: issue18, name: "bottom-posted Approve", body: on + "\n> Please approve the claim 99.\n> Decision: Approve, Reject (required)\n\nApprove\n", want: "Approve", values: appr},
		{src: issue18, name: "sentence starting like a phone signature is kept", body: "Sent from my desk, I approve this: Approve\n\n" + on + "\n" + task, want: "Sent from my desk, I approve this: Approve"},
		{src: issue18, name: "-Name signature is dropped", body: "Approve\n\nThanks,\n-Bob\n\n" + on + "\n" + task, want: "Approve\n\nThanks,", values: appr},
		{src: issue18, name: "inline answers between quoted blocks", body: on + "\n> Please approve the claim 4711.\n> Decision: Approve, Reject (required)\nReject\n> Amount: a number\n120\n> Comment: your text\nNo receipt attached\n", want: "Reject\n120\nNo receipt attached", values: map[string]any{"Decision": "Reject", "Amount": 120.0, "Comment": "No receipt attached"}},
		{src: ours + "top-posting", name: "top-posted Approve", body: "Approve\n\n" + on + "\n" + task, want: "Approve", values: appr},
		{src: ours + "top-posting", name: "top-posted fields", body: "Decision: Reject\nAmount: 1,250.50\nComment: no receipt\n\n" + on + "\n" + task, want: "Decision: Reject\nAmount: 1,250.50\nComment: no receipt", values: map[string]any{"Decision": "Reject", "Amount": 1250.5, "Comment": "no receipt"}},
		{src: ours + "bottom-posting", name: "bottom-posted fields", body: on + "\n" + task + "\n\nDecision: Approve\nDue: 2026-12-31\n", want: "Decision: Approve\nDue: 2026-12-31", values: map[string]any{"Decision": "Approve", "Due": "2026-12-31"}},
		{src: ours + "bottom-posting", name: "bottom-posted without attribution", body: task + "\n\nReject.\n", want: "Reject.", values: rej},
		{src: ours + "bottom-posting", name: "quote without space after >", body: on + "\n" + taskNoSpace + "\nApprove\n", want: "Approve", values: appr},
		{src: ours + "bottom-posting", name: "nested quotes >> and > >", body: "On Mon, 7 Dec 2026, Alice <a@x.test> wrote:\n> Fine by me\n>\n>> Decision: Approve, Reject\n> > Amount: a number\n\nApprove\n", want: "Approve", values: appr},
		{src: ours + "inline", name: "inline answer to Decision only", body: "> Decision: Approve, Reject (required)\nApprove\n> Amount: a number\n", want: "Approve", values: appr},
		{src: ours + "inline", name: "inline number under quoted Amount", body: "> Decision: Approve, Reject (required)\nApprove\n\n> Amount: a number\n\n99.5\n", want: "Approve\n\n99.5", values: map[string]any{"Decision": "Approve", "Amount": 99.5}},
		{src: ours + "inline", name: "inline answer not valid for the quoted field is not taken for it", body: task + "\nApprove\n", want: "Approve", values: appr},
		{src: ours + "inline", name: "inline yes under quoted Urgent", body: "> Decision: Approve, Reject\nReject\n> Urgent: yes or no\nyes\n", want: "Reject\nyes", values: map[string]any{"Decision": "Reject", "Urgent": true}},
		{src: ours + "inline", name: "inline date under quoted Due", body: "> Due: a date, YYYY-MM-DD\n31 December 2026\n> Decision: Approve, Reject\nApprove\n", want: "31 December 2026\nApprove", values: map[string]any{"Decision": "Approve", "Due": "2026-12-31"}},
		{src: ours + "inline", name: "top text and inline answer", body: "See below.\n\n" + on + "\n> Decision: Approve, Reject\n\nApprove\n\n> Amount: a number\n", want: "See below.\n\nApprove", values: appr},
		{src: ours + "inline", name: "answer only as second line of its block is not taken for the field", body: "> Comment: your text\nfirst line\nsecond line\n> Decision: Approve, Reject\nApprove\n", want: "first line\nsecond line\nApprove", values: map[string]any{"Decision": "Approve", "Comment": "first line"}},

		// --- ambiguity: never guess
		{src: ours + "ambiguity", name: "Approve and Reject", body: "Approve\nReject\n\n" + on + "\n" + task, want: "Approve\nReject", ambiguous: true},
		{src: ours + "ambiguity", name: "explicit and bare disagree", body: "Decision: Approve\n\nReject\n", want: "Decision: Approve\n\nReject", ambiguous: true},
		{src: ours + "ambiguity", name: "field twice with different values", body: "Approve\nAmount: 10\nAmount: 20\n", want: "Approve\nAmount: 10\nAmount: 20", ambiguous: true},
		{src: ours + "ambiguity", name: "top and bottom disagree", body: "Approve\n\n" + on + "\n" + task + "\n\nReject\n", want: "Approve\n\nReject", ambiguous: true},
		{src: ours + "ambiguity", name: "inline and top disagree", body: "Reject\n\n> Decision: Approve, Reject\nApprove\n", want: "Reject\n\nApprove", ambiguous: true},
		{src: ours + "ambiguity", name: "same answer twice is not ambiguous", body: "Approve\n\n" + on + "\n" + task + "\n\nDecision: approve.\n", want: "Approve\n\nDecision: approve.", values: appr},
		{src: ours + "ambiguity", name: "same number written two ways is not ambiguous", body: "Approve\nAmount: 1,250.50\nAmount: 1250.5\n", want: "Approve\nAmount: 1,250.50\nAmount: 1250.5", values: map[string]any{"Decision": "Approve", "Amount": 1250.5}},
		{src: ours + "ambiguity", name: "decision words inside the quote do not count", body: "Approve\n\n" + on + "\n> Reject\n> Decision: Reject\n", want: "Approve", values: appr},
		{src: ours + "ambiguity", name: "comment twice", body: "Approve\nComment: fine\nComment: not fine\n", want: "Approve\nComment: fine\nComment: not fine", ambiguous: true},

		// --- attribution lines, many clients and languages
		{src: client + "Gmail web", name: "Gmail wrapped attribution", body: "Approve\n\nOn Sun, 6 Dec 2026 at 13:00, Studio Collaboration <\nnoreply@collab.localhost> wrote:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail web, bottom", name: "Gmail wrapped attribution, bottom-posted", body: "On Sun, 6 Dec 2026 at 13:00, Studio Collaboration <\nnoreply@collab.localhost> wrote:\n\n" + task + "\n\nReject\n", want: "Reject", values: rej},
		{src: client + "Apple Mail", name: "Apple Mail attribution", body: "Reject\n\n> On 6 Dec 2026, at 13:00, Studio Collaboration <noreply@collab.localhost> wrote:\n>\n" + task, want: "Reject", values: rej},
		{src: client + "Apple Mail, bottom", name: "Apple Mail bottom-posted", body: "On 6 Dec 2026, at 13:00, Studio Collaboration <noreply@collab.localhost> wrote:\n\n" + task + "\n\nApprove\n\n", want: "Approve", values: appr},
		{src: client + "iOS Mail", name: "iOS top with phone signature", body: "Approve\n\nSent from my iPhone\n\n> On 6 Dec 2026, at 13:00, Studio Collaboration <noreply@collab.localhost> wrote:\n>\n" + task, want: "Approve", values: appr},
		{src: client + "iOS Mail", name: "iOS bottom with phone signature", body: "On 6 Dec 2026, at 13:00, Studio <noreply@collab.localhost> wrote:\n\n" + task + "\n\nApprove\n\nSent from my iPhone", want: "Approve", values: appr},
		{src: client + "Thunderbird", name: "Thunderbird attribution", body: "On 06/12/2026 13:00, Studio Collaboration wrote:\n" + task + "\n\nApprove\n", want: "Approve", values: appr},
		{src: client + "Thunderbird", name: "Thunderbird top", body: "Reject\n\nOn 12/6/26 1:00 PM, Studio Collaboration wrote:\n" + task, want: "Reject", values: rej},
		{src: client + "Android Gmail", name: "Android Gmail attribution", body: "Approve\n\nOn Sun, Dec 6, 2026, 13:00 Studio Collaboration <noreply@collab.localhost> wrote:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Yahoo Mail", name: "Yahoo attribution", body: "Approve\n\nOn Sunday, December 6, 2026, 01:00:00 PM GMT, Studio Collaboration <noreply@collab.localhost> wrote:\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Yahoo Mail", name: "Yahoo dashed attribution", body: "Approve\n\n--- On Sun, 12/6/26, Studio <noreply@collab.localhost> wrote:\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook mobile", name: "Outlook for iOS attribution and signature", body: "Approve\n\nGet Outlook for iOS\n\nOn Sun, Dec 6, 2026 at 1:00 PM, Studio Collaboration <noreply@collab.localhost> wrote:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, German", name: "Am … schrieb (Apple Mail German)", body: "Ablehnen ist falsch, also: Approve\n\nAm 06.12.2026 um 13:00 schrieb Studio Collaboration <noreply@collab.localhost>:\n\n" + task, want: "Ablehnen ist falsch, also: Approve"},
		{src: client + "Gmail, German", name: "Gmail German verb before date", body: "Approve\n\nStudio Collaboration <noreply@collab.localhost> schrieb am So., 6. Dez. 2026 um 13:00 Uhr:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, German", name: "Am … schrieb bottom", body: "Am So., 6. Dez. 2026 um 13:00 Uhr schrieb Studio Collaboration <noreply@collab.localhost>:\n" + task + "\n\nReject\n", want: "Reject", values: rej},
		{src: client + "Gmail, French", name: "Le … a écrit", body: "Approve\n\nLe dim. 6 déc. 2026 à 13:00, Studio Collaboration <noreply@collab.localhost> a écrit :\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, French", name: "Le … a écrit bottom", body: "Le 6 déc. 2026 à 13:00, Studio <noreply@collab.localhost> a écrit :\n" + task + "\nDecision: Reject\n", want: "Decision: Reject", values: rej},
		{src: client + "Gmail, Spanish", name: "El … escribió", body: "Approve\n\nEl dom, 6 dic 2026 a las 13:00, Studio Collaboration (<noreply@collab.localhost>) escribió:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, Spanish", name: "El … escribió bottom", body: "El dom, 6 dic 2026 a las 13:00, Studio Collaboration (<noreply@collab.localhost>) escribió:\n" + task + "\n\nReject", want: "Reject", values: rej},
		{src: client + "Gmail, Portuguese", name: "Em … escreveu", body: "Approve\n\nEm dom., 6 de dez. de 2026 às 13:00, Studio Collaboration <noreply@collab.localhost> escreveu:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, Portuguese", name: "Em … escreveu bottom", body: "Em dom., 6 de dez. de 2026 às 13:00, Studio Collaboration <noreply@collab.localhost> escreveu:\n" + task + "\nApprove", want: "Approve", values: appr},
		{src: client + "Gmail, Italian", name: "Il … ha scritto", body: "Approve\n\nIl giorno dom 6 dic 2026 alle ore 13:00 Studio Collaboration <noreply@collab.localhost> ha scritto:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, Dutch", name: "Op … schreef", body: "Approve\n\nOp zo 6 dec. 2026 om 13:00 schreef Studio Collaboration <noreply@collab.localhost>:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, Swedish", name: "Den … skrev", body: "Approve\n\nDen sön 6 dec. 2026 kl 13:00 skrev Studio Collaboration <noreply@collab.localhost>:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, Polish", name: "W dniu … napisał(a)", body: "Approve\n\nW dniu nd., 6.12.2026 o 13:00 Studio Collaboration <noreply@collab.localhost> napisał(a):\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, Russian", name: "Russian, no verb", body: "Approve\n\nвс, 6 дек. 2026 г. в 13:00, Studio Collaboration <noreply@collab.localhost>:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, Japanese", name: "Japanese, no verb", body: "Approve\n\n2026年12月6日(日) 13:00 Studio Collaboration <noreply@collab.localhost>:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, Chinese", name: "Chinese 写道 with full-width colon", body: "Approve\n\nStudio Collaboration <noreply@collab.localhost> 于2026年12月6日周日 13:00写道：\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, Danish", name: "Den … skrev (Danish)", body: "Approve\n\nDen søn. 6. dec. 2026 kl. 13.00 skrev Studio Collaboration <noreply@collab.localhost>:\n\n" + task, want: "Approve", values: appr},
		{src: client + "Gmail, Finnish", name: "kirjoitti", body: "Approve\n\nsu 6. jouluk. 2026 klo 13.00 Studio Collaboration (noreply@collab.localhost) kirjoitti:\n\n" + task, want: "Approve", values: appr},

		// --- Outlook: header blocks and original-message markers
		{src: client + "Outlook desktop", name: "Outlook header block", body: "Approve\n\nFrom: Studio Collaboration <noreply@collab.localhost>\nSent: Sunday, December 6, 2026 1:00 PM\nTo: Bob Builder <bob@example.com>\nSubject: Approve claim 4711\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook desktop", name: "Outlook rule then header block", body: "Reject\r\n\r\n________________________________\r\nFrom: Studio Collaboration <noreply@collab.localhost>\r\nSent: Sunday, December 6, 2026 1:00 PM\r\n\r\n" + taskPlain, want: "Reject", values: rej},
		{src: client + "Outlook classic", name: "-----Original Message-----", body: "Decision: Reject\nComment: attach the invoice\n\n-----Original Message-----\nFrom: Studio Collaboration [mailto:noreply@collab.localhost]\nSent: Sunday, December 6, 2026 1:00 PM\n\n" + taskPlain, want: "Decision: Reject\nComment: attach the invoice", values: map[string]any{"Decision": "Reject", "Comment": "attach the invoice"}},
		{src: client + "Outlook web", name: "Outlook web bold header block", body: "Approve\n\n________________________________\n*From:* Studio Collaboration <noreply@collab.localhost>\n*Sent:* Sunday, December 6, 2026 13:00\n*To:* Bob Builder\n*Subject:* Approve claim 4711\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook, German", name: "Von/Gesendet block", body: "Approve\n\nVon: Studio Collaboration <noreply@collab.localhost>\nGesendet: Sonntag, 6. Dezember 2026 13:00\nAn: Bob Builder\nBetreff: Approve claim 4711\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook, French", name: "De/Envoyé block with space before colon", body: "Approve\n\nDe : Studio Collaboration <noreply@collab.localhost>\nEnvoyé : dimanche 6 décembre 2026 13:00\nÀ : Bob Builder\nObjet : Approve claim 4711\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook, Spanish", name: "De/Enviado block", body: "Approve\n\nDe: Studio Collaboration <noreply@collab.localhost>\nEnviado: domingo, 6 de diciembre de 2026 13:00\nPara: Bob Builder\nAsunto: Approve claim 4711\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook, Italian", name: "Da/Inviato block", body: "Approve\n\nDa: Studio Collaboration <noreply@collab.localhost>\nInviato: domenica 6 dicembre 2026 13:00\nA: Bob Builder\nOggetto: Approve claim 4711\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook, Dutch", name: "Van/Verzonden block", body: "Approve\n\nVan: Studio Collaboration <noreply@collab.localhost>\nVerzonden: zondag 6 december 2026 13:00\nAan: Bob Builder\nOnderwerp: Approve claim 4711\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook, Portuguese", name: "De/Enviada block", body: "Approve\n\nDe: Studio Collaboration <noreply@collab.localhost>\nEnviado: domingo, 6 de dezembro de 2026 13:00\nPara: Bob Builder\nAssunto: Approve claim 4711\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook for Mac", name: "From/Date block", body: "Approve\n\nFrom: Studio Collaboration <noreply@collab.localhost>\nDate: Sunday, 6 December 2026 at 13:00\nTo: Bob Builder <bob@example.com>\nSubject: Approve claim 4711\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook", name: "German original message marker", body: "Approve\n\n-----Ursprüngliche Nachricht-----\nVon: Studio\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook", name: "Spanish original message marker", body: "Approve\n\n-----Mensaje original-----\nDe: Studio\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook", name: "French original message marker", body: "Approve\n\n-----Message d'origine-----\nDe : Studio\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook", name: "Dutch original message marker", body: "Approve\n\n-----Oorspronkelijk bericht-----\nVan: Studio\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Outlook", name: "Italian original message marker", body: "Approve\n\n-----Messaggio originale-----\nDa: Studio\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Gmail", name: "Gmail forwarded message marker", body: "Approve\n\n---------- Forwarded message ---------\nFrom: Studio <noreply@collab.localhost>\nDate: Sun, Dec 6, 2026 at 1:00 PM\n\n" + taskPlain, want: "Approve", values: appr},
		{src: client + "Apple Mail", name: "Begin forwarded message", body: "Approve\n\nBegin forwarded message:\n\nFrom: Studio <noreply@collab.localhost>\n\n" + taskPlain, want: "Approve", values: appr},

		// --- signatures
		{src: ours + "signatures", name: "RFC 3676 delimiter", body: "Approve\n\n-- \nBob Builder\nClaims team\n\n" + on + "\n" + task, want: "Approve", values: appr},
		{src: ours + "signatures", name: "delimiter without trailing space", body: "Approve\n--\nBob\nApprove all the things\n", want: "Approve", values: appr},
		{src: ours + "signatures", name: "signature after bottom-posted answer", body: on + "\n" + task + "\n\nReject\n\n-- \nBob Builder | Claims | +1 555 0100\nReject fraud\n", want: "Reject", values: rej},
		{src: ours + "signatures", name: "-Name sign-off after bottom answer", body: on + "\n" + task + "\n\nApprove\n-Bob\n", want: "Approve", values: appr},
		{src: ours + "signatures", name: "-- Name sign-off", body: "Approve\n--Bob Builder\n", want: "Approve", values: appr},
		{src: ours + "signatures", name: "lone -Approve is an answer, not a sign-off", body: "-Approve\n\n" + on + "\n" + task, want: "-Approve", values: appr},
		{src: ours + "signatures", name: "Sent from my iPhone mid-reply is kept", body: "Sent from my iPhone\nApprove\n", want: "Sent from my iPhone\nApprove", values: appr},
		{src: ours + "signatures", name: "Sent from my Android", body: "Approve\n\nSent from my Android\n", want: "Approve", values: appr},
		{src: ours + "signatures", name: "Sent from my Samsung Galaxy smartphone.", body: "Approve\nSent from my Samsung Galaxy smartphone.\n", want: "Approve", values: appr},
		{src: ours + "signatures", name: "Sent from Mail for Windows", body: "Approve\n\nSent from Mail for Windows\n\n" + task, want: "Approve", values: appr},
		{src: ours + "signatures", name: "Sent from Yahoo Mail on Android", body: "Approve\n\nSent from Yahoo Mail on Android\n\n" + on + "\n" + task, want: "Approve", values: appr},
		{src: ours + "signatures", name: "Sent from Outlook", body: "Approve\n\nSent from Outlook\n", want: "Approve", values: appr},
		{src: ours + "signatures", name: "Get Outlook for Android", body: "Approve\n\nGet Outlook for Android\n", want: "Approve", values: appr},
		{src: ours + "signatures", name: "Von meinem iPhone gesendet", body: "Approve\n\nVon meinem iPhone gesendet\n", want: "Approve", values: appr},
		{src: ours + "signatures", name: "Envoyé de mon iPhone", body: "Approve\n\nEnvoyé de mon iPhone\n", want: "Approve", values: appr},
		{src: ours + "signatures", name: "Enviado desde mi iPhone", body: "Approve\n\nEnviado desde mi iPhone\n", want: "Approve", values: appr},
		{src: ours + "signatures", name: "Enviado do meu iPhone", body: "Approve\n\nEnviado do meu iPhone\n", want: "Approve", values: appr},
		{src: ours + "signatures", name: "Sent from my desk sentence at the end is kept", body: "Approve\nSent from my desk, as the claim looks fine.\n", want: "Approve\nSent from my desk, as the claim looks fine.", values: appr},
		{src: ours + "signatures", name: "Sent with sentence at the end", body: "Approve\nSent from my phone because I am travelling until Monday and cannot reach a computer\n", want: "Approve\nSent from my phone because I am travelling until Monday and cannot reach a computer", values: appr},
		{src: ours + "signatures", name: "dash inside a line is no signature", body: "Approve -- this is not a signature.\n", want: "Approve -- this is not a signature.", values: appr},
		{src: ours + "signatures", name: "bullet item is no signature", body: "Comment:\n- Approve\n", want: "Comment:\n- Approve", values: appr},

		// --- wrapped quoted lines
		{src: ours + "wrapping", name: "client-wrapped quoted line", body: on + "\n> Please approve the claim 4711, which was submitted yesterday by Alice from the\nclaims team.\n> Decision: Approve, Reject\n\nApprove\n", want: "Approve", values: appr},
		{src: ours + "wrapping", name: "short inline answer after a long quoted line is kept", body: "> Please approve the claim 4711, which was submitted yesterday by Alice from the claims\nApprove\n> Amount: a number\n", want: "Approve", values: appr},
		{src: ours + "wrapping", name: "capitalised answer after long quote line is kept", body: "> This is a quoted line that is long enough to have been wrapped by a client.\nReject\n> Comment: your text\n", want: "Reject", values: rej},

		// --- HTML converted text and odd whitespace
		{src: ours + "whitespace", name: "CRLF line ends", body: "Approve\r\n\r\n" + strings.ReplaceAll(on+"\n"+task, "\n", "\r\n"), want: "Approve", values: appr},
		{src: ours + "whitespace", name: "no-break spaces", body: "Approve\u00a0\n\nOn\u00a0Sun, 6 Dec 2026 at 13:00, Studio <noreply@collab.localhost> wrote:\n" + task, want: "Approve", values: appr},
		{src: ours + "whitespace", name: "zero-width space before the answer", body: "\u200bApprove\n\n" + on + "\n" + task, want: "Approve", values: appr},
		{src: ours + "whitespace", name: "byte order mark", body: "\ufeffReject\n", want: "Reject", values: rej},
		{src: ours + "whitespace", name: "tabs", body: "\tDecision:\tApprove\n", want: "Decision: Approve", values: appr},
		{src: ours + "whitespace", name: "empty body", body: "", want: ""},
		{src: ours + "whitespace", name: "only a quote", body: on + "\n" + task, want: ""},
		{src: ours + "whitespace", name: "indented attribution", body: "Approve\n   On Sun, 6 Dec 2026 at 13:00, Studio <noreply@collab.localhost> wrote:\n" + task, want: "Approve", values: appr},
		{src: ours + "whitespace", name: "blank lines collapse", body: "Approve\n\n\n\nAmount: 5\n", want: "Approve\n\nAmount: 5", values: map[string]any{"Decision": "Approve", "Amount": 5.0}},
		{src: ours + "whitespace", name: "bold markers from HTML", body: "*Decision:* *Approve*\n", want: "*Decision:* *Approve*", values: appr},

		// --- mailgun/talon: text_quotations_test.py
		{src: talon + "test_pattern_on_date_somebody_wrote", name: "talon on-date-somebody-wrote", body: "Test reply\n\nOn 11-Apr-2011, at 6:54 PM, Roman Tkachenko <romant@example.com> wrote:\n\n>\n> Test\n>\n> Roman", want: "Test reply"},
		{src: talon + "test_pattern_sent_from_samsung_smb_wrote", name: "talon samsung glued attribution", body: "Test reply\n\nSent from Samsung MobileName <address@example.com> wrote:\n\n>\n> Test\n>\n> Roman", want: "Test reply"},
		{src: talon + "test_pattern_on_date_wrote_somebody", name: "talon Op … schreef unquoted", body: "Lorem\n\nOp 13-02-2014 3:18 schreef Julius Caesar <pantheon@rome.com>:\n\nVeniam laborum mlkshk kale chips authentic.\n", want: "Lorem"},
		{src: talon + "test_pattern_on_date_somebody_wrote_date_with_slashes", name: "talon date with slashes", body: "Test reply\n\nOn 04/19/2011 07:10 AM, Roman Tkachenko wrote:\n\n>\n> Test.\n>\n> Roman", want: "Test reply"},
		{src: talon + "test_date_time_email_splitter", name: "talon date time email splitter", body: "Test reply\n\n2014-10-17 11:28 GMT+03:00 Postmaster <\npostmaster@sandbox.mailgun.org>:\n\n> First from site\n>\n", want: "Test reply"},
		{src: talon + "test_pattern_on_date_somebody_wrote_allows_space_in_front", name: "talon space in front", body: "Thanks Thanmai\n On Mar 8, 2012 9:59 AM, \"Example.com\" <\nr+7f1b094ceb90e18cca93d53d3703feae@example.com> wrote:\n\n\n>**\n>  Blah-blah-blah", want: "Thanks Thanmai"},
		{src: talon + "test_pattern_on_date_somebody_sent", name: "talon somebody sent", body: "Test reply\n\nOn 11-Apr-2011, at 6:54 PM, Roman Tkachenko <romant@example.com> sent:\n\n>\n> Test\n>\n> Roman", want: "Test reply"},
		{src: talon + "test_line_starts_with_on", name: "talon line starts with On", body: "Blah-blah-blah\nOn blah-blah-blah", want: "Blah-blah-blah\nOn blah-blah-blah"},
		{src: talon + "test_reply_and_quotation_splitter_share_line", name: "talon reply shares line with splitter", body: "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:\n> Hi", want: "reply"},
		{src: talon + "test_reply_and_quotation_splitter_share_line", name: "talon reply--- On shares line", body: "reply--- On Wed, Apr 4, 2012 at 3:59 PM, me@domain.com wrote:\n> Hi", want: "reply"},
		{src: talon + "test_reply_and_quotation_splitter_share_line", name: "talon reply with dashes shares line", body: "reply\nbla-bla - bla--- On Wed, Apr 4, 2012 at 3:59 PM, me@domain.com wrote:\n> Hi", want: "reply\nbla-bla - bla"},
		{src: talon + "test_english_original_message", name: "talon Original Message", body: "Test reply\n\n-----Original Message-----\n\nTest", want: "Test reply"},
		{src: talon + "test_english_original_message", name: "talon Reply Message", body: "Test reply\n\n-----Reply Message-----\n\nTest", want: "Test reply"},
		{src: talon + "test_german_original_message", name: "talon Ursprüngliche Nachricht", body: "Test reply\n\n-----Ursprüngliche Nachricht-----\n\nTest", want: "Test reply"},
		{src: talon + "test_german_original_message", name: "talon Antwort Nachricht", body: "Test reply\n\n-----Antwort Nachricht-----\n\nTest", want: "Test reply"},
		{src: talon + "test_danish_original_message", name: "talon Oprindelig meddelelse", body: "Test reply\n\n-----Oprindelig meddelelse-----\n\nTest", want: "Test reply"},
		{src: talon + "test_reply_after_quotations", name: "talon reply after quotations", body: "On 04/19/2011 07:10 AM, Roman Tkachenko wrote:\n\n>\n> Test\nTest reply", want: "Test reply"},
		{src: talon + "test_reply_wraps_quotations", name: "talon reply wraps quotations", body: "Test reply\n\nOn 04/19/2011 07:10 AM, Roman Tkachenko wrote:\n\n>\n> Test\n\nRegards, Roman", want: "Test reply\n\nRegards, Roman"},
		{src: talon + "test_reply_wraps_nested_quotations", name: "talon reply wraps nested quotations", body: "Test reply\nOn 04/19/2011 07:10 AM, Roman Tkachenko wrote:\n\n>Test test\n>On 04/19/2011 07:10 AM, Roman Tkachenko wrote:\n>\n>>\n>> Test.\n>>\n>> Roman\n\nRegards, Roman", want: "Test reply\n\nRegards, Roman"},
		{src: talon + "test_quotation_separator_takes_2_lines", name: "talon separator takes 2 lines", body: "Test reply\n\nOn Fri, May 6, 2011 at 6:03 PM, Roman Tkachenko from Hacker News\n<roman@definebox.com> wrote:\n\n> Test.\n>\n> Roman\n\nRegards, Roman", want: "Test reply\n\nRegards, Roman"},
		{src: talon + "test_quotation_separator_takes_3_lines", name: "talon separator takes 3 lines", body: "Test reply\n\nOn Nov 30, 2011, at 12:47 PM, Somebody <\n416ffd3258d4d2fa4c85cfa4c44e1721d66e3e8f4@somebody.domain.com>\nwrote:\n\nTest message\n", want: "Test reply"},
		{src: talon + "test_short_quotation", name: "talon short quotation", body: "Hi\n\nOn 04/19/2011 07:10 AM, Roman Tkachenko wrote:\n\n> Hello", want: "Hi"},
		{src: talon + "test_with_indent", name: "talon dashed attribution with indent", body: "YOLO salvia cillum kogi typewriter.\n\n------On 12/29/1987 17:32 PM, Julius Caesar wrote-----\n\nBrunch mumblecore pug Marfa tofu.\n    ", want: "YOLO salvia cillum kogi typewriter."},
		{src: talon + "test_short_quotation_with_newline", name: "talon unquoted history with nested attribution", body: "Btw blah blah...\n\nOn Tue, Jan 27, 2015 at 12:42 PM -0800, \"Company\" <christine.XXX@XXX.com> wrote:\n\nHi Mark,\nBlah blah?\nThanks,Christine\n\nOn Jan 27, 2015, at 11:55 AM, Mark XXX <mark@XXX.com> wrote:\n\nLorem ipsum?\nMark\n\nSent from Acompli", want: "Btw blah blah..."},
		{src: talon + "test_pattern_date_email_with_unicode", name: "talon old Gmail date and address", body: "Replying ok\n2011/4/7 Nathan иova <support@example.com>\n\n>  Cool beans, scro", want: "Replying ok"},
		{src: talon + "test_english_from_block", name: "talon English From block", body: "Allo! Follow up MIME!\n\nFrom: somebody@example.com\nSent: March-19-11 5:42 PM\nTo: Somebody\nSubject: The manager has commented on your Loop\n\nBlah-blah-blah\n", want: "Allo! Follow up MIME!"},
		{src: talon + "test_german_from_block", name: "talon German From block", body: "Allo! Follow up MIME!\n\nVon: somebody@example.com\nGesendet: Dienstag, 25. November 2014 14:59\nAn: Somebody\nBetreff: The manager has commented on your Loop\n\nBlah-blah-blah\n", want: "Allo! Follow up MIME!"},
		{src: talon + "test_french_multiline_from_block", name: "talon French multiline From block", body: "Lorem ipsum\n\nDe : Brendan xxx [mailto:brendan.xxx@xxx.com]\nEnvoyé : vendredi 23 janvier 2015 16:39\nÀ : Camille XXX\nObjet : Follow Up\n\nBlah-blah-blah\n", want: "Lorem ipsum"},
		{src: talon + "test_french_from_block", name: "talon French attribution with mailto", body: "Lorem ipsum\n\nLe 23 janv. 2015 à 22:03, Brendan xxx <brendan.xxx@xxx.com<mailto:brendan.xxx@xxx.com>> a écrit:\n\nBonjour!", want: "Lorem ipsum"},
		{src: talon + "test_polish_from_block", name: "talon Polish attribution over two lines", body: "Lorem ipsum\n\nW dniu 28 stycznia 2015 01:53 użytkownik Zoe xxx <zoe.xxx@xxx.com>\nnapisał:\n\nBlah!\n", want: "Lorem ipsum"},
		{src: talon + "test_danish_from_block", name: "talon Danish From block", body: "Allo! Follow up MIME!\n\nFra: somebody@example.com\nSendt: 19. march 2011 12:10\nTil: Somebody\nEmne: The manager has commented on your Loop\n\nBlah-blah-blah\n", want: "Allo! Follow up MIME!"},
		{src: talon + "test_swedish_from_block", name: "talon Swedish From block", body: "Allo! Follow up MIME!\nFrån: Anno Sportel [mailto:anno.spoel@hsbcssad.com]\nSkickat: den 26 augusti 2015 14:45\nTill: Isacson Leiff\nÄmne: RE: Week 36\n\nBlah-blah-blah\n", want: "Allo! Follow up MIME!"},
		{src: talon + "test_swedish_from_line", name: "talon Swedish attribution", body: "Lorem\nDen 14 september, 2015 02:23:18, Valentino Rudy (valentino@rudy.be) skrev:\n\nVeniam laborum mlkshk kale chips authentic.\n", want: "Lorem"},
		{src: talon + "test_norwegian_from_line", name: "talon Norwegian attribution", body: "Lorem\nPå 14 september 2015 på 02:23:18, Valentino Rudy (valentino@rudy.be) skrev:\n\nVeniam laborum mlkshk kale chips authentic.\n", want: "Lorem"},
		{src: talon + "test_dutch_from_block", name: "talon Dutch het volgende geschreven", body: "Gluten-free culpa lo-fi et nesciunt nostrud.\n\nOp 17-feb.-2015, om 13:18 heeft Julius Caesar <pantheon@rome.com> het volgende geschreven:\n\nSmall batch beard laboris tempor.\n", want: "Gluten-free culpa lo-fi et nesciunt nostrud."},
		{src: talon + "test_quotation_marker_false_positive", name: "talon >>> inside a reply", body: "Visit us now for assistance...\n>>> >>>  http://www.domain.com <<<\nVisit our site by clicking the link above", want: "Visit us now for assistance...\nVisit our site by clicking the link above"},
		{src: talon + "test_from_block_starts_with_date", name: "talon block starts with Date", body: "Blah\n\nDate: Wed, 16 May 2012 00:15:02 -0600\nTo: klizhentas@example.com", want: "Blah"},
		{src: talon + "test_bold_from_block", name: "talon bold From block", body: "Hi\n\n  *From:* bob@example.com [mailto:\n  bob@example.com]\n  *Sent:* Wednesday, June 27, 2012 3:05 PM\n  *To:* travis@example.com\n  *Subject:* Hello\n\n", want: "Hi"},
		{src: talon + "test_weird_date_format_in_date_block", name: "talon weird date in block", body: "Blah\nDate: Fri=2C 28 Sep 2012 10:55:48 +0000\nFrom: tickets@example.com\nTo: bob@example.com\nSubject: [Ticket #8] Test\n\n", want: "Blah"},
		{src: talon + "test_forwarded_message_in_quotations", name: "talon forwarded inside original", body: "Blah\n\n-----Original Message-----\n\nFYI\n\n---------- Forwarded message ----------\nFrom: bob@example.com\nDate: Tue, Sep 4, 2012 at 1:35 PM\nSubject: Two\nline subject\nTo: rob@example.com\n\n", want: "Blah"},
		{src: talon + "test_link_breaks_quotation_markers_sequence", name: "talon link inside quote", body: "Blah\n\nOn Thursday, October 25, 2012 at 3:03 PM, life is short. on Bob wrote:\n\n>\n> Post a response by replying to this email\n>\n (http://example.com/c/YzOTYzMmE) >\n> life is short. (http://example.com/c/YzMmE)\n>\n", want: "Blah\n\n(http://example.com/c/YzOTYzMmE) >"},
		{src: talon + "test_mark_message_lines", name: "talon signature then 3-line splitter", body: "Just testing the email reply\n\nRobert J Samson\nSent from my iPhone\n\nOn Nov 30, 2011, at 12:47 PM, Skapture <\n416ffd3258d4d2fa4c85cfa4c44e1721d66e3e8f4@skapture-staging.mailgun.org>\nwrote:\n\nTarmo Lehtpuu has posted the following message on", want: "Just testing the email reply\n\nRobert J Samson"},
		{src: talon + "test_mark_message_lines", name: "talon rule, From, quote, signature", body: "Hello\n\n_____________\nFrom: foo@bar.com\n\n> Hi\n\nSignature", want: "Hello"},
		{src: talon + "test_process_marked_lines (inline reply)", name: "talon inline reply between quotes", body: "text\nOn Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:\n>\ninline  reply\n>", want: "text\ninline  reply"},
		{src: talon + "test_preprocess_postprocess_2_links", name: "talon two links", body: "<http://link1> <http://link2>", want: "<http://link1> <http://link2>"},

		// --- mailgun/talon: tests/fixtures/standard_replies
		{src: talonStd + "yahoo.eml", name: "talon Yahoo original message", body: "Hello\n\n\n----- Original Message -----\nFrom: \"bob@xxx.mailgun.org\" <bob@xxx.mailgun.org>\nTo: xxx@gmail.com\nCc:\nSent: Monday, April 2, 2012 5:44 PM\nSubject: Test\n\nHi\n", want: "Hello"},
		{src: talonStd + "hotmail.eml", name: "talon Hotmail rule and block", body: "Hello\n\n> From: bob@xxx.mailgun.org\n> To: xxx@gmail.com\n> Date: Mon, 2 Apr 2012 17:44:22 +0400\n> Subject: Test\n>\n> Hi\n", want: "Hello"},
		{src: talonStd + "outlook.eml", name: "talon Outlook rule", body: "Hello\n\n________________________________\nFrom: bob@xxx.mailgun.org\nSent: Monday, April 02, 2012 5:44 PM\nTo: xxx\nSubject: Test\n\nHi\n", want: "Hello"},
		{src: talonStd + "apple_mail.eml", name: "talon Apple Mail", body: "Hello\n\nOn Apr 2, 2012, at 5:44 PM, bob@xxx.mailgun.org wrote:\n\n> Hi\n", want: "Hello"},
		{src: talonStd + "iphone.eml", name: "talon iPhone", body: "Hello\n\nSent from my iPhone\n\nOn Apr 2, 2012, at 5:44 PM, bob@xxx.mailgun.org wrote:\n\n> Hi\n", want: "Hello"},
		{src: talonStd + "thunderbird.eml", name: "talon Thunderbird", body: "Hello\n\nOn 04/02/2012 05:44 PM, bob@xxx.mailgun.org wrote:\n> Hi\n", want: "Hello"},
		{src: talonStd + "aol.eml", name: "talon AOL", body: "Hello\n\n-----Original Message-----\nFrom: bob <bob@xxx.mailgun.org>\nTo: xxx <xxx@gmail.com>\nSent: Mon, Apr 2, 2012 5:44 pm\nSubject: Test\n\nHi\n", want: "Hello"},
		{src: talonStd + "comcast.eml", name: "talon Comcast", body: "Hello\n\n----- Original Message -----\nFrom: \"bob\" <bob@xxx.mailgun.org>\nTo: xxx@comcast.net\nSent: Monday, April 2, 2012 5:44:22 PM\nSubject: Test\n\nHi\n", want: "Hello"},
		{src: talonStd + "sparrow.eml", name: "talon Sparrow", body: "Hello\n\n-- \nBob\nSent with Sparrow (http://www.sparrowmailapp.com/?sig)\n\nOn Monday, April 2, 2012 at 5:44 PM, bob@xxx.mailgun.org wrote:\n\n> Hi\n", want: "Hello"},
		{src: talonStd + "apple_mail_2.eml", name: "talon Apple Mail 2 (quoted attribution)", body: "Hello\n\n> On Apr 2, 2012, at 5:44 PM, bob@xxx.mailgun.org wrote:\n>\n> Hi\n", want: "Hello"},

		// --- discourse/email_reply_trimmer: test/emails
		{src: trimmer + "email_headers_1.txt", name: "trimmer Outlook bold block after dashes", body: "This is a reply from Outlook!\n\n\n ------------------------------\n\n*From:* Outlook user\n*Sent:* 2016-01-27\n*To:* info@discourse.org\n*Subject:* Are you using Outlook?\n\n\n\nJust some random text\n", want: "This is a reply from Outlook!"},
		{src: trimmer + "email_headers_2.txt", name: "trimmer Outlook rule block", body: "This is a reply from Outlook!\n________________________________________\nFrom: Discourse <info@discourse.org.\nSent: Thursday, 28 January 2016 8:16 p.m.\nTo: Someone\nSubject: (no subject)\n\nLorem ipsum.\n", want: "This is a reply from Outlook!"},
		{src: trimmer + "email_headers_3.txt", name: "trimmer block with Reply-To", body: "This is the actual reply.\n\nFrom: Some One <discuss@foo.bar<mailto:discuss@foo.bar>>\nReply-To: \"For.bar\" <reply+275e@members.foo.bar>\nDate: Monday, February 8, 2016 11:44 AM\nTo: Discourse <discourse@discourse.org>\nSubject: VIS\n", want: "This is the actual reply."},
		{src: trimmer + "email_headers_4.txt", name: "trimmer Italian Da/Risposta block", body: "test\n\nDa: Sally54721\nRisposta: Testy McTesterson / Test\nData: giovedì 8 ottobre 2015 15:26\nA: Testy McTesterson\nOggetto: Test | Issue (#3)\n", want: "test"},
		{src: trimmer + "embedded_email_german_1.txt", name: "trimmer schrieb without date prefix, then signature", body: "alright, no big deal.\n\n\n\ncodinghorror via Discourse Meta <info@discourse.org> schrieb:\n>codinghorror posted in 'Visually separate'\n>\n>---\n>So turns out this is sort of a complex change.\n\n--\nDiese Nachricht wurde von meinem Android-Mobiltelefon mit K-9 Mail gesendet.", want: "alright, no big deal."},
		{src: trimmer + "embedded_email_german_2.txt", name: "trimmer Am … nachm. schrieb", body: "Hey:)\n\n\nAm 03.02.2016 3:35 nachm. schrieb Max Mustermann <noreply@meta.discourse.org>:\n\n> Hello", want: "Hey:)"},
		{src: trimmer + "embedded_email_german_3.txt", name: "trimmer Ursprüngliche Nachricht with block", body: "Gruß Discourse\n\n\n-----Ursprüngliche Nachricht-----\nVon: Discourse Team <team@discourse.org>\nGesendet: Don 11 Februar 2016 11:23\nAn: Some One <foo@bar.com>\nBetreff: Some Subject\n", want: "Gruß Discourse"},
		{src: trimmer + "embedded_email_german_4.txt", name: "trimmer Google Inbox German wrapped", body: "\nHi there! I am replying from my german Google Inbox.\n\nMax Mustermann <try_discourse@discoursemail.com> schrieb am Fr., 28.\nApr. 2017 um 11:53 Uhr:\n\n\n\nSome text\n", want: "Hi there! I am replying from my german Google Inbox."},
		{src: trimmer + "embedded_email_german_5.txt", name: "trimmer schrieb am wrapped before um", body: "Okay. Will give it a whirl.\n\nErlend Sogge Heggen <meta@discoursemail.com> schrieb am Di., 16. Aug. 2016\num 12:52 Uhr:\n\n--\nViele Grüße / Best regards\n", want: "Okay. Will give it a whirl."},
		{src: trimmer + "embedded_email_italian.txt", name: "trimmer Italian quoted attribution", body: "Ok, will do. As a test, this is a reply from a webmail client.\n\n\n> Il 26 marzo 2016 alle 13.16 Sam Saffron <info@discourse.org> ha scritto:\n>\n> We need specific examples of failures\n\n--\nStefano Costa @stekosteko", want: "Ok, will do. As a test, this is a reply from a webmail client."},
		{src: trimmer + "embedded_email_spanish_2.txt", name: "trimmer Mensaje original", body: "Igual que siempre (inclusive ahora), sin nada raro :/\n\n-----Mensaje original-----\nDe: \"Miguel\" <foo@bar.es>\nEnviado: 16/02/2016 14:53\nPara: \"discourse\" <discourse@discourse.org>\nAsunto: [MP]Parser del email\n", want: "Igual que siempre (inclusive ahora), sin nada raro :/"},
		{src: trimmer + "embedded_email_dutch_2.txt", name: "trimmer Dutch wrapped geschreven", body: "The adblocker idea might be it.\nOp 16 aug. 2014 05:13 schreef \"codinghorror\" <info@discourse.org> het\nvolgende geschreven:\n\n> quoted", want: "The adblocker idea might be it."},
		{src: trimmer + "embedded_email_french_1.txt", name: "trimmer French three-line attribution", body: "C'est super !\nLe 4 janv. 2016 19:03, \"Neil Lalonde\"\n<info@discourse.org>\na écrit :\n\n> quoted", want: "C'est super !"},
		{src: trimmer + "embedded_email_french_2.txt", name: "trimmer French attribution first, unquoted", body: "Le 2016-11-16 02:22, Erlend Sogge Heggen a écrit :\n\nThanks for your answer.\n", want: ""},
		{src: trimmer + "embedded_email_norwegian.txt", name: "trimmer Norwegian Sendt fra min iPad", body: "Thanx :-)\n\nSendt fra min iPad\n\nDen 15. jun. 2016 kl. 20.42 skrev Jeff Atwood <info@discourse.org<mailto:info@discourse.org>>:\n\n        codinghorror co-founder\n", want: "Thanx :-)"},
		{src: trimmer + "embedded_email_polish_1.txt", name: "trimmer Polish Dnia … napisał(a)", body: "Oh, I've forgot to add. MIT\n\n--\nŁukasz Jan Niemier\n\nDnia 14 lip 2015 o godz. 00:25 Michael Downey <info@discourse.org> napisał(a):\n\n> quoted", want: "Oh, I've forgot to add. MIT"},
		{src: trimmer + "embedded_email_polish_2.txt", name: "trimmer Polish date first", body: "Hi Neil,\nThanks for prompt response!\n\n\n23 mar 2017 21:25 \"Neil Lalonde\" <meta@discoursemail.com> napisał(a):\n\n> quoted", want: "Hi Neil,\nThanks for prompt response!"},
		{src: trimmer + "embedded_email_portuguese.txt", name: "trimmer Portuguese wrapped", body: "Olá,\nQualquer dúvida estamos ai.\n\nEm 2 de fevereiro de 2015 10:58, discourse <\ninfo@discourse.org> escreveu:\n\n> quoted", want: "Olá,\nQualquer dúvida estamos ai."},
		{src: trimmer + "embedded_email_russian_1.txt", name: "trimmer Russian пользователь … написал", body: "Why don't you override particular strings with JS?\n\nпонедельник, 6 октября 2014 г. пользователь lidel написал:\n\n> quoted", want: "Why don't you override particular strings with JS?"},
		{src: trimmer + "embedded_email_russian_2.txt", name: "trimmer Russian wrapped", body: "Yes.\n\n20 окт. 2016 г. 19:37 пользователь \"Rafael dos Santos Silva\" <\nmeta@discoursemail.com> написал:\n\n> quoted", want: "Yes."},
		{src: trimmer + "embedded_email_ukrainian.txt", name: "trimmer Ukrainian пише", body: "Спасибо еще раз.\n\n30 серп. 2016 р. 20:45 \"Arpit\" <no-reply@example.com> пише:\n\n> quoted", want: "Спасибо еще раз."},
		{src: trimmer + "embedded_email_2.txt", name: "trimmer Zoho ---- On … wrote ----", body: "If there are some other endpoints, can you please tell\n\nBest Regards\n\n\n\n\n---- On Tue, 22 Dec 2015 14:17:36 +0530 Sam Saffron<info@discourse.org> wrote ----\n\nquoted text", want: "If there are some other endpoints, can you please tell\n\nBest Regards"},
		{src: trimmer + "embedded_email_5.txt", name: "trimmer Some One <addr> wrote:", body: "I am testing the regular expression.\n\nSome One <info@discourse.org> wrote:\n\nSomething that will be considered as the embedded email.", want: "I am testing the regular expression."},
		{src: trimmer + "embedded_email_6.txt", name: "trimmer On this day is not greedy", body: "Ensuring that it is not greedy.\n\nOn this day\n\nI wrote something\n\nwhich was very interesting.", want: "Ensuring that it is not greedy.\n\nOn this day\n\nI wrote something\n\nwhich was very interesting."},
		{src: trimmer + "embedded_email_8.txt", name: "trimmer -------- Original Message --------", body: "Foo\n\n-------- Original Message --------\n\nTHE END.", want: "Foo"},
		{src: trimmer + "embedded_email_9.txt", name: "trimmer bold Original Message", body: "Bar\n\n*-------- Original Message --------*\n\nTHE END.", want: "Bar"},
		{src: trimmer + "embedded_email_13.txt", name: "trimmer At … you wrote:", body: "yes we're fine\n\nthanks\n\n\nAt 6/16/2016 08:32 PM, you wrote:\nquoted", want: "yes we're fine\n\nthanks"},
		{src: trimmer + "embedded_email_14.txt", name: "trimmer GMT date wrapped address", body: "I just saw the standard plan has the slack integration.\n\nThank you!\n\n2016-10-24 15:36 GMT+02:00 Foo bar <\ninfo@foo.bar>:\n\n> quoted", want: "I just saw the standard plan has the slack integration.\n\nThank you!"},
		{src: trimmer + "embedded_email_15.txt", name: "trimmer long author name", body: "[message body]\n\n/ Greetings\n\n2017-02-05 13:29 GMT+02:00 Very long author name <\nnotifications@forum.some-discourse-host.local>:\n\n> quoted", want: "[message body]\n\n/ Greetings"},
		{src: trimmer + "embedded_email_16.txt", name: "trimmer usenet signature", body: "\nYep, me too, although I bet it may be a little\nlonger yet...\n\n--\nEric Hodel - drbrain@segment7.net\nAll messages signed with fingerprint:\n", want: "Yep, me too, although I bet it may be a little\nlonger yet..."},
		{src: trimmer + "embedded_email_17.txt", name: "trimmer attribution first, unquoted history", body: "On 15 May 2017 19:32, \"Nomadic Sprite\" <nomadic.sprite01@gmail.com> wrote:\n\nThe intent was to return nil.\n", want: ""},
		{src: trimmer + "usenet.txt", name: "trimmer German usenet signature", body: "Mal sehen was hier mit der Signatur passiert!\n\n--\nMit lieben Grüßen\n\nJohn Doe\n", want: "Mal sehen was hier mit der Signatur passiert!"},
		{src: trimmer + "signatures.txt", name: "trimmer Envoyé depuis mon iPhone", body: "This email was sent from many devices ;)\n\nEnvoyé depuis mon iPhone", want: "This email was sent from many devices ;)"},
		{src: trimmer + "signatures.txt", name: "trimmer Von meinem Mobilgerät gesendet", body: "This email was sent from many devices ;)\n\nVon meinem Mobilgerät gesendet", want: "This email was sent from many devices ;)"},
		{src: trimmer + "signatures.txt", name: "trimmer Sent via mobile", body: "This email was sent from many devices ;)\nSent via mobile", want: "This email was sent from many devices ;)"},
		{src: trimmer + "signatures.txt", name: "trimmer Sent with Airmail", body: "This email was sent from many devices ;)\nSent with Airmail", want: "This email was sent from many devices ;)"},
		{src: trimmer + "signatures.txt", name: "trimmer Sent from Windows Mail", body: "This email was sent from many devices ;)\nSent from Windows Mail", want: "This email was sent from many devices ;)"},
		{src: trimmer + "signatures.txt", name: "trimmer Sent from Mailbox for iPad", body: "This email was sent from many devices ;)\nSent from Mailbox for iPad", want: "This email was sent from many devices ;)"},
		{src: trimmer + "signatures.txt", name: "trimmer Sent from my iPod", body: "This email was sent from many devices ;)\nSent from my iPod", want: "This email was sent from many devices ;)"},
		{src: trimmer + "signatures.txt", name: "trimmer Sent from my mobile device", body: "This email was sent from many devices ;)\nSent from my mobile device", want: "This email was sent from many devices ;)"},
		{src: trimmer + "signatures.txt", name: "trimmer (Sent from mobile device)", body: "This email was sent from many devices ;)\n(Sent from mobile device)", want: "This email was sent from many devices ;)"},
		{src: trimmer + "signatures.txt", name: "trimmer 從我的 iPhone 傳送", body: "This email was sent from many devices ;)\n從我的 iPhone 傳送", want: "This email was sent from many devices ;)"},
		{src: trimmer + "signatures.txt", name: "trimmer Verzonden met BlackBerry Work", body: "This email was sent from many devices ;)\nVerzonden met BlackBerry Work", want: "This email was sent from many devices ;)"},
		{src: trimmer + "signatures.txt", name: "trimmer Sent from my cell, please excuse (a sentence, kept)", body: "This email was sent from many devices ;)\nSent from my cell, please excuse any typos.", want: "This email was sent from many devices ;)\nSent from my cell, please excuse any typos."},
		{src: trimmer + "delimiters.txt", name: "trimmer dashes inside a line are no delimiter", body: "This is not a ---------- delimiter.\n\nBut there should be no delimiter after this line\n", want: "This is not a ---------- delimiter.\n\nBut there should be no delimiter after this line"},
		{src: trimmer + "quote_only.txt", name: "trimmer quote only", body: "> This is a quote\n> and nothing else\n", want: ""},
		{src: trimmer + "text_only.txt", name: "trimmer text only", body: "This is just text.\n\nNothing else.", want: "This is just text.\n\nNothing else."},
		{src: trimmer + "quote_and_text.txt", name: "trimmer quote then text", body: "> Some quote\n\nAnd this is some text.\n", want: "And this is some text."},
		{src: trimmer + "forwarded_gmail.txt", name: "trimmer Gmail forward", body: "FYI\n\n---------- Forwarded message ----------\nFrom: Someone <someone@example.com>\nDate: Tue, 1 Mar 2016\n\nbody", want: "FYI"},
		{src: trimmer + "forwarded_apple.txt", name: "trimmer Apple forward", body: "FYI\n\nBegin forwarded message:\n\nFrom: Someone <someone@example.com>\n\nbody", want: "FYI"},

		// --- github/email_reply_parser: test/emails
		{src: erp + "email_1_2.txt", name: "erp bottom-posted answer below attribution", body: "Hi,\nOn Tue, 2011-03-01 at 18:02 +0530, Abhishek Kona wrote:\n> Hi folks\n>\n> What is the best way to clear a Riak bucket?\n\nYou can list the keys for the bucket and call delete for each.\n\nwould do it.\n", want: "Hi,\n\nYou can list the keys for the bucket and call delete for each.\n\nwould do it."},
		{src: erp + "email_1_3.txt", name: "erp -Name before attribution", body: "Oh thanks.\n\nHaving the function would be great.\n\n-Abhishek Kona\n\nOn 01/03/11 7:07 PM, Russell Brown wrote:\n> Hi,\n", want: "Oh thanks.\n\nHaving the function would be great."},
		{src: erp + "email_1_6.txt", name: "erp three-line attribution after custom signature", body: "I get proper rendering as well.\n\nSent from a magnificent torch of pixels\n\nOn Dec 16, 2011, at 12:47 PM, Corey Donohoe\n<reply@reply.github.com>\nwrote:\n\n> Was this caching related or fixed already?", want: "I get proper rendering as well."},
		{src: erp + "email_2_1.txt", name: "erp Outlook bold block", body: "Outlook with a reply\n\n\n ------------------------------\n\n*From:* Google Apps Sync Team [mailto:mail-noreply@google.com]\n*Sent:* Thursday, February 09, 2012 1:36 PM\n*To:* jow@xxxx.com\n*Subject:* Google Apps Sync was updated!\n\nDear user,\n", want: "Outlook with a reply"},
		{src: erp + "email_bullets.txt", name: "erp bullets kept, signature after quote", body: "test 2 this should list second\n\nand have spaces\n\n   - how about bullets\n   - and another\n\n\nOn Fri, Feb 24, 2012 at 10:19 AM, <examples@email.goalengine.com> wrote:\n\n> Give us an example\n\n\n\n\n-- \n\n*Joe Smith | Director*", want: "test 2 this should list second\n\nand have spaces\n\n- how about bullets\n- and another"},
		{src: erp + "correct_sig.txt", name: "erp correct signature", body: "this is an email with a correct -- signature.\n\n-- \nrick", want: "this is an email with a correct -- signature."},
		{src: erp + "email_sig_delimiter_in_middle_of_line.txt", name: "erp delimiter mid-line", body: "Hi there!\n\nStuff happened.\n\nAnd here is a fix -- this is not a signature.\n\nkthxbai", want: "Hi there!\n\nStuff happened.\n\nAnd here is a fix -- this is not a signature.\n\nkthxbai"},
		{src: erp + "email_one_is_not_on.txt", name: "erp One is not On", body: "Thank, this is really helpful.\n\nOne outstanding question I had:\n\nLocally (on development), when I run...\n\nOn Oct 1, 2012, at 11:55 PM, Dave Tapley wrote:\n\n> The good news is that I've found a much better query.", want: "Thank, this is really helpful.\n\nOne outstanding question I had:\n\nLocally (on development), when I run..."},
		{src: erp + "greedy_on.txt", name: "erp greedy On", body: "On your remote host you can run:\n\n     telnet 127.0.0.1 52698\n\nThis should connect to TextMate.\n\nOn 9 Jan 2014, at 2:47, George Plymale wrote:\n\n> I am having an odd issue", want: "On your remote host you can run:\n\ntelnet 127.0.0.1 52698\n\nThis should connect to TextMate."},
		{src: erp + "pathological.txt", name: "erp pathological long quote", body: "I think you're onto something.\nOn Dec 8, 2013 2:10 PM, \"John Sullivan\" <notifications@github.com> wrote:\n\n> I think your code is shortening the reference sequence\n>\n> reference_alignment: ________________________________________________\n", want: "I think you're onto something."},
		{src: erp + "email_iPhone.txt", name: "erp iPhone", body: "Here is another email\n\nSent from my iPhone", want: "Here is another email"},
		{src: erp + "email_BlackBerry.txt", name: "erp BlackBerry", body: "Here is another email\n\nSent from my BlackBerry", want: "Here is another email"},
		{src: erp + "email_multi_word_sent_from_my_mobile_device.txt", name: "erp Verizon Wireless", body: "Here is another email\n\nSent from my Verizon Wireless BlackBerry", want: "Here is another email"},
		{src: erp + "email_sent_from_my_not_signature.txt", name: "erp Sent from my not a signature", body: "Here is another email\n\nSent from my desk, is much easier then my mobile phone.", want: "Here is another email\n\nSent from my desk, is much easier then my mobile phone."},
	}
}

// TestReplyCases: the reply's own text is found wherever the person wrote
// it, in every client's layout and language; its decision and fields are
// read from it, and an answer given two different ways is ambiguous.
func TestReplyCases(t *testing.T) {
	cases := replyCases()
	if len(cases) < 150 {
		t.Fatalf("%d reply cases; issue 18 asks for at least 150", len(cases))
	}
	names := map[string]bool{}
	for _, c := range cases {
		if c.src == "" || names[c.name] {
			t.Fatalf("case %q: every case names its source once", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			lines := mail.ExtractReply(c.body)
			if got := mail.ReplyText(c.body); got != c.want {
				t.Fatalf("source: %s\nreply text:\n%q\nwant:\n%q", c.src, got, c.want)
			}
			if c.values == nil && !c.ambiguous {
				return
			}
			a := mail.ReadAnswer(lines, claimFields)
			if c.ambiguous {
				if len(a.Ambiguous) == 0 {
					t.Fatalf("source: %s\nnot ambiguous: %+v", c.src, a)
				}
				return
			}
			if len(a.Ambiguous) > 0 || len(a.Problems) > 0 || !reflect.DeepEqual(a.Values, c.values) {
				t.Fatalf("source: %s\nanswer %+v, want values %v", c.src, a, c.values)
			}
		})
	}
}
