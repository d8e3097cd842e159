package envconfig

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Layout is the storage parameters need.
var Layout = store.Layout{Tables: []string{"parameters"}}

// SecretID names the parameter a secret belongs to; implementations bind
// the sealed value to it, so a reference copied onto another parameter does
// not open.
type SecretID struct{ Project, Env, Name string }

// String is "project/env/name".
func (id SecretID) String() string { return id.Project + "/" + id.Env + "/" + id.Name }

// Secrets seals secret values into references that are safe to store and
// opens them again. Locally AES-GCM under a key from the settings
// (localvault); in Azure a Key Vault secret version (keyvault).
type Secrets interface {
	Seal(ctx context.Context, id SecretID, clear string) (ref string, err error)
	Open(ctx context.Context, id SecretID, ref string) (string, error)
}

// RestartQueue is the deployment module's entry for changes that need a
// restart: it opens (or joins) the environment's next maintenance window,
// whose applying step calls ApplyPending. source is "parameter:<name>";
// impact is "restart-portal" or "restart-scheduler".
type RestartQueue interface {
	QueueRestartChange(ctx context.Context, project, env, source, impact string) error
}

// Actor is who makes a change, for the audit log.
type Actor struct{ ID, Name, RequestID string }

// Service keeps an environment's parameters. Safe for concurrent use.
type Service struct {
	table store.Table
	audit *audit.Log
	now   func() time.Time
	// Secrets seals secret values; nil refuses secret parameters (503).
	Secrets Secrets
	// Restarts takes restart-needing changes; nil refuses them (503), since
	// without it they would wait for a window nobody opens.
	Restarts RestartQueue
}

// New returns a Service on t; now is the clock (nil = time.Now).
func New(t store.Table, log *audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{table: t, audit: log, now: now}
}

func keys(project, env, name string) (string, string) {
	return store.EncodeKey(project + "/" + env), store.EncodeKey(name)
}

func notFound(name string) error {
	return fault.E("envconfig", fault.NotFound, fmt.Sprintf("parameter %s not found", name))
}

func (s *Service) read(ctx context.Context, project, env, name string) (record, string, error) {
	pk, rk := keys(project, env, name)
	r, etag, err := recordDoc.Read(ctx, s.table, pk, rk)
	if fault.Is(err, fault.NotFound) {
		return record{}, "", notFound(name)
	}
	if err != nil {
		return record{}, "", fault.E("envconfig.read", err)
	}
	return r, etag, nil
}

// recordDoc is a parameter row's document, always chunked binary.
var recordDoc = store.Doc[record]{Name: "Doc", Binary: true}

// entity is a parameter's row: its record as chunked binary JSON. A
// parameter at its limits (three 8 KiB states, a 1 KiB description, 100
// enum values of 256 bytes) is up to ~200 KB once JSON escapes it, far over
// a string property's 32,768 UTF-16 units (issue 25) and well under
// store.MaxChunkedBytes.
func entity(project, env string, r record) (store.Entity, error) {
	pk, rk := keys(project, env, r.Name)
	props := map[string]any{}
	if err := recordDoc.Set(props, r); err != nil {
		return store.Entity{}, fault.E("envconfig.entity", err)
	}
	return store.Entity{PartitionKey: pk, RowKey: rk, Props: props}, nil
}

// Get returns one parameter.
func (s *Service) Get(ctx context.Context, project, env, name string) (Parameter, error) {
	if !ValidName(name) {
		return Parameter{}, notFound(name)
	}
	r, etag, err := s.read(ctx, project, env, name)
	return Parameter{Project: project, Env: env, rec: r, ETag: etag}, err
}

