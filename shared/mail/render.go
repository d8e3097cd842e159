package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"sort"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

//go:embed templates/*.txt templates/*.html
var templateFS embed.FS

// Product names the service in e-mails.
const Product = "Studio Collaboration Services"

// Rendered is a notification's subject and bodies.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// view is what templates see.
type view struct {
	Kind    string
	Project string
	Product string
	Subject string // the rendered subject, for the HTML title
	Data    map[string]any
}

// Templates holds the parsed templates of every kind.
type Templates struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// LoadTemplates parses the embedded templates; a kind without both files is
// an error (a test keeps every kind covered).
func LoadTemplates() (*Templates, error) {
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	layout, err := templateFS.ReadFile("templates/layout.html")
	if err != nil {
		return nil, err
	}
	for _, k := range Kinds() {
		tt, err := texttemplate.New(k).Funcs(texttemplate.FuncMap(funcs)).Option("missingkey=zero").ParseFS(templateFS, "templates/"+k+".txt")
		if err != nil {
			return nil, fmt.Errorf("template %s.txt: %w", k, err)
		}
		ht, err := htmltemplate.New(k).Funcs(htmltemplate.FuncMap(funcs)).Option("missingkey=zero").Parse(string(layout))
		if err == nil {
			ht, err = ht.ParseFS(templateFS, "templates/"+k+".html")
		}
		if err != nil {
			return nil, fmt.Errorf("template %s.html: %w", k, err)
		}
		t.text[k], t.html[k] = tt, ht
	}
	return t, nil
}

// Render renders n. Optional data the templates test with "with" may be
// absent; required data was checked by Enqueue.
func (t *Templates) Render(n Notification) (Rendered, error) {
	const op = "mail.Render"
	tt, ok := t.text[n.Kind]
	if !ok {
		return Rendered{}, fault.E(op, fault.Invalid, fmt.Sprintf("no template for kind %q", n.Kind))
	}
	v := view{Kind: n.Kind, Project: n.Project, Product: Product, Data: n.Data}
	if strings.HasPrefix(v.Project, "subscription:") {
		v.Project = ""
	}
	var subj, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subj, "subject", v); err != nil {
		return Rendered{}, fault.E(op, fault.Invalid, err)
	}
	v.Subject = headerText(subj.String(), 250)
	if err := tt.ExecuteTemplate(&text, "text", v); err != nil {
		return Rendered{}, fault.E(op, fault.Invalid, err)
	}
	if err := t.html[n.Kind].ExecuteTemplate(&html, "layout", v); err != nil {
		return Rendered{}, fault.E(op, fault.Invalid, err)
	}
	return Rendered{Subject: v.Subject, Text: strings.TrimLeft(text.String(), "\n"), HTML: html.String()}, nil
}

var funcs = map[string]any{
	"when":       when,
	"list":       list,
	"value":      value,
	"fieldHint":  fieldHint,
	"choiceLine": choiceLine,
}

// when formats a time (a time.Time or an RFC 3339 string) for people.
func when(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case string:
		p, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return x
		}
		t = p
	default:
		return fmt.Sprint(v)
	}
	return t.UTC().Format("Mon 2 Jan 2006 15:04 MST")
}

// list joins a list with commas.
func list(v any) string {
	xs, ok := v.([]any)
	if !ok {
		return fmt.Sprint(v)
	}
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ", ")
}

// value formats a field value: whole numbers without an exponent.
func value(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func fieldMap(f any) map[string]any { m, _ := f.(map[string]any); return m }

// fieldHint says what a field's line takes.
func fieldHint(f any) string {
	m := fieldMap(f)
	switch m["type"] {
	case FieldChoice:
		return list(m["choices"])
	case FieldBool:
		return "yes or no"
	case FieldNumber:
		return "a number"
	case FieldDate:
		return "a date, YYYY-MM-DD"
	}
	return "text"
}

// choiceLine offers the one-word answer when the task has exactly one
// choice field: "Approve or Reject".
func choiceLine(fields any) string {
	xs, _ := fields.([]any)
	var choices []string
	n := 0
	for _, f := range xs {
		m := fieldMap(f)
		if m["type"] != FieldChoice {
			continue
		}
		n++
		cs, _ := m["choices"].([]any)
		for _, c := range cs {
			choices = append(choices, fmt.Sprint(c))
		}
	}
	if n != 1 || len(choices) == 0 {
		return ""
	}
	if len(choices) == 1 {
		return choices[0]
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}

// sortedKeys is used by tests and by confirmation data.
func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
