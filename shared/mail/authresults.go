package mail

import (
	"strings"
)

// Authentication-Results (RFC 8601) for mailbox replies.
//
// A message read from a mailbox carries no provider verdict, only the
// Authentication-Results header fields that mail servers on its way added.
// Anyone can write such a field into a message before sending it, so one is
// trusted only when its authserv-id is the one configured for the receiving
// server (COLLAB_IMAP_AUTHSERV_ID), and only the first such field counts: the
// receiving server prepends its own, and RFC 8601 §5 has it remove or rename
// any field that arrived claiming its authserv-id.

// verdictsFrom reads the first Authentication-Results field whose
// authserv-id is id: DKIM passes as SendGrid-style "{@domain : pass}"
// entries (a DMARC pass counts as a DKIM pass for header.from's domain:
// DMARC checked the alignment), SPF's result and its smtp.mailfrom.
func verdictsFrom(fields []string, id string) (dkim, spf, envelopeFrom string, ok bool) {
	id = strings.ToLower(strings.TrimSpace(id))
	if id == "" {
		return "", "", "", false
	}
	for _, f := range fields {
		parts := strings.Split(stripComments(f), ";")
		head := strings.Fields(parts[0])
		if len(head) == 0 || strings.ToLower(head[0]) != id {
			continue
		}
		var passes []string
		for _, res := range parts[1:] {
			method, result, props := resinfo(res)
			switch {
			case method == "dkim" && result == "pass":
				d := props["header.d"]
				if d == "" {
					if _, dom, found := strings.Cut(props["header.i"], "@"); found {
						d = dom
					}
				}
				if d != "" {
					passes = append(passes, "@"+d+" : pass")
				}
			case method == "dmarc" && result == "pass" && props["header.from"] != "":
				passes = append(passes, "@"+props["header.from"]+" : pass")
			case method == "spf" && spf == "":
				spf, envelopeFrom = result, props["smtp.mailfrom"]
			}
		}
		if len(passes) > 0 {
			dkim = "{" + strings.Join(passes, ", ") + "}"
		}
		return dkim, spf, envelopeFrom, true
	}
	return "", "", "", false
}

// resinfo splits "dkim=pass (comment) header.d=example.com header.s=s1"
// into the method, its result and the properties, all lower case except
// the values' local parts (domains compare without case anyway).
func resinfo(s string) (method, result string, props map[string]string) {
	props = map[string]string{}
	for i, w := range strings.Fields(s) {
		k, v, found := strings.Cut(w, "=")
		if !found {
			continue
		}
		k, v = strings.ToLower(k), strings.Trim(v, `"`)
		if i == 0 {
			method, result = k, strings.ToLower(v)
			continue
		}
		props[k] = strings.ToLower(v)
	}
	return method, result, props
}

// stripComments removes RFC 5322 comments ("(…)", nested), which may hold
// any text, including semicolons and "dkim=pass".
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted, escaped := 0, false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
			if depth > 0 {
				continue
			}
		case r == '\\':
			escaped = true
			if depth > 0 {
				continue
			}
		case r == '"' && depth == 0:
			quoted = !quoted
		case r == '(' && !quoted:
			depth++
			continue
		case r == ')' && !quoted && depth > 0:
			depth--
			b.WriteByte(' ')
			continue
		}
		if depth == 0 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
