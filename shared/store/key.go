package store

import (
	"strings"
	"unicode/utf8"

	"github.com/studio-collab/collab/shared/fault"
)

// Table keys may not hold '/', '\', '#', '?' or control characters
// (U+0000–U+001F, U+007F–U+009F), and a quote or percent sign in a key
// invites trouble in OData URLs. EncodeKey maps:
//
//	'/'                      -> '!'   (paths stay readable: "applications!claims")
//	'!' '~' '\' '#' '?' ''' '%', control characters, and invalid UTF-8 bytes
//	                         -> "~XX" (XX = each UTF-8 byte in upper-case hex)
//	anything else            -> itself
//
// It is reversible and injective, and a concatenation homomorphism for
// valid UTF-8 (EncodeKey(a+b) == EncodeKey(a)+EncodeKey(b)), so an encoded
// path prefix is a prefix of every encoded descendant, which is what prefix
// range scans rely on. '!' sorts below every segment character, so a listing
// in key order visits a node's children right after the node.
const (
	keySeparator = '!'
	keyEscape    = '~'
	hexDigits    = "0123456789ABCDEF"
)

// EncodeKey encodes s for use as (part of) a PartitionKey or RowKey.
func EncodeKey(s string) string {
	if !needsEncoding(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '/':
			b.WriteByte(keySeparator)
		case (r == utf8.RuneError && size == 1) || mustEscape(r):
			for j := i; j < i+size; j++ {
				b.WriteByte(keyEscape)
				b.WriteByte(hexDigits[s[j]>>4])
				b.WriteByte(hexDigits[s[j]&0xF])
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEncoding(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c == '/' || mustEscape(rune(c)) {
			return true
		}
	}
	return false
}

func mustEscape(r rune) bool {
	switch r {
	case keySeparator, keyEscape, '\\', '#', '?', '\'', '%':
		return true
	}
	return r < 0x20 || (r >= 0x7F && r <= 0x9F)
}

// DecodeKey reverses EncodeKey. A key that EncodeKey cannot have produced is
// an Invalid error (it did not come from us).
func DecodeKey(k string) (string, error) {
	if !strings.ContainsAny(k, "!~") {
		return k, nil
	}
	var b strings.Builder
	b.Grow(len(k))
	for i := 0; i < len(k); i++ {
		switch c := k[i]; c {
		case keySeparator:
			b.WriteByte('/')
		case keyEscape:
			if i+2 >= len(k) {
				return "", fault.E("store.DecodeKey", fault.Invalid, "truncated escape in key")
			}
			hi, lo := unhex(k[i+1]), unhex(k[i+2])
			if hi < 0 || lo < 0 {
				return "", fault.E("store.DecodeKey", fault.Invalid, "bad escape in key")
			}
			b.WriteByte(byte(hi<<4 | lo))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// PrefixRange returns the bounds of every key that starts with prefix (an
// already encoded key): key >= ge && key < lt. An empty prefix has no bounds
// (both empty).
func PrefixRange(prefix string) (ge, lt string) {
	if prefix == "" {
		return "", ""
	}
	r, size := utf8.DecodeLastRuneInString(prefix)
	return prefix, prefix[:len(prefix)-size] + string(r+1)
}
