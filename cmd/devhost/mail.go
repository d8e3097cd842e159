package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// devMail holds the e-mail secrets of local runs: made once, kept in
// .run/mail-dev.json (0600, ignored by git) so that reply tokens of the task
// e-mails in MailDev keep working across restarts. Nothing secret is in the
// repository; a real deployment takes them from Key Vault.
type devMail struct {
	TokenKeys     string `json:"tokenKeys"`
	CallbackKeys  string `json:"callbackKeys"`
	InboundSecret string `json:"inboundSecret"`
}

func random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// loadDevMail reads or creates the file.
func loadDevMail(root string) (devMail, error) {
	path := filepath.Join(root, ".run", "mail-dev.json")
	var m devMail
	b, err := os.ReadFile(path)
	if err == nil && json.Unmarshal(b, &m) == nil && m.TokenKeys != "" && m.CallbackKeys != "" && m.InboundSecret != "" {
		return m, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, err
	}
	m = devMail{TokenKeys: "d1:" + random(32), CallbackKeys: "c1:" + random(32),
		InboundSecret: base64.RawURLEncoding.EncodeToString([]byte(random(18)))[:24]}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return m, err
	}
	b, _ = json.MarshalIndent(m, "", "  ")
	return m, os.WriteFile(path, b, 0o600)
}

// mailOverrides points the handler at MailDev (no TLS on loopback) and
// gives it the local e-mail secrets, unless the environment sets them.
func mailOverrides(root string, port, smtpPort int, overrides map[string]string) (devMail, error) {
	m, err := loadDevMail(root)
	if err != nil {
		return m, err
	}
	set := func(k, v string) {
		if os.Getenv(k) == "" {
			overrides[k] = v
		}
	}
	set("COLLAB_SMTP_HOST", "127.0.0.1")
	set("COLLAB_SMTP_PORT", itoa(smtpPort))
	set("COLLAB_SMTP_TLS", "none")
	set("COLLAB_EMAIL_TOKEN_KEYS", m.TokenKeys)
	set("COLLAB_EMAIL_CALLBACK_KEYS", m.CallbackKeys)
	set("COLLAB_INBOUND_SECRET", m.InboundSecret)
	set("COLLAB_PUBLIC_URL", "http://localhost:"+itoa(port))
	return m, nil
}
