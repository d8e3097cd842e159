package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// config is what `collab login` saves: where the API is and the token.
// It lives in the user's config directory with mode 0600.
type config struct {
	API       string    `json:"api"`
	Token     string    `json:"token,omitempty"`
	Email     string    `json:"email,omitempty"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

const defaultAPI = "http://localhost:7071"

func configPath() (string, error) {
	dir := os.Getenv("COLLAB_CONFIG_DIR")
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("no config directory: %w (set COLLAB_CONFIG_DIR)", err)
		}
		dir = filepath.Join(base, "collab")
	}
	return filepath.Join(dir, "config.json"), nil
}

func loadConfig() (config, error) {
	c := config{API: defaultAPI}
	p, err := configPath()
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", p, err)
	}
	if c.API == "" {
		c.API = defaultAPI
	}
	return c, nil
}

func saveConfig(c config) error {
	p, err := configPath()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(c, "", "  ")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
