package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/housekeeping"
	"github.com/studio-collab/collab/shared/security"
	"github.com/studio-collab/collab/shared/store"
)

// Lock is a check-out: an exclusive, expiring hold on a path and its
// subtree for one user.
type Lock struct {
	ID        string    `json:"id"`
	Path      string    `json:"path"`
	Holder    string    `json:"holder"` // e-mail, for people
	HolderID  string    `json:"-"`
	ExpiresAt time.Time `json:"expiresAt"`
}

type lockDoc struct {
	Locks []storedLock `json:"locks"`
}

type storedLock struct {
	ID       string    `json:"id"`
	Path     string    `json:"path"`
	Holder   string    `json:"holder"`
	HolderID string    `json:"holderId"`
	Expires  time.Time `json:"expires"`
}

func (l storedLock) public() Lock {
	return Lock{ID: l.ID, Path: l.Path, Holder: l.Holder, HolderID: l.HolderID, ExpiresAt: l.Expires}
}

// LockedError lists the locks of others that refused an operation (423).
type LockedError struct{ Locked []Lock }

func (e *LockedError) Error() string {
	return fmt.Sprintf("%d path(s) locked by others", len(e.Locked))
}

// ProblemExtensions puts the list in the problem answer.
func (e *LockedError) ProblemExtensions() map[string]any { return map[string]any{"locked": e.Locked} }

// overlaps: a lock on a covers a and its subtree, so two locks (or a lock
// and a change) collide when one path is at or under the other.
func overlaps(a, b string) bool { return security.Under(a, b) || security.Under(b, a) }

// The project's locks are one document in one row, changed with its ETag:
// a single conditional write makes "no overlapping lock" and "add mine"
// atomic. Expired locks are dropped on every write and by SweepLocks.
const locksRow = "locks"

// locksDoc is the locks row's document, always chunked binary.
var locksDoc = store.Doc[lockDoc]{Name: "Doc", Binary: true}

func (s *Service) loadLocks(ctx context.Context, project string) (lockDoc, string, error) {
	d, etag, err := locksDoc.Read(ctx, s.t.Locks, pk(project), locksRow)
	if fault.Is(err, fault.NotFound) {
		return lockDoc{}, "", nil
	}
	if err != nil {
		return lockDoc{}, "", fault.E("catalog.locks", err)
	}
	return d, etag, nil
}

func (s *Service) saveLocks(ctx context.Context, project string, d lockDoc, etag string) error {
	e := store.Entity{PartitionKey: pk(project), RowKey: locksRow, Props: map[string]any{}}
	if err := locksDoc.Set(e.Props, d); err != nil {
		return fault.E("catalog.locks", fault.Unprocessable, "the project holds too many locks", err)
	}
	var err error
	if etag == "" {
		_, err = s.t.Locks.Insert(ctx, e)
	} else {
		_, err = s.t.Locks.Update(ctx, e, etag)
	}
	return err
}

// changeLocks applies fn to the live locks under one conditional write,
// retrying on a concurrent change.
func (s *Service) changeLocks(ctx context.Context, project string, fn func(live []storedLock) ([]storedLock, error)) error {
	for attempt := 0; attempt < 50; attempt++ {
		d, etag, err := s.loadLocks(ctx, project)
		if err != nil {
			return err
		}
		now := s.now()
		live := slices.DeleteFunc(d.Locks, func(l storedLock) bool { return !now.Before(l.Expires) })
		next, err := fn(live)
		if err != nil {
			return err
		}
		err = s.saveLocks(ctx, project, lockDoc{Locks: next}, etag)
		if lostRace(err) {
			continue
		}
		if err != nil {
			return fault.E("catalog.locks", err)
		}
		return nil
	}
	return fault.E("catalog.locks", fault.Unavailable, "the project's locks are changing too fast; retry")
}

func ttlOf(ttl time.Duration) (time.Duration, error) {
	if ttl == 0 {
		return DefaultLockTTL, nil
	}
	if ttl < time.Second || ttl > MaxLockTTL {
		return 0, fault.E("catalog.Lock", fault.Invalid, fmt.Sprintf("ttlSeconds is 1..%d", int(MaxLockTTL.Seconds())))
	}
	return ttl, nil
}

