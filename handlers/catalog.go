package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/security"
	"github.com/studio-collab/collab/shared/security/acl"
)

// Catalog serves the metadata catalog: blobs, check-ins, the change feed,
// objects, content, history, commits and check-out locks. Every operation
// on an object checks Studio Security: view for reads, modify for writes.
type Catalog struct {
	Platform *platform.Service
	ACL      *acl.Service
	Svc      *catalog.Service
	Idem     *idempotency.Keeper
}

// CheckinBodyLimit caps a check-in body: 10,000 changes of a few hundred
// bytes each fit with room to spare.
const CheckinBodyLimit = 16 << 20

func registerCatalog(rt *httpapi.Router, c Catalog) {
	base := "/api/projects/{p}/catalog"
	rt.Handle("POST "+base+"/blobs/missing", c.missing)
	rt.Handle("PUT "+base+"/blobs/{sha256}", c.putBlob, httpapi.BodyLimit(catalog.MaxBlobBytes))
	rt.Handle("POST "+base+"/packs", c.packUpload, httpapi.BodyLimit(PackBodyLimit))
	rt.Handle("POST "+base+"/packs/read", c.packDownload)
	rt.Handle("POST "+base+"/checkins", c.requireKey(c.checkin), httpapi.BodyLimit(CheckinBodyLimit))
	rt.Handle("GET "+base+"/changes", c.changes)
	rt.Handle("GET "+base+"/objects", c.objects)
	rt.Handle("GET "+base+"/object", c.object)
	rt.Handle("GET "+base+"/content", c.content)
	rt.Handle("GET "+base+"/history", c.history)
	rt.Handle("GET "+base+"/commits/{seq}", c.commit)
	rt.Handle("GET "+base+"/locks", c.locks)
	rt.Handle("POST "+base+"/locks", keyed(c.Idem, c.lock))
	rt.Handle("POST "+base+"/locks/{id}/renew", c.renew)
	rt.Handle("DELETE "+base+"/locks/{id}", c.unlock)
	registerCatalogHistory(rt, c)
}

// requireKey refuses a check-in without an Idempotency-Key: a retried
// check-in must never commit twice.
func (c Catalog) requireKey(h httpapi.HandlerFunc) httpapi.HandlerFunc {
	wrapped := keyed(c.Idem, h)
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.Header.Get("Idempotency-Key") == "" {
			return fault.E("handlers.checkin", fault.Invalid, "a check-in needs an Idempotency-Key header (any unique string; reuse it when you retry)")
		}
		return wrapped(w, r)
	}
}

// who is the caller of a catalog request: their security subject, the
// author they commit as, and the project's compiled security index.
type who struct {
	ctx     context.Context
	project string
	subj    security.Subject
	author  catalog.Author
	ix      *security.Index
}

func (c Catalog) caller(r *http.Request) (who, error) {
	ctx, subj, caller, err := projectSubject(r, c.Platform)
	if err != nil {
		return who{}, err
	}
	ix, err := c.ACL.Index(ctx, r.PathValue("p"))
	if err != nil {
		return who{}, err
	}
	return who{ctx: ctx, project: r.PathValue("p"), subj: subj, author: catalog.Author{ID: caller.UserID, Email: caller.Email}, ix: ix}, nil
}

// may is Studio Security's answer for one path (the index is the one
// acl.Service.Authorize consults; a request resolves it once).
func (u who) may(path string, a security.Action) bool {
	ok, _ := u.ix.Check(u.subj, path, a)
	return ok
}

func (u who) visible(path string) bool { return u.may(path, security.View) }

// authorize is acl.Service.Authorize for one object: a path the caller may
// not view is NotFound (it is hidden), one they may view but not change is
// Forbidden.
func (c Catalog) authorize(u who, path string, a security.Action) error {
	if err := security.ValidatePath(path); err != nil {
		return err
	}
	if a != security.View && !u.visible(path) {
		return fault.E("handlers.catalog", fault.NotFound, fault.Path(path), "no object at "+path)
	}
	_, err := c.ACL.Authorize(u.ctx, u.project, u.subj, path, a)
	if err != nil && a == security.View {
		return fault.E("handlers.catalog", fault.NotFound, fault.Path(path), "no object at "+path)
	}
	return err
}

