package store

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Filter is an OData filter built only from property names written in code
// and values that are always quoted as literals, so user text can never
// change the shape of a query. The zero Filter matches everything.
type Filter struct{ expr string }

var propertyName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,254}$`)

func compare(op, prop string, v any) Filter {
	if !propertyName.MatchString(prop) {
		// Property names are constants of the calling module: a bad one is a bug.
		panic(fmt.Sprintf("store: invalid property name %q in a filter", prop))
	}
	return Filter{prop + " " + op + " " + literal(v)}
}

// Eq is "prop eq value"; the value is quoted as an OData literal.
func Eq(prop string, v any) Filter { return compare("eq", prop, v) }

// Ne is "prop ne value".
func Ne(prop string, v any) Filter { return compare("ne", prop, v) }

// Gt is "prop gt value".
func Gt(prop string, v any) Filter { return compare("gt", prop, v) }

// Ge is "prop ge value".
func Ge(prop string, v any) Filter { return compare("ge", prop, v) }

// Lt is "prop lt value".
func Lt(prop string, v any) Filter { return compare("lt", prop, v) }

// Le is "prop le value".
func Le(prop string, v any) Filter { return compare("le", prop, v) }

// HasPrefix matches string properties (keys) that start with prefix, as a
// range, which the table service answers from its index.
func HasPrefix(prop, prefix string) Filter {
	ge, lt := PrefixRange(prefix)
	if ge == "" {
		return Filter{}
	}
	return And(Ge(prop, ge), Lt(prop, lt))
}

// And joins filters; empty ones are skipped.
func And(fs ...Filter) Filter { return join(" and ", fs) }

// Or joins filters; empty ones are skipped.
func Or(fs ...Filter) Filter { return join(" or ", fs) }

func join(sep string, fs []Filter) Filter {
	var parts []string
	for _, f := range fs {
		if f.expr != "" {
			parts = append(parts, "("+f.expr+")")
		}
	}
	if len(parts) == 1 {
		return Filter{strings.TrimSuffix(strings.TrimPrefix(parts[0], "("), ")")}
	}
	return Filter{strings.Join(parts, sep)}
}

// String is the OData text of the filter.
func (f Filter) String() string { return f.expr }

func literal(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case bool:
		return strconv.FormatBool(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int:
		return strconv.FormatInt(int64(x), 10) + "L"
	case int64:
		return strconv.FormatInt(x, 10) + "L"
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return "datetime'" + x.UTC().Format("2006-01-02T15:04:05.0000000Z") + "'"
	default:
		panic(fmt.Sprintf("store: unsupported filter value type %T", v))
	}
}
