package mail

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Reply text: what the person wrote above the quoted history. The cut
// points are the markers mail clients put before the quoted or forwarded
// message and before signatures; the first one found ends the reply.
var (
	// "On Mon, 2 Dec 2026 at 10:00, Studio <x@y> wrote:" (Gmail, Apple Mail,
	// Thunderbird), possibly wrapped over two lines; and a few languages.
	attributionStart = regexp.MustCompile(`(?i)^(on|le|am|el|il|op|em|den)\s.{4,}`)
	attributionEnd   = regexp.MustCompile(`(?i)(wrote|a écrit|schrieb|escribió|ha scritto|schreef|escreveu|skrev)\s*:\s*$`)
	cutLines         = []*regexp.Regexp{
		regexp.MustCompile(`(?i)^-{2,}\s*original message\s*-{2,}`),                // Outlook (classic)
		regexp.MustCompile(`(?i)^-{2,}\s*forwarded message\s*-{2,}`),               // Gmail forward
		regexp.MustCompile(`(?i)^begin forwarded message:`),                        // Apple Mail forward
		regexp.MustCompile(`^_{10,}\s*$`),                                          // Outlook (web, mobile) rule before the header block
		regexp.MustCompile(`^-- ?$`),                                               // RFC 3676 signature delimiter
		regexp.MustCompile(`(?i)^(sent from my |get outlook for |envoyé de mon )`), // mobile signatures
	}
	// An Outlook header block: "From: …" followed within three lines by
	// "Sent:"/"Date:" and "To:"/"Subject:".
	headerFrom = regexp.MustCompile(`(?i)^\*?(from|de|von|van)\s*:\*?\s`)
	headerNext = regexp.MustCompile(`(?i)^\*?(sent|date|to|subject|envoyé|gesendet|datum|enviado|cc)\s*:\*?\s`)
)

