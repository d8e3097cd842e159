package mail

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// Keys are HMAC-SHA256 keys by key id. The first is current: it signs;
// every key verifies, so a key can be rotated in (first) and out (removed
// once tokens signed with it have expired).
type Keys struct {
	current string
	byID    map[string][]byte
}

var keyIDPattern = regexp.MustCompile(`^[a-z0-9]{1,6}$`)

// ParseKeys reads "kid:base64key[,kid:base64key...]" (the form of the
// COLLAB_EMAIL_TOKEN_KEYS setting, a Key Vault secret in Azure). Key ids are
// 1-6 lower-case letters or digits; keys are at least 32 bytes.
func ParseKeys(s string) (*Keys, error) {
	const op = "mail.ParseKeys"
	k := &Keys{byID: map[string][]byte{}}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, b64, ok := strings.Cut(part, ":")
		if !ok || !keyIDPattern.MatchString(id) {
			return nil, fault.E(op, fault.Invalid, "each key is kid:base64, kid 1-6 lower-case letters or digits")
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			key, err = base64.RawURLEncoding.DecodeString(b64)
		}
		if err != nil || len(key) < 32 {
			return nil, fault.E(op, fault.Invalid, fmt.Sprintf("key %s: not base64 of at least 32 bytes", id))
		}
		if _, dup := k.byID[id]; dup {
			return nil, fault.E(op, fault.Invalid, fmt.Sprintf("key id %s appears twice", id))
		}
		if k.current == "" {
			k.current = id
		}
		k.byID[id] = key
	}
	if k.current == "" {
		return nil, fault.E(op, fault.Invalid, "no key")
	}
	return k, nil
}

// Current is the id of the signing key.
func (k *Keys) Current() string { return k.current }

// Sign is HMAC-SHA256 of msg with the current key; it returns the key id too.
func (k *Keys) Sign(msg []byte) (string, []byte) {
	m := hmac.New(sha256.New, k.byID[k.current])
	m.Write(msg)
	return k.current, m.Sum(nil)
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Reply tokens. The local part of a reply address is
//
//	reply+<kid>.<base32 of: handle (10 bytes) | expiry (4 bytes, Unix seconds) | MAC (15 bytes)>
//
// at most 60 characters, within the 64 that RFC 5321 allows, lower case so
// that servers which fold the case of local parts do not break it. The MAC
// is HMAC-SHA256, truncated to 120 bits, over the key id, the task's
// project, environment and id, the assignee's address and the expiry. The
// handle names the task's row; it is not secret, the MAC is what counts.
const (
	replyPrefix = "reply+"
	handleLen   = 10
	macLen      = 15
)

// Token is a decoded reply token; it is not verified until Verify says so.
type Token struct {
	KeyID   string
	Handle  string // base32 of the task's handle, the row key of the task
	Expires time.Time
	mac     []byte
}

func tokenMAC(key []byte, kid, project, env, taskID, assignee string, exp time.Time) []byte {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "collab-reply-v1\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s", kid, project, env, taskID,
		strings.ToLower(assignee), strconv.FormatInt(exp.Unix(), 10))
	return m.Sum(nil)[:macLen]
}

// handleOf is the task's handle: a hash of its project, environment and id.
func handleOf(project, env, taskID string) string {
	sum := sha256.Sum256([]byte("task\x00" + project + "\x00" + env + "\x00" + taskID))
	return strings.ToLower(b32.EncodeToString(sum[:handleLen]))
}

// replyLocal is the local part of the reply address of t.
func (k *Keys) replyLocal(t Task) string {
	raw, _ := b32.DecodeString(strings.ToUpper(t.Ref))
	exp := t.ExpiresAt.Truncate(time.Second)
	blob := make([]byte, 0, handleLen+4+macLen)
	blob = append(blob, raw...)
	blob = binary.BigEndian.AppendUint32(blob, uint32(exp.Unix()))
	blob = append(blob, tokenMAC(k.byID[k.current], k.current, t.Project, t.Env, t.ID, t.Assignee, exp)...)
	return replyPrefix + k.current + "." + strings.ToLower(b32.EncodeToString(blob))
}

// ParseToken decodes the local part of a reply address; anything else is
// Invalid.
func ParseToken(local string) (Token, error) {
	bad := fault.E("mail.ParseToken", fault.Invalid, "not a reply token")
	local = strings.ToLower(local)
	if !strings.HasPrefix(local, replyPrefix) || len(local) > 64 {
		return Token{}, bad
	}
	kid, body, ok := strings.Cut(local[len(replyPrefix):], ".")
	if !ok || !keyIDPattern.MatchString(kid) {
		return Token{}, bad
	}
	blob, err := b32.DecodeString(strings.ToUpper(body))
	if err != nil || len(blob) != handleLen+4+macLen {
		return Token{}, bad
	}
	return Token{KeyID: kid, Handle: strings.ToLower(b32.EncodeToString(blob[:handleLen])),
		Expires: time.Unix(int64(binary.BigEndian.Uint32(blob[handleLen:handleLen+4])), 0).UTC(),
		mac:     blob[handleLen+4:]}, nil
}

// Verify checks tok against the task its handle names: the key id is known,
// the MAC covers this task, this assignee and this expiry.
func (k *Keys) Verify(tok Token, t Task) bool {
	key, ok := k.byID[tok.KeyID]
	if !ok || tok.Handle != t.Ref || !tok.Expires.Equal(t.ExpiresAt.Truncate(time.Second)) {
		return false
	}
	return hmac.Equal(tok.mac, tokenMAC(key, tok.KeyID, t.Project, t.Env, t.ID, t.Assignee, tok.Expires))
}
