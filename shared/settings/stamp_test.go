package settings

import (
	"strings"
	"testing"
)

// TestLoadStamp: the stamp settings of issue 22, one row per rule.
func TestLoadStamp(t *testing.T) {
	base := func(kv ...string) map[string]string {
		m := map[string]string{"AzureWebJobsStorage": "x"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	urls := "a=https://a.example.com, b=https://b.example.com/"
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(s Stamp) bool
	}{
		{"none: one shared stamp", base(), "", func(s Stamp) bool { return s.Name == "" && s.URLs == nil }},
		{"a stamp with its directory (Azurite)", base("COLLAB_STAMP", "a", "COLLAB_STAMP_URLS", urls, "COLLAB_DIRECTORY", "conn"), "",
			func(s Stamp) bool {
				return s.Name == "a" && s.URLs["b"] == "https://b.example.com" && s.DirectoryConnectionString == "conn"
			}},
		{"a stamp with its directory (managed identity)", base("COLLAB_STAMP", "b", "COLLAB_STAMP_URLS", urls, "COLLAB_DIRECTORY_TABLE_URI", "https://d.table.core.windows.net/"), "",
			func(s Stamp) bool { return s.DirectoryTableURI != "" }},
		{"a dedicated stamp alone", base("COLLAB_DEDICATED_SUBSCRIPTION", "solo"), "", func(s Stamp) bool { return s.Dedicated == "solo" && s.Name == "" }},
		{"a stamp must be in its own list", base("COLLAB_STAMP", "c", "COLLAB_STAMP_URLS", urls, "COLLAB_DIRECTORY", "conn"), "must include this stamp", nil},
		{"a stamp needs a directory", base("COLLAB_STAMP", "a", "COLLAB_STAMP_URLS", urls), "global directory", nil},
		{"one directory, not two", base("COLLAB_STAMP", "a", "COLLAB_STAMP_URLS", urls, "COLLAB_DIRECTORY", "c", "COLLAB_DIRECTORY_TABLE_URI", "https://d"), "one of them", nil},
		{"URLs without a stamp name", base("COLLAB_STAMP_URLS", urls), "need COLLAB_STAMP", nil},
		{"a URL that is not one", base("COLLAB_STAMP", "a", "COLLAB_STAMP_URLS", "a=ftp://x", "COLLAB_DIRECTORY", "c"), "not name=https://host", nil},
		{"clear-text stamp URLs are refused outside local development", base("COLLAB_STAMP", "a", "COLLAB_STAMP_URLS", "a=http://a.example.com",
			"COLLAB_DIRECTORY_TABLE_URI", "https://d"), "refused outside local development", nil},
		{"clear-text stamp URLs locally (the two-stamp simulation)", base("COLLAB_ENVIRONMENT", "local", "COLLAB_STAMP", "a",
			"COLLAB_STAMP_URLS", "a=http://127.0.0.1:1", "COLLAB_DIRECTORY", "c"), "", func(s Stamp) bool { return s.URLs["a"] == "http://127.0.0.1:1" }},
		{"the directory's table URI is https", base("COLLAB_STAMP", "a", "COLLAB_STAMP_URLS", urls, "COLLAB_DIRECTORY_TABLE_URI", "http://d"), "not an https URL", nil},
	}
	for _, c := range cases {
		cfg, err := Load(env(c.env, nil))
		switch {
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: err %v, want %q", c.name, err, c.wantErr)
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.check != nil && !c.check(cfg.Stamp):
			t.Errorf("%s: %+v", c.name, cfg.Stamp)
		}
	}
}
