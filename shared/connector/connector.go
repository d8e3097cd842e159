package connector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/envconfig"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/secevent"
	"github.com/studio-collab/collab/shared/store"
)

// Layout is the storage connectors need.
var Layout = store.Layout{Tables: []string{"connectors"}}

// InvokeRole is the application role a service principal (the Work
// Portal's identity) needs to invoke connectors, besides being listed in the
// environment's settings.
const InvokeRole = "Connectors.Invoke"

// Authentication kinds.
const (
	AuthNone   = "none"
	AuthAPIKey = "apiKey"
	AuthBasic  = "basic"
	AuthOAuth2 = "oauth2"
)

// Limits and defaults of a connector.
const (
	DefaultTimeout          = 10 * time.Second
	MaxTimeout              = 60 * time.Second
	DefaultMaxResponseBytes = 1 << 20
	MaxResponseBytes        = 4 << 20
)

// Auth is how a connector authenticates. The *Param fields name
// environment parameters (envconfig), resolved at call time.
type Auth struct {
	Kind              string   `json:"kind"`
	Header            string   `json:"header,omitempty"`   // apiKey: the header (default X-API-Key)
	KeyParam          string   `json:"keyParam,omitempty"` // apiKey
	UsernameParam     string   `json:"usernameParam,omitempty"`
	PasswordParam     string   `json:"passwordParam,omitempty"`
	TokenURL          string   `json:"tokenUrl,omitempty"` // oauth2: the token endpoint
	ClientIDParam     string   `json:"clientIdParam,omitempty"`
	ClientSecretParam string   `json:"clientSecretParam,omitempty"`
	Scopes            []string `json:"scopes,omitempty"`
}

// Connector is one registered connector of an environment.
type Connector struct {
	Name             string    `json:"name"`
	Description      string    `json:"description,omitempty"`
	BaseURL          string    `json:"baseUrl"`
	Methods          []string  `json:"methods"`
	PathPrefixes     []string  `json:"pathPrefixes"`
	Auth             Auth      `json:"auth"`
	TimeoutMs        int64     `json:"timeoutMs"`
	MaxResponseBytes int64     `json:"maxResponseBytes"`
	UpdatedAt        time.Time `json:"updatedAt"`
	UpdatedBy        string    `json:"updatedBy"`
	ETag             string    `json:"-"`
}

// Settings are an environment's connector settings (admins only): the
// networks its connectors may reach although they are private, and the
// service principals (the Work Portal's identity) that may invoke.
type Settings struct {
	AllowNetworks []string  `json:"allowNetworks"`
	Invokers      []string  `json:"invokers"`
	UpdatedAt     time.Time `json:"updatedAt,omitzero"`
	UpdatedBy     string    `json:"updatedBy,omitempty"`
	ETag          string    `json:"-"`
}

// Params resolves the parameters credentials refer to; *envconfig.Service
// has it. Version changes whenever the parameter does.
type Params interface {
	Version(ctx context.Context, project, env, name string) (string, error)
	Resolve(ctx context.Context, project, env, name string) (string, error)
}

// Actor is who changes connectors, for the audit log.
type Actor struct{ ID, Name, RequestID string }

// Service keeps connectors and invokes them. Safe for concurrent use.
type Service struct {
	table  store.Table
	params Params
	audit  *audit.Log
	now    func() time.Time
	// Resolver answers DNS for outbound calls (nil: the system's). Tests
	// inject one to play DNS rebinding.
	Resolver egress.Resolver
	// Events records refused outbound calls (nil: none are recorded).
	Events secevent.Recorder
	// Logger gives the logger of a call's context (nil: slog.Default).
	Logger func(ctx context.Context) *slog.Logger

	mu         sync.Mutex
	transports map[string]*http.Transport // by allow-list
	tokens     map[string]cachedToken
}

