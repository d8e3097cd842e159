package azure

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/settings"
	"github.com/studio-collab/collab/shared/store"
)

// Config says how to reach storage: a connection string (Azurite), or the
// three service URLs with a token credential (managed identity in Azure).
type Config struct {
	ConnectionString string
	BlobServiceURL   string
	QueueServiceURL  string
	TableServiceURL  string
	Credential       azcore.TokenCredential
	// MaxRetries and TryTimeout bound the SDK's retries; callers still pass
	// contexts with deadlines. Defaults: 2 retries, 15 s per try.
	MaxRetries int32
	TryTimeout time.Duration
	// NamePrefix is put before every table and container name (letters and
	// digits, starting with a letter; lower-cased for containers), so several
	// isolated sets of storage can share one account: each test gets its own,
	// for instance. Queues are not prefixed (the Functions host names them).
	NamePrefix string
	// Transport sends the SDK's requests (nil: the SDK's shared default,
	// 10 idle connections per service and no cap). The handler passes a
	// pool sized to its bound on requests in flight (shared/conns).
	Transport policy.Transporter
}

// FromSettings turns the handler's storage settings into a Config, building
// a managed identity credential when there is no connection string.
func FromSettings(s settings.Storage) (Config, error) {
	if s.ConnectionString != "" {
		return Config{ConnectionString: s.ConnectionString}, nil
	}
	var opts azidentity.ManagedIdentityCredentialOptions
	if s.ClientID != "" {
		opts.ID = azidentity.ClientID(s.ClientID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(&opts)
	if err != nil {
		return Config{}, fault.E("azure.FromSettings", fault.Invalid, "managed identity", err)
	}
	return Config{BlobServiceURL: s.BlobServiceURI, QueueServiceURL: s.QueueServiceURI,
		TableServiceURL: s.TableServiceURI, Credential: cred}, nil
}

// Account holds the three service clients. It is safe for concurrent use.
type Account struct {
	tables *aztables.ServiceClient
	blobs  *azblob.Client
	queues *azqueue.ServiceClient

	tablePrefix string

	mu         sync.Mutex
	tableCache map[string]*Table
	queueCache map[string]*Queue
	contCache  map[string]*Container
}

// cached returns the client kept in cache under name, made by build the
// first time: an Account hands out one client per table, queue or
// container, however often a service asks for it.
func cached[T any](a *Account, cache map[string]T, name string, build func() T) T {
	a.mu.Lock()
	defer a.mu.Unlock()
	if v, ok := cache[name]; ok {
		return v
	}
	v := build()
	cache[name] = v
	return v
}

// Table returns the table called name (it is not created: see Bootstrap).
func (a *Account) Table(name string) store.Table {
	return cached(a, a.tableCache, name, func() *Table {
		return &Table{name: a.tablePrefix + name, client: a.tables.NewClient(a.tablePrefix + name)}
	})
}

// Queue returns the queue called name (created by Bootstrap).
func (a *Account) Queue(name string) store.Queue {
	return cached(a, a.queueCache, name, func() *Queue {
		return &Queue{name: name, client: a.queues.NewQueueClient(name)}
	})
}

// Container returns the container called name (created by Bootstrap).
func (a *Account) Container(name string) store.Container {
	return cached(a, a.contCache, name, func() *Container {
		full := strings.ToLower(a.tablePrefix) + name
		return &Container{name: full, client: a.blobs.ServiceClient().NewContainerClient(full)}
	})
}

// Open builds the clients. It makes no network call, so a handler starts
// fast and an outage shows in Ping rather than at start-up.
func Open(cfg Config) (*Account, error) {
	const op = "store.Open"
	if cfg.MaxRetries == 0 {
		cfg.MaxRetries = 2
	}
	if cfg.TryTimeout == 0 {
		cfg.TryTimeout = 15 * time.Second
	}
	co := azcore.ClientOptions{Retry: policy.RetryOptions{
		MaxRetries: cfg.MaxRetries, TryTimeout: cfg.TryTimeout,
		RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 2 * time.Second,
	}, Transport: cfg.Transport}
	// The table client decodes query and read bodies itself (decode.go).
	tco := co
	tco.PerCallPolicies = []policy.Policy{decodePolicy{}}
	if cfg.NamePrefix != "" && (store.Layout{Tables: []string{cfg.NamePrefix + "xyz"}}).Validate() != nil {
		return nil, fault.E(op, fault.Invalid, "NamePrefix must be letters and digits, starting with a letter")
	}
	a := &Account{tableCache: map[string]*Table{}, queueCache: map[string]*Queue{}, contCache: map[string]*Container{}, tablePrefix: cfg.NamePrefix}
	var err error
	if cfg.ConnectionString != "" {
		cs, perr := parseConnectionString(cfg.ConnectionString)
		if perr != nil {
			return nil, fault.E(op, perr)
		}
		tcred, err1 := aztables.NewSharedKeyCredential(cs.account, cs.key)
		bcred, err2 := azblob.NewSharedKeyCredential(cs.account, cs.key)
		qcred, err3 := azqueue.NewSharedKeyCredential(cs.account, cs.key)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fault.E(op, fault.Invalid, "the account key in the connection string is not valid base64")
		}
		if a.tables, err = aztables.NewServiceClientWithSharedKey(cs.table, tcred, &aztables.ClientOptions{ClientOptions: tco}); err != nil {
			return nil, fault.E(op, fault.Invalid, "table endpoint", err)
		}
		if a.blobs, err = azblob.NewClientWithSharedKeyCredential(cs.blob, bcred, &azblob.ClientOptions{ClientOptions: co}); err != nil {
			return nil, fault.E(op, fault.Invalid, "blob endpoint", err)
		}
		if a.queues, err = azqueue.NewServiceClientWithSharedKeyCredential(cs.queue, qcred, &azqueue.ClientOptions{ClientOptions: co}); err != nil {
			return nil, fault.E(op, fault.Invalid, "queue endpoint", err)
		}
		return a, nil
	}
	if cfg.Credential == nil || cfg.TableServiceURL == "" || cfg.BlobServiceURL == "" || cfg.QueueServiceURL == "" {
		return nil, fault.E(op, fault.Invalid, "either a connection string or three service URLs and a credential are required")
	}
	if a.tables, err = aztables.NewServiceClient(cfg.TableServiceURL, cfg.Credential, &aztables.ClientOptions{ClientOptions: tco}); err != nil {
		return nil, fault.E(op, fault.Invalid, "table endpoint", err)
	}
	if a.blobs, err = azblob.NewClient(cfg.BlobServiceURL, cfg.Credential, &azblob.ClientOptions{ClientOptions: co}); err != nil {
		return nil, fault.E(op, fault.Invalid, "blob endpoint", err)
	}
	if a.queues, err = azqueue.NewServiceClient(cfg.QueueServiceURL, cfg.Credential, &azqueue.ClientOptions{ClientOptions: co}); err != nil {
		return nil, fault.E(op, fault.Invalid, "queue endpoint", err)
	}
	return a, nil
}

type connectionString struct {
	account, key, blob, queue, table string
}

// parseConnectionString reads an Azure Storage connection string. Only the
// explicit-endpoint form Azurite uses is accepted, plus the account form
// (endpoints derived) for completeness; keys are case-insensitive.
func parseConnectionString(s string) (connectionString, error) {
	f := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok {
			f[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	cs := connectionString{account: f["accountname"], key: f["accountkey"],
		blob: f["blobendpoint"], queue: f["queueendpoint"], table: f["tableendpoint"]}
	if cs.account == "" || cs.key == "" {
		return cs, fault.E("store.parseConnectionString", fault.Invalid, "the connection string needs AccountName and AccountKey")
	}
	proto := f["defaultendpointsprotocol"]
	if proto == "" {
		proto = "https"
	}
	suffix := f["endpointsuffix"]
	if suffix == "" {
		suffix = "core.windows.net"
	}
	def := func(v *string, svc string) {
		if *v == "" {
			*v = fmt.Sprintf("%s://%s.%s.%s", proto, cs.account, svc, suffix)
		}
	}
	def(&cs.blob, "blob")
	def(&cs.queue, "queue")
	def(&cs.table, "table")
	return cs, nil
}

// Ping makes one cheap call to each service, concurrently, and returns the
// outcome per service ("tables", "blobs", "queues"); nil means it answered.
func (a *Account) Ping(ctx context.Context) map[string]error {
	type result struct {
		svc string
		err error
	}
	probes := map[string]func() error{
		"tables": func() error {
			_, err := a.tables.NewListTablesPager(&aztables.ListTablesOptions{Top: to.Ptr(int32(1))}).NextPage(ctx)
			return err
		},
		"blobs": func() error {
			_, err := a.blobs.NewListContainersPager(&azblob.ListContainersOptions{MaxResults: to.Ptr(int32(1))}).NextPage(ctx)
			return err
		},
		"queues": func() error {
			_, err := a.queues.NewListQueuesPager(&azqueue.ListQueuesOptions{MaxResults: to.Ptr(int32(1))}).NextPage(ctx)
			return err
		},
	}
	ch := make(chan result, len(probes))
	for svc, probe := range probes {
		go func() { ch <- result{svc, probe()} }()
	}
	out := make(map[string]error, len(probes))
	for range probes {
		r := <-ch
		if r.err != nil {
			r.err = mapErr("store.Ping", r.svc, r.err)
		}
		out[r.svc] = r.err
	}
	return out
}
