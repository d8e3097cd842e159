package handlers

import (
	"context"
	"net/http"

	"github.com/studio-collab/collab/shared/envconfig"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/platform"
)

// Params serves the Management Console's parameters of an environment.
type Params struct {
	Platform *platform.Service
	Svc      *envconfig.Service
}

func registerParams(rt *httpapi.Router, p Params) {
	rt.Handle("GET /api/projects/{p}/environments/{env}/parameters", p.list)
	rt.Handle("GET /api/projects/{p}/environments/{env}/parameters/{name}", p.get)
	rt.Handle("PUT /api/projects/{p}/environments/{env}/parameters/{name}", p.put)
	rt.Handle("DELETE /api/projects/{p}/environments/{env}/parameters/{name}", p.delete)
}

// envAccess checks that the environment exists for a member of its project
// (outsiders and service principals get 404) and, for writes, that the
// caller is an admin or owner; what names the refused action.
func envAccess(r *http.Request, svc *platform.Service, write bool, what string) (context.Context, platform.Caller, error) {
	ctx, c := CallerOf(r)
	if _, err := svc.GetEnvironment(ctx, c, r.PathValue("p"), r.PathValue("env")); err != nil {
		return ctx, c, err
	}
	if write {
		return ctx, c, svc.RequireAdmin(ctx, c, r.PathValue("p"), what)
	}
	return ctx, c, nil
}

// envWrite decodes the request's body into v, then admits an admin or owner
// of the environment's project (envAccess for a write): the start of every
// handler that changes an environment's settings.
func envWrite(r *http.Request, svc *platform.Service, v any, what string) (context.Context, platform.Caller, error) {
	if err := httpapi.DecodeJSON(r, v); err != nil {
		return nil, platform.Caller{}, err
	}
	return envAccess(r, svc, true, what)
}

func paramActor(r *http.Request, c platform.Caller) envconfig.Actor {
	return envconfig.Actor{ID: c.UserID, Name: c.Email, RequestID: httpapi.RequestID(r.Context())}
}

func (p Params) list(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := envAccess(r, p.Platform, false, "")
	if err != nil {
		return err
	}
	ps, err := p.Svc.List(ctx, r.PathValue("p"), r.PathValue("env"))
	return writeList(w, r, ps, err, func(x envconfig.Parameter) string { return x.Name() })
}

func (p Params) get(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := envAccess(r, p.Platform, false, "")
	if err != nil {
		return err
	}
	par, err := p.Svc.Get(ctx, r.PathValue("p"), r.PathValue("env"), r.PathValue("name"))
	return replyTagged(w, http.StatusOK, par, par.ETag, err)
}

func (p Params) put(w http.ResponseWriter, r *http.Request) error {
	var ch envconfig.Change
	ctx, c, err := envWrite(r, p.Platform, &ch, "change parameters")
	if err != nil {
		return err
	}
	par, created, err := p.Svc.Put(ctx, paramActor(r, c), r.PathValue("p"), r.PathValue("env"), r.PathValue("name"), ch, r.Header.Get("If-Match"))
	return replyPut(w, par, par.ETag, created, err)
}

func (p Params) delete(w http.ResponseWriter, r *http.Request) error {
	ctx, c, err := envAccess(r, p.Platform, true, "change parameters")
	if err != nil {
		return err
	}
	project, env, name := r.PathValue("p"), r.PathValue("env"), r.PathValue("name")
	pending, err := p.Svc.Delete(ctx, paramActor(r, c), project, env, name, r.Header.Get("If-Match"))
	if err != nil {
		return err
	}
	if !pending {
		return noContent(w, nil)
	}
	// A restart-needing parameter goes in the next maintenance window.
	par, err := p.Svc.Get(ctx, project, env, name)
	return replyTagged(w, http.StatusAccepted, par, par.ETag, err)
}
