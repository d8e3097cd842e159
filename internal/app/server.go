package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/studio-collab/collab/handlers"
	"github.com/studio-collab/collab/shared/conns"
	"github.com/studio-collab/collab/shared/deploy/messaging"
	"github.com/studio-collab/collab/shared/deploy/portal"
	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/envconfig"
	"github.com/studio-collab/collab/shared/envconfig/keyvault"
	"github.com/studio-collab/collab/shared/envconfig/localvault"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/health"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/mail/imapinbox"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/settings"
	"github.com/studio-collab/collab/shared/stamp"
	"github.com/studio-collab/collab/shared/store"
	"github.com/studio-collab/collab/shared/store/azure"
)

// Server is the whole service as the handler binary serves it: the root
// handler (every HTTP route and every non-HTTP function), and what runs
// beside it.
type Server struct {
	Handler  http.Handler
	Services Services
	// Bootstrap creates the storage every module declares, then the
	// housekeeping jobs; run it in the background (start-up stays fast and
	// /api/health reports storage reachability independently of it).
	Bootstrap func(ctx context.Context)
	// Close releases the connections the server opened (Service Bus).
	Close func()
}

// NewServer builds the service from its settings: storage, the token
// issuers, the domain services (New) and their adapters in Azure or on a
// developer's machine, then the routes. version is the build's version.
func NewServer(ctx context.Context, cfg settings.Config, log *slog.Logger, version string) (*Server, error) {
	storeCfg, err := azure.FromSettings(cfg.Storage)
	if err != nil {
		return nil, err
	}
	// One pool sized to the bound on requests in flight, capped per host;
	// the observer tells the health check that storage answers (slow is
	// not down).
	storage := health.Observe(conns.ForStorage(cfg.MaxInFlight), nil)
	storeCfg.Transport = storage
	account, err := azure.Open(storeCfg)
	if err != nil {
		return nil, err
	}
	auth, dev, err := authenticator(ctx, cfg, log)
	if err != nil {
		return nil, err
	}

	svcs := New(account, nil)
	svcs.Jobs.LeaseGrace = cfg.JobsLeaseGrace
	svcs.SecEvents.Retention = cfg.SecurityEventRetention
	stamps, directory, err := openStamps(cfg)
	if err != nil {
		return nil, err
	}
	if stamps != nil {
		svcs.Platform.Homes = stamps
		log.Info("stamp", "name", stamps.Self, "dedicated", stamps.Dedicated, "stamps", len(stamps.URLs))
	}
	if dev != nil {
		// Locally anyone signed in through the dev issuer may bootstrap a subscription.
		svcs.Platform.CanCreateSubscriptions = func(platform.Caller) bool { return true }
	}
	auth.SetGate(handlers.Gate{Svc: svcs.Platform})
	closeDeploy, err := azureDeployments(cfg, svcs)
	if err != nil {
		return nil, err
	}
	if svcs.Params.Secrets, err = paramSecrets(cfg, log); err != nil {
		closeDeploy()
		return nil, err
	}
	if err := svcs.Mail.Configure(cfg.Mail, !cfg.Local); err != nil {
		closeDeploy()
		return nil, err
	}
	logInbox(log, svcs.Mail.Poller.Config.Status(cfg.Mail.InboundRequireAuth))
	svcs.Platform.PublicURL = cfg.Mail.PublicURL
	// Customers' endpoints: public addresses (and COLLAB_EGRESS_ALLOW) under
	// the cloud policy; on a developer's machine (COLLAB_ENVIRONMENT=local)
	// the stand-ins live on loopback.
	egressPolicy := egress.NewPolicy(cfg.EgressAllow)
	if cfg.Local {
		egressPolicy = egress.Local()
	}
	svcs.UseEgress(egressPolicy)

	api := httpapi.NewRouter(log, auth, cfg.MaxBodyBytes)
	api.LimitInFlight(cfg.MaxInFlight)
	var bootstrapped atomic.Bool
	ready := func() error {
		if !bootstrapped.Load() {
			return errors.New("storage bootstrap has not completed yet")
		}
		return nil
	}
	deps := svcs.Deps(handlers.Health{Version: version, Storage: account, Timeout: cfg.StorageTimeout, Ready: ready,
		Answered: storage.LastAnswer, Failed: storage.LastFailure}, handlers.DevAuth{Issuer: dev})
	deps.Stamps = stamps
	deps.Console, err = handlers.NewConsole(handlers.ConsoleConfig{DevAuth: dev != nil, DemoUsers: cfg.Console.DemoUsers,
		Authority: cfg.Console.Authority, ClientID: cfg.Console.ClientID, Scopes: cfg.Console.Scopes, Provider: cfg.Console.Provider, Stamps: stamps.Origins()})
	if err != nil {
		closeDeploy()
		return nil, err
	}
	handlers.Register(api, deps)
	root := fnhost.NewRouter(api, log)
	handlers.RegisterFunctions(root, deps)

	// Tables, containers and queues are provisioned by infra/ in Azure; the
	// idempotent bootstrap makes a fresh Azurite usable.
	boot := func(ctx context.Context) {
		if directory != nil && !bootstrap(ctx, log, directory, stamp.Layout) {
			return
		}
		if !bootstrap(ctx, log, account, StorageLayouts()...) {
			return
		}
		bootstrapped.Store(true)
		if directory != nil {
			// Data from before the directory: claim it for this stamp.
			n, conflicts, err := svcs.Platform.ClaimHomes(ctx)
			switch {
			case err != nil:
				log.Error("stamp directory backfill", "error", err.Error())
			case len(conflicts) > 0:
				log.Error("stamp directory backfill: ids claimed by another stamp", "conflicts", conflicts, "claimed", n)
			}
		}
		if err := svcs.Jobs.EnsureSystem(ctx, svcs.Jobs.SystemJobs()); err != nil {
			log.Error("system jobs", "error", err.Error())
		}
	}
	return &Server{Handler: root, Services: svcs, Bootstrap: boot, Close: closeDeploy}, nil
}

