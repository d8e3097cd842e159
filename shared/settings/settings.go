package settings

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
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
		{"COLLAB_ENVIRONMENT", "where the handler runs: \"local\" (set by the devhost and tests only) unlocks the local policy (dev sign-in, loopback egress, http callbacks, mail without TLS); infra/ sets the deployment's name; unset or anything else: the cloud policy", "both"},
		{"WEBSITE_INSTANCE_ID", "set by App Service (not on Flex Consumption): never trusted to mean \"Azure\"; with COLLAB_ENVIRONMENT=local it refuses the start", "platform"},
		{"WEBSITE_SKU", "set by the platform (\"FlexConsumption\" on Flex): with COLLAB_ENVIRONMENT=local it refuses the start", "platform"},
		{"LEGION_SERVICE_HOST", "set by Flex Consumption (Legion): with COLLAB_ENVIRONMENT=local it refuses the start", "platform"},
		{"WEBSITE_POD_NAME", "set by Flex Consumption in placeholder mode: with COLLAB_ENVIRONMENT=local it refuses the start", "platform"},
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
		{"COLLAB_SECURITY_EVENT_RETENTION_DAYS", "days security events and alerts are kept before the retention job deletes them (1–3650, default 90)", "both"},
		{"COLLAB_MAX_IN_FLIGHT", "bound on the HTTP requests one instance serves at once; past it 503 with Retry-After before any work (default 16, Flex Consumption's per-instance HTTP concurrency and host.json's maxConcurrentRequests; keep the three equal)", "both"},
		{"COLLAB_JOBS_LEASE_GRACE", "margin past a programmed job's timeout before another instance may take its run over (default 30s; tests and local chaos runs shorten it)", "local"},
		{"COLLAB_OIDC_ISSUERS", "comma-separated trusted token issuers, e.g. https://login.microsoftonline.com/<tenant>/v2.0", "azure"},
		{"COLLAB_OIDC_AUDIENCE", "comma-separated audiences tokens may carry: the API's application (client) id (Entra v2 tokens), and its App ID URI where v1 tokens are accepted", "azure"},
		{"COLLAB_OIDC_ACCEPT_V1", "\"true\" also accepts the Entra tenants' v1 access tokens (iss https://sts.windows.net/<tid>/); off when the API's manifest says accessTokenAcceptedVersion 2", "azure"},
		{"COLLAB_DEV_AUTH", "\"true\" turns on the local dev token issuer; refused in Azure", "local"},
		{"COLLAB_DEV_ISSUER_URL", "the dev issuer's URL as clients reach it (default http://127.0.0.1:7071/api/dev)", "local"},
		{"COLLAB_DEV_AUDIENCE", "audience of dev tokens (default api://studio-collab-dev)", "local"},
		{"COLLAB_DEV_ISSUER_KEY_FILE", "PEM file of the dev issuer's key, created if missing (default .run/dev-issuer-key.pem)", "local"},
		{"ServiceBusConnection__fullyQualifiedNamespace", "Service Bus namespace of the deployment queue; set in Azure, where deployment messages go to Service Bus (locally: the Storage queue)", "azure"},
		{"ServiceBusConnection__clientId", "client id of the user-assigned identity that sends to Service Bus and restarts Work Portals through ARM", "azure"},
		{"COLLAB_PARAMS_KEY", "base64 AES-256 key (32 bytes) sealing secret parameters locally; make run generates one into local.settings.json (never committed)", "local"},
		{"COLLAB_PARAMS_VAULT_URI", "Key Vault (https://<vault>.vault.azure.net/) holding secret parameters, reached with the app's managed identity", "azure"},
		{"COLLAB_SMTP_HOST", "SMTP server of outbound mail; empty: notifications wait in the outbox", "both"},
		{"COLLAB_SMTP_PORT", "SMTP port (default 587 for starttls, 465 for tls, 25 for none)", "both"},
		{"COLLAB_SMTP_TLS", "starttls (default) | tls (implicit, port 465) | none (loopback MailDev only; refused in Azure)", "both"},
		{"COLLAB_SMTP_USERNAME", "SMTP AUTH user; empty: no AUTH", "both"},
		{"COLLAB_SMTP_PASSWORD", "SMTP AUTH password; a Key Vault reference in Azure", "both"},
		{"COLLAB_SMTP_TIMEOUT", "SMTP connection and command timeout (default 30s)", "both"},
		{"COLLAB_SMTP_FROM", "From of every notification, e.g. Studio Collaboration <noreply@collab.example.com>", "both"},
		{"COLLAB_EMAIL_REPLY_DOMAIN", "domain of task reply addresses (reply+<token>@<domain>), routed to the inbound webhook or mailbox", "both"},
		{"COLLAB_EMAIL_TOKEN_KEYS", "reply token keys kid:base64[,kid:base64], the first signs; a Key Vault reference in Azure", "both"},
		{"COLLAB_EMAIL_CALLBACK_KEYS", "task callback signing keys kid:base64[,...], the first signs; a Key Vault reference in Azure", "both"},
		{"COLLAB_INBOUND_SECRET", "shared secret of the inbound e-mail webhook (basic auth password or X-Inbound-Secret); a Key Vault reference in Azure", "both"},
		{"COLLAB_INBOUND_REQUIRE_AUTH", "\"true\": replies need the provider's DKIM or SPF pass, aligned with From", "both"},
		{"COLLAB_PUBLIC_URL", "base URL of links in e-mails (invitations), e.g. https://collab.example.com", "both"},
		{"COLLAB_IMAP_HOST", "IMAP server of the task reply mailbox (InboxPoll); empty: no polling", "both"},
		{"COLLAB_IMAP_PORT", "IMAP port (default 993 for tls, 143 otherwise)", "both"},
		{"COLLAB_IMAP_TLS", "tls (default) | starttls | none (loopback only; refused in Azure)", "both"},
		{"COLLAB_IMAP_USERNAME", "IMAP user", "both"},
		{"COLLAB_IMAP_PASSWORD", "IMAP password; a Key Vault reference in Azure", "both"},
		{"COLLAB_IMAP_MAILBOX", "mailbox to poll (default INBOX)", "both"},
		{"COLLAB_IMAP_AUTHSERV_ID", "authserv-id of the mail server that delivers to the mailbox (the first word of its Authentication-Results header); only its verdicts count, for COLLAB_INBOUND_REQUIRE_AUTH", "both"},
		{"COLLAB_CONSOLE_PROVIDER", "the authority's name on the console's sign-in button (\"Sign in with …\"); default: Microsoft for an Entra ID authority, else the authority's host", "both"},
		{"COLLAB_CONSOLE_AUTHORITY", "the web console's Entra ID authority for sign-in (authorization code + PKCE), e.g. https://login.microsoftonline.com/<tenant>/v2.0; empty = no Entra sign-in", "azure"},
		{"COLLAB_CONSOLE_CLIENT_ID", "client id of the console's Entra app registration (a single-page application with the console's /console/auth redirect URI)", "azure"},
		{"COLLAB_CONSOLE_SCOPES", "space-separated scopes the console asks for, e.g. api://<app>/user_impersonation", "azure"},
		{"COLLAB_CONSOLE_DEMO_USERS", "comma-separated e-mails the console's dev sign-in offers (make run: the seeded demo users)", "local"},
		{"COLLAB_STAMP", "this stamp's name in a multi-stamp deployment (e.g. the region); empty: one stamp, no directory, nothing redirected", "azure"},
		{"COLLAB_STAMP_URLS", "every stamp's public base URL, name=https://host[,name=...], this stamp's included: the targets of 421 answers and the origins allowed to call across stamps", "azure"},
		{"COLLAB_DIRECTORY", "connection string of the global stamp directory's storage; Azurite only (the two-stamp simulation)", "local"},
		{"COLLAB_DIRECTORY_TABLE_URI", "table endpoint of the global stamp directory's account, reached with the managed identity (AzureWebJobsStorage__clientId)", "azure"},
		{"COLLAB_DEDICATED_SUBSCRIPTION", "the one customer subscription a dedicated stamp serves; every other is refused (empty: a shared stamp)", "azure"},
		{"COLLAB_EGRESS_ALLOW", "comma-separated CIDR ranges that calls to customers' endpoints (Schedulers, Work Portals, task callbacks) may reach although private; empty in Azure: public addresses only (locally every range but the metadata endpoints)", "azure"},
	}
}

