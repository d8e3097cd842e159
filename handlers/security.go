package handlers

import (
	"context"
	"net/http"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/security"
	"github.com/studio-collab/collab/shared/security/acl"
)

// Security serves Studio Security: entries, checks, effective levels and
// settings of a project.
type Security struct {
	Platform *platform.Service
	ACL      *acl.Service
}

// MaxChecks is the largest batch of POST .../security/check.
const MaxChecks = 1000

// subjectOf resolves a project member into a security subject; NotFound
// when they are not in the project (so outsiders learn nothing).
func subjectOf(ctx context.Context, svc *platform.Service, pid, uid string) (security.Subject, error) {
	role, teams, err := svc.SubjectOf(ctx, pid, uid)
	if err != nil {
		return security.Subject{}, err
	}
	return security.Subject{UserID: uid, Teams: teams, Role: security.Role(role)}, nil
}

// otherSubject is another member of project pid, for an owner or admin
// who asks about them: one who is not a member is Unprocessable (the
// project exists: the caller is in it), not "project not found".
func otherSubject(ctx context.Context, svc *platform.Service, pid, uid string) (security.Subject, error) {
	subj, err := subjectOf(ctx, svc, pid, uid)
	if fault.Is(err, fault.NotFound) {
		return subj, fault.E("handlers.subject", fault.Unprocessable, "user "+uid+" is not in the project")
	}
	return subj, err
}

// projectSubject is the caller of a request on project {p} as Studio
// Security sees them; NotFound for service principals and non-members.
func projectSubject(r *http.Request, svc *platform.Service) (context.Context, security.Subject, platform.Caller, error) {
	ctx, c := CallerOf(r)
	if c.UserID == "" {
		return ctx, security.Subject{}, c, fault.E("handlers.subject", fault.NotFound, "project not found")
	}
	subj, err := subjectOf(ctx, svc, r.PathValue("p"), c.UserID)
	return ctx, subj, c, err
}

func (s Security) caller(r *http.Request) (context.Context, security.Subject, acl.Actor, error) {
	ctx, subj, c, err := projectSubject(r, s.Platform)
	return ctx, subj, acl.Actor{ID: c.UserID, Name: c.Email, RequestID: httpapi.RequestID(r.Context())}, err
}

func registerSecurity(rt *httpapi.Router, s Security) {
	rt.Handle("GET /api/projects/{p}/security/entries", s.entries)
	rt.Handle("PUT /api/projects/{p}/security/entries", s.grant)
	rt.Handle("DELETE /api/projects/{p}/security/entries", s.revoke)
	rt.Handle("POST /api/projects/{p}/security/check", s.check)
	rt.Handle("GET /api/projects/{p}/security/effective", s.effective)
	rt.Handle("PUT /api/projects/{p}/security/settings", s.settings)
}