// viewer is the caller of a request that reads one object at path: NotFound
// unless they may view it (authorize).
func (c Catalog) viewer(r *http.Request, path string) (who, error) {
	u, err := c.caller(r)
	if err == nil {
		err = c.authorize(u, path, security.View)
	}
	return u, err
}

func (c Catalog) missing(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Hashes []string `json:"hashes"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := c.caller(r)
	if err != nil {
		return err
	}
	miss, err := c.Svc.Missing(u.ctx, u.project, req.Hashes)
	if err != nil {
		return err
	}
	httpapi.JSON(w, http.StatusOK, map[string]any{"missing": miss})
	return nil
}

func (c Catalog) putBlob(w http.ResponseWriter, r *http.Request) error {
	u, err := c.caller(r)
	if err != nil {
		return err
	}
	body, err := httpapi.ReadBody(r)
	if err != nil {
		return err
	}
	sum := r.PathValue("sha256")
	created, err := c.Svc.PutBlob(u.ctx, u.project, sum, body)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("ETag", `"`+sum+`"`)
	httpapi.JSON(w, status, map[string]any{"sha256": sum, "size": len(body)})
	return nil
}

func (c Catalog) checkin(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Message string                  `json:"message"`
		Changes []catalog.ChangeRequest `json:"changes"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := c.caller(r)
	if err != nil {
		return err
	}
	// Studio Security authorizes each change inside the catalog (catalog.Authorizer).
	in := catalog.CheckinRequest{Project: u.project, Author: u.author, Message: req.Message, Changes: req.Changes,
		Key: u.requestKey(r)}
	res, err := c.Svc.Checkin(u.ctx, in)
	return committed(w, u.project, res.Seq, res, err)
}

// intParam reads the query parameter name, def when absent; a value that is
// not a whole number from lo to hi is Invalid.
func intParam(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, fault.E("handlers.query", fault.Invalid, fmt.Sprintf("%s must be %d..%d", name, lo, hi))
	}
	return n, nil
}

// pager is the caller of a paged read and its ?limit= (at most
// catalog.MaxPage, the default).
func (c Catalog) pager(r *http.Request) (who, int, error) {
	limit, err := intParam(r, "limit", catalog.MaxPage, 1, catalog.MaxPage)
	if err != nil {
		return who{}, 0, err
	}
	u, err := c.caller(r)
	return u, int(limit), err
}

func (c Catalog) changes(w http.ResponseWriter, r *http.Request) error {
	since, err := catalog.ParsePosition(r.URL.Query().Get("since"))
	if err != nil {
		return err
	}
	u, limit, err := c.pager(r)
	if err != nil {
		return err
	}
	page, err := c.Svc.Feed(u.ctx, u.project, since, limit, u.visible)
	return reply(w, http.StatusOK, page, err)
}

func (c Catalog) objects(w http.ResponseWriter, r *http.Request) error {
	prefix, err := prefixParam(r)
	if err != nil {
		return err
	}
	u, limit, err := c.pager(r)
	if err != nil {
		return err
	}
	page, err := c.Svc.List(u.ctx, u.project, prefix, r.URL.Query().Get("cursor"), limit, u.visible)
	return reply(w, http.StatusOK, page, err)
}

// objectOf resolves ?path=&version= for a caller allowed to view it.
func (c Catalog) objectOf(r *http.Request) (who, catalog.Object, error) {
	path := r.URL.Query().Get("path")
	v, err := intParam(r, "version", 0, 1, 1<<62)
	if err != nil {
		return who{}, catalog.Object{}, err
	}
	u, err := c.caller(r)
	if err != nil {
		return who{}, catalog.Object{}, err
	}
	if err := c.authorize(u, path, security.View); err != nil {
		return who{}, catalog.Object{}, err
	}
	o, err := c.Svc.ObjectAt(u.ctx, u.project, path, v)
	if err == nil && v == 0 && o.Deleted {
		err = fault.E("handlers.catalog", fault.NotFound, fault.Path(path), path+" was deleted")
	}
	return u, o, err
}