// Config is what the handler needs to start, read once in main.
type Config struct {
	Port string
	// Environment is COLLAB_ENVIRONMENT: "local" on a developer's machine,
	// the deployment's name in Azure (infra/), possibly empty.
	Environment string
	// Local is true only for COLLAB_ENVIRONMENT=local on a machine with no
	// marker of an Azure host. It unlocks the local policy: the dev issuer,
	// egress to loopback and private ranges, http:// task callbacks, mail
	// without TLS. Everything else runs with the cloud policy (fail closed):
	// Flex Consumption sets no WEBSITE_INSTANCE_ID, so the absence of a
	// platform variable proves nothing.
	Local        bool
	Storage      Storage
	LogLevel     slog.Level
	MaxBodyBytes int64
	// StorageTimeout bounds each storage probe of /api/health, so that an
	// outage answers 503 within one request instead of hanging on retries.
	StorageTimeout time.Duration
	// MaxInFlight bounds the HTTP requests one instance serves at once
	// (httpapi.Router.LimitInFlight); it also sizes the storage clients'
	// connection pools (shared/conns).
	MaxInFlight int
	// JobsLeaseGrace is added to a job's timeout to make its runs' lease
	// (jobs.Runner.LeaseGrace); zero: the runner's default.
	JobsLeaseGrace time.Duration
	// SecurityEventRetention is how long security events and alerts are
	// kept (COLLAB_SECURITY_EVENT_RETENTION_DAYS, 1–3650; default 90 days).
	SecurityEventRetention time.Duration
	Auth                   Auth
	// Params says where secret parameters are sealed.
	Params  Params
	Mail    Mail
	Console Console
	// ServiceBus is where deployment messages go in Azure; empty locally.
	ServiceBus ServiceBus
	// EgressAllow are the private ranges customers' endpoints may be on
	// (validated CIDRs; COLLAB_EGRESS_ALLOW).
	EgressAllow []string
	// Stamp places this instance among the deployment's stamps.
	Stamp Stamp
}