// List returns an environment's parameters in name order.
func (s *Service) List(ctx context.Context, project, env string) ([]Parameter, error) {
	pk, _ := keys(project, env, "")
	es, err := s.table.QueryAll(ctx, store.Eq("PartitionKey", pk), 5000)
	if err != nil {
		return nil, fault.E("envconfig.List", err)
	}
	out := make([]Parameter, 0, len(es))
	for _, e := range es {
		r, err := recordDoc.Get(e)
		if err != nil {
			return nil, fault.E("envconfig.List", err)
		}
		out = append(out, Parameter{Project: project, Env: env, rec: r, ETag: e.ETag})
	}
	return out, nil
}

// Change is a PUT of a parameter. For a new parameter Type is required;
// for an existing one, absent fields keep their values. Value and Default
// are raw JSON: absent (nil) keeps, null clears, anything else sets.
type Change struct {
	Type        *Type           `json:"type"`
	Description *string         `json:"description"`
	Validation  *Validation     `json:"validation"`
	Impact      *Impact         `json:"impact"`
	Default     json.RawMessage `json:"default"`
	Value       json.RawMessage `json:"value"`
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// next applies c to cur (nil: a new parameter) and returns the new
// definition and the intended state; a secret value is returned clear, to
// be sealed by the caller.
func (c Change) next(name string, cur *record) (record, state, *string, error) {
	const op = "envconfig.Put"
	var r record
	var st state
	if cur == nil {
		if c.Type == nil {
			return r, st, nil, fault.E(op, fault.Invalid, "type is required for a new parameter (string, int, bool, url or secret)")
		}
		r = record{Name: name, Type: *c.Type, Impact: Hot}
	} else {
		r = *cur
		st = cur.intended()
		if c.Type != nil && *c.Type != r.Type {
			return r, st, nil, fault.E(op, fault.Conflict, fmt.Sprintf("parameter %s is a %s: its type cannot change (delete it first)", name, r.Type))
		}
	}
	switch r.Type {
	case TypeString, TypeInt, TypeBool, TypeURL, TypeSecret:
	default:
		return r, st, nil, fault.E(op, fault.Invalid, "type is string, int, bool, url or secret")
	}
	if c.Description != nil {
		if len(*c.Description) > 1024 {
			return r, st, nil, fault.E(op, fault.Invalid, "description is at most 1024 bytes")
		}
		r.Description = *c.Description
	}
	if c.Impact != nil {
		r.Impact = *c.Impact
	}
	switch r.Impact {
	case Hot, RestartPortal, RestartScheduler:
	default:
		return r, st, nil, fault.E(op, fault.Invalid, "impact is hot, restart-portal or restart-scheduler")
	}
	if c.Validation != nil {
		r.Validation = *c.Validation
	}
	if err := r.Validation.check(r.Type); err != nil {
		return r, st, nil, err
	}
	// The default: secrets have none (it would be stored in clear).
	if c.Default != nil {
		if r.Type == TypeSecret && !isNull(c.Default) {
			return r, st, nil, fault.E(op, fault.Invalid, "a secret parameter has no default")
		}
		st.Default = nil
		if !isNull(c.Default) {
			d, err := canonical(name, r.Type, r.Validation, c.Default)
			if err != nil {
				return r, st, nil, fault.E(op, fault.Invalid, "default: "+fault.DetailOf(err))
			}
			st.Default = &d
		}
	} else if st.Default != nil && c.Validation != nil {
		if _, err := canonical(name, r.Type, r.Validation, mustJSON(render(r.Type, *st.Default))); err != nil {
			return r, st, nil, fault.E(op, fault.Invalid, "the current default breaks the new validation: "+fault.DetailOf(err))
		}
	}
	var clearSecret *string
	switch {
	case c.Value == nil:
		if st.Value != nil && c.Validation != nil {
			if _, err := canonical(name, r.Type, r.Validation, mustJSON(render(r.Type, *st.Value))); err != nil {
				return r, st, nil, fault.E(op, fault.Invalid, "the current value breaks the new validation: "+fault.DetailOf(err))
			}
		}
	case isNull(c.Value):
		st.Value, st.SecretRef = nil, ""
	default:
		v, err := canonical(name, r.Type, r.Validation, c.Value)
		if err != nil {
			return r, st, nil, err
		}
		if r.Type == TypeSecret {
			clearSecret = &v
			st.Value = nil
		} else {
			st.Value = &v
		}
	}
	return r, st, clearSecret, nil
}

func mustJSON(v any) json.RawMessage { b, _ := json.Marshal(v); return b }

// Put creates or changes a parameter. ifMatch (optional) must be the
// current ETag. A change of the value or default of a restart-needing
// parameter becomes its pending state and is queued for the maintenance
// window; everything else applies at once. created reports a new parameter.
func (s *Service) Put(ctx context.Context, who Actor, project, env, name string, c Change, ifMatch string) (p Parameter, created bool, err error) {
	const op = "envconfig.Put"
	if !ValidName(name) {
		return Parameter{}, false, fault.E(op, fault.Invalid, "a parameter name is a letter, then up to 63 letters, digits, '.', '_' or '-'")
	}
	id := SecretID{project, env, name}
	var sealed string // sealed once, reused by retries
	for attempt := 0; attempt < 10; attempt++ {
		cur, etag, err := s.read(ctx, project, env, name)
		exists := err == nil
		if err != nil && !fault.Is(err, fault.NotFound) {
			return Parameter{}, false, err
		}
		if ifMatch != "" && (!exists || (ifMatch != "*" && ifMatch != etag)) {
			return Parameter{}, false, fault.E(op, fault.PreconditionFailed, fmt.Sprintf("parameter %s changed since you read it", name))
		}
		var curp *record
		if exists {
			curp = &cur
		}
		next, st, clear, err := c.next(name, curp)
		if err != nil {
			return Parameter{}, false, err
		}
		if clear != nil {
			if s.Secrets == nil {
				return Parameter{}, false, fault.E(op, fault.Unavailable, "no secret store is configured (COLLAB_PARAMS_KEY locally, COLLAB_PARAMS_VAULT_URI in Azure)")
			}
			if sealed == "" {
				if sealed, err = s.Secrets.Seal(ctx, id, *clear); err != nil {
					return Parameter{}, false, fault.E(op, err)
				}
			}
			st.SecretRef = sealed
		}
		now := s.now().UTC()
		next.UpdatedAt, next.UpdatedBy = now, who.Name
		queue := false
		switch {
		case !next.Impact.NeedsRestart():
			next.Active, next.Pending = &st, nil
		case next.Active != nil && next.Active.equal(st):
			next.Pending = nil // back to what runs: nothing to wait for
		case next.Pending != nil && !next.Pending.Delete && next.Pending.state.equal(st):
			// The same pending state again (a retry after the queue failed):
			// queue again; the deployment module coalesces restart changes.
			queue = true
		default:
			next.Pending = &pending{state: st, Impact: next.Impact, Since: now, By: who.Name}
			queue = true
		}
		if queue && s.Restarts == nil {
			return Parameter{}, false, fault.E(op, fault.Unavailable, fmt.Sprintf("parameter %s needs a %s, and no deployment service is wired to open a maintenance window", name, next.Impact))
		}
		e, err := entity(project, env, next)
		if err != nil {
			return Parameter{}, false, err
		}
		var newTag string
		if exists {
			newTag, err = s.table.Update(ctx, e, etag)
		} else {
			newTag, err = s.table.Insert(ctx, e)
		}
		if fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.Conflict) || (exists && fault.Is(err, fault.NotFound)) {
			if ifMatch != "" {
				return Parameter{}, false, fault.E(op, fault.PreconditionFailed, fmt.Sprintf("parameter %s changed since you read it", name))
			}
			continue
		}
		if err != nil {
			return Parameter{}, false, fault.E(op, err)
		}
		// The pending state is stored before the restart is queued: a window
		// opened for it always finds it (docs/envconfig.md).
		if queue {
			if err := s.Restarts.QueueRestartChange(ctx, project, env, "parameter:"+name, string(next.Impact)); err != nil {
				return Parameter{}, false, fault.E(op, fault.Unavailable, "the change is stored as pending but the maintenance window could not be requested; retry", err)
			}
		}
		p = Parameter{Project: project, Env: env, rec: next, ETag: newTag}
		var before any
		if exists {
			before = Parameter{Project: project, Env: env, rec: cur}
		}
		if err := s.record(ctx, who, project, env, "parameter.put", name, before, p); err != nil {
			return Parameter{}, false, err
		}
		return p, !exists, nil
	}
	return Parameter{}, false, fault.E(op, fault.Conflict, fmt.Sprintf("parameter %s is changing too fast; retry", name))
}

