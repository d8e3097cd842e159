package localvault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/envconfig"
	"github.com/studio-collab/collab/shared/fault"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	_, _ = rand.Read(k)
	return k
}

// TestSealIsCiphertextThatOpensWithTheKey: the reference holds no clear
// text, differs on every seal (fresh nonce), and opens with the key.
func TestSealIsCiphertextThatOpensWithTheKey(t *testing.T) {
	ctx := context.Background()
	v, _ := New(newKey(t))
	id := envconfig.SecretID{Project: "claims", Env: "test", Name: "crm.key"}
	const clear = "correct horse battery staple"
	r1, err := v.Seal(ctx, id, clear)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := v.Seal(ctx, id, clear)
	if r1 == r2 {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
	raw, err := base64.RawURLEncoding.DecodeString(r1[strings.LastIndex(r1, ":")+1:])
	if err != nil || bytes.Contains(raw, []byte(clear)) || strings.Contains(r1, clear) {
		t.Fatalf("the reference is not ciphertext: %s", r1)
	}
	if got, err := v.Open(ctx, id, r1); err != nil || got != clear {
		t.Fatalf("open: %q %v", got, err)
	}
}

// TestOpenRefusesLoudly: every way a reference can be wrong is an Internal
// error saying which, never a wrong clear value.
func TestOpenRefusesLoudly(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	v, _ := New(key)
	other, _ := New(newKey(t))
	id := envconfig.SecretID{Project: "claims", Env: "test", Name: "crm.key"}
	ref, _ := v.Seal(ctx, id, "s3cret")
	// Tamper with one byte of the ciphertext (not with its base64 text,
	// which could make it malformed instead of inauthentic).
	head, data := ref[:strings.LastIndexByte(ref, ':')+1], ref[strings.LastIndexByte(ref, ':')+1:]
	raw, err := base64.RawURLEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-1] ^= 0x01
	flip := head + base64.RawURLEncoding.EncodeToString(raw)
	cases := []struct {
		name string
		v    *Vault
		id   envconfig.SecretID
		ref  string
		want string
	}{
		{"another key", other, id, ref, "the wrong key is configured"},
		{"another parameter", v, envconfig.SecretID{Project: "claims", Env: "test", Name: "other"}, ref, "sealed for another parameter"},
		{"another environment", v, envconfig.SecretID{Project: "claims", Env: "production", Name: "crm.key"}, ref, "sealed for another parameter"},
		{"tampered", v, id, flip, "does not authenticate"},
		{"a Key Vault reference", v, id, "keyvault:https://kv.vault.azure.net/secrets/x/1", "not a local AES-GCM reference"},
		{"truncated", v, id, "aesgcm:v1:" + KeyID(key) + ":AAAA", "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.v.Open(ctx, c.id, c.ref)
			if !fault.Is(err, fault.Internal) || !strings.Contains(err.Error(), c.want) || got != "" {
				t.Fatalf("got %q, %v; want an Internal error with %q", got, err, c.want)
			}
		})
	}
	if _, err := New(key[:16]); !fault.Is(err, fault.Invalid) {
		t.Fatalf("a 16-byte key: %v", err)
	}
}

func BenchmarkSealOpen(b *testing.B) {
	ctx := context.Background()
	v, _ := New(make([]byte, KeySize))
	id := envconfig.SecretID{Project: "claims", Env: "test", Name: "crm.key"}
	for b.Loop() {
		ref, _ := v.Seal(ctx, id, "a secret of ordinary length")
		if _, err := v.Open(ctx, id, ref); err != nil {
			b.Fatal(err)
		}
	}
}
