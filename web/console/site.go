package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// AssetsPath is where the versioned assets are served.
const AssetsPath = "/console/assets/"

// Options configure a Site.
type Options struct {
	// ConnectOrigins are origins besides this one the page may fetch from
	// (the Entra ID authority's, for discovery and the token request).
	ConnectOrigins []string
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Site serves the console: the page and its versioned assets.
type Site struct {
	version string
	assets  map[string]asset // by path under static/
	index   []byte
	etag    string
	csp     string
}

// contentTypes are set explicitly: the system's MIME table varies between
// machines, and a script served as text/plain is refused under nosniff.
var contentTypes = map[string]string{
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".html": "text/html; charset=utf-8",
}

// New reads the embedded files, computes their version and renders the
// page. It fails only on an origin that is not an absolute http(s) URL.
func New(opt Options) (*Site, error) {
	s := &Site{assets: map[string]asset{}}
	var names []string
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, p := range names {
		b, err := static.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
		rel := strings.TrimPrefix(p, "static/")
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
		h.Write(b)
		ct, ok := contentTypes[path.Ext(rel)]
		if !ok {
			return nil, fmt.Errorf("console: %s: no content type for %q", rel, path.Ext(rel))
		}
		sum := sha256.Sum256(b)
		s.assets[rel] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	s.version = "v-" + hex.EncodeToString(h.Sum(nil))[:12]

	connect := []string{"'self'"}
	for _, o := range opt.ConnectOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("console: connect origin %q is not an absolute http(s) URL", o)
		}
		connect = append(connect, u.Scheme+"://"+u.Host)
	}
	s.csp = strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self'",
		"font-src 'self'",
		"connect-src " + strings.Join(connect, " "),
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
		"require-trusted-types-for 'script'",
		"trusted-types 'none'",
	}, "; ")

	tmpl, err := template.ParseFS(static, "static/index.html")
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, map[string]string{"Assets": AssetsPath + s.version + "/"}); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	s.index = buf.Bytes()
	sum := sha256.Sum256(s.index)
	s.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
	return s, nil
}

// Version names the current set of assets (their URLs carry it).
func (s *Site) Version() string { return s.version }

// CSP is the Content-Security-Policy every answer of the console carries.
func (s *Site) CSP() string { return s.csp }

// secure sets the headers every console answer carries.
func (s *Site) secure(h http.Header) {
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
}

// ServePage answers with the page (for / and every client-side route):
// revalidated on each load, so a new deployment shows at once.
func (s *Site) ServePage(w http.ResponseWriter, r *http.Request) {
	s.secure(w.Header())
	w.Header().Set("Content-Type", contentTypes[".html"])
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", s.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(s.index))
}

// ServeAsset answers /console/assets/<version>/<name>; it reports false
// (nothing written) when there is no such asset in this version.
func (s *Site) ServeAsset(w http.ResponseWriter, r *http.Request, rest string) bool {
	version, name, ok := strings.Cut(rest, "/")
	if !ok || version != s.version || name == "index.html" {
		return false
	}
	a, ok := s.assets[name]
	if !ok {
		return false
	}
	s.secure(w.Header())
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", a.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	return true
}