// authenticator trusts the configured token issuers, and the dev issuer
// when it is on (returned, since it also serves the dev sign-in).
func authenticator(ctx context.Context, cfg settings.Config, log *slog.Logger) (*identity.Authenticator, *identity.DevIssuer, error) {
	issuers := make([]identity.IssuerConfig, 0, len(cfg.Auth.Issuers)+1)
	for _, u := range cfg.Auth.Issuers {
		issuers = append(issuers, identity.IssuerConfig{URL: u, Audiences: cfg.Auth.Audiences, AcceptV1: cfg.Auth.AcceptV1})
	}
	var dev *identity.DevIssuer
	if cfg.Auth.Dev {
		var err error
		if dev, err = identity.NewDevIssuer(cfg.Auth.DevURL, cfg.Auth.DevAudience, cfg.Auth.DevKeyFile, !cfg.Local, nil); err != nil {
			return nil, nil, err
		}
		issuers = append(issuers, dev.Config())
	}
	auth := identity.NewAuthenticator(issuers)
	// An issuer whose discovery document names another issuer would refuse
	// every token: say so now. One that cannot be reached is retried later.
	checkCtx, cancelCheck := context.WithTimeout(ctx, 15*time.Second)
	unreachable, err := auth.CheckIssuers(checkCtx)
	cancelCheck()
	if err != nil {
		return nil, nil, err
	}
	for _, e := range unreachable {
		log.Warn("token issuer unreachable at start-up; discovery is retried on first use", "error", e.Error())
	}
	return auth, dev, nil
}

// paramSecrets picks where secret parameters are sealed: the Key Vault in
// Azure, the local key otherwise; with neither, secret parameters are
// refused (503) rather than stored in clear.
func paramSecrets(cfg settings.Config, log *slog.Logger) (envconfig.Secrets, error) {
	switch {
	case cfg.Params.VaultURI != "":
		log.Info("secret parameters are sealed in Key Vault", "vault", cfg.Params.VaultURI)
		// A pool of its own, as large as the requests in flight (shared/conns).
		return keyvault.NewManagedIdentity(cfg.Params.VaultURI, cfg.Storage.ClientID, &http.Client{Transport: conns.Pool(cfg.MaxInFlight)})
	case cfg.Params.LocalKey != nil:
		log.Info("secret parameters are sealed with the local key", "keyId", localvault.KeyID(cfg.Params.LocalKey))
		return localvault.New(cfg.Params.LocalKey)
	}
	log.Warn("no COLLAB_PARAMS_KEY or COLLAB_PARAMS_VAULT_URI: secret parameters are refused")
	return nil, nil
}

