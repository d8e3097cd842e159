package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/security"
	"github.com/studio-collab/collab/shared/store"
)

// Ops of a change.
const (
	OpPut    = "put"
	OpDelete = "delete"
)

// ChangeRequest is one change of a check-in, as the client sends it.
type ChangeRequest struct {
	Op          string `json:"op"`
	Path        string `json:"path"`
	Kind        string `json:"kind,omitempty"`
	BaseVersion int64  `json:"baseVersion"`
	SHA256      string `json:"sha256,omitempty"`
	Size        int64  `json:"size,omitempty"`
	ContentType string `json:"contentType,omitempty"`
}

// CheckinRequest is a changeset to commit atomically.
type CheckinRequest struct {
	Project string
	Author  Author
	Message string
	// Key identifies the request for exactly-once commits across retries
	// (a hash of the caller and their Idempotency-Key); "" = none.
	Key     string
	Changes []ChangeRequest
}

// ObjectVersion is one object's new version in a Result.
type ObjectVersion struct {
	Path    string `json:"path"`
	Version int64  `json:"version"`
}

// Result is an accepted check-in.
type Result struct {
	Seq     int64           `json:"seq"`
	Objects []ObjectVersion `json:"objects"`
}

// Conflict is a change whose base version is not the current one.
type Conflict struct {
	Path           string    `json:"path"`
	BaseVersion    int64     `json:"baseVersion"`
	CurrentVersion int64     `json:"currentVersion"`
	CommittedBy    string    `json:"committedBy,omitempty"`
	CommittedAt    time.Time `json:"committedAt,omitzero"`
}

// ConflictError lists every stale path of a refused check-in (409).
type ConflictError struct{ Conflicts []Conflict }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%d path(s) changed since their base version", len(e.Conflicts))
}

// ProblemExtensions puts the list in the problem answer.
func (e *ConflictError) ProblemExtensions() map[string]any {
	return map[string]any{"conflicts": e.Conflicts}
}

// MissingError lists content the server lacks (422).
type MissingError struct{ Hashes []string }

func (e *MissingError) Error() string { return fmt.Sprintf("%d blob(s) missing", len(e.Hashes)) }

// ProblemExtensions puts the list in the problem answer.
func (e *MissingError) ProblemExtensions() map[string]any { return map[string]any{"missing": e.Hashes} }

// ForbiddenError lists the paths a caller may not change (403). The caller
// (the HTTP layer, which knows Studio Security) builds it.
type ForbiddenError struct{ Paths []string }

func (e *ForbiddenError) Error() string { return fmt.Sprintf("%d path(s) not allowed", len(e.Paths)) }

// ProblemExtensions puts the list in the problem answer.
func (e *ForbiddenError) ProblemExtensions() map[string]any {
	return map[string]any{"forbidden": e.Paths}
}

// Forbidden is the error for a check-in or lock refused on paths.
func Forbidden(paths []string) error {
	return fault.E("catalog.authorize", fault.Forbidden,
		fmt.Sprintf("you may not change %s", summarize(paths)), &ForbiddenError{Paths: paths})
}

