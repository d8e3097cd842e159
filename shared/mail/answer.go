package mail

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Answer is what a reply's own text says about the task's fields.
type Answer struct {
	Values   map[string]any
	Problems []string // what to fix (missing, wrong type)
	// Ambiguous says what was unclear: a choice answered two different
	// ways, a field given twice with different values. An ambiguous reply
	// never completes a task, whatever else it holds.
	Ambiguous []string
}

// ParseReply reads the task's fields from reply text (see ReadAnswer); the
// problems are the ambiguities followed by what to fix.
func ParseReply(text string, fields []Field) (map[string]any, []string) {
	var lines []ReplyLine
	for _, l := range strings.Split(text, "\n") {
		lines = append(lines, ReplyLine{Text: l})
	}
	a := ReadAnswer(lines, fields)
	return a.Values, append(a.Ambiguous, a.Problems...)
}

// ReadAnswer reads the task's fields from the reply's own lines, wherever
// they sit: "Field: value" lines (field names match without regard to
// case, spaces, _ and -); a line that is one of the choices of a choice
// field ("Approve", "reject.") or starts with it ("Approve - looks good");
// and an inline answer right below a quoted "Field: …" line, when its value
// is valid for that field. Every value is validated by its field's type.
// A field answered twice with different values is ambiguous, not guessed.
func ReadAnswer(lines []ReplyLine, fields []Field) Answer {
	byName := map[string]*Field{}
	for i := range fields {
		byName[normName(fields[i].Name)] = &fields[i]
	}
	raw := map[string]string{}
	conflict := map[string]bool{}
	var a Answer
	set := func(f *Field, v string) {
		prev, had := raw[f.Name]
		switch {
		case !had:
			raw[f.Name] = v
		case sameValue(*f, prev, v) || conflict[f.Name]:
		default:
			conflict[f.Name] = true
			what := "is given twice with different values"
			if f.Type == FieldChoice {
				what = "is answered two different ways"
			}
			a.Ambiguous = append(a.Ambiguous, fmt.Sprintf("%s %s (%q and %q); nothing was completed: reply again with one %s", f.Name, what, clip(prev), clip(v), f.Name))
		}
	}
	for _, line := range lines {
		l := strings.TrimSpace(line.Text)
		l = strings.TrimLeft(l, "*-•·– ")
		l = strings.Trim(l, "*_")
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if name, v, ok := strings.Cut(l, ":"); ok {
			if f := byName[normName(strings.Trim(strings.TrimSpace(name), "*_"))]; f != nil {
				set(f, strings.Trim(v, " *_"))
				continue
			}
		}
		if f, c := bareChoice(l, fields); f != nil {
			set(f, c)
			continue
		}
		if f := byName[normName(line.Under)]; f != nil && line.Under != "" {
			if _, bad := fieldValue(*f, l); bad == "" {
				set(f, l)
			}
		}
	}
	a.Values = map[string]any{}
	for i := range fields {
		f := &fields[i]
		v, ok := raw[f.Name]
		if conflict[f.Name] {
			continue
		}
		if !ok || v == "" {
			if f.Required {
				a.Problems = append(a.Problems, fmt.Sprintf("%s is required: write a line \"%s: %s\"", f.Name, f.Name, hint(*f)))
			}
			continue
		}
		val, err := fieldValue(*f, v)
		if err != "" {
			a.Problems = append(a.Problems, err)
			continue
		}
		a.Values[f.Name] = val
	}
	return a
}

// sameValue: two answers that mean the same ("Approve" and "approve.",
// "1,250.50" and "1250.5") are one answer.
func sameValue(f Field, x, y string) bool {
	if strings.EqualFold(x, y) {
		return true
	}
	vx, ex := fieldValue(f, x)
	vy, ey := fieldValue(f, y)
	return ex == "" && ey == "" && vx == vy
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

// parseNumber accepts 1234, -12.5, 1,234.50, 1.234,50, 1 234,5 and 1234,5
// (a single comma with one to two decimals is a decimal comma).
func parseNumber(v string) (float64, bool) {
	s := strings.NewReplacer(" ", "", "\u00a0", "", "'", "", "_", "").Replace(v)
	if c, d := strings.LastIndex(s, ","), strings.LastIndex(s, "."); c > d && d >= 0 {
		// 1.250,50: points group thousands, the comma is the decimal mark
		s = strings.Replace(strings.ReplaceAll(s, ".", ""), ",", ".", 1)
	}
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
