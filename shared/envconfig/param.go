package envconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/studio-collab/collab/shared/fault"
)

// Type is a parameter's value type.
type Type string

// The parameter types.
const (
	TypeString Type = "string"
	TypeInt    Type = "int"
	TypeBool   Type = "bool"
	TypeURL    Type = "url"
	TypeSecret Type = "secret"
)

// Impact says what a change of the parameter needs before the environment
// uses it: nothing (hot), or a restart of the Work Portal or the Scheduler.
// The names are the deployment classifier's (DESIGN §4.5).
type Impact string

// The impacts.
const (
	Hot              Impact = "hot"
	RestartPortal    Impact = "restart-portal"
	RestartScheduler Impact = "restart-scheduler"
)

// NeedsRestart reports whether a change waits for a maintenance window.
func (i Impact) NeedsRestart() bool { return i == RestartPortal || i == RestartScheduler }

// Mask is what every answer shows instead of a secret's value.
const Mask = "***"

// Limits of a parameter's definition and value.
const (
	MaxValueBytes   = 8192
	maxPatternBytes = 512
	maxEnum         = 100
	maxEnumBytes    = 256 // one enum value; 100 of them keep a row small
)

var namePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]{0,63}$`)

// ValidName reports whether s can name a parameter: a letter, then up to 63
// letters, digits, dots, underscores or hyphens.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// Validation constrains a parameter's values. Which rules apply depends on
// the type: minLength/maxLength (string, secret), pattern and enum
// (string), min/max (int), schemes (url).
type Validation struct {
	MinLength *int     `json:"minLength,omitempty"`
	MaxLength *int     `json:"maxLength,omitempty"`
	Pattern   string   `json:"pattern,omitempty"`
	Enum      []string `json:"enum,omitempty"`
	Min       *int64   `json:"min,omitempty"`
	Max       *int64   `json:"max,omitempty"`
	Schemes   []string `json:"schemes,omitempty"`
}

// check refuses rules that do not apply to t or contradict each other.
func (v Validation) check(t Type) error {
	bad := func(why string) error {
		return fault.E("envconfig.Validation", fault.Invalid, fmt.Sprintf("validation: %s", why))
	}
	lengths := v.MinLength != nil || v.MaxLength != nil
	if lengths && t != TypeString && t != TypeSecret {
		return bad("minLength and maxLength apply to string and secret parameters")
	}
	if (v.Pattern != "" || len(v.Enum) > 0) && t != TypeString {
		return bad("pattern and enum apply to string parameters")
	}
	if (v.Min != nil || v.Max != nil) && t != TypeInt {
		return bad("min and max apply to int parameters")
	}
	if len(v.Schemes) > 0 && t != TypeURL {
		return bad("schemes apply to url parameters")
	}
	if v.MinLength != nil && (*v.MinLength < 0 || *v.MinLength > MaxValueBytes) {
		return bad(fmt.Sprintf("minLength is 0..%d", MaxValueBytes))
	}
	if v.MaxLength != nil && (*v.MaxLength < 1 || *v.MaxLength > MaxValueBytes) {
		return bad(fmt.Sprintf("maxLength is 1..%d", MaxValueBytes))
	}
	if v.MinLength != nil && v.MaxLength != nil && *v.MinLength > *v.MaxLength {
		return bad("minLength is above maxLength")
	}
	if v.Min != nil && v.Max != nil && *v.Min > *v.Max {
		return bad("min is above max")
	}
	if len(v.Pattern) > maxPatternBytes {
		return bad(fmt.Sprintf("pattern is over %d bytes", maxPatternBytes))
	}
	if v.Pattern != "" {
		if _, err := regexp.Compile(v.Pattern); err != nil {
			return bad("pattern is not a valid regular expression (RE2 syntax)")
		}
	}
	if len(v.Enum) > maxEnum {
		return bad(fmt.Sprintf("enum has more than %d values", maxEnum))
	}
	for _, e := range v.Enum {
		if len(e) > maxEnumBytes {
			return bad(fmt.Sprintf("an enum value is over %d bytes", maxEnumBytes))
		}
	}
	for _, s := range v.Schemes {
		if s == "" || strings.ToLower(s) != s || strings.ContainsAny(s, ":/") {
			return bad("schemes are lower-case scheme names such as https")
		}
	}
	return nil
}

// canonical decodes a JSON value of type t, checks it against v, and
// returns its canonical text ("42", "true", the string itself). Errors name
// the parameter and the rule, never the value: it may be a secret.
func canonical(name string, t Type, v Validation, raw json.RawMessage) (string, error) {
	bad := func(why string) error {
		return fault.E("envconfig.value", fault.Invalid, fmt.Sprintf("parameter %s: %s", name, why))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return "", bad("the value is not JSON")
	}
	switch t {
	case TypeInt:
		n, ok := x.(json.Number)
		if !ok {
			return "", bad("the value must be an integer")
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return "", bad("the value must be an integer that fits 64 bits")
		}
		if v.Min != nil && i < *v.Min {
			return "", bad(fmt.Sprintf("the value is below the minimum %d", *v.Min))
		}
		if v.Max != nil && i > *v.Max {
			return "", bad(fmt.Sprintf("the value is above the maximum %d", *v.Max))
		}
		return strconv.FormatInt(i, 10), nil
	case TypeBool:
		b, ok := x.(bool)
		if !ok {
			return "", bad("the value must be true or false")
		}
		return strconv.FormatBool(b), nil
	}
	s, ok := x.(string)
	if !ok {
		return "", bad("the value must be a string")
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", bad("the value must be valid UTF-8 without NUL characters")
	}
	n := utf8.RuneCountInString(s)
	if len(s) > MaxValueBytes {
		return "", bad(fmt.Sprintf("the value is over %d bytes", MaxValueBytes))
	}
	if v.MinLength != nil && n < *v.MinLength {
		return "", bad(fmt.Sprintf("the value is shorter than %d characters", *v.MinLength))
	}
	if v.MaxLength != nil && n > *v.MaxLength {
		return "", bad(fmt.Sprintf("the value is longer than %d characters", *v.MaxLength))
	}
	switch t {
	case TypeSecret:
		if s == "" {
			return "", bad("a secret cannot be empty")
		}
	case TypeString:
		if v.Pattern != "" && !regexp.MustCompile(v.Pattern).MatchString(s) {
			return "", bad("the value does not match the pattern")
		}
		if len(v.Enum) > 0 && !slices.Contains(v.Enum, s) {
			return "", bad("the value is not one of the allowed values (enum)")
		}
	case TypeURL:
		u, err := url.Parse(s)
		schemes := v.Schemes
		if len(schemes) == 0 {
			schemes = []string{"https", "http"}
		}
		if err != nil || !u.IsAbs() || u.Host == "" {
			return "", bad("the value must be an absolute URL with a host")
		}
		if u.User != nil {
			return "", bad("a URL parameter cannot carry credentials: use a secret parameter")
		}
		if !slices.Contains(schemes, u.Scheme) {
			return "", bad("the URL's scheme must be one of " + strings.Join(schemes, ", "))
		}
	}
	return s, nil
}

// render turns a canonical text back into its JSON value.
func render(t Type, s string) any {
	switch t {
	case TypeInt:
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i
		}
	case TypeBool:
		return s == "true"
	}
	return s
}

// state is a parameter's value state: its explicit value and its default.
// A secret's value is a sealed reference, never clear text; secrets have
// no default.
type state struct {
	Value     *string `json:"value,omitempty"`
	Default   *string `json:"default,omitempty"`
	SecretRef string  `json:"secretRef,omitempty"`
}

func eqPtr(a, b *string) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func (s state) equal(o state) bool {
	return eqPtr(s.Value, o.Value) && eqPtr(s.Default, o.Default) && s.SecretRef == o.SecretRef
}

// pending is a change waiting for the maintenance window.
type pending struct {
	state
	Delete bool      `json:"delete,omitempty"`
	Impact Impact    `json:"impact"`
	Since  time.Time `json:"since"`
	By     string    `json:"by"`
}

// record is the stored form of a parameter.
type record struct {
	Name        string     `json:"name"`
	Type        Type       `json:"type"`
	Description string     `json:"description,omitempty"`
	Validation  Validation `json:"validation,omitzero"`
	Impact      Impact     `json:"impact"`
	Active      *state     `json:"active,omitempty"` // nil: never applied (a new restart-needing parameter)
	Pending     *pending   `json:"pending,omitempty"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	UpdatedBy   string     `json:"updatedBy"`
}