func summarize(paths []string) string {
	if len(paths) <= 3 {
		return strings.Join(paths, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(paths[:3], ", "), len(paths)-3)
}

var (
	hashPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)
	kindPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// ValidHash reports whether s is a lower-case hex SHA-256.
func ValidHash(s string) bool { return hashPattern.MatchString(s) }

// Validate checks a check-in's shape (not the state it applies to).
func (in *CheckinRequest) Validate() error {
	const op = "catalog.Checkin"
	switch n := len(in.Changes); {
	case n == 0:
		return fault.E(op, fault.Invalid, "a check-in needs at least one change")
	case n > MaxChanges:
		return fault.E(op, fault.TooLarge, fmt.Sprintf("a check-in holds at most %d changes; this one has %d: split it into several check-ins", MaxChanges, n))
	}
	if len(in.Message) > MaxMessage {
		return fault.E(op, fault.Invalid, fmt.Sprintf("the message is over %d bytes", MaxMessage))
	}
	seen := make(map[string]bool, len(in.Changes))
	for i := range in.Changes {
		c := &in.Changes[i]
		at := fmt.Sprintf("changes[%d]", i)
		if err := security.ValidatePath(c.Path); err != nil {
			return fault.E(op, fault.Invalid, fault.Path(c.Path), at+": "+fault.DetailOf(err))
		}
		if err := checkPathKey(at, c.Path); err != nil {
			return err
		}
		if seen[c.Path] {
			return fault.E(op, fault.Invalid, fault.Path(c.Path), at+": the path appears twice in one check-in")
		}
		seen[c.Path] = true
		if c.BaseVersion < 0 {
			return fault.E(op, fault.Invalid, fault.Path(c.Path), at+": baseVersion is 0 (create) or the version you changed")
		}
		if c.Kind != "" && !kindPattern.MatchString(c.Kind) {
			return fault.E(op, fault.Invalid, fault.Path(c.Path), at+": kind is up to 64 letters, digits, '.', '_' or '-'")
		}
		switch c.Op {
		case OpPut:
			if !ValidHash(c.SHA256) {
				return fault.E(op, fault.Invalid, fault.Path(c.Path), at+": sha256 is 64 lower-case hex digits")
			}
			if c.Size < 0 || c.Size > MaxBlobBytes {
				return fault.E(op, fault.Invalid, fault.Path(c.Path), at+": size is 0..64 MiB")
			}
			if len(c.ContentType) > 128 || strings.ContainsAny(c.ContentType, "\r\n") {
				return fault.E(op, fault.Invalid, fault.Path(c.Path), at+": contentType is at most 128 characters")
			}
			if c.ContentType == "" {
				c.ContentType = "application/octet-stream"
			}
		case OpDelete:
			c.SHA256, c.Size, c.ContentType = "", 0, ""
		default:
			return fault.E(op, fault.Invalid, fault.Path(c.Path), at+`: op is "put" or "delete"`)
		}
	}
	return nil
}

// record is a commit as stored (a blob, content-addressed) and replayed.
type record struct {
	Project string      `json:"project"`
	Seq     int64       `json:"seq"`
	By      string      `json:"by"`
	ByID    string      `json:"byId"`
	At      time.Time   `json:"at"`
	Message string      `json:"message,omitempty"`
	Key     string      `json:"key,omitempty"`
	Changes []recChange `json:"changes"`
}

type recChange struct {
	Op          string `json:"o"`
	Path        string `json:"p"`
	Kind        string `json:"k,omitempty"`
	Version     int64  `json:"v"`
	SHA256      string `json:"s,omitempty"`
	Size        int64  `json:"z,omitempty"`
	ContentType string `json:"c,omitempty"`
}

func (r *record) result() Result {
	out := Result{Seq: r.Seq, Objects: make([]ObjectVersion, len(r.Changes))}
	for i, c := range r.Changes {
		out.Objects[i] = ObjectVersion{Path: c.Path, Version: c.Version}
	}
	return out
}

func (r *record) object(c recChange) Object {
	return Object{Path: c.Path, Kind: c.Kind, Version: c.Version, SHA256: c.SHA256, Size: c.Size, ContentType: c.ContentType,
		Seq: r.Seq, CommittedBy: r.By, CommittedAt: r.At, Deleted: c.Op == OpDelete}
}

func recordName(project, sum string) string { return "r/" + pk(project) + "/" + sum }

func (s *Service) putRecord(ctx context.Context, r *record) (string, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return "", fault.E("catalog.putRecord", fault.Internal, err)
	}
	sum := sha256.Sum256(b)
	name := recordName(r.Project, hex.EncodeToString(sum[:]))
	_, err = s.blobs.Put(ctx, name, b, store.PutOptions{ContentType: "application/json", CreateOnly: true})
	if err != nil && !fault.Is(err, fault.Conflict) {
		return "", fault.E("catalog.putRecord", err)
	}
	return name, nil
}