// Stamp is this stamp's name, the others' addresses, the global directory
// and the dedicated customer (shared/stamp). The zero value is one shared
// stamp.
type Stamp struct {
	Name      string
	URLs      map[string]string
	Dedicated string
	// The directory's storage: a connection string (Azurite) or a table
	// endpoint reached with the managed identity Storage.ClientID.
	DirectoryConnectionString, DirectoryTableURI string
}

// Params configures the sealing of secret parameters: a Key Vault in Azure,
// an AES-256 key locally; with neither, secret parameters are refused.
type Params struct {
	LocalKey []byte // 32 bytes
	VaultURI string
}

// Mail configures e-mail out (SMTP) and in (webhook, IMAP); secrets are
// Key Vault references in Azure, resolved by App Service before we read them.
type Mail struct {
	SMTPHost, SMTPUsername, SMTPPassword, SMTPSecurity string
	SMTPPort                                           int
	SMTPTimeout                                        time.Duration
	From, ReplyDomain, PublicURL                       string
	TokenKeys, CallbackKeys, InboundSecret             string
	InboundRequireAuth                                 bool
	IMAP                                               IMAP
}

// IMAP is the optional task reply mailbox.
type IMAP struct {
	Host, Username, Password, Security, Mailbox string
	Port                                        int
	// AuthservID: trust Authentication-Results from this server only.
	AuthservID string
}

// Console configures the web console's sign-in.
type Console struct {
	Authority string   // Entra ID authority (https); empty = Entra sign-in off
	ClientID  string   // the console's app registration
	Scopes    []string // what the console asks the authority for
	Provider  string   // the authority's name on the sign-in button (default: Microsoft for Entra, else its host)
	DemoUsers []string // e-mails offered by the dev sign-in
}

// ServiceBus is the deployment queue's namespace and the identity used for
// it (and for ARM restarts of Work Portals).
type ServiceBus struct {
	Namespace string
	ClientID  string
}