// bootstrap creates the storage every module declares, retrying while
// storage is not reachable yet (Azurite may start after the handler). It
// reports whether it completed.
func bootstrap(ctx context.Context, log *slog.Logger, account *azure.Account, layouts ...store.Layout) bool {
	for attempt := 1; ; attempt++ {
		err := account.Bootstrap(ctx, layouts...)
		if err == nil {
			log.Info("storage bootstrapped")
			return true
		}
		log.Warn("storage bootstrap failed; retrying", "attempt", attempt, "error", err.Error())
		select {
		case <-ctx.Done():
			return false
		case <-time.After(min(time.Duration(attempt)*200*time.Millisecond, 5*time.Second)):
		}
	}
}

// azureDeployments points deployments at Azure when configured: messages to
// the Service Bus queue instead of the local Storage queue, and Work Portal
// restarts through Azure Resource Manager, both with the managed identity.
// Locally (COLLAB_ENVIRONMENT=local, no namespace) it changes nothing.
func azureDeployments(cfg settings.Config, svcs Services) (func(), error) {
	if cfg.ServiceBus.Namespace == "" && cfg.Local {
		return func() {}, nil
	}
	var opts azidentity.ManagedIdentityCredentialOptions
	if cfg.ServiceBus.ClientID != "" {
		opts.ID = azidentity.ClientID(cfg.ServiceBus.ClientID)
	}
	// Token requests and ARM calls share a pool as large as the requests
	// in flight, capped per host (shared/conns).
	transport := &http.Client{Transport: conns.Pool(cfg.MaxInFlight)}
	opts.Transport = transport
	cred, err := azidentity.NewManagedIdentityCredential(&opts)
	if err != nil {
		return nil, fmt.Errorf("managed identity for deployments: %w", err)
	}
	arm, err := portal.NewARM(cred, portal.ARMOptions{Transport: transport})
	if err != nil {
		return nil, err
	}
	svcs.Deploy.Runtime = portal.NewClient(arm)
	if cfg.ServiceBus.Namespace == "" {
		return func() {}, nil
	}
	sb, closeSB, err := messaging.DialServiceBus(cfg.ServiceBus.Namespace, cred)
	if err != nil {
		return nil, err
	}
	svcs.Deploy.Queue = sb
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = closeSB(ctx)
	}, nil
}

// openStamps places this instance among the deployment's stamps: nil for
// one shared stamp (the default); otherwise the global directory's account
// (a connection string on Azurite, the table endpoint with the managed
// identity in Azure) and the other stamps' addresses.
func openStamps(cfg settings.Config) (*stamp.Stamps, *azure.Account, error) {
	st := cfg.Stamp
	if st.Name == "" && st.Dedicated == "" {
		return nil, nil, nil
	}
	s := &stamp.Stamps{Self: st.Name, URLs: st.URLs, Dedicated: st.Dedicated}
	if st.Name == "" {
		return s, nil, nil
	}
	dirCfg := azure.Config{ConnectionString: st.DirectoryConnectionString}
	if st.DirectoryConnectionString == "" {
		uri := st.DirectoryTableURI
		var err error
		// Only the table endpoint is used; the account's other endpoints
		// follow Azure's naming.
		dirCfg, err = azure.FromSettings(settings.Storage{TableServiceURI: uri, ClientID: cfg.Storage.ClientID,
			BlobServiceURI: strings.Replace(uri, ".table.", ".blob.", 1), QueueServiceURI: strings.Replace(uri, ".table.", ".queue.", 1)})
		if err != nil {
			return nil, nil, fmt.Errorf("stamp directory: %w", err)
		}
	}
	dir, err := azure.Open(dirCfg)
	if err != nil {
		return nil, nil, fmt.Errorf("stamp directory: %w", err)
	}
	s.Dir = stamp.NewDirectory(dir.Table(stamp.TableName), nil)
	return s, dir, nil
}

// logInbox says at start-up whether the task reply mailbox is polled, and
// why, so that a person who set (or forgot) COLLAB_IMAP_* sees it at once.
func logInbox(log *slog.Logger, st imapinbox.Status) {
	state := "off"
	if st.On {
		state = "on"
	}
	log.Info("IMAP mailbox polling "+state, "why", st.Why)
	if st.Warning != "" {
		log.Warn("IMAP mailbox: "+st.Warning, "setting", "COLLAB_IMAP_AUTHSERV_ID")
	}
}
