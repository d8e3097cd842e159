package handlers

import (
	"context"
	"encoding/base64"
	"net/http"
	"sort"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/stamp"
)

// Platform serves subscriptions, users, invitations, projects, members,
// teams, environments, /api/me and the audit log.
type Platform struct {
	Svc   *platform.Service
	Audit *audit.Log
	Idem  *idempotency.Keeper
	// Stamps place new subscriptions (Register copies Deps.Stamps here).
	Stamps *stamp.Stamps
}

// callerOf maps a principal to the platform's caller: people by their
// e-mail's user id, service principals by their roles.
func callerOf(p identity.Principal) platform.Caller {
	c := platform.Caller{PrincipalID: p.ID, Issuer: p.Issuer, Subject: p.Subject, Email: p.Email, Name: p.Name, Service: p.Service, Roles: p.Roles}
	if !p.Service && p.Email != "" {
		c.UserID = platform.UserID(p.Email)
	}
	return c
}

// CallerOf returns the request's caller and a context carrying its request
// id for the audit log.
func CallerOf(r *http.Request) (context.Context, platform.Caller) {
	p, _ := identity.FromContext(r.Context())
	return platform.WithRequestID(r.Context(), httpapi.RequestID(r.Context())), callerOf(p)
}

// Gate adapts the platform's admission check to identity.Gate.
type Gate struct{ Svc *platform.Service }

// Admit refuses disabled users on every request.
func (g Gate) Admit(ctx context.Context, p identity.Principal) error {
	return g.Svc.Admit(ctx, callerOf(p))
}

// listPage is the shape of every list answer: items plus an opaque cursor.
type listPage[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// paginate cuts a list sorted by key after the cursor, limit items long.
func paginate[T any](r *http.Request, items []T, key func(T) string) (listPage[T], error) {
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return listPage[T]{}, err
	}
	sort.SliceStable(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	start := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		after, err := base64.RawURLEncoding.DecodeString(c)
		if err != nil {
			return listPage[T]{}, fault.E("handlers.paginate", fault.Invalid, "the cursor is not valid")
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > string(after) })
	}
	end := min(start+int(limit), len(items))
	out := listPage[T]{Items: items[start:end]}
	if out.Items == nil {
		out.Items = []T{}
	}
	if end < len(items) {
		out.Next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return out, nil
}

func writeList[T any](w http.ResponseWriter, r *http.Request, items []T, err error, key func(T) string) error {
	if err != nil {
		return err
	}
	p, err := paginate(r, items, key)
	return reply(w, http.StatusOK, p, err)
}

// reply is the tail of a handler: err as the problem answer, or else v
// with status.
func reply(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	httpapi.JSON(w, status, v)
	return nil
}

// replyTagged is reply with the ETag of v (etag, read by the caller from v,
// which is a value: no nil to dereference when err is set).
func replyTagged(w http.ResponseWriter, status int, v any, etag string, err error) error {
	if err != nil {
		return err
	}
	withETag(w, etag)
	httpapi.JSON(w, status, v)
	return nil
}

// replyUncached is reply 200 for an answer no cache may keep: it is live
// (an environment's status, a connector's answer).
func replyUncached(w http.ResponseWriter, v any, err error) error {
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpapi.JSON(w, http.StatusOK, v)
	return nil
}

// replyPut is the tail of a PUT that creates or replaces: 201 when it
// created the resource, else 200, with its ETag.
func replyPut(w http.ResponseWriter, v any, etag string, created bool, err error) error {
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return replyTagged(w, status, v, etag, err)
}