// Delete removes a parameter. A restart-needing parameter that is active
// stays until the window (its pending state says delete); pending reports
// that case.
func (s *Service) Delete(ctx context.Context, who Actor, project, env, name, ifMatch string) (pendingDelete bool, err error) {
	const op = "envconfig.Delete"
	if !ValidName(name) {
		return false, notFound(name)
	}
	for attempt := 0; attempt < 10; attempt++ {
		cur, etag, err := s.read(ctx, project, env, name)
		if err != nil {
			return false, err
		}
		if ifMatch != "" && ifMatch != "*" && ifMatch != etag {
			return false, fault.E(op, fault.PreconditionFailed, fmt.Sprintf("parameter %s changed since you read it", name))
		}
		before := Parameter{Project: project, Env: env, rec: cur}
		// An active restart-needing parameter is not deleted yet: it is
		// marked pending delete until the window.
		later := cur.Impact.NeedsRestart() && cur.Active != nil
		next := cur
		var newTag string
		if later {
			if s.Restarts == nil {
				return false, fault.E(op, fault.Unavailable, fmt.Sprintf("deleting parameter %s needs a %s, and no deployment service is wired to open a maintenance window", name, cur.Impact))
			}
			now := s.now().UTC()
			next.UpdatedAt, next.UpdatedBy = now, who.Name
			next.Pending = &pending{Delete: true, Impact: cur.Impact, Since: now, By: who.Name}
			e, eerr := entity(project, env, next)
			if eerr != nil {
				return false, eerr
			}
			newTag, err = s.table.Update(ctx, e, etag)
		} else {
			pk, rk := keys(project, env, name)
			err = s.table.Delete(ctx, pk, rk, etag)
		}
		if fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.NotFound) {
			if ifMatch != "" {
				return false, fault.E(op, fault.PreconditionFailed, fmt.Sprintf("parameter %s changed since you read it", name))
			}
			continue
		}
		if err != nil {
			return false, fault.E(op, err)
		}
		if !later {
			return false, s.record(ctx, who, project, env, "parameter.delete", name, before, nil)
		}
		if err := s.Restarts.QueueRestartChange(ctx, project, env, "parameter:"+name, string(cur.Impact)); err != nil {
			return false, fault.E(op, fault.Unavailable, "the deletion is stored as pending but the maintenance window could not be requested; retry", err)
		}
		return true, s.record(ctx, who, project, env, "parameter.delete", name, before, Parameter{Project: project, Env: env, rec: next, ETag: newTag})
	}
	return false, fault.E(op, fault.Conflict, fmt.Sprintf("parameter %s is changing too fast; retry", name))
}