func (s *Service) loadRecord(ctx context.Context, name string) (*record, error) {
	b, _, err := s.blobs.Get(ctx, name)
	if err != nil {
		return nil, fault.E("catalog.loadRecord", err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fault.E("catalog.loadRecord", fault.Internal, err)
	}
	return &r, nil
}

// head is a project's head row.
type head struct {
	Claimed, Applied int64
	Pending          string    // the record of the claimed commit while not applied
	LeaseUntil       time.Time // until then only the claimant applies it
	ETag             string    // "" = no row yet
	By               string    // the instance that wrote the row last
}

const headRow = "head"

func (s *Service) readHead(ctx context.Context, project string) (head, error) {
	e, err := s.t.Heads.Get(ctx, pk(project), headRow)
	if fault.Is(err, fault.NotFound) {
		return head{}, nil
	}
	if err != nil {
		return head{}, fault.E("catalog.head", err)
	}
	return head{Claimed: e.Int64("Claimed"), Applied: e.Int64("Applied"), Pending: e.String("Pending"),
		LeaseUntil: e.Time("LeaseUntil"), ETag: e.ETag, By: e.String("By")}, nil
}

// writeHead replaces the head row if it is still h (ETag), or creates it.
// A lost race is PreconditionFailed or Conflict.
func (s *Service) writeHead(ctx context.Context, project string, h head, next head, by string) (head, error) {
	e := store.Entity{PartitionKey: pk(project), RowKey: headRow, Props: map[string]any{
		"Claimed": next.Claimed, "Applied": next.Applied, "Pending": next.Pending, "By": by}}
	if !next.LeaseUntil.IsZero() { // a quiet head has none; Azure refuses dates before 1601
		e.Props["LeaseUntil"] = next.LeaseUntil
	}
	var etag string
	var err error
	if h.ETag == "" {
		etag, err = s.t.Heads.Insert(ctx, e)
	} else {
		etag, err = s.t.Heads.Update(ctx, e, h.ETag)
	}
	if err != nil {
		return head{}, err
	}
	next.ETag, next.By = etag, by
	return next, nil
}

func lostRace(err error) bool {
	return fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.Conflict)
}

// Head is the project's applied head: the last commit readers see. A commit
// left claimed by a claimant whose lease ran out is rolled forward first.
func (s *Service) Head(ctx context.Context, project string) (int64, error) {
	h, err := s.readHead(ctx, project)
	if err != nil {
		return 0, err
	}
	if h.Claimed > h.Applied && !s.now().Before(h.LeaseUntil) {
		if h, err = s.settle(ctx, project); err != nil {
			return 0, err
		}
	}
	return h.Applied, nil
}