// intended is the state the parameter will have once pending changes apply.
func (r record) intended() state {
	if r.Pending != nil && !r.Pending.Delete {
		return r.Pending.state
	}
	if r.Active != nil {
		return *r.Active
	}
	return state{}
}

// Parameter is a parameter as callers see it. It holds no clear secret, and
// its JSON form masks even the sealed reference.
type Parameter struct {
	Project, Env string
	rec          record
	ETag         string
}

// Name is the parameter's name.
func (p Parameter) Name() string { return p.rec.Name }

// Type is the parameter's type.
func (p Parameter) Type() Type { return p.rec.Type }

// Impact is the parameter's restart impact.
func (p Parameter) Impact() Impact { return p.rec.Impact }

// HasPending reports whether a change waits for the maintenance window.
func (p Parameter) HasPending() bool { return p.rec.Pending != nil }

// PendingDelete reports whether the parameter waits for the window to go.
func (p Parameter) PendingDelete() bool { return p.rec.Pending != nil && p.rec.Pending.Delete }

// stateView is a state as shown: typed values, secrets masked.
type stateView struct {
	Value    any  `json:"value"`
	ValueSet bool `json:"valueSet"`
	Default  any  `json:"default,omitempty"`
}

func (p Parameter) view(s *state) stateView {
	if s == nil {
		return stateView{}
	}
	v := stateView{}
	switch {
	case s.SecretRef != "":
		v.Value, v.ValueSet = Mask, true
	case s.Value != nil:
		v.Value, v.ValueSet = render(p.rec.Type, *s.Value), true
	}
	if s.Default != nil {
		v.Default = render(p.rec.Type, *s.Default)
	}
	return v
}

