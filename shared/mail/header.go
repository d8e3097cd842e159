package mail

import (
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/studio-collab/collab/shared/fault"
)

// hasControl reports a C0 or C1 control character or DEL (CR and LF
// included), or invalid UTF-8.
func hasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
			return true
		}
	}
	return false
}

// ParseAddress parses one address with net/mail and returns it in the form
// net/mail writes: the address in angle brackets and a display name that is
// quoted or RFC 2047-encoded as needed. Control characters (CR/LF included)
// are refused before parsing, so nothing can smuggle a header line.
func ParseAddress(s string) (string, error) {
	const op = "mail.ParseAddress"
	if hasControl(s) {
		return "", fault.E(op, fault.Invalid, "an address must not contain control characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fault.E(op, fault.Invalid, "not an e-mail address: "+strings.TrimPrefix(err.Error(), "mail: "), err)
	}
	if hasControl(a.Name) || hasControl(a.Address) || len(a.Address) > 254 {
		return "", fault.E(op, fault.Invalid, "not an e-mail address")
	}
	a.Address = strings.ToLower(a.Address)
	return a.String(), nil
}

// AddrSpec returns the bare, lower-cased address of a parsed address.
func AddrSpec(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return ""
	}
	return strings.ToLower(a.Address)
}

// headerText makes data safe for an unstructured header (a subject): every
// control character and line break becomes a space, runs of space collapse,
// and the result is cut to max bytes on a rune boundary. The writer encodes
// non-ASCII text (RFC 2047).
func headerText(s string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

// messageID is the notification's Message-ID: the same for every attempt,
// different for every notification, at the sender's domain.
func messageID(project, id, domain string) string {
	sum := sha256.Sum256([]byte(project + "\x00" + id))
	return "<n." + hex.EncodeToString(sum[:12]) + "@" + domain + ">"
}

var msgIDPattern = regexp.MustCompile(`^<[\x21-\x3b\x3d\x3f-\x7e]{1,250}@[\x21-\x3b\x3d\x3f-\x7e]{1,250}>$`)

// cleanMessageID returns id when it is a well-formed msg-id safe to echo in
// In-Reply-To and References, else "".
func cleanMessageID(id string) string {
	id = strings.TrimSpace(id)
	if !strings.HasPrefix(id, "<") {
		id = "<" + id + ">"
	}
	if msgIDPattern.MatchString(id) {
		return id
	}
	return ""
}

// domainOf returns the domain of an address ("" when it has none).
func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[at+1:], ">"))
}
