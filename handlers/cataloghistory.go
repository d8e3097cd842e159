package handlers

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/security"
)

// The catalog's history as a tool (issue 17): diffs, revert, restore. The
// rules (what a revert undoes, when it is refused, how it merges) are in
// shared/catalog/revert.go; these handlers decode, pass the caller's Studio
// Security, and encode.

func registerCatalogHistory(rt *httpapi.Router, c Catalog) {
	base := "/api/projects/{p}/catalog"
	rt.Handle("GET "+base+"/diff", c.diff)
	rt.Handle("GET "+base+"/commits/{seq}/diff", c.commitDiff)
	rt.Handle("POST "+base+"/commits/{seq}/revert", c.requireKey(c.revert), httpapi.BodyLimit(64<<10))
	rt.Handle("POST "+base+"/restore", c.requireKey(c.restore), httpapi.BodyLimit(64<<10))
}

// access is the caller's Studio Security as the catalog's rules take it.
func (u who) access() catalog.Access {
	return catalog.Access{View: u.visible, Modify: func(path string) bool { return u.may(path, security.Edit) }}
}

// requestKey is the commit key of a request: its caller and Idempotency-Key.
func (u who) requestKey(r *http.Request) string {
	return catalog.CheckinKey(u.author.ID, r.Header.Get("Idempotency-Key"))
}

// commitOf is the caller of a request about the commit {seq}, and its
// sequence number.
func (c Catalog) commitOf(r *http.Request) (who, int64, error) {
	seq, err := seqParam(r)
	if err != nil {
		return who{}, 0, err
	}
	u, err := c.caller(r)
	return u, seq, err
}

// committed answers 201 with the result of a request that made commit seq,
// and where the commit is.
func committed(w http.ResponseWriter, project string, seq int64, res any, err error) error {
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/projects/%s/catalog/commits/%d", project, seq))
	httpapi.JSON(w, http.StatusCreated, res)
	return nil
}

func seqParam(r *http.Request) (int64, error) {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	if err != nil || seq < 1 {
		return 0, fault.E("handlers.catalog", fault.Invalid, "a commit is named by its sequence number")
	}
	return seq, nil
}

func (c Catalog) diff(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, err := catalog.ParseRef(q.Get("from"))
	if err != nil {
		return err
	}
	to, err := catalog.ParseRef(q.Get("to"))
	if err != nil {
		return err
	}
	u, err := c.viewer(r, q.Get("path"))
	if err != nil {
		return err
	}
	d, err := c.Svc.Diff(u.ctx, u.project, q.Get("path"), from, to)
	return reply(w, http.StatusOK, d, err)
}

func (c Catalog) commitDiff(w http.ResponseWriter, r *http.Request) error {
	u, seq, err := c.commitOf(r)
	if err != nil {
		return err
	}
	d, err := c.Svc.CommitDiff(u.ctx, u.project, seq, u.visible)
	return reply(w, http.StatusOK, d, err)
}

func (c Catalog) revert(w http.ResponseWriter, r *http.Request) error {
	seq, err := seqParam(r)
	if err != nil {
		return err
	}
	var req struct {
		Message string `json:"message"`
		Force   bool   `json:"force"`
	}
	if r.ContentLength != 0 {
		if err := httpapi.DecodeJSON(r, &req); err != nil {
			return err
		}
	}
	if len(req.Message) > catalog.MaxMessage {
		return fault.E("handlers.catalog", fault.Invalid, fmt.Sprintf("the message is over %d bytes", catalog.MaxMessage))
	}
	u, err := c.caller(r)
	if err != nil {
		return err
	}
	res, err := c.Svc.Revert(u.ctx, catalog.RevertRequest{Project: u.project, Author: u.author, Seq: seq, Message: req.Message,
		Key: u.requestKey(r), Force: req.Force, Access: u.access()})
	return committed(w, u.project, res.Seq, res, err)
}

func (c Catalog) restore(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Path    string `json:"path"`
		Version int64  `json:"version"`
		Message string `json:"message"`
	}
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		return err
	}
	if err := security.ValidatePath(req.Path); err != nil {
		return err
	}
	if req.Version < 1 || len(req.Message) > catalog.MaxMessage {
		return fault.E("handlers.catalog", fault.Invalid, fmt.Sprintf("version is the version to bring back (1 or more); the message is at most %d bytes", catalog.MaxMessage))
	}
	u, err := c.viewer(r, req.Path)
	if err != nil {
		return err
	}
	res, err := c.Svc.Restore(u.ctx, catalog.RestoreRequest{Project: u.project, Author: u.author, Path: req.Path, Version: req.Version,
		Message: req.Message, Key: u.requestKey(r), Access: u.access()})
	return committed(w, u.project, res.Seq, res, err)
}
