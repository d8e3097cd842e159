package handlers

import (
	"context"
	"net/http"

	"github.com/studio-collab/collab/shared/connector"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/platform"
)

// Connectors serves an environment's REST connectors, their settings and
// their invocation.
type Connectors struct {
	Platform *platform.Service
	Svc      *connector.Service
	Idem     *idempotency.Keeper
}

func registerConnectors(rt *httpapi.Router, c Connectors) {
	create := keyed(c.Idem, c.create)
	const base = "/api/projects/{p}/environments/{env}"
	rt.Handle("GET "+base+"/connectors", c.list)
	rt.Handle("POST "+base+"/connectors", create)
	rt.Handle("GET "+base+"/connectors/{name}", c.get)
	rt.Handle("PUT "+base+"/connectors/{name}", c.put)
	rt.Handle("DELETE "+base+"/connectors/{name}", c.delete)
	rt.Handle("POST "+base+"/connectors/{name}/invoke", c.invoke)
	rt.Handle("GET "+base+"/connector-settings", c.getSettings)
	rt.Handle("PUT "+base+"/connector-settings", c.putSettings)
}

func connectorActor(r *http.Request, c platform.Caller) connector.Actor {
	return connector.Actor{ID: c.UserID, Name: c.Email, RequestID: httpapi.RequestID(r.Context())}
}

func (c Connectors) list(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := envAccess(r, c.Platform, false, "")
	if err != nil {
		return err
	}
	cs, err := c.Svc.List(ctx, r.PathValue("p"), r.PathValue("env"))
	return writeList(w, r, cs, err, func(x connector.Connector) string { return x.Name })
}

func (c Connectors) create(w http.ResponseWriter, r *http.Request) error {
	var in connector.Connector
	ctx, caller, err := envWrite(r, c.Platform, &in, "register connectors")
	if err != nil {
		return err
	}
	out, err := c.Svc.Create(ctx, connectorActor(r, caller), r.PathValue("p"), r.PathValue("env"), in)
	return replyTagged(w, http.StatusCreated, out, out.ETag, err)
}

func (c Connectors) get(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := envAccess(r, c.Platform, false, "")
	if err != nil {
		return err
	}
	out, err := c.Svc.Get(ctx, r.PathValue("p"), r.PathValue("env"), r.PathValue("name"))
	return replyTagged(w, http.StatusOK, out, out.ETag, err)
}

func (c Connectors) put(w http.ResponseWriter, r *http.Request) error {
	var in connector.Connector
	ctx, caller, err := envWrite(r, c.Platform, &in, "change connectors")
	if err != nil {
		return err
	}
	if in.Name != "" && in.Name != r.PathValue("name") {
		return fault.E("handlers.connectors", fault.Invalid, "the body's name differs from the path's: a connector cannot be renamed")
	}
	in.Name = r.PathValue("name")
	out, created, err := c.Svc.Put(ctx, connectorActor(r, caller), r.PathValue("p"), r.PathValue("env"), in, r.Header.Get("If-Match"))
	return replyPut(w, out, out.ETag, created, err)
}

func (c Connectors) delete(w http.ResponseWriter, r *http.Request) error {
	ctx, caller, err := envAccess(r, c.Platform, true, "change connectors")
	if err != nil {
		return err
	}
	return noContent(w, c.Svc.Delete(ctx, connectorActor(r, caller), r.PathValue("p"), r.PathValue("env"), r.PathValue("name"), r.Header.Get("If-Match")))
}

// invokeAccess admits admins and owners of the project, and the service
// principals (the Work Portal's identity) that the environment's settings
// list and that carry the Connectors.Invoke role.
func (c Connectors) invokeAccess(r *http.Request) (context.Context, error) {
	ctx, caller := CallerOf(r)
	if !caller.Service {
		ctx, _, err := envAccess(r, c.Platform, true, "invoke connectors (or the Work Portal's identity)")
		return ctx, err
	}
	if _, err := c.Platform.Environment(ctx, r.PathValue("p"), r.PathValue("env")); err != nil {
		if fault.Is(err, fault.NotFound) {
			return ctx, fault.E("handlers.invoke", fault.NotFound, "project not found")
		}
		return ctx, err
	}
	return ctx, c.Svc.AuthorizeService(ctx, r.PathValue("p"), r.PathValue("env"), caller.PrincipalID, caller.Roles)
}

func (c Connectors) invoke(w http.ResponseWriter, r *http.Request) error {
	var in connector.Request
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	ctx, err := c.invokeAccess(r)
	if err != nil {
		return err
	}
	out, err := c.Svc.Invoke(ctx, r.PathValue("p"), r.PathValue("env"), r.PathValue("name"), in)
	return replyUncached(w, out, err)
}

func (c Connectors) getSettings(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := envAccess(r, c.Platform, false, "")
	if err != nil {
		return err
	}
	st, err := c.Svc.GetSettings(ctx, r.PathValue("p"), r.PathValue("env"))
	return replyTagged(w, http.StatusOK, st, st.ETag, err)
}

func (c Connectors) putSettings(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		AllowNetworks []string `json:"allowNetworks"`
		Invokers      []string `json:"invokers"`
	}
	ctx, caller, err := envWrite(r, c.Platform, &in, "change connector settings")
	if err != nil {
		return err
	}
	st, err := c.Svc.PutSettings(ctx, connectorActor(r, caller), r.PathValue("p"), r.PathValue("env"),
		connector.Settings{AllowNetworks: in.AllowNetworks, Invokers: in.Invokers}, r.Header.Get("If-Match"))
	return replyTagged(w, http.StatusOK, st, st.ETag, err)
}