func (s Security) entries(w http.ResponseWriter, r *http.Request) error {
	ctx, subj, _, err := s.caller(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	es, version, err := s.ACL.Entries(ctx, r.PathValue("p"), subj, q.Get("path"), q.Get("subtree") == "true")
	if err != nil {
		return err
	}
	withETag(w, version)
	httpapi.JSON(w, http.StatusOK, map[string]any{"entries": es, "version": version})
	return nil
}

func (s Security) grant(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Path      string `json:"path"`
		Principal string `json:"principal"`
		Level     string `json:"level"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, subj, who, err := s.caller(r)
	if err != nil {
		return err
	}
	p, err := security.ParsePrincipal(req.Principal)
	if err != nil {
		return err
	}
	l, err := security.ParseLevel(req.Level)
	if err != nil {
		return err
	}
	version, err := s.ACL.Grant(ctx, r.PathValue("p"), subj, who, security.Entry{Path: req.Path, Principal: p, Level: l}, r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	withETag(w, version)
	httpapi.JSON(w, http.StatusOK, map[string]any{"path": req.Path, "principal": p, "level": l, "version": version})
	return nil
}

func (s Security) revoke(w http.ResponseWriter, r *http.Request) error {
	ctx, subj, who, err := s.caller(r)
	if err != nil {
		return err
	}
	p, err := security.ParsePrincipal(r.URL.Query().Get("principal"))
	if err != nil {
		return err
	}
	version, err := s.ACL.Revoke(ctx, r.PathValue("p"), subj, who, r.URL.Query().Get("path"), p, r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	withETag(w, version)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type checkRequest struct {
	User   string `json:"user"`
	Path   string `json:"path"`
	Action string `json:"action"`
}

type checkResult struct {
	User      string         `json:"user"`
	Path      string         `json:"path"`
	Action    string         `json:"action"`
	Allowed   bool           `json:"allowed"`
	Level     security.Level `json:"level"`
	DecidedBy map[string]any `json:"decidedBy"`
}

// check answers one check or a batch. Everyone in the project may check
// their own access; owners and admins may check anyone's.
func (s Security) check(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		checkRequest
		Checks []checkRequest `json:"checks"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, me, _, err := s.caller(r)
	if err != nil {
		return err
	}
	batch := req.Checks != nil
	checks := req.Checks
	if !batch {
		checks = []checkRequest{req.checkRequest}
	}
	if len(checks) == 0 || len(checks) > MaxChecks {
		return fault.E("handlers.check", fault.Invalid, "a batch holds 1 to 1,000 checks")
	}
	ix, err := s.ACL.Index(ctx, r.PathValue("p"))
	if err != nil {
		return err
	}
	subjects := map[string]security.Subject{me.UserID: me}
	results := make([]checkResult, 0, len(checks))
	for _, c := range checks {
		if c.User == "" {
			c.User = me.UserID
		}
		if c.User, err = platform.UserRef(c.User); err != nil {
			return err
		}
		a, err := security.ParseAction(c.Action)
		if err != nil {
			return err
		}
		if err := security.ValidatePath(c.Path); err != nil {
			return err
		}
		subj, ok := subjects[c.User]
		if !ok {
			if !me.Role.Administers() {
				return fault.E("handlers.check", fault.Forbidden, "you may check only your own access")
			}
			if subj, err = otherSubject(ctx, s.Platform, r.PathValue("p"), c.User); err != nil {
				return err
			}
			subjects[c.User] = subj
		}
		allowed, d := ix.Check(subj, c.Path, a)
		results = append(results, checkResult{User: c.User, Path: c.Path, Action: c.Action, Allowed: allowed, Level: d.Level, DecidedBy: acl.DecidedBy(d)})
	}
	withETag(w, ix.Version())
	if batch {
		httpapi.JSON(w, http.StatusOK, map[string]any{"results": results})
	} else {
		httpapi.JSON(w, http.StatusOK, results[0])
	}
	return nil
}

func (s Security) effective(w http.ResponseWriter, r *http.Request) error {
	ctx, me, _, err := s.caller(r)
	if err != nil {
		return err
	}
	subj := me
	if u := r.URL.Query().Get("user"); u != "" {
		if u, err = platform.UserRef(u); err != nil {
			return err
		}
		if u != me.UserID {
			if !me.Role.Administers() {
				return fault.E("handlers.effective", fault.Forbidden, "you may see only your own effective levels")
			}
			if subj, err = otherSubject(ctx, s.Platform, r.PathValue("p"), u); err != nil {
				return err
			}
		}
	}
	prefix := r.URL.Query().Get("prefix")
	if prefix != "" {
		if err := security.ValidatePath(prefix); err != nil {
			return err
		}
	}
	rows, version, err := s.ACL.Effective(ctx, r.PathValue("p"), subj, prefix)
	if err != nil {
		return err
	}
	withETag(w, version)
	httpapi.JSON(w, http.StatusOK, map[string]any{"user": subj.UserID, "role": subj.Role, "nodes": rows})
	return nil
}

func (s Security) settings(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		DeveloperDefault string `json:"developerDefault"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	l, err := security.ParseLevel(req.DeveloperDefault)
	if err != nil {
		return err
	}
	ctx, subj, who, err := s.caller(r)
	if err != nil {
		return err
	}
	version, err := s.ACL.SetSettings(ctx, r.PathValue("p"), subj, who, security.Settings{DeveloperDefault: l}, r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	withETag(w, version)
	httpapi.JSON(w, http.StatusOK, map[string]any{"developerDefault": l, "version": version})
	return nil
}
