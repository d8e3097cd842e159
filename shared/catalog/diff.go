package catalog

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/studio-collab/collab/shared/catalog/diff"
	"github.com/studio-collab/collab/shared/fault"
)

// MaxDiffFiles is how many objects a commit's diff compares; the rest of a
// larger commit is listed without content (ask for them one by one).
const MaxDiffFiles = 100

// Ref names one state of an object: a version of it, or its state at a
// commit (the latest version at or below that commit). Zero is the current
// state.
type Ref struct {
	Version int64
	Commit  int64
}

// ParseRef reads a reference: "" is the current state, "7" version 7, "c7"
// the state at commit 7.
func ParseRef(s string) (Ref, error) {
	if s == "" {
		return Ref{}, nil
	}
	commit := strings.HasPrefix(s, "c")
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "c"), 10, 64)
	if err != nil || n < 1 {
		return Ref{}, fault.E("catalog.ParseRef", fault.Invalid, fmt.Sprintf("%q is a version (7) or a commit (c7)", s))
	}
	if commit {
		return Ref{Commit: n}, nil
	}
	return Ref{Version: n}, nil
}

// ObjectDiff is what changed in one object between two of its states. An
// absent side (before its first version, or deleted) is nil.
type ObjectDiff struct {
	Path string      `json:"path"`
	From *Object     `json:"from"`
	To   *Object     `json:"to"`
	Diff diff.Result `json:"diff"`
	// Omitted: the commit was too large to compare this object here.
	Omitted bool `json:"omitted,omitempty"`
}

// resolveRef is path's state at r (nil when absent then), at the applied head.
func (s *Service) resolveRef(ctx context.Context, project, path string, r Ref) (*Object, error) {
	var o Object
	var err error
	switch {
	case r.Commit > 0:
		head, herr := s.Head(ctx, project)
		if herr != nil {
			return nil, herr
		}
		if r.Commit > head {
			return nil, fault.E("catalog.Diff", fault.NotFound, fmt.Sprintf("no commit %d (the head is %d)", r.Commit, head))
		}
		var ok bool
		if o, ok, err = s.historyAt(ctx, project, path, r.Commit); err != nil || !ok {
			return nil, err
		}
	default:
		if o, err = s.ObjectAt(ctx, project, path, r.Version); err != nil {
			return nil, err
		}
	}
	if o.Deleted {
		return &o, nil
	}
	return &o, nil
}

// contentOf is an object state's bytes; nil when absent or deleted.
func (s *Service) contentOf(ctx context.Context, project string, o *Object) ([]byte, error) {
	if o == nil || o.Deleted {
		return nil, nil
	}
	b, err := s.Bytes(ctx, project, *o)
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

func label(o *Object) string {
	switch {
	case o == nil:
		return "(absent)"
	case o.Deleted:
		return fmt.Sprintf("%s v%d (deleted)", o.Path, o.Version)
	}
	return fmt.Sprintf("%s v%d", o.Path, o.Version)
}

func (s *Service) compare(ctx context.Context, project, path string, from, to *Object) (ObjectDiff, error) {
	a, err := s.contentOf(ctx, project, from)
	if err != nil {
		return ObjectDiff{}, err
	}
	b, err := s.contentOf(ctx, project, to)
	if err != nil {
		return ObjectDiff{}, err
	}
	ct := ""
	for _, o := range []*Object{to, from} {
		if o != nil && o.ContentType != "" && ct == "" {
			ct = o.ContentType
		}
	}
	if from != nil && from.Deleted {
		from = nil
	}
	return ObjectDiff{Path: path, From: from, To: to, Diff: diff.Compare(path, ct, a, b, label(from), label(to))}, nil
}

// Diff compares two states of path: to defaults to the current one, from
// to the version before to. The caller has checked that it may view path.
func (s *Service) Diff(ctx context.Context, project, path string, from, to Ref) (ObjectDiff, error) {
	t, err := s.resolveRef(ctx, project, path, to)
	if err != nil {
		return ObjectDiff{}, err
	}
	if t == nil {
		return ObjectDiff{}, fault.E("catalog.Diff", fault.NotFound, fault.Path(path), fmt.Sprintf("%s did not exist at commit %d", path, to.Commit))
	}
	if from == (Ref{}) {
		from = Ref{Version: t.Version - 1}
		if from.Version == 0 {
			return s.compare(ctx, project, path, nil, t)
		}
	}
	f, err := s.resolveRef(ctx, project, path, from)
	if err != nil {
		return ObjectDiff{}, err
	}
	return s.compare(ctx, project, path, f, t)
}

// CommitDiff is a commit with the diff of each change it made that visible
// allows (each against the object's version before it).
type CommitDiff struct {
	Commit
	Files []ObjectDiff `json:"files"`
}

// CommitDiff returns commit seq and what each of its visible changes did.
func (s *Service) CommitDiff(ctx context.Context, project string, seq int64, visible func(path string) bool) (CommitDiff, error) {
	c, err := s.Commit(ctx, project, seq, visible)
	if err != nil {
		return CommitDiff{}, err
	}
	out := CommitDiff{Commit: c, Files: make([]ObjectDiff, len(c.Changes))}
	err = parallel(ctx, len(c.Changes), 8, func(ctx context.Context, i int) error {
		ch := c.Changes[i]
		to := &Object{Path: ch.Path, Kind: ch.Kind, Version: ch.Version, SHA256: ch.SHA256, Size: ch.Size, ContentType: ch.ContentType,
			Seq: seq, CommittedBy: ch.CommittedBy, CommittedAt: ch.CommittedAt, Deleted: ch.Op == OpDelete}
		if i >= MaxDiffFiles {
			out.Files[i] = ObjectDiff{Path: ch.Path, To: to, Omitted: true}
			return nil
		}
		var from *Object
		if ch.Version > 1 {
			f, err := s.ObjectAt(ctx, project, ch.Path, ch.Version-1)
			if err != nil {
				return err
			}
			from = &f
		}
		d, err := s.compare(ctx, project, ch.Path, from, to)
		out.Files[i] = d
		return err
	})
	if err != nil {
		return CommitDiff{}, fault.E("catalog.CommitDiff", err)
	}
	return out, nil
}