// ApplyPending makes every pending change of the environment active (or
// deletes the parameters pending deletion). The deployment module calls it
// in a maintenance window's applying step. Each parameter is one
// conditional write, so it is idempotent and safe to run concurrently: a
// second run, or a racing one, finds nothing left to apply.
func (s *Service) ApplyPending(ctx context.Context, project, env string) error {
	const op = "envconfig.ApplyPending"
	ps, err := s.List(ctx, project, env)
	if err != nil {
		return fault.E(op, err)
	}
	who := Actor{ID: "service:deploy", Name: "maintenance window"}
	for _, p := range ps {
		if p.rec.Pending == nil {
			continue
		}
		if err := s.applyOne(ctx, who, project, env, p.rec.Name); err != nil {
			return fault.E(op, err)
		}
	}
	return nil
}

func (s *Service) applyOne(ctx context.Context, who Actor, project, env, name string) error {
	for attempt := 0; attempt < 10; attempt++ {
		cur, etag, err := s.read(ctx, project, env, name)
		if fault.Is(err, fault.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if cur.Pending == nil {
			return nil // someone else applied it
		}
		before := Parameter{Project: project, Env: env, rec: cur}
		pk, rk := keys(project, env, name)
		if cur.Pending.Delete {
			err = s.table.Delete(ctx, pk, rk, etag)
			if fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.NotFound) {
				continue
			}
			if err != nil {
				return err
			}
			return s.record(ctx, who, project, env, "parameter.apply", name, before, nil)
		}
		next := cur
		st := cur.Pending.state
		next.Active, next.Pending = &st, nil
		next.UpdatedAt = s.now().UTC()
		e, err := entity(project, env, next)
		if err != nil {
			return err
		}
		newTag, err := s.table.Update(ctx, e, etag)
		if fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.NotFound) {
			continue
		}
		if err != nil {
			return err
		}
		return s.record(ctx, who, project, env, "parameter.apply", name, before, Parameter{Project: project, Env: env, rec: next, ETag: newTag})
	}
	return fault.E("envconfig.apply", fault.Conflict, fmt.Sprintf("parameter %s is changing too fast; retry", name))
}