// Auth configures who may call the API.
type Auth struct {
	Issuers                         []string // trusted OIDC issuers (Entra tenants)
	Audiences                       []string // accepted "aud" values
	AcceptV1                        bool     // Entra v1 access tokens too
	Dev                             bool     // the local dev issuer
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

// DefaultMaxInFlight is the default bound on requests in flight per
// instance: Flex Consumption's default HTTP per-instance concurrency for
// 2,048 MB instances, which infra/ sets explicitly, as host.json sets
// extensions.http.maxConcurrentRequests (docs/decisions.md).
const DefaultMaxInFlight = 16

// Load reads the configuration through getenv (os.Getenv in main, a map in
// tests). It fails on values that are present but wrong, never silently
// defaulting a typo.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		Port:                   getenv("FUNCTIONS_CUSTOMHANDLER_PORT"),
		Environment:            strings.TrimSpace(getenv("COLLAB_ENVIRONMENT")),
		LogLevel:               slog.LevelInfo,
		MaxBodyBytes:           1 << 20,
		StorageTimeout:         2 * time.Second,
		MaxInFlight:            DefaultMaxInFlight,
		SecurityEventRetention: 90 * 24 * time.Hour,
	}
	if c.Port == "" {
		c.Port = "8080"
	}
	if c.Environment == LocalEnvironment {
		if m := PlatformMarkers(getenv); len(m) > 0 {
			verb := "is"
			if len(m) > 1 {
				verb = "are"
			}
			return c, fault.E("settings.Load", fault.Invalid, fmt.Sprintf(
				"COLLAB_ENVIRONMENT=local but %s %s set: this process runs on an Azure host, where the local policy is refused", strings.Join(m, ", "), verb))
		}
		c.Local = true
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
	var retentionDays int
	for _, err := range []error{
		ranged(getenv, "COLLAB_MAX_BODY_BYTES", &c.MaxBodyBytes, parseInt64, 1, math.MaxInt64, "a positive integer"),
		ranged(getenv, "COLLAB_STORAGE_TIMEOUT", &c.StorageTimeout, time.ParseDuration, 1, math.MaxInt64, "a positive duration"),
		ranged(getenv, "COLLAB_MAX_IN_FLIGHT", &c.MaxInFlight, strconv.Atoi, 1, 1000, "an integer from 1 to 1000"),
		ranged(getenv, "COLLAB_JOBS_LEASE_GRACE", &c.JobsLeaseGrace, time.ParseDuration, time.Second, time.Hour, "a duration from 1s to 1h"),
		ranged(getenv, "COLLAB_SECURITY_EVENT_RETENTION_DAYS", &retentionDays, strconv.Atoi, 1, 3650, "a whole number of days from 1 to 3650"),
	} {
		if err != nil {
			return c, err
		}
	}
	if retentionDays > 0 {
		c.SecurityEventRetention = time.Duration(retentionDays) * 24 * time.Hour
	}
	c.Auth = Auth{
		AcceptV1:    strings.EqualFold(getenv("COLLAB_OIDC_ACCEPT_V1"), "true"),
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
	for _, aud := range strings.Split(getenv("COLLAB_OIDC_AUDIENCE"), ",") {
		if aud = strings.TrimSpace(aud); aud != "" {
			c.Auth.Audiences = append(c.Auth.Audiences, aud)
		}
	}
	if len(c.Auth.Issuers) > 0 && len(c.Auth.Audiences) == 0 {
		return c, fault.E("settings.Load", fault.Invalid, "COLLAB_OIDC_AUDIENCE is required with COLLAB_OIDC_ISSUERS")
	}
	c.ServiceBus = ServiceBus{Namespace: getenv("ServiceBusConnection__fullyQualifiedNamespace"), ClientID: getenv("ServiceBusConnection__clientId")}
	for _, r := range strings.Split(getenv("COLLAB_EGRESS_ALLOW"), ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if _, err := netip.ParsePrefix(r); err != nil {
			return c, fault.E("settings.Load", fault.Invalid, fmt.Sprintf("COLLAB_EGRESS_ALLOW: %q is not a CIDR range", r))
		}
		c.EgressAllow = append(c.EgressAllow, r)
	}
	if v := getenv("COLLAB_PARAMS_KEY"); v != "" {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
		if err != nil || len(k) != 32 {
			return c, fault.E("settings.Load", fault.Invalid, "COLLAB_PARAMS_KEY must be 32 bytes, base64-encoded (make run generates one)")
		}
		c.Params.LocalKey = k
	}
	if v := getenv("COLLAB_PARAMS_VAULT_URI"); v != "" {
		if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
			return c, fault.E("settings.Load", fault.Invalid, fmt.Sprintf("COLLAB_PARAMS_VAULT_URI: %q is not an https URL", v))
		}
		c.Params.VaultURI = v
	}
	if err := c.loadMail(getenv); err != nil {
		return c, err
	}
	if err := c.loadStamp(getenv); err != nil {
		return c, err
	}
	if err := c.loadConsole(getenv); err != nil {
		return c, err
	}
	if c.Auth.Dev && !c.Local {
		return c, fault.E("settings.Load", fault.Invalid, c.notLocal("COLLAB_DEV_AUTH=true")+": the dev issuer would let anyone sign in")
	}
	return c, nil
}

// LocalEnvironment is the COLLAB_ENVIRONMENT value of a developer's machine.
const LocalEnvironment = "local"