// settle returns a quiet head (nothing claimed beyond applied): it waits for
// a live claimant, and rolls forward a commit whose claimant's lease ran out.
func (s *Service) settle(ctx context.Context, project string) (head, error) {
	wait := s.Poll
	start := s.now()
	for {
		h, err := s.readHead(ctx, project)
		if err != nil {
			return head{}, err
		}
		if h.Claimed == h.Applied {
			return h, nil
		}
		if !s.now().Before(h.LeaseUntil) {
			// Take the commit over: one conditional write decides who applies it.
			rec, err := s.loadRecord(ctx, h.Pending)
			if err != nil {
				return head{}, err
			}
			mine, err := s.writeHead(ctx, project, h, head{Claimed: h.Claimed, Applied: h.Applied, Pending: h.Pending,
				LeaseUntil: s.now().Add(s.Lease)}, s.instance)
			if lostRace(err) {
				continue
			}
			if err != nil {
				return head{}, fault.E("catalog.settle", err)
			}
			if err := s.apply(ctx, mine, rec, nil); err != nil {
				return head{}, err
			}
			continue
		}
		if s.Wait > 0 && s.now().Sub(start) >= s.Wait {
			b := &BusyError{After: h.LeaseUntil.Sub(s.now())}
			return head{}, fault.E("catalog.settle", fault.Unavailable, b.Error(), b)
		}
		select {
		case <-ctx.Done():
			return head{}, fault.E("catalog.settle", fault.Unavailable, "waiting for another check-in", ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 20*s.Poll)
	}
}

// BusyError answers a writer that waited Service.Wait for another commit
// whose claimant still holds its lease (it may be live and slow, or dead):
// retry after RetryAfter, at the latest when the lease ends and the commit
// can be rolled forward.
type BusyError struct{ After time.Duration }

func (e *BusyError) Error() string {
	return fmt.Sprintf("another check-in of this project is being applied; retry in %d s (with the same Idempotency-Key)", int(e.RetryAfter().Seconds()))
}

// RetryAfter is the time left on the claimant's lease, at least 1 s and at
// most 10 s (a live claimant usually finishes sooner).
func (e *BusyError) RetryAfter() time.Duration {
	return min(max(e.After.Round(time.Second), time.Second), 10*time.Second)
}

// Checkin commits a changeset atomically: all of it under one new sequence
// number, or nothing. Errors: Conflict (*ConflictError), Locked
// (*LockedError), Unprocessable (*MissingError), Invalid, TooLarge.
func (s *Service) Checkin(ctx context.Context, in CheckinRequest) (Result, error) {
	const op = "catalog.Checkin"
	if err := in.Validate(); err != nil {
		return Result{}, err
	}
	paths := make([]string, len(in.Changes))
	for i, c := range in.Changes {
		paths[i] = c.Path
	}
	if s.authz != nil {
		denied, err := s.authz.Denied(ctx, in.Project, in.Author, paths)
		if err != nil {
			return Result{}, err
		}
		if len(denied) > 0 {
			return Result{}, Forbidden(denied)
		}
	}
	m := s.projectLock(in.Project)
	m.Lock()
	defer m.Unlock()

	if err := s.requireBlobs(ctx, in.Project, in.Changes); err != nil {
		return Result{}, err
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return Result{}, fault.E(op, fault.Unavailable, err)
		}
		h, err := s.settle(ctx, in.Project)
		if err != nil {
			return Result{}, err
		}
		if in.Key != "" {
			if res, ok, err := s.byKey(ctx, in.Project, in.Key); err != nil || ok {
				return res, err
			}
		}
		// The locks are read after the head and the claim is conditional on
		// that head, so a lock granted before the claim is seen here: its
		// grant moved the head on (fenceLocks), and a claim on the old head
		// fails and validates again.
		if err := s.checkLocks(ctx, in.Project, in.Author, in.Changes); err != nil {
			return Result{}, err
		}
		rows, err := s.rows(ctx, in.Project, paths)
		if err != nil {
			return Result{}, err
		}
		rec := &record{Project: in.Project, Seq: h.Applied + 1, By: in.Author.Email, ByID: in.Author.ID, At: s.now().UTC(),
			Message: in.Message, Key: in.Key, Changes: make([]recChange, len(in.Changes))}
		var conflicts []Conflict
		for i, c := range in.Changes {
			var cur Object
			if e, ok := rows[c.Path]; ok {
				cur, _, _ = at(e, h.Applied) // nothing is pending: the row is current
			}
			base := c.BaseVersion
			if base == 0 && cur.Deleted {
				base = cur.Version // re-creating a deleted object
			}
			if base != cur.Version || (c.Op == OpDelete && (cur.Version == 0 || cur.Deleted)) {
				conflicts = append(conflicts, Conflict{Path: c.Path, BaseVersion: c.BaseVersion, CurrentVersion: cur.Version,
					CommittedBy: cur.CommittedBy, CommittedAt: cur.CommittedAt})
				continue
			}
			rec.Changes[i] = recChange{Op: c.Op, Path: c.Path, Kind: c.Kind, Version: cur.Version + 1, SHA256: c.SHA256,
				Size: c.Size, ContentType: c.ContentType}
			if rec.Changes[i].Kind == "" {
				rec.Changes[i].Kind = cur.Kind
			}
		}
		if len(conflicts) > 0 {
			sort.Slice(conflicts, func(i, j int) bool { return conflicts[i].Path < conflicts[j].Path })
			return Result{}, fault.E(op, fault.Conflict, fmt.Sprintf("%d path(s) changed since your base version: %s",
				len(conflicts), summarize(conflictPaths(conflicts))), &ConflictError{Conflicts: conflicts})
		}
		if err := checkRows(rec, rows); err != nil {
			return Result{}, err
		}
		name, err := s.putRecord(ctx, rec)
		if err != nil {
			return Result{}, err
		}
		if err := s.fault(StepRecord); err != nil {
			return Result{}, err
		}
		mine, err := s.writeHead(ctx, in.Project, h, head{Claimed: rec.Seq, Applied: h.Applied, Pending: name,
			LeaseUntil: s.now().Add(s.Lease)}, s.instance)
		if lostRace(err) {
			continue // another instance claimed this sequence: validate again on the new head
		}
		if err != nil {
			return Result{}, fault.E(op, err)
		}
		if err := s.fault(StepClaim); err != nil {
			return Result{}, err
		}
		if err := s.apply(ctx, mine, rec, rows); err != nil {
			return Result{}, err
		}
		s.notify(ctx, in.Project, rec.Seq)
		return rec.result(), nil
	}
}

func conflictPaths(cs []Conflict) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Path
	}
	return out
}

