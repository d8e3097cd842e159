package mail

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Reply extraction: the reply's own text, wherever the person wrote it.
//
// People top-post (answer above the quote), bottom-post (below it) and
// answer inline (between quoted blocks). The lines they wrote are the lines
// that are not quoted history: ">" lines are history, an attribution line
// ("On … wrote:", in many languages and wrapped over up to three lines)
// that introduces ">" lines is dropped with them, and the text after it is
// read on. History that is not ">"-quoted (Outlook's header block, its
// "-----Original Message-----", forwarded-message markers, an attribution
// followed by plain text) ends the reply: nothing after it is the person's.
// A signature ("-- ") ends it too; a phone's "Sent from my iPhone" and a
// "-Name" sign-off are dropped only when they are the whole last line
// before history or the end.
var (
	// attrVerbEnd: the verb of an attribution, right before its colon.
	attrVerbEnd = regexp.MustCompile(`(?i)(wrote|writes|sent|a écrit|a ecrit|schrieb|schreef|geschreven|escribió|escribio|escreveu|ha scritto|skrev|napisał\(a\)|napisał|napisała|napisal|написал\(а\)|написал|написала|пише|kirjoitti|írta|yazdı|寫道|写道|が書きました)\s*:$`)
	// Gmail in German puts the date after the verb: "X <x@y> schrieb am
	// Fr., 28. Apr. 2017 um 11:53 Uhr:".
	attrSchriebAm = regexp.MustCompile(`(?i)\bschrieb am\b.*:$`)
	// No verb at all (Gmail in several languages, old Gmail): a date and
	// "Name <address>:" ("2014-10-17 11:28 GMT+03:00 Postmaster <p@x>:").
	attrAddrEnd = regexp.MustCompile(`@[^\s]+>\)?\s*:$`)
	// Old Gmail without a colon: "2011/4/7 Nathan <support@example.com>".
	attrDateAddr = regexp.MustCompile(`^\d{4}[/.-]\d{1,2}[/.-]\d{1,2}\b.*<[^<>\s]+@[^<>\s]+>$`)
	// What the first line of a wrapped attribution starts with or holds.
	attrStart = regexp.MustCompile(`(?i)^(on|le|am|el|il|op|em|den|dne|dnia|w dniu|på|at|\d|"|')\b|[<@]|\b(schrieb|schreef|пользователь)\b`)
	// The words an attribution line begins with.
	attrLead = regexp.MustCompile(`(?i)^(on|le|am|el|il|op|em|den|dne|dnia|w dniu|på|at|\d)\b`)
	// "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:": the
	// reply and the attribution share a line.
	attrInline = regexp.MustCompile(`(?i)^(.*?\S)\s*-*\s*(\bon\s.{6,}\bwrote:)\s*$`)

	// Markers of unquoted history: everything from them on is not the reply.
	historyMarkers = []*regexp.Regexp{
		regexp.MustCompile(`(?i)^[*_]*-{2,}\s*(original message|reply message|ursprüngliche nachricht|antwort nachricht|oprindelig meddelelse|mensaje original|message d'origine|message original|messaggio originale|oorspronkelijk bericht|mensagem original|originalmeddelande|opprinnelig melding|alkuperäinen viesti|wiadomość oryginalna|исходное сообщение|forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht|mensagem encaminhada)\s*-{2,}[*_]*$`),
		regexp.MustCompile(`(?i)^(begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié|inicio del mensaje reenviado)\s*:$`),
		regexp.MustCompile(`^_{10,}$`), // Outlook (web, mobile): a rule before the header block
	}
	// An Outlook header block: a "From:" line (or "Date:") followed within
	// four lines by another header of the block; names in a dozen
	// languages, bold ("*From:*") when converted from HTML.
	headerFirst = regexp.MustCompile(`(?i)^\*?(from|de|von|van|da|fra|från|od|от|lähettäjä|feladó|date)\s*:\*?\s*\S`)
	headerNext  = regexp.MustCompile(`(?i)^\*?(sent|date|to|subject|cc|reply-to|envoyé|à|objet|gesendet|an|betreff|datum|enviado|enviado el|para|asunto|assunto|inviato|data|a|oggetto|risposta|verzonden|aan|onderwerp|skickat|till|ämne|sendt|til|emne|wysłane|do|temat|отправлено|кому|тема|from)\s*:\*?(\s|$)`)
	// RFC 3676's "-- " (and the "--" clients leave when they trim spaces).
	sigDelimiter = regexp.MustCompile(`^(-- ?|—)$`)
	// A phone's or app's signature, as a whole line.
	mobileSig = regexp.MustCompile(`(?i)^[(<]*(sent from my [\p{L}\d][\p{L}\d '’-]{0,40}|sent from (mail|outlook|yahoo mail|windows mail|mailbox|samsung mobile|aol mobile mail)( for [\p{L}\d ]{1,20}| on [\p{L}\d ]{1,20})?|sent (from|via|with|using) (a |my )?[\p{L}\d ]{1,30}|get outlook for (ios|android)|envoyé de mon [\p{L}\d ]{1,30}|envoyé depuis mon [\p{L}\d ]{1,30}|von meinem [\p{L}\d -]{1,30} gesendet|enviado desde mi [\p{L}\d ]{1,30}|enviado do meu [\p{L}\d ]{1,30}|enviado a partir do meu [\p{L}\d ]{1,30}|inviato da(l mio)? [\p{L}\d ]{1,30}|verzonden (met|vanaf) (mijn )?[\p{L}\d ]{1,30}|sendt fra min [\p{L}\d ]{1,30}|skickat från min [\p{L}\d ]{1,30}|wysłane z mojego [\p{L}\d ]{1,30}|отправлено с моего [\p{L}\d ]{1,30}|從我的 iphone 傳送|从我的iphone发送|iphoneから送信)[.!)>]*$`)
	// A "-Name" sign-off: a dash and one to three capitalised words.
	dashName = regexp.MustCompile(`^(-|-- ?|— ?|– ?)\p{Lu}[\p{L}.'’-]*( \p{Lu}[\p{L}.'’-]*){0,2}$`)
	// "> Decision: Approve, Reject (required)": a quoted field line, so an
	// answer right below it can be read as that field's value.
	quotedField = regexp.MustCompile(`^\s*[*_]*([\p{L}][\p{L}\d _-]{0,40}?)[*_]*\s*:`)
	// A line of decoration only ("----", "***", "ᐧ").
	decoration = regexp.MustCompile(`^[-_*=~#.ᐧ\s]*$`)
)