// Lock checks out path for who for ttl (0 = an hour). Another user's live
// lock on the path, an ancestor or a descendant is Locked. Locking a path
// one already holds renews that lock.
func (s *Service) Lock(ctx context.Context, project string, who Author, path string, ttl time.Duration) (Lock, error) {
	ttl, err := ttlOf(ttl)
	if err != nil {
		return Lock{}, err
	}
	if err := security.ValidatePath(path); err != nil {
		return Lock{}, err
	}
	var out storedLock
	err = s.changeLocks(ctx, project, func(live []storedLock) ([]storedLock, error) {
		var blocking []Lock
		mine := -1
		for i, l := range live {
			switch {
			case l.HolderID == who.ID && l.Path == path:
				mine = i
			case l.HolderID != who.ID && overlaps(l.Path, path):
				blocking = append(blocking, l.public())
			}
		}
		if len(blocking) > 0 {
			return nil, fault.E("catalog.Lock", fault.Locked, fault.Path(path),
				fmt.Sprintf("%s is locked by %s until %s", blocking[0].Path, blocking[0].Holder, blocking[0].ExpiresAt.Format(time.RFC3339)),
				&LockedError{Locked: blocking})
		}
		exp := s.now().Add(ttl).UTC()
		if mine >= 0 {
			live[mine].Expires = exp
			out = live[mine]
			return live, nil
		}
		var id [12]byte
		_, _ = rand.Read(id[:])
		out = storedLock{ID: hex.EncodeToString(id[:]), Path: path, Holder: who.Email, HolderID: who.ID, Expires: exp}
		return append(live, out), nil
	})
	if err == nil {
		err = s.fenceLocks(ctx, project)
	}
	return out.public(), err
}

// LockByID returns a live lock; NotFound when there is none (expired ones
// included: they no longer count).
func (s *Service) LockByID(ctx context.Context, project, id string) (Lock, error) {
	d, _, err := s.loadLocks(ctx, project)
	if err != nil {
		return Lock{}, err
	}
	now := s.now()
	for _, l := range d.Locks {
		if l.ID == id && now.Before(l.Expires) {
			return l.public(), nil
		}
	}
	return Lock{}, fault.E("catalog.Lock", fault.NotFound, "no such lock (it may have expired)")
}

// Renew extends the holder's live lock by ttl from now.
func (s *Service) Renew(ctx context.Context, project string, who Author, id string, ttl time.Duration) (Lock, error) {
	ttl, err := ttlOf(ttl)
	if err != nil {
		return Lock{}, err
	}
	var out storedLock
	err = s.changeLocks(ctx, project, func(live []storedLock) ([]storedLock, error) {
		for i, l := range live {
			if l.ID != id {
				continue
			}
			if l.HolderID != who.ID {
				return nil, fault.E("catalog.Renew", fault.Forbidden, fault.Path(l.Path), "only the holder renews a lock")
			}
			live[i].Expires = s.now().Add(ttl).UTC()
			out = live[i]
			return live, nil
		}
		return nil, fault.E("catalog.Renew", fault.NotFound, "no such lock (it may have expired)")
	})
	if err == nil {
		// Under clock skew a check-in may already have counted the lock
		// as expired: fence it like a new one.
		err = s.fenceLocks(ctx, project)
	}
	return out.public(), err
}

// Unlock releases a lock: its holder may, and so may whoever force says may
// (Full Control on the lock's path).
func (s *Service) Unlock(ctx context.Context, project string, who Author, id string, force func(path string) bool) error {
	return s.changeLocks(ctx, project, func(live []storedLock) ([]storedLock, error) {
		for i, l := range live {
			if l.ID != id {
				continue
			}
			if l.HolderID != who.ID && (force == nil || !force(l.Path)) {
				return nil, fault.E("catalog.Unlock", fault.Forbidden, fault.Path(l.Path),
					fmt.Sprintf("%s holds this lock; only they, or someone with Full Control on %s, may release it", l.Holder, l.Path))
			}
			return slices.Delete(live, i, i+1), nil
		}
		return nil, fault.E("catalog.Unlock", fault.NotFound, "no such lock (it may have expired)")
	})
}