// New returns a Service on t, resolving credentials through p.
func New(t store.Table, p Params, log *audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{table: t, params: p, audit: log, now: now, transports: map[string]*http.Transport{}, tokens: map[string]cachedToken{}}
}

var namePattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$`)

// settingsKey is the settings row's key; connector names cannot start with '!'.
const settingsKey = "!settings"

var allowedMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

func pk(project, env string) string { return store.EncodeKey(project + "/" + env) }

func notFound(name string) error {
	return fault.E("connector", fault.NotFound, fmt.Sprintf("connector %s not found", name))
}

// Caps of a connector's fields (documented in api/openapi.yaml): with the
// 2,048-byte paths of checkPath, a connector at every cap is under 200 KB of
// JSON, which its row stores (store.SetDoc).
const (
	MaxURLBytes     = 2048
	MaxPathPrefixes = 32
	maxMethods      = 16
	maxScopeBytes   = 256
)

func invalid(why string) error { return fault.E("connector", fault.Invalid, why) }

// normalize fills defaults and checks every field; it fails with the first
// problem, naming the field.
func (c *Connector) normalize() error {
	if !namePattern.MatchString(c.Name) {
		return invalid("name is 1-40 lower-case letters, digits and inner hyphens")
	}
	if len(c.Description) > 1024 {
		return invalid("description is at most 1024 bytes")
	}
	if len(c.BaseURL) > MaxURLBytes {
		return invalid(fmt.Sprintf("baseUrl is at most %d bytes", MaxURLBytes))
	}
	if len(c.Methods) > maxMethods {
		return invalid(fmt.Sprintf("methods has at most %d entries", maxMethods))
	}
	if len(c.PathPrefixes) > MaxPathPrefixes {
		return invalid(fmt.Sprintf("pathPrefixes has at most %d entries", MaxPathPrefixes))
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return invalid("baseUrl is an http(s) URL with a host and no credentials, query or fragment")
	}
	c.BaseURL = strings.TrimSuffix(u.String(), "/")
	if len(c.Methods) == 0 {
		c.Methods = []string{"GET"}
	}
	for i, m := range c.Methods {
		c.Methods[i] = strings.ToUpper(m)
		if !slices.Contains(allowedMethods, c.Methods[i]) {
			return invalid("methods are among " + strings.Join(allowedMethods, ", "))
		}
	}
	slices.Sort(c.Methods)
	c.Methods = slices.Compact(c.Methods)
	if len(c.PathPrefixes) == 0 {
		c.PathPrefixes = []string{"/"}
	}
	for _, p := range c.PathPrefixes {
		if err := checkPath(p); err != nil {
			return invalid("pathPrefixes: " + fault.DetailOf(err))
		}
	}
	if c.TimeoutMs == 0 {
		c.TimeoutMs = DefaultTimeout.Milliseconds()
	}
	if c.TimeoutMs < 100 || c.TimeoutMs > MaxTimeout.Milliseconds() {
		return invalid(fmt.Sprintf("timeoutMs is 100..%d", MaxTimeout.Milliseconds()))
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.MaxResponseBytes < 1 || c.MaxResponseBytes > MaxResponseBytes {
		return invalid(fmt.Sprintf("maxResponseBytes is 1..%d", MaxResponseBytes))
	}
	return c.Auth.normalize()
}

func (a *Auth) normalize() error {
	need := func(fields map[string]string) error {
		for field, v := range fields {
			if !envconfig.ValidName(v) {
				return invalid(fmt.Sprintf("auth.%s must name an environment parameter", field))
			}
		}
		return nil
	}
	only := func(allowed ...string) error {
		set := map[string]bool{"header": a.Header != "", "keyParam": a.KeyParam != "", "usernameParam": a.UsernameParam != "",
			"passwordParam": a.PasswordParam != "", "tokenUrl": a.TokenURL != "", "clientIdParam": a.ClientIDParam != "",
			"clientSecretParam": a.ClientSecretParam != "", "scopes": len(a.Scopes) > 0}
		for f, on := range set {
			if on && !slices.Contains(allowed, f) {
				return invalid(fmt.Sprintf("auth.%s does not apply to kind %s", f, a.Kind))
			}
		}
		return nil
	}
	switch a.Kind {
	case "", AuthNone:
		a.Kind = AuthNone
		return only()
	case AuthAPIKey:
		if a.Header == "" {
			a.Header = "X-API-Key"
		}
		if !validHeaderName(a.Header) || reservedHeader(a.Header) {
			return invalid("auth.header is not a header name a connector may set")
		}
		a.Header = http.CanonicalHeaderKey(a.Header)
		if err := only("header", "keyParam"); err != nil {
			return err
		}
		return need(map[string]string{"keyParam": a.KeyParam})
	case AuthBasic:
		if err := only("usernameParam", "passwordParam"); err != nil {
			return err
		}
		return need(map[string]string{"usernameParam": a.UsernameParam, "passwordParam": a.PasswordParam})
	case AuthOAuth2:
		if len(a.TokenURL) > MaxURLBytes {
			return invalid(fmt.Sprintf("auth.tokenUrl is at most %d bytes", MaxURLBytes))
		}
		for _, sc := range a.Scopes {
			if len(sc) > maxScopeBytes {
				return invalid(fmt.Sprintf("auth.scopes: each is at most %d bytes", maxScopeBytes))
			}
		}
		u, err := url.Parse(a.TokenURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return invalid("auth.tokenUrl is an http(s) URL with a host and no credentials")
		}
		if len(a.Scopes) > 20 {
			return invalid("auth.scopes has at most 20 entries")
		}
		if err := only("tokenUrl", "clientIdParam", "clientSecretParam", "scopes"); err != nil {
			return err
		}
		return need(map[string]string{"clientIdParam": a.ClientIDParam, "clientSecretParam": a.ClientSecretParam})
	}
	return invalid("auth.kind is none, apiKey, basic or oauth2")
}

func (s *Service) read(ctx context.Context, project, env, name string) (Connector, error) {
	if !namePattern.MatchString(name) {
		return Connector{}, notFound(name)
	}
	c, etag, err := connectorDoc.Read(ctx, s.table, pk(project, env), name)
	if fault.Is(err, fault.NotFound) {
		return Connector{}, notFound(name)
	}
	if err != nil {
		return Connector{}, fault.E("connector.read", err)
	}
	c.ETag = etag
	return c, nil
}

// connectorDoc and settingsDoc are the documents of the rows.
var (
	connectorDoc = store.Doc[Connector]{Name: "Doc"}
	settingsDoc  = store.Doc[Settings]{Name: "Doc"}
)

// entity is a connector's (or the settings') row. The caps in normalize
// keep a connector's JSON well under store.MaxChunkedBytes; were one over,
// the write would be refused (TooLarge) before it reached storage.
func entity(project, env, rk string, v any) store.Entity {
	props := map[string]any{}
	_ = (store.Doc[any]{Name: "Doc"}).Set(props, v) // TooLarge: the write is refused

	return store.Entity{PartitionKey: pk(project, env), RowKey: rk, Props: props}
}

// Get returns one connector.
func (s *Service) Get(ctx context.Context, project, env, name string) (Connector, error) {
	return s.read(ctx, project, env, name)
}

// List returns an environment's connectors.
func (s *Service) List(ctx context.Context, project, env string) ([]Connector, error) {
	out, err := connectorDoc.Query(ctx, s.table, store.And(store.Eq("PartitionKey", pk(project, env)), store.Ne("RowKey", settingsKey)), 5000, func(c *Connector, etag string) { c.ETag = etag })
	if err != nil {
		return nil, fault.E("connector.List", err)
	}
	return out, nil
}

// Create registers a connector; an existing name is a Conflict.
func (s *Service) Create(ctx context.Context, who Actor, project, env string, c Connector) (Connector, error) {
	if err := c.normalize(); err != nil {
		return Connector{}, err
	}
	c.UpdatedAt, c.UpdatedBy = s.now().UTC(), who.Name
	etag, err := s.table.Insert(ctx, entity(project, env, c.Name, c))
	if fault.Is(err, fault.Conflict) {
		return Connector{}, fault.E("connector.Create", fault.Conflict, fmt.Sprintf("connector %s exists", c.Name))
	}
	if err != nil {
		return Connector{}, fault.E("connector.Create", err)
	}
	c.ETag = etag
	return c, s.record(ctx, who, project, "connector.create", "environments/"+env+"/connectors/"+c.Name, nil, c)
}

// Put creates or replaces a connector; ifMatch (optional) must be the
// current ETag. created reports a new one.
func (s *Service) Put(ctx context.Context, who Actor, project, env string, c Connector, ifMatch string) (Connector, bool, error) {
	const op = "connector.Put"
	if err := c.normalize(); err != nil {
		return Connector{}, false, err
	}
	cur, err := s.read(ctx, project, env, c.Name)
	exists := err == nil
	if err != nil && !fault.Is(err, fault.NotFound) {
		return Connector{}, false, err
	}
	if ifMatch != "" && (!exists || (ifMatch != "*" && ifMatch != cur.ETag)) {
		return Connector{}, false, fault.E(op, fault.PreconditionFailed, fmt.Sprintf("connector %s changed since you read it", c.Name))
	}
	c.UpdatedAt, c.UpdatedBy = s.now().UTC(), who.Name
	var etag string
	if exists {
		etag, err = s.table.Update(ctx, entity(project, env, c.Name, c), cur.ETag)
	} else {
		etag, err = s.table.Insert(ctx, entity(project, env, c.Name, c))
	}
	if fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.Conflict) || fault.Is(err, fault.NotFound) {
		return Connector{}, false, fault.E(op, fault.PreconditionFailed, fmt.Sprintf("connector %s changed meanwhile; read it again", c.Name))
	}
	if err != nil {
		return Connector{}, false, fault.E(op, err)
	}
	c.ETag = etag
	var before any
	if exists {
		before = cur
	}
	return c, !exists, s.record(ctx, who, project, "connector.put", "environments/"+env+"/connectors/"+c.Name, before, c)
}

// Delete removes a connector; ifMatch (optional) must be its ETag.
func (s *Service) Delete(ctx context.Context, who Actor, project, env, name, ifMatch string) error {
	cur, err := s.read(ctx, project, env, name)
	if err != nil {
		return err
	}
	if ifMatch != "" && ifMatch != "*" && ifMatch != cur.ETag {
		return fault.E("connector.Delete", fault.PreconditionFailed, fmt.Sprintf("connector %s changed since you read it", name))
	}
	err = s.table.Delete(ctx, pk(project, env), name, cur.ETag)
	if fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.NotFound) {
		return fault.E("connector.Delete", fault.PreconditionFailed, fmt.Sprintf("connector %s changed meanwhile; read it again", name))
	}
	if err != nil {
		return fault.E("connector.Delete", err)
	}
	s.forgetTokens(project, env, name)
	return s.record(ctx, who, project, "connector.delete", "environments/"+env+"/connectors/"+name, cur, nil)
}

// GetSettings returns an environment's connector settings (empty ones when
// never set: nothing private allowed, no service invokers).
func (s *Service) GetSettings(ctx context.Context, project, env string) (Settings, error) {
	st, etag, err := settingsDoc.Read(ctx, s.table, pk(project, env), settingsKey)
	if fault.Is(err, fault.NotFound) {
		return Settings{AllowNetworks: []string{}, Invokers: []string{}}, nil
	}
	if err != nil {
		return Settings{}, fault.E("connector.GetSettings", err)
	}
	st.ETag = etag
	return st, nil
}

// PutSettings replaces an environment's connector settings.
func (s *Service) PutSettings(ctx context.Context, who Actor, project, env string, st Settings, ifMatch string) (Settings, error) {
	const op = "connector.PutSettings"
	if len(st.AllowNetworks) > 32 || len(st.Invokers) > 16 {
		return Settings{}, invalid("at most 32 allowNetworks and 16 invokers")
	}
	var prefixes []netip.Prefix
	for i, n := range st.AllowNetworks {
		p, err := netip.ParsePrefix(strings.TrimSpace(n))
		if err != nil {
			return Settings{}, invalid(fmt.Sprintf("allowNetworks: %q is not a CIDR prefix such as 10.1.0.0/16", n))
		}
		if p.Bits() == 0 {
			return Settings{}, invalid("allowNetworks: a /0 prefix would switch the protection off; name the networks")
		}
		st.AllowNetworks[i] = p.Masked().String()
		prefixes = append(prefixes, p)
	}
	if egress.CoversAll(prefixes) {
		return Settings{}, invalid("allowNetworks: together these prefixes cover every address, which would switch the protection off as /0 would; name the networks")
	}
	for _, id := range st.Invokers {
		if id == "" || len(id) > 200 || strings.ContainsAny(id, " \t\r\n") {
			return Settings{}, invalid("invokers are service principal ids")
		}
	}
	if st.AllowNetworks == nil {
		st.AllowNetworks = []string{}
	}
	if st.Invokers == nil {
		st.Invokers = []string{}
	}
	cur, err := s.GetSettings(ctx, project, env)
	if err != nil {
		return Settings{}, err
	}
	if ifMatch != "" && ifMatch != cur.ETag {
		return Settings{}, fault.E(op, fault.PreconditionFailed, "the connector settings changed since you read them")
	}
	st.UpdatedAt, st.UpdatedBy = s.now().UTC(), who.Name
	e := entity(project, env, settingsKey, st)
	if cur.ETag == "" {
		st.ETag, err = s.table.Insert(ctx, e)
	} else {
		st.ETag, err = s.table.Update(ctx, e, cur.ETag)
	}
	if fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.Conflict) || fault.Is(err, fault.NotFound) {
		return Settings{}, fault.E(op, fault.PreconditionFailed, "the connector settings changed meanwhile; read them again")
	}
	if err != nil {
		return Settings{}, fault.E(op, err)
	}
	return st, s.record(ctx, who, project, "connector.settings", "environments/"+env+"/connector-settings", cur, st)
}

// AuthorizeService decides whether a service principal may invoke the
// environment's connectors: it must be listed in the settings (else
// NotFound: outsiders learn nothing) and carry InvokeRole (else Forbidden).
func (s *Service) AuthorizeService(ctx context.Context, project, env, principal string, roles []string) error {
	st, err := s.GetSettings(ctx, project, env)
	if err != nil {
		return err
	}
	if !slices.Contains(st.Invokers, principal) {
		return fault.E("connector.AuthorizeService", fault.NotFound, "project not found")
	}
	for _, r := range roles {
		if strings.EqualFold(r, InvokeRole) {
			return nil
		}
	}
	return fault.E("connector.AuthorizeService", fault.Forbidden, "the service principal lacks the "+InvokeRole+" application role")
}

func (s *Service) record(ctx context.Context, who Actor, project, action, target string, before, after any) error {
	if s.audit == nil {
		return nil
	}
	err := s.audit.Record(ctx, audit.ProjectScope(project), audit.Entry{Actor: who.ID, ActorName: who.Name, Action: action, Target: target, RequestID: who.RequestID}, before, after)
	if err != nil {
		return fault.E("connector.audit", err)
	}
	return nil
}

func (s *Service) logger(ctx context.Context) *slog.Logger {
	if s.Logger != nil {
		return s.Logger(ctx)
	}
	return slog.Default()
}
