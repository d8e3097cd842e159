package acl

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/security"
	"github.com/studio-collab/collab/shared/store"
)

// Layout is the storage the ACLs need.
var Layout = store.Layout{Containers: []string{"security"}}

// document is the stored form of a project's ACL.
type document struct {
	Entries  []security.Entry  `json:"entries"`
	Settings security.Settings `json:"settings"`
}

// Service serves checks and changes. Safe for concurrent use.
type Service struct {
	blobs store.Container
	audit *audit.Log
	mu    sync.Mutex
	cache map[string]*security.Index
}

// New returns a Service.
func New(b store.Container, log *audit.Log) *Service {
	return &Service{blobs: b, audit: log, cache: map[string]*security.Index{}}
}

func blobName(project string) string { return "acl/" + store.EncodeKey(project) + ".json" }

// Index returns the project's current compiled index: one HEAD, plus one GET
// and a compile when the ACL changed since the cached one.
func (s *Service) Index(ctx context.Context, project string) (*security.Index, error) {
	const op = "acl.Index"
	st, err := s.blobs.Stat(ctx, blobName(project))
	if fault.Is(err, fault.NotFound) {
		return security.Build(nil, security.Settings{}, "")
	}
	if err != nil {
		return nil, fault.E(op, err)
	}
	s.mu.Lock()
	ix := s.cache[project]
	s.mu.Unlock()
	if ix != nil && ix.Version() == st.ETag {
		return ix, nil
	}
	ix, err = s.load(ctx, project)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[project] = ix
	s.mu.Unlock()
	return ix, nil
}

func (s *Service) load(ctx context.Context, project string) (*security.Index, error) {
	b, info, err := s.blobs.Get(ctx, blobName(project))
	if fault.Is(err, fault.NotFound) {
		return security.Build(nil, security.Settings{}, "")
	}
	if err != nil {
		return nil, fault.E("acl.load", err)
	}
	var doc document
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fault.E("acl.load", fault.Internal, err)
	}
	return security.Build(doc.Entries, doc.Settings, info.ETag)
}

// Authorize is the check every object operation makes: nil when s may do a
// on path; Forbidden otherwise, naming the path and what decided.
func (s *Service) Authorize(ctx context.Context, project string, subj security.Subject, path string, a security.Action) (security.Decision, error) {
	if err := security.ValidatePath(path); err != nil {
		return security.Decision{}, err
	}
	ix, err := s.Index(ctx, project)
	if err != nil {
		return security.Decision{}, err
	}
	ok, d := ix.Check(subj, path, a)
	if !ok {
		return d, fault.E("acl.Authorize", fault.Forbidden, fault.Path(path), fmt.Sprintf("%s on %s is not allowed: %s", a, path, d.Explain()))
	}
	return d, nil
}

// Actor is who changes entries, for the audit log.
type Actor struct {
	ID, Name, RequestID string
}

// change applies fn to the project's document under one conditional write.
// ifMatch (optional) must be the current version; without it a concurrent
// change is retried on the fresh document.
func (s *Service) change(ctx context.Context, project, ifMatch string, fn func(ix *security.Index, doc *document) (before, after any, action, target string, err error), who Actor) (string, error) {
	const op = "acl.change"
	for attempt := 0; attempt < 10; attempt++ {
		ix, err := s.load(ctx, project)
		if err != nil {
			return "", err
		}
		if ifMatch != "" && ifMatch != ix.Version() {
			return "", fault.E(op, fault.PreconditionFailed, "the project's security entries changed since you read them")
		}
		doc := document{Entries: slices.Clone(ix.Entries()), Settings: ix.Settings()}
		before, after, action, target, err := fn(ix, &doc)
		if err != nil {
			return "", err
		}
		if _, err := security.Build(doc.Entries, doc.Settings, ""); err != nil {
			return "", err
		}
		b, _ := json.Marshal(doc)
		opt := store.PutOptions{ContentType: "application/json", IfMatch: ix.Version()}
		if ix.Version() == "" {
			opt = store.PutOptions{ContentType: "application/json", CreateOnly: true}
		}
		info, err := s.blobs.Put(ctx, blobName(project), b, opt)
		if fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.Conflict) {
			if ifMatch != "" {
				return "", fault.E(op, fault.PreconditionFailed, "the project's security entries changed since you read them")
			}
			continue // someone else changed it meanwhile: redo on the fresh document
		}
		if err != nil {
			return "", fault.E(op, err)
		}
		if s.audit != nil {
			if err := s.audit.Record(ctx, audit.ProjectScope(project), audit.Entry{Actor: who.ID, ActorName: who.Name, Action: action, Target: target, RequestID: who.RequestID}, before, after); err != nil {
				return "", err
			}
		}
		return info.ETag, nil
	}
	return "", fault.E(op, fault.Conflict, "the security entries are changing too fast; retry")
}

