package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/studio-collab/collab/shared/catalog/diff"
	"github.com/studio-collab/collab/shared/fault"
)

// Access is what Studio Security lets the caller do, path by path; the
// caller (which knows Studio Security) passes it, as it passes visible to
// the reads.
type Access struct {
	View   func(path string) bool
	Modify func(path string) bool
}

// Undo records a revert or a restore for the audit log: the new commit and
// the commit(s) it undoes.
type Undo struct {
	Action  string   `json:"action"` // "catalog.revert" | "catalog.restore"
	Seq     int64    `json:"seq"`    // the new commit
	Undoes  int64    `json:"undoes"` // the commit reverted, or the one that made the replaced version
	Path    string   `json:"path,omitempty"`
	Version int64    `json:"version,omitempty"` // restore: the version brought back
	Paths   []string `json:"paths"`
	Merged  []string `json:"merged,omitempty"` // revert --force: paths merged with later commits
}

// RevertRequest asks for a new commit that undoes commit Seq.
type RevertRequest struct {
	Project string
	Author  Author
	Seq     int64
	Message string // "" = "Revert commit N: <its message>"
	Key     string // as a check-in's: a retry answers the same commit
	// Force merges each path changed since Seq three-way (base: Seq's
	// version, mine: the current one, theirs: the version before Seq);
	// only paths that cannot merge are then refused.
	Force  bool
	Access Access
}

// RestoreRequest asks for a new commit that brings path back to Version.
type RestoreRequest struct {
	Project string
	Author  Author
	Path    string
	Version int64
	Message string
	Key     string
	Access  Access
}

// UndoResult is the commit a revert or restore made.
type UndoResult struct {
	Result
	Undoes int64    `json:"undoes"`
	Merged []string `json:"merged,omitempty"`
}

// authorizeAll refuses the whole operation when the caller may not modify
// one of paths: those it may view are listed, hidden ones only counted.
func authorizeAll(a Access, paths []string) error {
	var denied []string
	hidden := 0
	for _, p := range paths {
		if a.Modify != nil && !a.Modify(p) {
			if a.View == nil || a.View(p) {
				denied = append(denied, p)
			} else {
				hidden++
			}
		}
	}
	if hidden > 0 {
		denied = append(denied, fmt.Sprintf("(%d path(s) you cannot see)", hidden))
	}
	if len(denied) > 0 {
		return fault.E("catalog.authorize", fault.Forbidden,
			fmt.Sprintf("you may not change %s, so nothing was reverted", summarize(denied)), &ForbiddenError{Paths: denied})
	}
	return nil
}

// answered returns the commit a request with key already made, if any.
func (s *Service) answered(ctx context.Context, project, key string) (Result, bool, error) {
	if key == "" {
		return Result{}, false, nil
	}
	if _, err := s.settle(ctx, project); err != nil {
		return Result{}, false, err
	}
	return s.byKey(ctx, project, key)
}