// platformMarkers are variables an Azure host sets and a developer's machine
// does not. The Functions host tells its hosting plans apart by them
// (azure-functions-host, src/WebJobs.Script/Environment/EnvironmentExtensions.cs:
// IsAppService reads WEBSITE_INSTANCE_ID; IsFlexConsumptionSku reads
// WEBSITE_SKU == "FlexConsumption" or, in placeholder mode,
// IsLinuxConsumptionOnLegion: CONTAINER_NAME or WEBSITE_POD_NAME with
// LEGION_SERVICE_HOST and no WEBSITE_INSTANCE_ID). They only ever refuse the
// local policy, never grant anything: their absence proves nothing.
// CONTAINER_NAME alone (Linux Consumption on Atlas) is not one of them: dev
// containers and CI runners set it too.
var platformMarkers = []string{"WEBSITE_INSTANCE_ID", "WEBSITE_SKU", "LEGION_SERVICE_HOST", "WEBSITE_POD_NAME"}

// PlatformMarkers lists the Azure host variables that are set.
func PlatformMarkers(getenv func(string) string) []string {
	var set []string
	for _, k := range platformMarkers {
		if getenv(k) != "" {
			set = append(set, k)
		}
	}
	return set
}

// notLocal words the refusal of a local-only value under the cloud policy.
func (c *Config) notLocal(what string) string {
	return fmt.Sprintf("%s is refused outside local development (COLLAB_ENVIRONMENT=%q; only the devhost and tests set \"local\"), and so in Azure", what, c.Environment)
}

// ranged sets *dst from the environment variable name when it is set: parse
// reads it, and a value that does not parse or lies outside lo..hi is
// Invalid, "<name> must be <what>". Unset leaves *dst (its default) alone.
func ranged[T ~int | ~int64](getenv func(string) string, name string, dst *T, parse func(string) (T, error), lo, hi T, what string) error {
	v := getenv(name)
	if v == "" {
		return nil
	}
	n, err := parse(v)
	if err != nil || n < lo || n > hi {
		return fault.E("settings.Load", fault.Invalid, name+" must be "+what)
	}
	*dst = n
	return nil
}