// noContent is the tail of a handler that answers nothing: err as the
// problem answer, or else 204.
func noContent(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func withETag(w http.ResponseWriter, etag string) {
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
}

func register(rt *httpapi.Router, p Platform) {
	idem := func(h httpapi.HandlerFunc) httpapi.HandlerFunc { return keyed(p.Idem, h) }
	rt.Handle("GET /api/me", p.me)
	rt.Handle("POST /api/subscriptions", p.placed(idem(p.createSubscription)))
	rt.Handle("GET /api/subscriptions/{s}", p.getSubscription)
	rt.Handle("GET /api/subscriptions/{s}/users", p.listUsers)
	rt.Handle("POST /api/subscriptions/{s}/users", idem(p.invite))
	rt.Handle("PATCH /api/subscriptions/{s}/users/{u}", p.patchUser)
	rt.Handle("GET /api/subscriptions/{s}/users/{u}/identities", p.listIdentities)
	rt.Handle("POST /api/subscriptions/{s}/users/{u}/identities", p.linkIdentity)
	rt.Handle("POST /api/invitations/{token}/accept", p.accept)
	rt.Handle("GET /api/subscriptions/{s}/projects", p.listProjects)
	rt.Handle("POST /api/subscriptions/{s}/projects", idem(p.createProject))
	rt.Handle("GET /api/subscriptions/{s}/audit", p.subscriptionAudit)
	rt.Handle("GET /api/projects/{p}", p.getProject)
	rt.Handle("PATCH /api/projects/{p}", p.patchProject)
	rt.Handle("DELETE /api/projects/{p}", p.deleteProject)
	rt.Handle("GET /api/projects/{p}/members", p.listMembers)
	rt.Handle("PUT /api/projects/{p}/members/{u}", p.putMember)
	rt.Handle("DELETE /api/projects/{p}/members/{u}", p.deleteMember)
	rt.Handle("GET /api/projects/{p}/teams", p.listTeams)
	rt.Handle("POST /api/projects/{p}/teams", idem(p.createTeam))
	rt.Handle("DELETE /api/projects/{p}/teams/{t}", p.deleteTeam)
	rt.Handle("PUT /api/projects/{p}/teams/{t}/members/{u}", p.addTeamMember)
	rt.Handle("DELETE /api/projects/{p}/teams/{t}/members/{u}", p.removeTeamMember)
	rt.Handle("GET /api/projects/{p}/environments", p.listEnvironments)
	rt.Handle("POST /api/projects/{p}/environments", idem(p.createEnvironment))
	rt.Handle("GET /api/projects/{p}/environments/{env}", p.getEnvironment)
	rt.Handle("PATCH /api/projects/{p}/environments/{env}", p.patchEnvironment)
	rt.Handle("GET /api/projects/{p}/audit", p.projectAudit)
}

func (p Platform) me(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	me, err := p.Svc.Me(ctx, c)
	return reply(w, http.StatusOK, me, err)
}

func (p Platform) createSubscription(w http.ResponseWriter, r *http.Request) error {
	var req struct{ ID, Name, Home string }
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, c := CallerOf(r)
	sub, err := p.Svc.CreateSubscription(ctx, c, req.ID, req.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/subscriptions/"+sub.ID)
	httpapi.JSON(w, http.StatusCreated, sub)
	return nil
}

func (p Platform) getSubscription(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	sub, err := p.Svc.GetSubscription(ctx, c, r.PathValue("s"))
	return reply(w, http.StatusOK, sub, err)
}

func (p Platform) listUsers(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	us, err := p.Svc.ListUsers(ctx, c, r.PathValue("s"))
	return writeList(w, r, us, err, func(u platform.User) string { return u.Email })
}

func (p Platform) invite(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email             string `json:"email"`
		Name              string `json:"name"`
		SubscriptionOwner bool   `json:"subscriptionOwner"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, c := CallerOf(r)
	inv, err := p.Svc.Invite(ctx, c, r.PathValue("s"), req.Email, req.Name, req.SubscriptionOwner)
	return reply(w, http.StatusCreated, inv, err)
}

func (p Platform) listIdentities(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	bs, err := p.Svc.Identities(ctx, c, r.PathValue("s"), r.PathValue("u"))
	if err != nil {
		return err
	}
	httpapi.JSON(w, http.StatusOK, listPage[platform.Binding]{Items: bs})
	return nil
}

// linkIdentity is idempotent by nature (linking twice is a 409 that
// changes nothing), so it needs no Idempotency-Key.
func (p Platform) linkIdentity(w http.ResponseWriter, r *http.Request) error {
	var req platform.Identity
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, c := CallerOf(r)
	b, err := p.Svc.LinkIdentity(ctx, c, r.PathValue("s"), r.PathValue("u"), req)
	return reply(w, http.StatusCreated, b, err)
}

func (p Platform) patchUser(w http.ResponseWriter, r *http.Request) error {
	var req platform.UserPatch
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, c := CallerOf(r)
	u, err := p.Svc.PatchUser(ctx, c, r.PathValue("s"), r.PathValue("u"), req, r.Header.Get("If-Match"))
	return replyTagged(w, http.StatusOK, u, u.ETag, err)
}

func (p Platform) accept(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	u, err := p.Svc.AcceptInvitation(ctx, c, r.PathValue("token"))
	return reply(w, http.StatusOK, u, err)
}

func (p Platform) listProjects(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	ps, err := p.Svc.ListProjects(ctx, c, r.PathValue("s"))
	return writeList(w, r, ps, err, func(p platform.Project) string { return p.ID })
}

func (p Platform) createProject(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, c := CallerOf(r)
	pr, err := p.Svc.CreateProject(ctx, c, r.PathValue("s"), req.ID, req.Name, req.Description)
	if err != nil {
		return err
	}
	withETag(w, pr.ETag)
	w.Header().Set("Location", "/api/projects/"+pr.ID)
	httpapi.JSON(w, http.StatusCreated, pr)
	return nil
}

func (p Platform) getProject(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	pr, err := p.Svc.GetProject(ctx, c, r.PathValue("p"))
	return replyTagged(w, http.StatusOK, pr, pr.ETag, err)
}

func (p Platform) patchProject(w http.ResponseWriter, r *http.Request) error {
	var req platform.ProjectPatch
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, c := CallerOf(r)
	pr, err := p.Svc.PatchProject(ctx, c, r.PathValue("p"), req, r.Header.Get("If-Match"))
	return replyTagged(w, http.StatusOK, pr, pr.ETag, err)
}

func (p Platform) deleteProject(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	return noContent(w, p.Svc.DeleteProject(ctx, c, r.PathValue("p"), r.Header.Get("If-Match")))
}

func (p Platform) listMembers(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	ms, err := p.Svc.ListMembers(ctx, c, r.PathValue("p"))
	return writeList(w, r, ms, err, func(m platform.Member) string { return m.UserID })
}

func (p Platform) putMember(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Role platform.Role `json:"role"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, c := CallerOf(r)
	m, created, err := p.Svc.PutMember(ctx, c, r.PathValue("p"), r.PathValue("u"), req.Role, r.Header.Get("If-Match"))
	return replyPut(w, m, m.ETag, created, err)
}

func (p Platform) deleteMember(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	return noContent(w, p.Svc.DeleteMember(ctx, c, r.PathValue("p"), r.PathValue("u"), r.Header.Get("If-Match")))
}

func (p Platform) listTeams(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	ts, err := p.Svc.ListTeams(ctx, c, r.PathValue("p"))
	return writeList(w, r, ts, err, func(t platform.Team) string { return t.ID })
}

func (p Platform) createTeam(w http.ResponseWriter, r *http.Request) error {
	var req struct{ ID, Name string }
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, c := CallerOf(r)
	t, err := p.Svc.CreateTeam(ctx, c, r.PathValue("p"), req.ID, req.Name)
	return replyTagged(w, http.StatusCreated, t, t.ETag, err)
}

func (p Platform) deleteTeam(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	return noContent(w, p.Svc.DeleteTeam(ctx, c, r.PathValue("p"), r.PathValue("t")))
}

func (p Platform) setTeamMember(w http.ResponseWriter, r *http.Request, in bool) error {
	ctx, c := CallerOf(r)
	t, err := p.Svc.SetTeamMember(ctx, c, r.PathValue("p"), r.PathValue("t"), r.PathValue("u"), in)
	if err != nil {
		return err
	}
	if !in {
		return noContent(w, nil)
	}
	return replyTagged(w, http.StatusOK, t, t.ETag, nil)
}

func (p Platform) addTeamMember(w http.ResponseWriter, r *http.Request) error {
	return p.setTeamMember(w, r, true)
}

func (p Platform) removeTeamMember(w http.ResponseWriter, r *http.Request) error {
	return p.setTeamMember(w, r, false)
}

func (p Platform) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	es, err := p.Svc.ListEnvironments(ctx, c, r.PathValue("p"))
	return writeList(w, r, es, err, func(e platform.Environment) string { return e.Name })
}

func (p Platform) createEnvironment(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name          string `json:"name"`
		Kind          string `json:"kind"`
		WorkPortalURL string `json:"workPortalUrl"`
		SchedulerURL  string `json:"schedulerUrl"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, c := CallerOf(r)
	e, err := p.Svc.CreateEnvironment(ctx, c, r.PathValue("p"), platform.Environment{Name: req.Name, Kind: req.Kind, WorkPortalURL: req.WorkPortalURL, SchedulerURL: req.SchedulerURL})
	return replyTagged(w, http.StatusCreated, e, e.ETag, err)
}

func (p Platform) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	e, err := p.Svc.GetEnvironment(ctx, c, r.PathValue("p"), r.PathValue("env"))
	return replyTagged(w, http.StatusOK, e, e.ETag, err)
}

func (p Platform) patchEnvironment(w http.ResponseWriter, r *http.Request) error {
	var req platform.EnvironmentPatch
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	ctx, c := CallerOf(r)
	e, err := p.Svc.PatchEnvironment(ctx, c, r.PathValue("p"), r.PathValue("env"), req, r.Header.Get("If-Match"))
	return replyTagged(w, http.StatusOK, e, e.ETag, err)
}

func (p Platform) auditPage(w http.ResponseWriter, r *http.Request, scope string) error {
	var since time.Time
	if v := r.URL.Query().Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return fault.E("handlers.audit", fault.Invalid, "since must be an RFC 3339 time")
		}
		since = t
	}
	limit, err := intParam(r, "limit", 100, 1, 1000)
	if err != nil {
		return err
	}
	page, err := p.Audit.List(r.Context(), scope, since, int(limit), r.URL.Query().Get("cursor"))
	return reply(w, http.StatusOK, page, err)
}

func (p Platform) projectAudit(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	if err := p.Svc.CanReadProjectAudit(ctx, c, r.PathValue("p")); err != nil {
		return err
	}
	return p.auditPage(w, r, audit.ProjectScope(r.PathValue("p")))
}

func (p Platform) subscriptionAudit(w http.ResponseWriter, r *http.Request) error {
	ctx, c := CallerOf(r)
	if err := p.Svc.CanReadSubscriptionAudit(ctx, c, r.PathValue("s")); err != nil {
		return err
	}
	return p.auditPage(w, r, audit.SubscriptionScope(r.PathValue("s")))
}