// ReplyLine is one line of the reply's own text.
type ReplyLine struct {
	Text string
	// Under is the name of the quoted "Name: …" line this line answers
	// when it is the first line right below it ("> Decision: Approve,
	// Reject" then "Approve"); empty otherwise.
	Under string
}

// ReplyText returns the reply's own text (ExtractReply's lines, joined).
func ReplyText(body string) string {
	lines := ExtractReply(body)
	s := make([]string, len(lines))
	for i, l := range lines {
		s[i] = l.Text
	}
	return strings.Join(s, "\n")
}

// normalizeBody turns CR LF and CR into LF and the spaces some clients
// write (no-break, narrow, figure) into plain spaces; zero-width
// characters go.
func normalizeBody(body string) string {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	return strings.Map(func(r rune) rune {
		switch r {
		case '\u00a0', '\u202f', '\u2007', '\t':
			return ' '
		case '\ufeff', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f':
			return -1
		}
		return r
	}, body)
}

// quoted reports whether l is a ">" line and returns it without its markers.
func quoted(l string) (string, bool) {
	t := strings.TrimLeft(l, " ")
	if !strings.HasPrefix(t, ">") {
		return "", false
	}
	for strings.HasPrefix(t, ">") {
		t = strings.TrimLeft(t[1:], " ")
	}
	return t, true
}