// Version is the parameter's current ETag: it changes with every write, so
// callers may cache what they derived from its value (a connector's OAuth2
// token) without reading the value.
func (s *Service) Version(ctx context.Context, project, env, name string) (string, error) {
	if !ValidName(name) {
		return "", notFound(name)
	}
	_, etag, err := s.read(ctx, project, env, name)
	return etag, err
}

// Resolve returns the active value of a parameter as text (its value, else
// its default), opening a secret: for the service's own outbound calls
// (connectors), never for an API answer. A parameter without an active
// value is Unprocessable.
func (s *Service) Resolve(ctx context.Context, project, env, name string) (string, error) {
	const op = "envconfig.Resolve"
	if !ValidName(name) {
		return "", notFound(name)
	}
	r, _, err := s.read(ctx, project, env, name)
	if err != nil {
		return "", err
	}
	if r.Active == nil {
		return "", fault.E(op, fault.Unprocessable, fmt.Sprintf("parameter %s has no applied value yet (it waits for the maintenance window)", name))
	}
	a := r.Active
	switch {
	case a.SecretRef != "":
		if s.Secrets == nil {
			return "", fault.E(op, fault.Unavailable, "no secret store is configured")
		}
		v, err := s.Secrets.Open(ctx, SecretID{project, env, name}, a.SecretRef)
		if err != nil {
			return "", fault.E(op, fmt.Sprintf("secret parameter %s cannot be opened", name), err)
		}
		return v, nil
	case a.Value != nil:
		return *a.Value, nil
	case a.Default != nil:
		return *a.Default, nil
	}
	return "", fault.E(op, fault.Unprocessable, fmt.Sprintf("parameter %s has neither a value nor a default", name))
}

func (s *Service) record(ctx context.Context, who Actor, project, env, action, name string, before, after any) error {
	if s.audit == nil {
		return nil
	}
	// before and after are Parameters (rendered masked) or nil.
	err := s.audit.Record(ctx, audit.ProjectScope(project), audit.Entry{Actor: who.ID, ActorName: who.Name, Action: action,
		Target: "environments/" + env + "/parameters/" + name, RequestID: who.RequestID}, before, after)
	if err != nil {
		return fault.E("envconfig.audit", err)
	}
	return nil
}
