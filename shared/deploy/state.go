package deploy

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// ParamChange is a restart-needing change another module queued for the
// next window (a parameter whose new value only takes effect on restart).
// Changes from one source coalesce: the latest wins.
type ParamChange struct {
	N      int64     `json:"n"` // order of arrival in the environment
	Source string    `json:"source"`
	Impact Impact    `json:"impact"`
	At     time.Time `json:"at"`
}

// Degraded kinds: why an environment is degraded.
const (
	DegradedWindow = "window" // its last window's restart never became healthy
	DegradedApply  = "apply"  // hot deployments keep failing
)

// RuntimeConfig is an environment's restart and health settings (the base
// URLs are the platform's Work Portal and Scheduler endpoints).
type RuntimeConfig struct {
	Portal    Endpoint `json:"portal"`
	Scheduler Endpoint `json:"scheduler"`
}

// EnvState is the deployment state of one environment: one row, changed
// only by conditional writes (its ETag).
//
//	Cursor       the changes through this sequence are classified
//	AppliedSeq   the hot changes through this sequence are live
//	DeployedSeq  every change through this sequence is live: the last good one
type EnvState struct {
	Project         string        `json:"project"`
	Env             string        `json:"env"`
	Cursor          int64         `json:"cursor"`
	AppliedSeq      int64         `json:"appliedSeq"`
	DeployedSeq     int64         `json:"deployedSeq"`
	PendingHot      int           `json:"pendingHot"`
	PendingRestart  int           `json:"pendingRestart"`
	FirstRestartSeq int64         `json:"firstRestartSeq,omitempty"`
	LastRestartSeq  int64         `json:"lastRestartSeq,omitempty"`
	RestartImpacts  []Impact      `json:"restartImpacts,omitempty"`
	Params          []ParamChange `json:"parameters,omitempty"`
	ParamRev        int64         `json:"paramRev,omitempty"`
	Policy          *Policy       `json:"policy,omitempty"`
	Runtime         RuntimeConfig `json:"runtime"`
	WindowID        string        `json:"windowId,omitempty"`
	WindowCount     int64         `json:"windowCount,omitempty"`
	NextStart       time.Time     `json:"nextStart,omitzero"`
	NotBefore       time.Time     `json:"notBefore,omitzero"`
	Degraded        string        `json:"degraded,omitempty"`
	DegradedKind    string        `json:"degradedKind,omitempty"`
	ApplyFailures   int           `json:"applyFailures,omitempty"`
	LastError       string        `json:"lastError,omitempty"`
	UpdatedAt       time.Time     `json:"updatedAt,omitzero"`
	ETag            string        `json:"-"`
}

// EffectivePolicy is the environment's policy, or the default.
func (st EnvState) EffectivePolicy() Policy {
	if st.Policy != nil {
		return *st.Policy
	}
	return DefaultPolicy()
}

// Impacts is the set of restart impacts waiting: catalog and parameters.
func (st EnvState) Impacts() []Impact {
	set := append([]Impact{}, st.RestartImpacts...) // never nil: answered as an array
	for _, p := range st.Params {
		if !slices.Contains(set, p.Impact) {
			set = append(set, p.Impact)
		}
	}
	sort.Slice(set, func(i, j int) bool { return set[i] < set[j] })
	return set
}

// HasPendingRestart reports whether anything waits for a window.
func (st EnvState) HasPendingRestart() bool { return st.PendingRestart > 0 || len(st.Params) > 0 }

// deployedFrom is the last good sequence the other counters imply: the hot
// changes are live through AppliedSeq, and nothing at or after the first
// waiting restart change is.
func (st EnvState) deployedFrom() int64 {
	d := st.AppliedSeq
	if st.FirstRestartSeq > 0 && st.FirstRestartSeq-1 < d {
		d = st.FirstRestartSeq - 1
	}
	return max(d, st.DeployedSeq)
}