// ReplyText returns the reply's own text: quoted (">") lines dropped, and
// everything from the first attribution line, forwarded or original message
// marker, Outlook header block or signature on cut away.
func ReplyText(body string) string {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	body = strings.Map(func(r rune) rune {
		switch r {
		case '\u00a0', '\u202f', '\u2007':
			return ' '
		case '\ufeff', '\u200b':
			return -1
		}
		return r
	}, body)
	lines := strings.Split(body, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], " \t")
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, ">") {
			continue
		}
		if cutAt(lines, i) {
			break
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func cutAt(lines []string, i int) bool {
	t := strings.TrimSpace(lines[i])
	for _, re := range cutLines {
		if re.MatchString(t) {
			return true
		}
	}
	if attributionStart.MatchString(t) {
		for j := i; j < len(lines) && j <= i+2; j++ {
			if attributionEnd.MatchString(strings.TrimSpace(lines[j])) {
				return true
			}
		}
	}
	if headerFrom.MatchString(t) {
		for j := i + 1; j < len(lines) && j <= i+3; j++ {
			if headerNext.MatchString(strings.TrimSpace(lines[j])) {
				return true
			}
		}
	}
	return false
}

// ParseReply reads the task's fields from reply text: "Field: value" lines
// (field names match without regard to case, spaces, _ and -), and a line
// that is just one of the choices of a choice field ("Approve", "reject.")
// or starts with it ("Approve - looks good"). Every value is validated by
// its field's type. It returns the values and what to fix; a reply
// completes the task only when there is nothing to fix.
func ParseReply(text string, fields []Field) (map[string]any, []string) {
	byName := map[string]*Field{}
	for i := range fields {
		byName[normName(fields[i].Name)] = &fields[i]
	}
	raw := map[string]string{}
	explicit := map[string]bool{}
	var problems []string
	conflict := map[string]bool{}
	set := func(f *Field, v string, isExplicit bool) {
		prev, had := raw[f.Name]
		switch {
		case !had:
			raw[f.Name], explicit[f.Name] = v, isExplicit
		case explicit[f.Name] && !isExplicit:
			// an explicit "Decision: Approve" wins over a bare word
		case !explicit[f.Name] && isExplicit:
			raw[f.Name], explicit[f.Name] = v, true
		case !strings.EqualFold(prev, v) && !conflict[f.Name]:
			conflict[f.Name] = true
			problems = append(problems, fmt.Sprintf("%s is given twice (%q and %q); give it once", f.Name, clip(prev), clip(v)))
		}
	}
	for _, line := range strings.Split(text, "\n") {
		l := strings.TrimSpace(line)
		l = strings.TrimLeft(l, "*-•·– ")
		l = strings.Trim(l, "*_")
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if name, v, ok := strings.Cut(l, ":"); ok {
			if f := byName[normName(strings.Trim(strings.TrimSpace(name), "*_"))]; f != nil {
				set(f, strings.TrimSpace(strings.Trim(strings.TrimSpace(v), "*_")), true)
				continue
			}
		}
		if f, c := bareChoice(l, fields); f != nil {
			set(f, c, false)
		}
	}
	values := map[string]any{}
	for i := range fields {
		f := &fields[i]
		v, ok := raw[f.Name]
		if conflict[f.Name] {
			continue
		}
		if !ok || v == "" {
			if f.Required {
				problems = append(problems, fmt.Sprintf("%s is required: write a line \"%s: %s\"", f.Name, f.Name, hint(*f)))
			}
			continue
		}
		val, err := fieldValue(*f, v)
		if err != "" {
			problems = append(problems, err)
			continue
		}
		values[f.Name] = val
	}
	return values, problems
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func hint(f Field) string {
	switch f.Type {
	case FieldChoice:
		return strings.Join(f.Choices, " or ")
	case FieldBool:
		return "yes or no"
	case FieldNumber:
		return "a number"
	case FieldDate:
		return "YYYY-MM-DD"
	}
	return "your text"
}

// bareChoice finds the choice field whose choice the line is, or begins
// with as a whole word ("Approve", "Approve.", "approve - fine by me").
// A word that is a choice of two fields is ambiguous and matches neither.
func bareChoice(line string, fields []Field) (*Field, string) {
	word := line
	if i := strings.IndexFunc(line, func(r rune) bool { return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == ' ') }); i >= 0 {
		word = line[:i]
	}
	word = strings.TrimSpace(word)
	var found *Field
	var choice string
	for i := range fields {
		f := &fields[i]
		if f.Type != FieldChoice {
			continue
		}
		for _, c := range f.Choices {
			if strings.EqualFold(word, c) || (strings.HasPrefix(strings.ToLower(word), strings.ToLower(c)+" ") && len(word) <= len(c)+40 && strings.Count(line, " ") <= 8) {
				if found != nil && found != f {
					return nil, ""
				}
				found, choice = f, c
			}
		}
	}
	return found, choice
}

// fieldValue validates v for f; the string is what to fix.
func fieldValue(f Field, v string) (any, string) {
	switch f.Type {
	case FieldChoice:
		for _, c := range f.Choices {
			if strings.EqualFold(strings.TrimRight(v, ".!"), c) {
				return c, ""
			}
		}
		return nil, fmt.Sprintf("%s must be %s, not %q", f.Name, hint(f), clip(v))
	case FieldBool:
		switch strings.ToLower(strings.TrimRight(v, ".!")) {
		case "yes", "y", "true", "1", "oui", "sí", "si", "ja":
			return true, ""
		case "no", "n", "false", "0", "non", "nein", "nee":
			return false, ""
		}
		return nil, fmt.Sprintf("%s must be yes or no, not %q", f.Name, clip(v))
	case FieldNumber:
		n, ok := parseNumber(v)
		if !ok {
			return nil, fmt.Sprintf("%s must be a number, not %q", f.Name, clip(v))
		}
		return n, ""
	case FieldDate:
		d, ok := parseDate(v)
		if !ok {
			return nil, fmt.Sprintf("%s must be a date like 2026-12-31, not %q", f.Name, clip(v))
		}
		return d, ""
	}
	if len(v) > 2000 {
		return nil, fmt.Sprintf("%s is longer than 2,000 characters", f.Name)
	}
	return v, ""
}

// parseNumber accepts 1234, -12.5, 1,234.50, 1 234,5 and 1234,5 (a single
// comma with one to two decimals is a decimal comma).
func parseNumber(v string) (float64, bool) {
	s := strings.NewReplacer(" ", "", "\u00a0", "", "'", "", "_", "").Replace(v)
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		if i := strings.Index(s, ","); len(s)-i-1 <= 2 {
			s = strings.Replace(s, ",", ".", 1)
		}
	}
	s = strings.ReplaceAll(s, ",", "")
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n != n || n > 1e15 || n < -1e15 {
		return 0, false
	}
	return n, true
}

var dateLayouts = []string{"2006-01-02", "2006/01/02", "2 Jan 2006", "2 January 2006", "Jan 2, 2006", "January 2, 2006", "02.01.2006"}

func parseDate(v string) (string, bool) {
	v = strings.TrimRight(strings.TrimSpace(v), ".")
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}
