// Package localvault seals secret parameters locally with AES-256-GCM under
// a key from the local settings (COLLAB_PARAMS_KEY): the stand-in for Key
// Vault where there is none (make run, tests).
//
// Invariants: a reference is "aesgcm:v1:<key id>:<base64url(nonce|ciphertext)>"
// with a fresh random 96-bit nonce per seal; the sealed value is bound to
// its parameter (project/env/name is the additional authenticated data), so
// a reference copied onto another parameter does not open; a reference
// sealed under another key fails loudly, naming both key ids, and never
// returns garbage.
package localvault

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/studio-collab/collab/shared/envconfig"
	"github.com/studio-collab/collab/shared/fault"
)

// KeySize is the key length: AES-256.
const KeySize = 32

const prefix = "aesgcm:v1:"

// Vault seals and opens with one key. Safe for concurrent use.
type Vault struct {
	aead cipher.AEAD
	kid  string
}

// New returns a Vault for a 32-byte key.
func New(key []byte) (*Vault, error) {
	if len(key) != KeySize {
		return nil, fault.E("localvault.New", fault.Invalid, fmt.Sprintf("the key must be %d bytes, not %d", KeySize, len(key)))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fault.E("localvault.New", fault.Internal, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fault.E("localvault.New", fault.Internal, err)
	}
	return &Vault{aead: aead, kid: KeyID(key)}, nil
}

// KeyID names a key without revealing it: the first 8 bytes of its SHA-256
// in hex, so an operator can tell which key sealed a value.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:8])
}

// NewKey returns a fresh random key, base64-encoded as the setting wants it.
func NewKey() string {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// Seal encrypts clear for the parameter id.
func (v *Vault) Seal(_ context.Context, id envconfig.SecretID, clear string) (string, error) {
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fault.E("localvault.Seal", fault.Internal, err)
	}
	ct := v.aead.Seal(nonce, nonce, []byte(clear), []byte(id.String()))
	return prefix + v.kid + ":" + base64.RawURLEncoding.EncodeToString(ct), nil
}

// Open decrypts a reference sealed for id. Another key, a tampered value or
// a reference of another parameter is an Internal error that says which.
func (v *Vault) Open(_ context.Context, id envconfig.SecretID, ref string) (string, error) {
	const op = "localvault.Open"
	rest, ok := strings.CutPrefix(ref, prefix)
	kid, data, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return "", fault.E(op, fault.Internal, fmt.Errorf("secret %s: not a local AES-GCM reference (sealed by another secret store?)", id))
	}
	if kid != v.kid {
		return "", fault.E(op, fault.Internal, fmt.Errorf("secret %s was sealed with key %s but COLLAB_PARAMS_KEY is key %s: the wrong key is configured", id, kid, v.kid))
	}
	raw, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil || len(raw) < v.aead.NonceSize()+v.aead.Overhead() {
		return "", fault.E(op, fault.Internal, fmt.Errorf("secret %s: the sealed value is malformed", id))
	}
	n := v.aead.NonceSize()
	clear, err := v.aead.Open(nil, raw[:n], raw[n:], []byte(id.String()))
	if err != nil {
		return "", fault.E(op, fault.Internal, fmt.Errorf("secret %s does not authenticate under key %s: tampered, or sealed for another parameter", id, v.kid))
	}
	return string(clear), nil
}