// allocateWindow plans the next window into st (the caller writes st): a
// new id and the start the policy gives. The window row itself is inserted
// after the state write succeeds (createWindow), and rebuilt from these
// fields by the reconciler if that insert never happened.
func (st *EnvState) allocateWindow(now time.Time) error {
	start, ok := st.EffectivePolicy().StartFor(now, st.NotBefore)
	if !ok {
		return fault.E("deploy.allocateWindow", fault.Invalid, "the maintenance policy has no next start")
	}
	st.WindowCount++
	st.WindowID = fmt.Sprintf("w%06d", st.WindowCount)
	st.NextStart = start
	return nil
}

func stateEntity(st EnvState) (store.Entity, error) {
	props := map[string]any{"Window": st.WindowID}
	if err := setDoc(props, st); err != nil {
		return store.Entity{}, err
	}
	return store.Entity{PartitionKey: store.EncodeKey(st.Project), RowKey: store.EncodeKey(st.Env), Props: props}, nil
}

// setDoc stores a row's document as chunked binary: a string property holds
// 32,768 UTF-16 units, which an environment with a few hundred pending
// restart parameters, or a history row of 50 long paths, went over (issue
// 25); chunked, a document may take store.MaxChunkedBytes.
func setDoc[T any](props map[string]any, v T) error {
	if err := (store.Doc[T]{Name: "Doc", Binary: true}).Set(props, v); err != nil {
		return fault.E("deploy.setDoc", err)
	}
	return nil
}

func decodeDoc[T any](e store.Entity, into *T) error {
	v, err := (store.Doc[T]{Name: "Doc", Binary: true}).Get(e)
	if err != nil {
		return fault.E("deploy.decode", err)
	}
	*into = v
	return nil
}

// state reads an environment's row; a missing row is a fresh state (ETag
// "": the first write inserts it).
func (s *Service) state(ctx context.Context, project, env string) (EnvState, error) {
	st, etag, err := (store.Doc[EnvState]{Name: "Doc"}).Read(ctx, s.T.States, store.EncodeKey(project), store.EncodeKey(env))
	if fault.Is(err, fault.NotFound) {
		return EnvState{Project: project, Env: env}, nil
	}
	if err != nil {
		return EnvState{}, fault.E("deploy.state", err)
	}
	st.ETag = etag
	return st, nil
}

// errLost says a conditional write lost to another writer: re-read, retry.
var errLost = fault.E("deploy", fault.PreconditionFailed, "another instance changed it first")

// putState writes st conditionally: insert-if-absent for a fresh state,
// else If-Match its ETag. A lost race is errLost.
func (s *Service) putState(ctx context.Context, st EnvState) (EnvState, error) {
	st.UpdatedAt = s.Now().UTC()
	e, err := stateEntity(st)
	if err != nil {
		return st, err
	}
	var etag string
	if st.ETag == "" {
		etag, err = s.T.States.Insert(ctx, e)
		if fault.Is(err, fault.Conflict) {
			return st, errLost
		}
	} else {
		etag, err = s.T.States.Update(ctx, e, st.ETag)
		if fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.NotFound) {
			return st, errLost
		}
	}
	if err != nil {
		return st, fault.E("deploy.putState", err)
	}
	st.ETag = etag
	return st, nil
}

// updateState is the read-modify-conditional-write loop every writer of an
// environment's row uses. change returns false to write nothing.
func (s *Service) updateState(ctx context.Context, project, env string, change func(st *EnvState) (bool, error)) (EnvState, bool, error) {
	for attempt := 0; attempt < 50; attempt++ {
		st, err := s.state(ctx, project, env)
		if err != nil {
			return st, false, err
		}
		write, err := change(&st)
		if err != nil || !write {
			return st, false, err
		}
		st, err = s.putState(ctx, st)
		if err == errLost {
			continue
		}
		return st, err == nil, err
	}
	return EnvState{}, false, fault.E("deploy.updateState", fault.Unavailable, "the environment's state is changing too fast; retry")
}