func parseInt64(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

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

func (c *Config) loadMail(getenv func(string) string) error {
	bad := func(what string) error { return fault.E("settings.Load", fault.Invalid, what) }
	port := func(name string) (int, error) {
		v := getenv(name)
		if v == "" {
			return 0, nil
		}
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 {
			return 0, bad(name + " is not a port")
		}
		return int(n), nil
	}
	m := Mail{SMTPHost: getenv("COLLAB_SMTP_HOST"), SMTPUsername: getenv("COLLAB_SMTP_USERNAME"), SMTPPassword: getenv("COLLAB_SMTP_PASSWORD"),
		SMTPSecurity: orDefault(strings.ToLower(getenv("COLLAB_SMTP_TLS")), "starttls"), SMTPTimeout: 30 * time.Second,
		From:        orDefault(getenv("COLLAB_SMTP_FROM"), "Studio Collaboration <noreply@collab.localhost>"),
		ReplyDomain: orDefault(strings.ToLower(getenv("COLLAB_EMAIL_REPLY_DOMAIN")), "reply.collab.localhost"),
		PublicURL:   strings.TrimRight(orDefault(getenv("COLLAB_PUBLIC_URL"), "http://localhost:7071"), "/"),
		TokenKeys:   getenv("COLLAB_EMAIL_TOKEN_KEYS"), CallbackKeys: getenv("COLLAB_EMAIL_CALLBACK_KEYS"),
		InboundSecret: getenv("COLLAB_INBOUND_SECRET"), InboundRequireAuth: strings.EqualFold(getenv("COLLAB_INBOUND_REQUIRE_AUTH"), "true"),
		IMAP: IMAP{Host: getenv("COLLAB_IMAP_HOST"), Username: getenv("COLLAB_IMAP_USERNAME"), Password: getenv("COLLAB_IMAP_PASSWORD"),
			Security: orDefault(strings.ToLower(getenv("COLLAB_IMAP_TLS")), "tls"), Mailbox: orDefault(getenv("COLLAB_IMAP_MAILBOX"), "INBOX"),
			AuthservID: strings.TrimSpace(getenv("COLLAB_IMAP_AUTHSERV_ID"))}}
	var err error
	if m.SMTPPort, err = port("COLLAB_SMTP_PORT"); err != nil {
		return err
	}
	if m.IMAP.Port, err = port("COLLAB_IMAP_PORT"); err != nil {
		return err
	}
	if err := ranged(getenv, "COLLAB_SMTP_TIMEOUT", &m.SMTPTimeout, time.ParseDuration, 1, math.MaxInt64, "a positive duration"); err != nil {
		return err
	}
	for name, v := range map[string]string{"COLLAB_SMTP_TLS": m.SMTPSecurity, "COLLAB_IMAP_TLS": m.IMAP.Security} {
		switch v {
		case "starttls", "tls":
		case "none":
			if !c.Local {
				return bad(c.notLocal(name+"=none") + ": mail credentials and content would cross the network in clear")
			}
		default:
			return bad(name + " is starttls, tls or none")
		}
	}
	if m.IMAP.Host != "" && m.IMAP.Username == "" {
		return bad("COLLAB_IMAP_HOST is set without COLLAB_IMAP_USERNAME")
	}
	if strings.ContainsAny(m.IMAP.AuthservID, " \t\r\n;") {
		return bad("COLLAB_IMAP_AUTHSERV_ID is one token, like mx.example.com")
	}
	if strings.ContainsAny(m.ReplyDomain, "@<> \t\r\n") {
		return bad("COLLAB_EMAIL_REPLY_DOMAIN is a domain name")
	}
	c.Mail = m
	return nil
}

// loadConsole reads the console's sign-in settings: the authority must be
// https and comes with a client id and at least one scope, or not at all.
func (c *Config) loadConsole(getenv func(string) string) error {
	c.Console = Console{
		Authority: strings.TrimRight(strings.TrimSpace(getenv("COLLAB_CONSOLE_AUTHORITY")), "/"),
		ClientID:  strings.TrimSpace(getenv("COLLAB_CONSOLE_CLIENT_ID")),
		Scopes:    strings.Fields(getenv("COLLAB_CONSOLE_SCOPES")),
		Provider:  strings.TrimSpace(getenv("COLLAB_CONSOLE_PROVIDER")),
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

func (c *Config) loadStamp(getenv func(string) string) error {
	bad := func(what string) error { return fault.E("settings.Load", fault.Invalid, what) }
	st := Stamp{Name: strings.TrimSpace(getenv("COLLAB_STAMP")), Dedicated: strings.TrimSpace(getenv("COLLAB_DEDICATED_SUBSCRIPTION")),
		DirectoryConnectionString: getenv("COLLAB_DIRECTORY"), DirectoryTableURI: strings.TrimSpace(getenv("COLLAB_DIRECTORY_TABLE_URI"))}
	for _, kv := range strings.Split(getenv("COLLAB_STAMP_URLS"), ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, raw, ok := strings.Cut(kv, "=")
		u, err := url.Parse(strings.TrimSpace(raw))
		if !ok || strings.TrimSpace(name) == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return bad(fmt.Sprintf("COLLAB_STAMP_URLS: %q is not name=https://host", kv))
		}
		if u.Scheme == "http" && !c.Local {
			return bad(c.notLocal(fmt.Sprintf("COLLAB_STAMP_URLS: %q (http)", kv)) + ": bearer tokens follow these addresses")
		}
		if st.URLs == nil {
			st.URLs = map[string]string{}
		}
		st.URLs[strings.TrimSpace(name)] = strings.TrimRight(u.String(), "/")
	}
	if st.Name == "" {
		if len(st.URLs) > 0 || st.DirectoryConnectionString != "" || st.DirectoryTableURI != "" {
			return bad("COLLAB_STAMP_URLS and COLLAB_DIRECTORY* need COLLAB_STAMP (this stamp's name)")
		}
		c.Stamp = st
		return nil
	}
	if _, ok := st.URLs[st.Name]; !ok {
		return bad(fmt.Sprintf("COLLAB_STAMP_URLS must include this stamp (%s)", st.Name))
	}
	if (st.DirectoryConnectionString == "") == (st.DirectoryTableURI == "") {
		return bad("COLLAB_STAMP needs the global directory: COLLAB_DIRECTORY (Azurite) or COLLAB_DIRECTORY_TABLE_URI (managed identity), one of them")
	}
	if st.DirectoryTableURI != "" {
		if u, err := url.Parse(st.DirectoryTableURI); err != nil || u.Scheme != "https" || u.Host == "" {
			return bad(fmt.Sprintf("COLLAB_DIRECTORY_TABLE_URI: %q is not an https URL", st.DirectoryTableURI))
		}
	}
	c.Stamp = st
	return nil
}