func (c Catalog) object(w http.ResponseWriter, r *http.Request) error {
	_, o, err := c.objectOf(r)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", `"`+o.SHA256+`"`)
	httpapi.JSON(w, http.StatusOK, o)
	return nil
}

func (c Catalog) content(w http.ResponseWriter, r *http.Request) error {
	u, o, err := c.objectOf(r)
	if err != nil {
		return err
	}
	if o.Deleted {
		return fault.E("handlers.catalog", fault.NotFound, fault.Path(o.Path), "version deleted the object")
	}
	etag := `"` + o.SHA256 + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("X-Object-Version", strconv.FormatInt(o.Version, 10))
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == etag || strings.Contains(inm, etag) || inm == "*") {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	b, err := c.Svc.Bytes(u.ctx, u.project, o)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", o.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

func (c Catalog) history(w http.ResponseWriter, r *http.Request) error {
	path := r.URL.Query().Get("path")
	u, err := c.viewer(r, path)
	if err != nil {
		return err
	}
	page, err := c.Svc.History(u.ctx, u.project, path, r.URL.Query().Get("cursor"), 0)
	return reply(w, http.StatusOK, page, err)
}

func (c Catalog) commit(w http.ResponseWriter, r *http.Request) error {
	u, seq, err := c.commitOf(r)
	if err != nil {
		return err
	}
	cm, err := c.Svc.Commit(u.ctx, u.project, seq, u.visible)
	return reply(w, http.StatusOK, cm, err)
}

func (c Catalog) locks(w http.ResponseWriter, r *http.Request) error {
	prefix, err := prefixParam(r)
	if err != nil {
		return err
	}
	u, err := c.caller(r)
	if err != nil {
		return err
	}
	ls, err := c.Svc.Locks(u.ctx, u.project, prefix, u.visible)
	if err != nil {
		return err
	}
	httpapi.JSON(w, http.StatusOK, map[string]any{"items": ls})
	return nil
}

type lockRequest struct {
	Path       string `json:"path"`
	TTLSeconds int64  `json:"ttlSeconds"`
}

func (c Catalog) lock(w http.ResponseWriter, r *http.Request) error {
	var req lockRequest
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	u, err := c.caller(r)
	if err != nil {
		return err
	}
	if err := security.ValidatePath(req.Path); err != nil {
		return err
	}
	if !u.may(req.Path, security.Edit) {
		return catalog.Forbidden([]string{req.Path})
	}
	l, err := c.Svc.Lock(u.ctx, u.project, u.author, req.Path, time.Duration(req.TTLSeconds)*time.Second)
	return reply(w, http.StatusCreated, l, err)
}

func (c Catalog) renew(w http.ResponseWriter, r *http.Request) error {
	var req lockRequest
	if r.ContentLength != 0 {
		if err := httpapi.DecodeJSON(r, &req); err != nil {
			return err
		}
	}
	u, err := c.caller(r)
	if err != nil {
		return err
	}
	l, err := c.Svc.Renew(u.ctx, u.project, u.author, r.PathValue("id"), time.Duration(req.TTLSeconds)*time.Second)
	return reply(w, http.StatusOK, l, err)
}

func (c Catalog) unlock(w http.ResponseWriter, r *http.Request) error {
	u, err := c.caller(r)
	if err != nil {
		return err
	}
	// The holder releases; so does someone with Full Control on the path.
	force := func(path string) bool { return u.ix.Decide(u.subj, path).Level == security.Full }
	return noContent(w, c.Svc.Unlock(u.ctx, u.project, u.author, r.PathValue("id"), force))
}

// prefixParam reads ?prefix=, a catalog path or empty for the whole tree.
func prefixParam(r *http.Request) (string, error) {
	prefix := r.URL.Query().Get("prefix")
	if prefix == "" {
		return "", nil
	}
	return prefix, security.ValidatePath(prefix)
}