// Grant sets an entry, if grantor may (security.Index.CanGrant).
func (s *Service) Grant(ctx context.Context, project string, grantor security.Subject, who Actor, e security.Entry, ifMatch string) (string, error) {
	return s.change(ctx, project, ifMatch, func(ix *security.Index, doc *document) (any, any, string, string, error) {
		if err := ix.CanGrant(grantor, e); err != nil {
			return nil, nil, "", "", err
		}
		var before any
		i := slices.IndexFunc(doc.Entries, func(x security.Entry) bool { return x.Path == e.Path && x.Principal == e.Principal })
		if i >= 0 {
			before = doc.Entries[i]
			doc.Entries[i] = e
		} else {
			doc.Entries = append(doc.Entries, e)
		}
		return before, e, "security.grant", "security/" + e.Path + "#" + string(e.Principal), nil
	}, who)
}

// Revoke removes the entry of principal on path; NotFound if there is none.
func (s *Service) Revoke(ctx context.Context, project string, grantor security.Subject, who Actor, path string, p security.Principal, ifMatch string) (string, error) {
	return s.change(ctx, project, ifMatch, func(ix *security.Index, doc *document) (any, any, string, string, error) {
		if err := ix.CanRevoke(grantor, path); err != nil {
			return nil, nil, "", "", err
		}
		i := slices.IndexFunc(doc.Entries, func(x security.Entry) bool { return x.Path == path && x.Principal == p })
		if i < 0 {
			return nil, nil, "", "", fault.E("acl.Revoke", fault.NotFound, fault.Path(path), fmt.Sprintf("no entry for %s on %s", p, path))
		}
		before := doc.Entries[i]
		doc.Entries = slices.Delete(doc.Entries, i, i+1)
		return before, nil, "security.revoke", "security/" + path + "#" + string(p), nil
	}, who)
}

// SetSettings changes the project's settings (owners only).
func (s *Service) SetSettings(ctx context.Context, project string, caller security.Subject, who Actor, st security.Settings, ifMatch string) (string, error) {
	return s.change(ctx, project, ifMatch, func(ix *security.Index, doc *document) (any, any, string, string, error) {
		if caller.Role != security.RoleOwner {
			return nil, nil, "", "", fault.E("acl.SetSettings", fault.Forbidden, "only owners change the project's security settings")
		}
		if st.DeveloperDefault != security.Modify && st.DeveloperDefault != security.Deny {
			return nil, nil, "", "", fault.E("acl.SetSettings", fault.Invalid, "developerDefault is modify or deny")
		}
		before := doc.Settings
		doc.Settings = st
		return before, st, "security.settings", "security/settings", nil
	}, who)
}

// Entries lists the entries at path (and below, with subtree), for callers
// who may manage there.
func (s *Service) Entries(ctx context.Context, project string, caller security.Subject, path string, subtree bool) ([]security.Entry, string, error) {
	ix, err := s.Index(ctx, project)
	if err != nil {
		return nil, "", err
	}
	if path != "" {
		if err := ix.CanRevoke(caller, path); err != nil {
			return nil, "", fault.E("acl.Entries", fault.Forbidden, fault.Path(path), "listing entries needs Full Control on "+path)
		}
	} else if !caller.Role.Administers() {
		return nil, "", fault.E("acl.Entries", fault.Forbidden, "listing every entry is for owners and admins; pass a path")
	}
	out := []security.Entry{}
	for _, e := range ix.Entries() {
		if path == "" || e.Path == path || (subtree && security.Under(e.Path, path)) {
			out = append(out, e)
		}
	}
	return out, ix.Version(), nil
}

// Effective is the subject's decision on every node under prefix that
// carries entries (and on prefix itself), for the admin screens.
func (s *Service) Effective(ctx context.Context, project string, subj security.Subject, prefix string) ([]Effective, string, error) {
	ix, err := s.Index(ctx, project)
	if err != nil {
		return nil, "", err
	}
	seen := map[string]bool{}
	var paths []string
	if prefix != "" {
		paths = append(paths, prefix)
		seen[prefix] = true
	}
	for _, e := range ix.Entries() {
		if (prefix == "" || security.Under(e.Path, prefix)) && !seen[e.Path] {
			seen[e.Path] = true
			paths = append(paths, e.Path)
		}
	}
	slices.Sort(paths)
	out := make([]Effective, 0, len(paths))
	for _, p := range paths {
		d := ix.Decide(subj, p)
		out = append(out, Effective{Path: p, Level: d.Level, Explanation: d.Explain(), DecidedBy: DecidedBy(d)})
	}
	return out, ix.Version(), nil
}

// Effective is one row of Effective.
type Effective struct {
	Path        string         `json:"path"`
	Level       security.Level `json:"level"`
	Explanation string         `json:"explanation"`
	DecidedBy   map[string]any `json:"decidedBy"`
}

// DecidedBy is the API's explanation object: the deciding entry, or the default.
func DecidedBy(d security.Decision) map[string]any {
	switch {
	case d.Owner:
		return map[string]any{"owner": true}
	case d.Path != "":
		return map[string]any{"path": d.Path, "principal": d.Principal, "level": d.Level}
	default:
		return map[string]any{"default": d.Default}
	}
}
