package fault

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it, which is what
// decides the HTTP status and whether a retry can help.
type Kind uint8

// The kinds. Their order is not significant; their names are part of logs.
const (
	Other              Kind = iota // not classified: an internal error
	Invalid                        // the request is malformed or breaks a rule of the input
	Unauthenticated                // no or bad credentials
	Forbidden                      // authenticated but not allowed
	NotFound                       // no such thing, or not visible to the caller
	MethodNotAllowed               // the path exists but not with this method
	Conflict                       // the state moved on (stale version, already exists)
	PreconditionFailed             // If-Match / ETag did not hold
	Locked                         // held by someone else
	TooLarge                       // the request is over a published limit
	Unprocessable                  // well-formed but refers to something unusable
	Unavailable                    // a dependency is down; retry later
	Internal                       // a bug or an invariant broken on our side
	Gone                           // existed, but is no longer usable (an expired invitation)
	Misdirected                    // served by another stamp (the customer's home); re-send it there
)

var kindNames = [...]string{
	Other:              "other",
	Invalid:            "invalid",
	Unauthenticated:    "unauthenticated",
	Forbidden:          "forbidden",
	NotFound:           "not-found",
	MethodNotAllowed:   "method-not-allowed",
	Conflict:           "conflict",
	PreconditionFailed: "precondition-failed",
	Locked:             "locked",
	TooLarge:           "too-large",
	Unprocessable:      "unprocessable",
	Unavailable:        "unavailable",
	Internal:           "internal",
	Gone:               "gone",
	Misdirected:        "misdirected",
}

// String is the stable slug of the kind; problem type URIs are built from it.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Kinds lists every kind, for tables that must cover all of them.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kindNames))
	for k := range kindNames {
		out = append(out, Kind(k))
	}
	return out
}

// Error carries an operation, a kind, an optional object path and a cause.
// Detail is safe to show to the caller; Err may hold internals that only go
// to the logs.
type Error struct {
	Op     string // the operation, e.g. "catalog.Checkin"
	Kind   Kind
	Path   string // the object the error is about, if any
	Detail string // a sentence for the caller
	Err    error  // the cause, for logs and errors.Is/As
}

// E builds an *Error from its arguments by type: a string is the Op unless
// it was already set (then the Detail), a Kind is the kind, a Path the path,
// an error the cause. It lets call sites read like the sentence they mean:
// fault.E("store.Insert", fault.Conflict, err).
func E(args ...any) error {
	e := &Error{}
	for _, a := range args {
		switch v := a.(type) {
		case string:
			if e.Op == "" {
				e.Op = v
			} else {
				e.Detail = v
			}
		case Kind:
			e.Kind = v
		case Path:
			e.Path = string(v)
		case *Error:
			c := *v
			e.Err = &c
		case error:
			e.Err = v
		case nil:
		default:
			panic(fmt.Sprintf("fault.E: unexpected argument %T", a))
		}
	}
	if e.Kind == Other {
		e.Kind = KindOf(e.Err)
	}
	return e
}

// Path marks a string argument of E as the object path.
type Path string

// Errorf is E with a formatted detail: fault.Errorf(fault.Invalid, "segment %q", s).
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Detail: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	var b strings.Builder
	add := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(s)
	}
	add(e.Op)
	add(e.Path)
	if e.Kind != Other {
		add(e.Kind.String())
	}
	add(e.Detail)
	if e.Err != nil {
		add(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes the cause to errors.Is and errors.As.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the first non-Other kind found along the error chain, or
// Other when there is none (including for nil).
func KindOf(err error) Kind { return first(err, func(e *Error) Kind { return e.Kind }) }

// Is reports whether err is of kind k anywhere along its chain.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// DetailOf returns the first caller-safe detail along the chain, or "".
func DetailOf(err error) string { return first(err, func(e *Error) string { return e.Detail }) }

// PathOf returns the first object path along the chain, or "".
func PathOf(err error) string { return first(err, func(e *Error) string { return e.Path }) }

// first returns the first non-zero field along err's chain of *Error
// (through whatever wraps them), or the zero value: the outermost error that
// says something wins, as a handler adds context around a domain's error.
func first[T comparable](err error, field func(*Error) T) T {
	var zero T
	for err != nil {
		var fe *Error
		if !errors.As(err, &fe) {
			return zero
		}
		if v := field(fe); v != zero {
			return v
		}
		err = fe.Err
	}
	return zero
}