// ExtractReply returns the lines the person wrote, in order, without the
// quoted history, attributions and signatures; runs of blank lines are one
// blank line, and there are none at either end.
func ExtractReply(body string) []ReplyLine {
	lines := strings.Split(normalizeBody(body), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	var out []ReplyLine
	under := ""         // the field of the last quoted block's last line
	afterQuote := false // only blank lines since the last quoted line
	runStart := 0       // index in out where the current own run began
	prevQuoted := ""    // the last quoted line's text, for wrap detection
	endRun := func() {  // at history or the end: drop a trailing sign-off
		out = dropSignOff(out, runStart)
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		if q, ok := quoted(l); ok {
			if !afterQuote {
				endRun()
			}
			afterQuote, prevQuoted = true, q
			under = ""
			if m := quotedField.FindStringSubmatch(q); m != nil {
				under = strings.TrimSpace(m[1])
			}
			continue
		}
		if t == "" {
			if len(out) > 0 && out[len(out)-1].Text != "" {
				out = append(out, ReplyLine{})
			}
			if !afterQuote {
				prevQuoted = ""
			}
			continue
		}
		// A quoted line the sender's client wrapped: a plain line between
		// two ">" lines, right after a long one, starting in lower case.
		if prevQuoted != "" && afterQuote && i > 0 && i+1 < len(lines) && strings.TrimSpace(lines[i-1]) != "" &&
			utf8.RuneCountInString(prevQuoted) >= 60 && startsLower(t) {
			if _, ok := quoted(lines[i+1]); ok {
				continue
			}
		}
		if sigDelimiter.MatchString(t) || isHistoryMarker(t) || isHeaderBlock(lines, i) {
			endRun()
			break
		}
		if m := attrInline.FindStringSubmatch(t); m != nil && isAttribution(m[2]) {
			if before := strings.TrimRight(m[1], "- "); strings.IndexFunc(before, unicode.IsLetter) >= 0 && !attrLead.MatchString(strings.TrimLeft(t, "-* ")) {
				out = appendOwn(out, before, &afterQuote, &runStart, under)
				endRun()
				if quoteFollows(lines, i+1) {
					continue
				}
				break
			}
		}
		if n := attribution(lines, i); n > 0 {
			if quoteFollows(lines, i+n) {
				endRun()
				i += n - 1
				continue
			}
			endRun()
			break
		}
		u := ""
		if afterQuote {
			u = under
		}
		out = appendOwn(out, t, &afterQuote, &runStart, u)
		prevQuoted = ""
	}
	endRun()
	for len(out) > 0 && (out[len(out)-1].Text == "" || decoration.MatchString(out[len(out)-1].Text)) {
		out = out[:len(out)-1]
	}
	for len(out) > 0 && out[0].Text == "" {
		out = out[1:]
	}
	return out
}

func startsLower(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsLower(r)
}

// appendOwn adds a line the person wrote; the first line after a quoted
// block starts a new run (for sign-off detection) and may answer the
// quoted field above it.
func appendOwn(out []ReplyLine, text string, afterQuote *bool, runStart *int, under string) []ReplyLine {
	if *afterQuote {
		*runStart = len(out)
		*afterQuote = false
	}
	return append(out, ReplyLine{Text: text, Under: under})
}

// dropSignOff removes a phone signature or "-Name" that is the last
// non-blank line of the run starting at from. A "-Name" goes only when the
// run has other text (a lone "-Approve" is an answer, not a sign-off).
func dropSignOff(out []ReplyLine, from int) []ReplyLine {
	last := len(out) - 1
	for last >= from && out[last].Text == "" {
		last--
	}
	if last < from {
		return out
	}
	t := out[last].Text
	switch {
	case mobileSig.MatchString(t):
	case dashName.MatchString(t) && hasTextBefore(out, from, last):
	default:
		return out
	}
	return out[:last]
}

func hasTextBefore(out []ReplyLine, from, last int) bool {
	for k := from; k < last; k++ {
		if out[k].Text != "" {
			return true
		}
	}
	return false
}

// quoteFollows reports whether the first non-blank line from i is quoted.
func quoteFollows(lines []string, i int) bool {
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		_, ok := quoted(lines[i])
		return ok
	}
	return false
}

// attribution returns how many lines (1 to 3) starting at i form an
// attribution line, or 0.
func attribution(lines []string, i int) int {
	first := strings.TrimSpace(lines[i])
	if utf8.RuneCountInString(first) > 300 {
		return 0
	}
	joined := first
	for n := 1; n <= 3 && i+n <= len(lines); n++ {
		if n > 1 {
			next := strings.TrimSpace(lines[i+n-1])
			if next == "" {
				return 0
			}
			if _, q := quoted(lines[i+n-1]); q {
				return 0
			}
			if !attrStart.MatchString(strings.TrimLeft(first, "-* ")) {
				return 0
			}
			if strings.HasSuffix(joined, "<") {
				joined += next // "Name <" then "address>:"
			} else {
				joined += " " + next
			}
		}
		if isAttribution(joined) {
			return n
		}
	}
	return 0
}

// isAttribution reads one (joined) attribution candidate.
func isAttribution(s string) bool {
	decorated := strings.HasSuffix(s, "-")
	s = strings.Trim(strings.ReplaceAll(s, "：", ":"), " \t*_-")
	if s == "" || utf8.RuneCountInString(s) > 400 {
		return false
	}
	hasDigitOrAt := strings.ContainsAny(s, "0123456789@")
	if decorated && !strings.HasSuffix(s, ":") {
		s += ":" // "---- On … wrote ----"
	}
	switch {
	case attrVerbEnd.MatchString(s) && hasDigitOrAt:
		return true
	case attrSchriebAm.MatchString(s) && hasDigitOrAt:
		return true
	case attrAddrEnd.MatchString(s) && strings.ContainsAny(s, "0123456789"):
		return true
	case attrDateAddr.MatchString(s):
		return true
	}
	return false
}

func isHistoryMarker(t string) bool {
	for _, re := range historyMarkers {
		if re.MatchString(t) {
			return true
		}
	}
	return false
}

// isHeaderBlock reports whether line i starts an Outlook-style header block.
func isHeaderBlock(lines []string, i int) bool {
	if !headerFirst.MatchString(strings.TrimSpace(lines[i])) {
		return false
	}
	for j := i + 1; j < len(lines) && j <= i+4; j++ {
		if headerNext.MatchString(strings.TrimSpace(lines[j])) {
			return true
		}
	}
	return false
}