type pendingView struct {
	stateView
	Delete bool      `json:"delete,omitempty"`
	Impact Impact    `json:"impact"`
	Since  time.Time `json:"since"`
	By     string    `json:"by"`
}

type paramView struct {
	Name        string     `json:"name"`
	Type        Type       `json:"type"`
	Description string     `json:"description,omitempty"`
	Validation  Validation `json:"validation,omitzero"`
	Impact      Impact     `json:"impact"`
	stateView
	Applied   bool         `json:"applied"`
	Pending   *pendingView `json:"pending,omitempty"`
	UpdatedAt time.Time    `json:"updatedAt"`
	UpdatedBy string       `json:"updatedBy"`
}

// MarshalJSON is the one rendering of a parameter (API answers, audit
// entries): typed values, the secret value masked as "***".
func (p Parameter) MarshalJSON() ([]byte, error) {
	v := paramView{Name: p.rec.Name, Type: p.rec.Type, Description: p.rec.Description, Validation: p.rec.Validation,
		Impact: p.rec.Impact, stateView: p.view(p.rec.Active), Applied: p.rec.Active != nil, UpdatedAt: p.rec.UpdatedAt, UpdatedBy: p.rec.UpdatedBy}
	if pd := p.rec.Pending; pd != nil {
		v.Pending = &pendingView{stateView: p.view(&pd.state), Delete: pd.Delete, Impact: pd.Impact, Since: pd.Since, By: pd.By}
	}
	return json.Marshal(v)
}

// String masks like MarshalJSON, so a parameter printed by mistake (%v in a
// log line) shows no secret.
func (p Parameter) String() string {
	b, _ := p.MarshalJSON()
	return string(b)
}

// GoString is String for %#v.
func (p Parameter) GoString() string { return p.String() }
