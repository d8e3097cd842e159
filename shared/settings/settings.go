package settings

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// Setting describes one app setting.
type Setting struct {
	Name string
	Doc  string
	// Where says where the value comes from: "local" (local.settings.json
	// only), "azure" (app settings in infra/), "both", or "platform" (set by
	// the Functions host or App Service itself, never by us).
	Where string
}

// Catalogue lists every setting the handler reads. Append here first.
func Catalogue() []Setting {
	return []Setting{
		{"FUNCTIONS_CUSTOMHANDLER_PORT", "port the host tells the handler to listen on", "platform"},
		{"WEBSITE_INSTANCE_ID", "set by App Service: proves we run in Azure (dev-only features refuse to start)", "platform"},
		{"AzureWebJobsStorage", "storage connection string; Azurite only (identity-based settings below in Azure)", "local"},
		{"AzureWebJobsStorage__accountName", "storage account name for identity-based connections", "azure"},
		{"AzureWebJobsStorage__blobServiceUri", "blob endpoint for identity-based connections", "azure"},
		{"AzureWebJobsStorage__queueServiceUri", "queue endpoint for identity-based connections", "azure"},
		{"AzureWebJobsStorage__tableServiceUri", "table endpoint for identity-based connections", "azure"},
		{"AzureWebJobsStorage__credential", "\"managedidentity\" in Azure", "azure"},
		{"AzureWebJobsStorage__clientId", "client id of the user-assigned managed identity", "azure"},
		{"COLLAB_LOG_LEVEL", "debug | info | warn | error (default info)", "both"},
		{"COLLAB_MAX_BODY_BYTES", "default request body cap in bytes (default 1 MiB)", "both"},
		{"COLLAB_STORAGE_TIMEOUT", "deadline of one storage probe in the health check (default 2s)", "both"},
		{"COLLAB_OIDC_ISSUERS", "comma-separated trusted token issuers, e.g. https://login.microsoftonline.com/<tenant>/v2.0", "azure"},
		{"COLLAB_OIDC_AUDIENCE", "the audience tokens must carry (this API's app id URI or client id)", "azure"},
		{"COLLAB_DEV_AUTH", "\"true\" turns on the local dev token issuer; refused in Azure", "local"},
		{"COLLAB_DEV_ISSUER_URL", "the dev issuer's URL as clients reach it (default http://127.0.0.1:7071/api/dev)", "local"},
		{"COLLAB_DEV_AUDIENCE", "audience of dev tokens (default api://studio-collab-dev)", "local"},
		{"COLLAB_DEV_ISSUER_KEY_FILE", "PEM file of the dev issuer's key, created if missing (default .run/dev-issuer-key.pem)", "local"},
		{"COLLAB_CONSOLE_AUTHORITY", "the web console's Entra ID authority for sign-in (authorization code + PKCE), e.g. https://login.microsoftonline.com/<tenant>/v2.0; empty = no Entra sign-in", "azure"},
		{"COLLAB_CONSOLE_CLIENT_ID", "client id of the console's Entra app registration (a single-page application with the console's /console/auth redirect URI)", "azure"},
		{"COLLAB_CONSOLE_SCOPES", "space-separated scopes the console asks for, e.g. api://<app>/user_impersonation", "azure"},
		{"COLLAB_CONSOLE_DEMO_USERS", "comma-separated e-mails the console's dev sign-in offers (make run: the seeded demo users)", "local"},
	}
}

// Config is what the handler needs to start, read once in main.
type Config struct {
	Port         string
	InAzure      bool
	Storage      Storage
	LogLevel     slog.Level
	MaxBodyBytes int64
	// StorageTimeout bounds each storage probe of /api/health, so that an
	// outage answers 503 within one request instead of hanging on retries.
	StorageTimeout time.Duration
	Auth           Auth
	Console        Console
}

// Console configures the web console's sign-in.
type Console struct {
	Authority string   // Entra ID authority (https); empty = Entra sign-in off
	ClientID  string   // the console's app registration
	Scopes    []string // what the console asks the authority for
	DemoUsers []string // e-mails offered by the dev sign-in
}

// Auth configures who may call the API.
type Auth struct {
	Issuers                         []string // trusted OIDC issuers (Entra tenants)
	Audience                        string
	Dev                             bool // the local dev issuer
	DevURL, DevAudience, DevKeyFile string
}

// Storage holds the storage connection: a connection string (Azurite), or
// service URIs reached with a managed identity (Azure).
type Storage struct {
	ConnectionString string
	AccountName      string
	BlobServiceURI   string
	QueueServiceURI  string
	TableServiceURI  string
	ClientID         string // user-assigned identity; empty = system-assigned
}

