package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/fnhost"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/platform"
)

// Deploy serves an environment's deployments, maintenance windows and
// policy, and the deployment triggers.
type Deploy struct {
	Platform *platform.Service
	Svc      *deploy.Service
	Audit    *audit.Log
	Idem     *idempotency.Keeper // Idempotency-Key on open-now and cancel (nil: ignored)
}

func registerDeploy(rt *httpapi.Router, d Deploy) {
	const env = "/api/projects/{p}/environments/{env}"
	rt.Handle("GET "+env+"/status", d.status)
	rt.Handle("GET "+env+"/deployments", d.history)
	rt.Handle("GET "+env+"/windows", d.windows)
	rt.Handle("POST "+env+"/windows/open-now", keyed(d.Idem, d.openNow))
	rt.Handle("GET "+env+"/windows/{id}", d.window)
	rt.Handle("PATCH "+env+"/windows/{id}", d.reschedule)
	rt.Handle("POST "+env+"/windows/{id}/cancel", keyed(d.Idem, d.cancel))
	rt.Handle("GET "+env+"/maintenance-policy", d.policy)
	rt.Handle("PUT "+env+"/maintenance-policy", d.putPolicy)
	rt.Handle("GET "+env+"/runtime", d.runtime)
	rt.Handle("PUT "+env+"/runtime", d.putRuntime)
}

// registerDeployFunctions: deployment messages arrive on the Service Bus
// trigger, in Azure and (through the devhost's Service Bus stand-in)
// locally; the minute timer reconciles.
func registerDeployFunctions(fr *fnhost.Router, d Deploy) {
	fr.Handle("DeployRequests", d.message)
	fr.Handle("WindowsReconcile", d.reconcile)
}

// message is a deployment message from Service Bus: the body as the
// sender wrote it (the message id, session and properties are metadata the
// worker does not need: the body says it all, and a duplicate is a no-op).
func (d Deploy) message(ctx context.Context, inv *fnhost.Invocation) (map[string]any, any, error) {
	text, err := inv.Text("message")
	if err != nil {
		return nil, nil, err
	}
	return nil, nil, d.Svc.Handle(ctx, []byte(text))
}

// reconcile is the WindowsReconcile timer function.
func (d Deploy) reconcile(ctx context.Context, _ *fnhost.Invocation) (map[string]any, any, error) {
	return nil, nil, d.Svc.Reconcile(ctx)
}

// access checks that the caller sees the environment (404 otherwise) and,
// for writes, is an admin or owner of the project.
func (d Deploy) access(r *http.Request, write bool) (context.Context, platform.Caller, error) {
	return envAccess(r, d.Platform, write, "change maintenance windows and policies")
}

// change decodes the body into v and admits an admin or owner (access).
func (d Deploy) change(r *http.Request, v any) (context.Context, platform.Caller, error) {
	return envWrite(r, d.Platform, v, "change maintenance windows and policies")
}

// record audits an administrator's change.
func (d Deploy) record(ctx context.Context, r *http.Request, c platform.Caller, action string, before, after any) error {
	if d.Audit == nil {
		return nil
	}
	return d.Audit.Record(ctx, audit.ProjectScope(r.PathValue("p")), audit.Entry{Actor: c.UserID, ActorName: c.Email, Action: action,
		Target: "environments/" + r.PathValue("env") + "/" + action, RequestID: httpapi.RequestID(r.Context())}, before, after)
}

func (d Deploy) status(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := d.access(r, false)
	if err != nil {
		return err
	}
	st, err := d.Svc.Status(ctx, r.PathValue("p"), r.PathValue("env"))
	return replyUncached(w, st, err)
}