// Locks lists the live locks at or under prefix ("" = all) that visible
// lets the caller see, by path.
func (s *Service) Locks(ctx context.Context, project, prefix string, visible func(path string) bool) ([]Lock, error) {
	d, _, err := s.loadLocks(ctx, project)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []Lock{}
	for _, l := range d.Locks {
		if now.Before(l.Expires) && (prefix == "" || overlaps(l.Path, prefix)) && (visible == nil || visible(l.Path)) {
			out = append(out, l.public())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// checkLocks refuses changes to paths another user has locked. A check-in
// calls it after reading the head it will claim from (fenceLocks says why
// that makes the check and the claim one step).
func (s *Service) checkLocks(ctx context.Context, project string, who Author, cs []ChangeRequest) error {
	d, _, err := s.loadLocks(ctx, project)
	if err != nil {
		return err
	}
	now := s.now()
	var blocking []Lock
	for _, l := range d.Locks {
		if l.HolderID == who.ID || !now.Before(l.Expires) {
			continue
		}
		for _, c := range cs {
			if overlaps(l.Path, c.Path) {
				blocking = append(blocking, Lock{ID: l.ID, Path: c.Path, Holder: l.Holder, ExpiresAt: l.Expires})
			}
		}
	}
	if len(blocking) > 0 {
		sort.Slice(blocking, func(i, j int) bool { return blocking[i].Path < blocking[j].Path })
		return fault.E("catalog.Checkin", fault.Locked, fmt.Sprintf("%s is checked out by %s until %s", blocking[0].Path,
			blocking[0].Holder, blocking[0].ExpiresAt.Format(time.RFC3339)), &LockedError{Locked: blocking})
	}
	return nil
}

// SweepLocks removes expired locks from every project (the expire-locks
// job); it returns how many it removed. Expired locks already count for
// nothing: the sweep only keeps the documents small.
func (s *Service) SweepLocks(ctx context.Context) (int, error) {
	es, err := s.t.Locks.QueryAll(ctx, store.Eq("RowKey", locksRow), 0)
	if err != nil {
		return 0, fault.E("catalog.SweepLocks", err)
	}
	removed := 0
	for _, e := range es {
		d, derr := locksDoc.Get(e)
		if derr != nil {
			continue
		}
		now := s.now()
		live := slices.DeleteFunc(slices.Clone(d.Locks), func(l storedLock) bool { return !now.Before(l.Expires) })
		if len(live) == len(d.Locks) {
			continue
		}
		var err error
		if len(live) == 0 {
			err = s.t.Locks.Delete(ctx, e.PartitionKey, e.RowKey, e.ETag)
		} else {
			ne := store.Entity{PartitionKey: e.PartitionKey, RowKey: e.RowKey, Props: map[string]any{}}
			if err = locksDoc.Set(ne.Props, lockDoc{Locks: live}); err == nil {
				_, err = s.t.Locks.Update(ctx, ne, e.ETag)
			}
		}
		switch {
		case err == nil:
			removed += len(d.Locks) - len(live)
		case lostRace(err): // changed meanwhile: that write dropped the expired ones already
		default:
			return removed, fault.E("catalog.SweepLocks", err)
		}
	}
	return removed, nil
}

// Housekeeping is the catalog's periodic job: expired check-out locks count
// for nothing already; sweeping them every five minutes keeps the lock
// documents small.
func (s *Service) Housekeeping() []housekeeping.Task {
	return []housekeeping.Task{{Name: "expire-locks", Schedule: "0 */5 * * * *", Timeout: 5 * time.Minute, CatchUp: housekeeping.CatchUpLast,
		Run: func(ctx context.Context, _ time.Time) error {
			_, err := s.SweepLocks(ctx)
			return err
		}}}
}