// Revert makes a new commit undoing commit Seq: each object it changed goes
// back to its version before Seq (objects it created are deleted, objects it
// deleted come back). The whole revert is refused when the caller may not
// modify one of its paths (Forbidden, listing them), when another user
// holds a lock on one (Locked), or when a path changed after Seq
// (Conflict, listing them) unless Force merges it. Nothing is rewritten.
func (s *Service) Revert(ctx context.Context, in RevertRequest) (UndoResult, error) {
	const op = "catalog.Revert"
	if res, ok, err := s.answered(ctx, in.Project, in.Key); err != nil || ok {
		if err != nil {
			return UndoResult{}, err
		}
		return UndoResult{Result: res, Undoes: in.Seq}, s.audit(ctx, in.Project, in.Author,
			Undo{Action: "catalog.revert", Seq: res.Seq, Undoes: in.Seq, Paths: resultPaths(res)})
	}
	c, err := s.Commit(ctx, in.Project, in.Seq, nil)
	if err != nil {
		return UndoResult{}, err
	}
	paths := make([]string, len(c.Changes))
	locks := make([]ChangeRequest, len(c.Changes))
	for i, ch := range c.Changes {
		paths[i], locks[i] = ch.Path, ChangeRequest{Path: ch.Path}
	}
	if err := authorizeAll(in.Access, paths); err != nil {
		return UndoResult{}, err
	}
	if err := s.checkLocks(ctx, in.Project, in.Author, locks); err != nil {
		return UndoResult{}, err
	}
	msg := in.Message
	if msg == "" {
		msg = fmt.Sprintf("Revert commit %d: %s", in.Seq, c.Message)
	}
	// Each path is planned on its own (reads in parallel: a commit may hold
	// 10,000 changes), then the plans decide together.
	type plan struct {
		change   *ChangeRequest
		later    *Conflict
		unmerged bool
		merged   bool
	}
	plans := make([]plan, len(c.Changes))
	err = parallel(ctx, len(c.Changes), 16, func(ctx context.Context, i int) error {
		ch := c.Changes[i]
		cur, err := s.ObjectAt(ctx, in.Project, ch.Path, 0)
		if err != nil {
			return err
		}
		var target *Object // nil: the object did not exist before Seq
		if ch.Version > 1 {
			t, err := s.ObjectAt(ctx, in.Project, ch.Path, ch.Version-1)
			if err != nil {
				return err
			}
			if !t.Deleted {
				target = &t
			}
		}
		if cur.Version == ch.Version {
			cr := undoChange(ch.Path, cur, target)
			plans[i].change = &cr
			return nil
		}
		plans[i].later = &Conflict{Path: ch.Path, BaseVersion: ch.Version, CurrentVersion: cur.Version, CommittedBy: cur.CommittedBy, CommittedAt: cur.CommittedAt}
		if !in.Force {
			return nil
		}
		cr, ok, err := s.mergeUndo(ctx, in.Project, ch, cur, target)
		switch {
		case err != nil:
			return err
		case !ok:
			plans[i].unmerged = true
		case cr != nil:
			plans[i].change, plans[i].merged = cr, true
		}
		return nil
	})
	if err != nil {
		return UndoResult{}, fault.E(op, err)
	}
	var (
		changes  []ChangeRequest
		later    []Conflict
		unmerged []Conflict
		merged   []string
	)
	for _, pl := range plans {
		if pl.later != nil {
			later = append(later, *pl.later)
		}
		if pl.unmerged {
			unmerged = append(unmerged, *pl.later)
		}
		if pl.merged {
			merged = append(merged, pl.change.Path)
		}
		if pl.change != nil {
			changes = append(changes, *pl.change)
		}
	}
	if len(later) > 0 && !in.Force {
		return UndoResult{}, fault.E(op, fault.Conflict, fmt.Sprintf("%d path(s) changed after commit %d: %s; revert with force to merge what can merge",
			len(later), in.Seq, summarize(conflictPaths(later))), &ConflictError{Conflicts: later})
	}
	if len(unmerged) > 0 {
		return UndoResult{}, fault.E(op, fault.Conflict, fmt.Sprintf("%d path(s) changed after commit %d cannot be merged: %s; nothing was reverted",
			len(unmerged), in.Seq, summarize(conflictPaths(unmerged))), &ConflictError{Conflicts: unmerged})
	}
	if len(changes) == 0 {
		return UndoResult{}, fault.E(op, fault.Conflict, fmt.Sprintf("commit %d's changes are already undone", in.Seq))
	}
	sort.Slice(changes, func(i, j int) bool { return changes[i].Path < changes[j].Path })
	res, err := s.Checkin(ctx, CheckinRequest{Project: in.Project, Author: in.Author, Message: msg, Key: in.Key, Changes: changes})
	if err != nil {
		return UndoResult{}, err
	}
	sort.Strings(merged)
	out := UndoResult{Result: res, Undoes: in.Seq, Merged: merged}
	return out, s.audit(ctx, in.Project, in.Author, Undo{Action: "catalog.revert", Seq: res.Seq, Undoes: in.Seq, Paths: paths, Merged: merged})
}

// undoChange turns cur into target (nil: delete it).
func undoChange(path string, cur Object, target *Object) ChangeRequest {
	if target == nil {
		return ChangeRequest{Op: OpDelete, Path: path, BaseVersion: cur.Version}
	}
	return ChangeRequest{Op: OpPut, Path: path, Kind: target.Kind, BaseVersion: cur.Version, SHA256: target.SHA256, Size: target.Size,
		ContentType: target.ContentType}
}