func (s *Service) notify(ctx context.Context, project string, seq int64) {
	if s.committed == nil {
		return
	}
	defer func() { _ = recover() }() // a subscriber's panic must not fail an acknowledged check-in
	s.committed.Committed(context.WithoutCancel(ctx), project, seq)
}

// keyRow maps an idempotency key to the commit it produced.
func (s *Service) byKey(ctx context.Context, project, key string) (Result, bool, error) {
	e, err := s.t.Keys.Get(ctx, pk(project), key)
	if fault.Is(err, fault.NotFound) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fault.E("catalog.byKey", err)
	}
	rec, err := s.loadRecord(ctx, e.String("Record"))
	if err != nil {
		return Result{}, false, err
	}
	return rec.result(), true, nil
}

// keyRow maps commit rec's idempotency key to its record.
func keyRow(rec *record, recordName string) store.Entity {
	return store.Entity{PartitionKey: pk(rec.Project), RowKey: rec.Key,
		Props: map[string]any{"Seq": rec.Seq, "Record": recordName, "Created": rec.At}}
}

// apply writes the rows of the claimed commit h (held by this instance)
// and then marks it applied. known are the object rows read at the quiet
// head before the claim (nil: read them now). No write can go backwards:
// feed, history and key rows are inserted only if absent (each has exactly
// one possible content), and object rows only through a compare-and-swap
// that leaves a row written by this commit or a later one alone
// (putObjects). So an applier that lost its lease long ago, and wakes up
// after others finished this commit and later ones, writes nothing.
func (s *Service) apply(ctx context.Context, h head, rec *record, known map[string]store.Entity) error {
	const op = "catalog.apply"
	project := rec.Project
	history := make([]store.Entity, len(rec.Changes))
	for i, c := range rec.Changes {
		history[i] = historyRow(project, rec.object(c))
	}
	feed, err := feedRows(rec)
	if err != nil {
		return err
	}
	k := s.keep(ctx, project, h) // renews the lease while this apply works (lease.go)
	defer k.finish()
	for _, step := range []struct {
		name string
		t    store.Table
		rows []store.Entity
	}{{StepFeed, s.t.Feed, feed}, {StepHistory, s.t.History, history}} {
		if err := k.leaseLeft(); err != nil {
			return err
		}
		insert := insertRows
		if step.name == StepFeed {
			insert = insertFeed
		}
		if err := insert(ctx, step.t, step.rows); err != nil {
			return fault.E(op, err)
		}
		if err := k.fault(step.name); err != nil {
			return err
		}
	}
	if err := k.leaseLeft(); err != nil {
		return err
	}
	if known == nil {
		paths := make([]string, len(rec.Changes))
		for i, c := range rec.Changes {
			paths[i] = c.Path
		}
		if known, err = s.rows(ctx, project, paths); err != nil {
			return err
		}
	}
	if err := k.fault(PauseObjects); err != nil {
		return err
	}
	if err := s.putObjects(ctx, rec, known); err != nil {
		return fault.E(op, err)
	}
	if err := k.fault(StepObjects); err != nil {
		return err
	}
	if rec.Key != "" {
		_, err := s.t.Keys.Insert(ctx, keyRow(rec, h.Pending))
		if err != nil && !fault.Is(err, fault.Conflict) { // present: this commit's key, written before
			return fault.E(op, err)
		}
	}
	if err := k.fault(StepKey); err != nil {
		return err
	}
	h = k.finish() // the claim's latest ETag, no renewal in flight
	_, err = s.writeHead(ctx, project, h, head{Claimed: rec.Seq, Applied: rec.Seq}, s.instance)
	if lostRace(err) {
		now, rerr := s.readHead(ctx, project)
		if rerr == nil && now.Applied >= rec.Seq {
			err = nil // another applier finished it
		} else {
			return fault.E(op, fault.Unavailable, "the commit was taken over by another instance", err)
		}
	}
	if err != nil {
		return fault.E(op, err)
	}
	return k.fault(StepApplied)
}

// leaseLeft refuses to start a write phase once the claim's lease is nearly
// over: past it another instance may take the commit over. This saves work
// only; correctness does not depend on it (the writes are fenced).
func (s *Service) leaseLeft(h head) error {
	if s.now().Add(s.Lease / 4).After(h.LeaseUntil) {
		return fault.E("catalog.apply", fault.Unavailable, "the commit's lease ran out; another writer will roll it forward")
	}
	return nil
}