// Load reads the configuration through getenv (os.Getenv in main, a map in
// tests). It fails on values that are present but wrong, never silently
// defaulting a typo.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		Port:           getenv("FUNCTIONS_CUSTOMHANDLER_PORT"),
		InAzure:        getenv("WEBSITE_INSTANCE_ID") != "",
		LogLevel:       slog.LevelInfo,
		MaxBodyBytes:   1 << 20,
		StorageTimeout: 2 * time.Second,
	}
	if c.Port == "" {
		c.Port = "8080"
	}
	if _, err := strconv.ParseUint(c.Port, 10, 16); err != nil {
		return c, fault.E("settings.Load", fault.Invalid, "FUNCTIONS_CUSTOMHANDLER_PORT is not a port", err)
	}
	const p = "AzureWebJobsStorage"
	c.Storage = Storage{
		ConnectionString: getenv(p),
		AccountName:      getenv(p + "__accountName"),
		BlobServiceURI:   getenv(p + "__blobServiceUri"),
		QueueServiceURI:  getenv(p + "__queueServiceUri"),
		TableServiceURI:  getenv(p + "__tableServiceUri"),
		ClientID:         getenv(p + "__clientId"),
	}
	if cred := getenv(p + "__credential"); cred != "" && !strings.EqualFold(cred, "managedidentity") {
		return c, fault.E("settings.Load", fault.Invalid, fmt.Sprintf("%s__credential %q: only managedidentity is supported", p, cred))
	}
	if err := c.Storage.fillURIs(); err != nil {
		return c, err
	}
	if v := getenv("COLLAB_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, fault.E("settings.Load", fault.Invalid, "COLLAB_LOG_LEVEL", err)
		}
	}
	if v := getenv("COLLAB_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return c, fault.E("settings.Load", fault.Invalid, "COLLAB_MAX_BODY_BYTES must be a positive integer")
		}
		c.MaxBodyBytes = n
	}
	if v := getenv("COLLAB_STORAGE_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fault.E("settings.Load", fault.Invalid, "COLLAB_STORAGE_TIMEOUT must be a positive duration")
		}
		c.StorageTimeout = d
	}
	c.Auth = Auth{
		Audience:    getenv("COLLAB_OIDC_AUDIENCE"),
		Dev:         strings.EqualFold(getenv("COLLAB_DEV_AUTH"), "true"),
		DevURL:      orDefault(getenv("COLLAB_DEV_ISSUER_URL"), "http://127.0.0.1:7071/api/dev"),
		DevAudience: orDefault(getenv("COLLAB_DEV_AUDIENCE"), "api://studio-collab-dev"),
		DevKeyFile:  orDefault(getenv("COLLAB_DEV_ISSUER_KEY_FILE"), ".run/dev-issuer-key.pem"),
	}
	for _, iss := range strings.Split(getenv("COLLAB_OIDC_ISSUERS"), ",") {
		if iss = strings.TrimSpace(iss); iss != "" {
			if !strings.HasPrefix(iss, "https://") {
				return c, fault.E("settings.Load", fault.Invalid, fmt.Sprintf("COLLAB_OIDC_ISSUERS: %q is not an https URL", iss))
			}
			c.Auth.Issuers = append(c.Auth.Issuers, iss)
		}
	}
	if len(c.Auth.Issuers) > 0 && c.Auth.Audience == "" {
		return c, fault.E("settings.Load", fault.Invalid, "COLLAB_OIDC_AUDIENCE is required with COLLAB_OIDC_ISSUERS")
	}
	if err := c.loadConsole(getenv); err != nil {
		return c, err
	}
	if c.Auth.Dev && c.InAzure {
		return c, fault.E("settings.Load", fault.Invalid, "COLLAB_DEV_AUTH=true is refused in Azure (WEBSITE_INSTANCE_ID is set): the dev issuer is for local use only")
	}
	return c, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// fillURIs derives the service URIs from the account name, the way the
// Functions host does for identity-based connections, and checks that one of
// the two ways of connecting is configured.
func (s *Storage) fillURIs() error {
	if s.ConnectionString != "" {
		return nil
	}
	if s.AccountName != "" {
		def := func(v *string, svc string) {
			if *v == "" {
				*v = "https://" + s.AccountName + "." + svc + ".core.windows.net"
			}
		}
		def(&s.BlobServiceURI, "blob")
		def(&s.QueueServiceURI, "queue")
		def(&s.TableServiceURI, "table")
	}
	if s.BlobServiceURI == "" || s.QueueServiceURI == "" || s.TableServiceURI == "" {
		return fault.E("settings.Load", fault.Invalid,
			"storage is not configured: set AzureWebJobsStorage (Azurite) or AzureWebJobsStorage__accountName / __*ServiceUri (managed identity)")
	}
	return nil
}

// loadConsole reads the console's sign-in settings: the authority must be
// https and comes with a client id and at least one scope, or not at all.
func (c *Config) loadConsole(getenv func(string) string) error {
	c.Console = Console{
		Authority: strings.TrimRight(strings.TrimSpace(getenv("COLLAB_CONSOLE_AUTHORITY")), "/"),
		ClientID:  strings.TrimSpace(getenv("COLLAB_CONSOLE_CLIENT_ID")),
		Scopes:    strings.Fields(getenv("COLLAB_CONSOLE_SCOPES")),
	}
	for _, e := range strings.Split(getenv("COLLAB_CONSOLE_DEMO_USERS"), ",") {
		if e = strings.TrimSpace(e); e != "" {
			c.Console.DemoUsers = append(c.Console.DemoUsers, e)
		}
	}
	if c.Console.Authority == "" {
		return nil
	}
	if !strings.HasPrefix(c.Console.Authority, "https://") {
		return fault.E("settings.Load", fault.Invalid, fmt.Sprintf("COLLAB_CONSOLE_AUTHORITY: %q is not an https URL", c.Console.Authority))
	}
	if c.Console.ClientID == "" || len(c.Console.Scopes) == 0 {
		return fault.E("settings.Load", fault.Invalid, "COLLAB_CONSOLE_CLIENT_ID and COLLAB_CONSOLE_SCOPES are required with COLLAB_CONSOLE_AUTHORITY")
	}
	return nil
}