// mergeUndo merges the undo of ch into a path changed since: base is ch's
// version, mine the current state, theirs the state before ch. cr is nil
// when there is nothing left to undo; ok=false when it cannot merge.
func (s *Service) mergeUndo(ctx context.Context, project string, ch Change, cur Object, target *Object) (*ChangeRequest, bool, error) {
	base := &Object{Path: ch.Path, Version: ch.Version, SHA256: ch.SHA256, Size: ch.Size, ContentType: ch.ContentType, Deleted: ch.Op == OpDelete}
	curLive, targetLive := !cur.Deleted, target != nil
	switch {
	case !curLive && !targetLive:
		return nil, true, nil // deleted since, and the undo deletes it too
	case curLive && targetLive && cur.SHA256 == target.SHA256:
		return nil, true, nil // already back
	case base.Deleted || !curLive || !targetLive:
		return nil, false, nil // deleted on one side, changed on the other
	}
	b, err := s.contentOf(ctx, project, base)
	if err != nil {
		return nil, false, err
	}
	m, err := s.contentOf(ctx, project, &cur)
	if err != nil {
		return nil, false, err
	}
	t, err := s.contentOf(ctx, project, target)
	if err != nil {
		return nil, false, err
	}
	res := diff.Merge(ch.Path, target.ContentType, b, m, t, diff.Markers{Mine: "current", Base: fmt.Sprintf("v%d", ch.Version), Theirs: "revert"})
	if !res.Clean() {
		return nil, false, nil
	}
	if bytes.Equal(res.Data, m) {
		return nil, true, nil
	}
	sum := hashOf(res.Data)
	if _, err := s.PutBlob(ctx, project, sum, res.Data); err != nil {
		return nil, false, err
	}
	return &ChangeRequest{Op: OpPut, Path: ch.Path, Kind: cur.Kind, BaseVersion: cur.Version, SHA256: sum, Size: int64(len(res.Data)),
		ContentType: cur.ContentType}, true, nil
}

// Restore makes a new commit that brings path back to Version (a version
// that deleted it deletes it again). Refused like a check-in: Forbidden,
// Locked, and Conflict when the object already is in that state.
func (s *Service) Restore(ctx context.Context, in RestoreRequest) (UndoResult, error) {
	const op = "catalog.Restore"
	if err := authorizeAll(in.Access, []string{in.Path}); err != nil {
		return UndoResult{}, err
	}
	if res, ok, err := s.answered(ctx, in.Project, in.Key); err != nil || ok {
		if err != nil {
			return UndoResult{}, err
		}
		return UndoResult{Result: res}, s.audit(ctx, in.Project, in.Author,
			Undo{Action: "catalog.restore", Seq: res.Seq, Path: in.Path, Version: in.Version, Paths: []string{in.Path}})
	}
	target, err := s.ObjectAt(ctx, in.Project, in.Path, in.Version)
	if err != nil {
		return UndoResult{}, err
	}
	cur, err := s.ObjectAt(ctx, in.Project, in.Path, 0)
	if err != nil {
		return UndoResult{}, err
	}
	if cur.Deleted == target.Deleted && cur.SHA256 == target.SHA256 {
		return UndoResult{}, fault.E(op, fault.Conflict, fault.Path(in.Path), fmt.Sprintf("%s v%d already holds version %d's content", in.Path, cur.Version, in.Version))
	}
	t := &target
	if target.Deleted {
		t = nil
	}
	msg := in.Message
	if msg == "" {
		msg = fmt.Sprintf("Restore %s to version %d", in.Path, in.Version)
	}
	res, err := s.Checkin(ctx, CheckinRequest{Project: in.Project, Author: in.Author, Message: msg, Key: in.Key,
		Changes: []ChangeRequest{undoChange(in.Path, cur, t)}})
	if err != nil {
		return UndoResult{}, err
	}
	out := UndoResult{Result: res, Undoes: cur.Seq}
	return out, s.audit(ctx, in.Project, in.Author, Undo{Action: "catalog.restore", Seq: res.Seq, Undoes: cur.Seq, Path: in.Path,
		Version: in.Version, Paths: []string{in.Path}})
}

func resultPaths(r Result) []string {
	out := make([]string, len(r.Objects))
	for i, o := range r.Objects {
		out[i] = o.Path
	}
	return out
}

func hashOf(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// audit hands an undo to the auditor (AuditWith). A failure fails the request, whose
// retry with the same key finds the commit and audits it again: no revert is
// acknowledged without its entry (a retry after a lost answer may audit it
// twice, which says no more than the truth).
func (s *Service) audit(ctx context.Context, project string, who Author, u Undo) error {
	if s.auditor == nil {
		return nil
	}
	if err := s.auditor.Undone(ctx, project, who, u); err != nil {
		return fault.E("catalog.audit", fault.Unavailable, fmt.Sprintf("commit %d was made but its audit entry was not written: retry with the same Idempotency-Key", u.Seq), err)
	}
	return nil
}