func (d Deploy) history(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := d.access(r, false)
	if err != nil {
		return err
	}
	limit, err := intParam(r, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	items, next, err := d.Svc.History(ctx, r.PathValue("p"), r.PathValue("env"), r.URL.Query().Get("cursor"), int(limit))
	if err != nil {
		return err
	}
	httpapi.JSON(w, http.StatusOK, listPage[deploy.HistoryEntry]{Items: items, Next: next})
	return nil
}

func (d Deploy) windows(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := d.access(r, false)
	if err != nil {
		return err
	}
	ws, err := d.Svc.Windows(ctx, r.PathValue("p"), r.PathValue("env"))
	// Newest first: the page key counts down with the window id.
	return writeList(w, r, ws, err, func(x deploy.Window) string { return invertID(x.ID) })
}

// invertID makes newer window ids sort first under paginate's ascending key.
func invertID(id string) string {
	b := []byte(id)
	for i := range b {
		b[i] = 0xFF - b[i]
	}
	return string(b)
}

func (d Deploy) window(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := d.access(r, false)
	if err != nil {
		return err
	}
	win, err := d.Svc.Window(ctx, r.PathValue("p"), r.PathValue("env"), r.PathValue("id"))
	return replyTagged(w, http.StatusOK, win, win.ETag, err)
}

func (d Deploy) reschedule(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Start string `json:"start"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	start, err := time.Parse(time.RFC3339, req.Start)
	if err != nil {
		return fault.E("handlers.deploy", fault.Invalid, "start must be an RFC 3339 time")
	}
	ctx, c, err := d.access(r, true)
	if err != nil {
		return err
	}
	win, err := d.Svc.Reschedule(ctx, r.PathValue("p"), r.PathValue("env"), r.PathValue("id"), start, r.Header.Get("If-Match"), c.Email)
	if err == nil {
		err = d.record(ctx, r, c, "window.reschedule", nil, map[string]any{"window": win.ID, "start": win.Start})
	}
	return replyTagged(w, http.StatusOK, win, win.ETag, err)
}

func (d Deploy) cancel(w http.ResponseWriter, r *http.Request) error {
	ctx, c, err := d.access(r, true)
	if err != nil {
		return err
	}
	win, err := d.Svc.Cancel(ctx, r.PathValue("p"), r.PathValue("env"), r.PathValue("id"), c.Email)
	if err == nil {
		err = d.record(ctx, r, c, "window.cancel", nil, map[string]any{"window": win.ID})
	}
	return replyTagged(w, http.StatusOK, win, win.ETag, err)
}

func (d Deploy) openNow(w http.ResponseWriter, r *http.Request) error {
	ctx, c, err := d.access(r, true)
	if err != nil {
		return err
	}
	win, err := d.Svc.OpenNow(ctx, r.PathValue("p"), r.PathValue("env"), c.Email)
	if err == nil {
		err = d.record(ctx, r, c, "window.open-now", nil, map[string]any{"window": win.ID})
	}
	return replyTagged(w, http.StatusOK, win, win.ETag, err)
}

// policyView is a policy and whether it is the default.
type policyView struct {
	deploy.Policy
	Default bool `json:"default"`
}

func (d Deploy) policy(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := d.access(r, false)
	if err != nil {
		return err
	}
	p, def, err := d.Svc.Policy(ctx, r.PathValue("p"), r.PathValue("env"))
	return replyTagged(w, http.StatusOK, policyView{Policy: p, Default: def}, deploy.PolicyETag(p, def), err)
}

func (d Deploy) putPolicy(w http.ResponseWriter, r *http.Request) error {
	var p deploy.Policy
	ctx, c, err := d.change(r, &p)
	if err != nil {
		return err
	}
	ch, err := d.Svc.PutPolicyIf(ctx, r.PathValue("p"), r.PathValue("env"), p, r.Header.Get("If-Match"))
	if err == nil {
		err = d.record(ctx, r, c, "maintenance-policy.put", ch.Before, ch.After)
	}
	return replyTagged(w, http.StatusOK, policyView{Policy: ch.After}, ch.ETag, err)
}

func (d Deploy) runtime(w http.ResponseWriter, r *http.Request) error {
	ctx, _, err := d.access(r, true)
	if err != nil {
		return err
	}
	rc, err := d.Svc.RuntimeConfig(ctx, r.PathValue("p"), r.PathValue("env"))
	return replyTagged(w, http.StatusOK, rc, deploy.RuntimeETag(rc), err)
}

func (d Deploy) putRuntime(w http.ResponseWriter, r *http.Request) error {
	var rc deploy.RuntimeConfig
	ctx, c, err := d.change(r, &rc)
	if err != nil {
		return err
	}
	ch, err := d.Svc.PutRuntimeConfigIf(ctx, r.PathValue("p"), r.PathValue("env"), rc, r.Header.Get("If-Match"))
	if err == nil {
		err = d.record(ctx, r, c, "runtime.put", ch.Before, ch.After)
	}
	return replyTagged(w, http.StatusOK, ch.After, ch.ETag, err)
}
