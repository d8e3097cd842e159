package settings

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

func env(m map[string]string, asked map[string]bool) func(string) string {
	return func(k string) string {
		if asked != nil {
			asked[k] = true
		}
		return m[k]
	}
}

func TestLoad(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "azurite connection string", env: map[string]string{"AzureWebJobsStorage": "UseThis", "FUNCTIONS_CUSTOMHANDLER_PORT": "3456"},
			check: func(t *testing.T, c Config) {
				if c.Port != "3456" || c.Storage.ConnectionString != "UseThis" || c.Local || c.MaxBodyBytes != 1<<20 {
					t.Fatalf("%+v", c)
				}
			}},
		{name: "identity-based: URIs derived from the account", env: map[string]string{"AzureWebJobsStorage__accountName": "stcollab", "COLLAB_ENVIRONMENT": "prod"},
			check: func(t *testing.T, c Config) {
				if c.Storage.TableServiceURI != "https://stcollab.table.core.windows.net" || c.Local || c.Environment != "prod" || c.Port != "8080" {
					t.Fatalf("%+v", c)
				}
			}},
		{name: "identity-based: explicit URIs kept", env: map[string]string{"AzureWebJobsStorage__accountName": "a", "AzureWebJobsStorage__blobServiceUri": "https://b.example"},
			check: func(t *testing.T, c Config) {
				if c.Storage.BlobServiceURI != "https://b.example" || c.Storage.QueueServiceURI != "https://a.queue.core.windows.net" {
					t.Fatalf("%+v", c.Storage)
				}
			}},
		{name: "tunables", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_LOG_LEVEL": "debug", "COLLAB_MAX_BODY_BYTES": "10", "COLLAB_STORAGE_TIMEOUT": "300ms",
			"COLLAB_JOBS_LEASE_GRACE": "3s", "COLLAB_SECURITY_EVENT_RETENTION_DAYS": "30"},
			check: func(t *testing.T, c Config) {
				if c.LogLevel != slog.LevelDebug || c.MaxBodyBytes != 10 || c.StorageTimeout != 300*time.Millisecond || c.JobsLeaseGrace != 3*time.Second ||
					c.SecurityEventRetention != 30*24*time.Hour {
					t.Fatalf("%+v", c)
				}
			}},
		{name: "auth settings", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_OIDC_ISSUERS": "https://login.microsoftonline.com/t/v2.0, https://b", "COLLAB_OIDC_AUDIENCE": "6e74172b-be56-4843-9ff4-e66a39bb12e3, api://x", "COLLAB_OIDC_ACCEPT_V1": "true", "COLLAB_DEV_AUTH": "TRUE", "COLLAB_ENVIRONMENT": "local"},
			check: func(t *testing.T, c Config) {
				if len(c.Auth.Issuers) != 2 || strings.Join(c.Auth.Audiences, " ") != "6e74172b-be56-4843-9ff4-e66a39bb12e3 api://x" || !c.Auth.AcceptV1 || !c.Auth.Dev || c.Auth.DevKeyFile == "" || c.Auth.DevURL != "http://127.0.0.1:7071/api/dev" {
					t.Fatalf("%+v", c.Auth)
				}
			}},
		{name: "egress allow-list", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_EGRESS_ALLOW": "10.20.0.0/16, fd00:1::/64"},
			check: func(t *testing.T, c Config) {
				if strings.Join(c.EgressAllow, ",") != "10.20.0.0/16,fd00:1::/64" {
					t.Fatalf("%v", c.EgressAllow)
				}
			}},
		{name: "egress allow-list takes CIDR ranges only", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_EGRESS_ALLOW": "10.0.0.1"}, wantErr: "COLLAB_EGRESS_ALLOW"},
		// Locality is an explicit setting; the absence of WEBSITE_INSTANCE_ID (Flex sets none) proves nothing.
		{name: "no COLLAB_ENVIRONMENT: the cloud policy", env: map[string]string{"AzureWebJobsStorage": "x"},
			check: func(t *testing.T, c Config) {
				if c.Local {
					t.Fatal("local without COLLAB_ENVIRONMENT=local")
				}
			}},
		{name: "COLLAB_ENVIRONMENT=local: the local policy", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_ENVIRONMENT": "local"},
			check: func(t *testing.T, c Config) {
				if !c.Local {
					t.Fatal("not local")
				}
			}},
		{name: "dev auth refused without COLLAB_ENVIRONMENT", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_DEV_AUTH": "true"}, wantErr: "refused outside local development"},
		{name: "dev auth refused in a named environment", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_ENVIRONMENT": "prod", "COLLAB_DEV_AUTH": "true"}, wantErr: "refused outside local development"},
		{name: "dev auth refused on Flex Consumption (no WEBSITE_INSTANCE_ID)", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_DEV_AUTH": "true",
			"WEBSITE_SKU": "FlexConsumption", "CONTAINER_NAME": "c", "LEGION_SERVICE_HOST": "l"}, wantErr: "refused outside local development"},
		{name: "local refused on App Service", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_ENVIRONMENT": "local", "WEBSITE_INSTANCE_ID": "i"}, wantErr: "WEBSITE_INSTANCE_ID is set"},
		{name: "local refused on Flex Consumption", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_ENVIRONMENT": "local", "WEBSITE_SKU": "FlexConsumption"}, wantErr: "WEBSITE_SKU is set"},
		{name: "local refused on a Flex placeholder (Legion, SKU not yet set)", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_ENVIRONMENT": "local",
			"WEBSITE_POD_NAME": "p", "LEGION_SERVICE_HOST": "l"}, wantErr: "LEGION_SERVICE_HOST, WEBSITE_POD_NAME are set"},
		{name: "CONTAINER_NAME alone is no proof of Azure (dev containers set it)", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_ENVIRONMENT": "local", "CONTAINER_NAME": "c"},
			check: func(t *testing.T, c Config) {
				if !c.Local {
					t.Fatal("not local")
				}
			}},
		{name: "issuer must be https", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_OIDC_ISSUERS": "http://evil", "COLLAB_OIDC_AUDIENCE": "a"}, wantErr: "not an https URL"},
		{name: "issuers need an audience", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_OIDC_ISSUERS": "https://a"}, wantErr: "COLLAB_OIDC_AUDIENCE is required"},
		{name: "console sign-in", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_CONSOLE_AUTHORITY": "https://login.microsoftonline.com/t/v2.0/",
			"COLLAB_CONSOLE_CLIENT_ID": "c1", "COLLAB_CONSOLE_SCOPES": "api://x/user_impersonation  openid", "COLLAB_CONSOLE_DEMO_USERS": "a@x.dev, b@x.dev,"},
			check: func(t *testing.T, c Config) {
				k := c.Console
				if k.Authority != "https://login.microsoftonline.com/t/v2.0" || k.ClientID != "c1" || strings.Join(k.Scopes, "|") != "api://x/user_impersonation|openid" ||
					strings.Join(k.DemoUsers, "|") != "a@x.dev|b@x.dev" {
					t.Fatalf("%+v", k)
				}
			}},
		{name: "console authority must be https", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_CONSOLE_AUTHORITY": "http://idp", "COLLAB_CONSOLE_CLIENT_ID": "c", "COLLAB_CONSOLE_SCOPES": "s"}, wantErr: "COLLAB_CONSOLE_AUTHORITY"},
		{name: "console authority needs a client and scopes", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_CONSOLE_AUTHORITY": "https://idp"}, wantErr: "COLLAB_CONSOLE_CLIENT_ID and COLLAB_CONSOLE_SCOPES are required"},
		{name: "no storage at all", env: map[string]string{}, wantErr: "storage is not configured"},
		{name: "bad port", env: map[string]string{"AzureWebJobsStorage": "x", "FUNCTIONS_CUSTOMHANDLER_PORT": "http"}, wantErr: "not a port"},
		{name: "bad credential kind", env: map[string]string{"AzureWebJobsStorage__accountName": "a", "AzureWebJobsStorage__credential": "connectionstring"}, wantErr: "only managedidentity"},
		{name: "bad log level", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_LOG_LEVEL": "loud"}, wantErr: "COLLAB_LOG_LEVEL"},
		{name: "bad body cap", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_MAX_BODY_BYTES": "-1"}, wantErr: "positive integer"},
		{name: "secret parameters: local key and vault", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_PARAMS_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "COLLAB_PARAMS_VAULT_URI": "https://kv-x.vault.azure.net/"},
			check: func(t *testing.T, c Config) {
				if len(c.Params.LocalKey) != 32 || c.Params.LocalKey[31] != 31 || c.Params.VaultURI != "https://kv-x.vault.azure.net/" {
					t.Fatalf("%+v", c.Params)
				}
			}},
		{name: "a short params key", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_PARAMS_KEY": "c2hvcnQ="}, wantErr: "COLLAB_PARAMS_KEY must be 32 bytes"},
		{name: "a params key that is not base64", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_PARAMS_KEY": "generated by make run"}, wantErr: "COLLAB_PARAMS_KEY must be 32 bytes"},
		{name: "a plain-http vault", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_PARAMS_VAULT_URI": "http://kv"}, wantErr: "not an https URL"},
		{name: "bad timeout", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_STORAGE_TIMEOUT": "2"}, wantErr: "positive duration"},
		{name: "a security event retention of zero days", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_SECURITY_EVENT_RETENTION_DAYS": "0"}, wantErr: "from 1 to 3650"},
		{name: "a lease grace below a second", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_JOBS_LEASE_GRACE": "10ms"}, wantErr: "from 1s to 1h"},
		{name: "mail settings", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_SMTP_HOST": "smtp.example.com", "COLLAB_SMTP_PORT": "465",
			"COLLAB_SMTP_TLS": "TLS", "COLLAB_SMTP_TIMEOUT": "5s", "COLLAB_INBOUND_REQUIRE_AUTH": "true", "COLLAB_PUBLIC_URL": "https://c.example/"},
			check: func(t *testing.T, c Config) {
				m := c.Mail
				if m.SMTPHost != "smtp.example.com" || m.SMTPPort != 465 || m.SMTPSecurity != "tls" || m.SMTPTimeout != 5*time.Second ||
					!m.InboundRequireAuth || m.PublicURL != "https://c.example" || m.IMAP.Mailbox != "INBOX" || m.IMAP.Security != "tls" {
					t.Fatalf("%+v", m)
				}
			}},
		{name: "SMTP in clear refused without COLLAB_ENVIRONMENT", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_SMTP_TLS": "none"}, wantErr: "refused outside local development"},
		{name: "IMAP in clear refused without COLLAB_ENVIRONMENT", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_IMAP_TLS": "none"}, wantErr: "refused outside local development"},
		{name: "SMTP in clear allowed locally", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_ENVIRONMENT": "local", "COLLAB_SMTP_TLS": "none"},
			check: func(t *testing.T, c Config) {
				if c.Mail.SMTPSecurity != "none" {
					t.Fatalf("%+v", c.Mail)
				}
			}},
		{name: "bad SMTP mode", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_SMTP_TLS": "ssl3"}, wantErr: "starttls, tls or none"},
		{name: "bad SMTP port", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_SMTP_PORT": "smtp"}, wantErr: "not a port"},
		{name: "bad reply domain", env: map[string]string{"AzureWebJobsStorage": "x", "COLLAB_EMAIL_REPLY_DOMAIN": "a@b"}, wantErr: "domain name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(env(c.env, nil))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !fault.Is(err, fault.Invalid) {
					t.Fatalf("err = %v, want Invalid containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, cfg)
		})
	}
}

func TestLoadReadsOnlyCatalogued(t *testing.T) {
	asked := map[string]bool{}
	_, _ = Load(env(map[string]string{"AzureWebJobsStorage": "x"}, asked))
	_, _ = Load(env(map[string]string{"AzureWebJobsStorage__accountName": "a", "AzureWebJobsStorage__credential": "managedidentity"}, asked))
	_, _ = Load(env(map[string]string{"AzureWebJobsStorage": "x", "COLLAB_ENVIRONMENT": "local"}, asked))
	known := map[string]bool{}
	for _, s := range Catalogue() {
		if known[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		known[s.Name] = true
		switch s.Where {
		case "local", "azure", "both", "platform":
		default:
			t.Errorf("%s: Where %q", s.Name, s.Where)
		}
	}
	for name := range asked {
		if !known[name] {
			t.Errorf("Load reads %s, which is not in Catalogue", name)
		}
	}
	for name := range known {
		if !asked[name] {
			t.Errorf("Catalogue lists %s, which Load never reads", name)
		}
	}
}
