package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Window states (docs/deployments.md draws the machine).
const (
	Scheduled  = "scheduled"
	Announced  = "announced"
	Open       = "open"
	Applying   = "applying"
	Restarting = "restarting"
	Completed  = "completed"
	Failed     = "failed"
	Cancelled  = "cancelled"
)

// moves is the state machine: the states each state may move to. A move to
// the same state (a lease renewal, a reschedule) is always allowed and is not
// a transition.
var moves = map[string][]string{
	Scheduled:  {Announced, Cancelled},
	Announced:  {Open, Cancelled, Scheduled}, // back to scheduled when rescheduled after the announcement
	Open:       {Applying, Cancelled},
	Applying:   {Restarting, Failed},
	Restarting: {Completed, Failed},
}

// CanMove reports whether the machine allows from -> to.
func CanMove(from, to string) bool { return from == to || slices.Contains(moves[from], to) }

// Terminal reports whether a window state is final.
func Terminal(state string) bool { return state == Completed || state == Failed || state == Cancelled }

// InMaintenance reports whether an environment is in maintenance while its
// window is in state.
func InMaintenance(state string) bool {
	return state == Open || state == Applying || state == Restarting
}

// The actions an administrator may ask of a window (the API lists those its
// state allows, so that no client copies the machine).
const (
	ActionReschedule = "reschedule" // PATCH the window's start
	ActionOpenNow    = "open-now"   // POST .../windows/open-now
	ActionCancel     = "cancel"     // POST .../windows/{id}/cancel
)

// Actions are the administrator actions the machine allows a window in
// state, read from moves: rescheduling puts it back to scheduled, opening
// now takes a window that has not opened yet to open, cancelling moves it
// to cancelled. Never nil: a window that allows nothing says so with [].
func Actions(state string) []string {
	out := []string{}
	if CanMove(state, Scheduled) {
		out = append(out, ActionReschedule)
	}
	if state != Open && reaches(state, Open) {
		out = append(out, ActionOpenNow)
	}
	if state != Cancelled && CanMove(state, Cancelled) {
		out = append(out, ActionCancel)
	}
	return out
}

// Allows reports whether the window's state allows action.
func (w Window) Allows(action string) bool { return slices.Contains(Actions(w.State), action) }

// reaches reports whether the machine leads from one state to another in
// one or more moves.
func reaches(from, to string) bool {
	seen := map[string]bool{from: true}
	next := []string{from}
	for len(next) > 0 {
		s := next[0]
		next = next[1:]
		for _, m := range moves[s] {
			if m == to {
				return true
			}
			if !seen[m] {
				seen[m] = true
				next = append(next, m)
			}
		}
	}
	return false
}

// Transition is one entry of a window's history.
type Transition struct {
	From string    `json:"from"`
	To   string    `json:"to"`
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	Why  string    `json:"why,omitempty"`
}

// Window is one maintenance window of an environment. Its row is the only
// thing a transition writes, with If-Match its ETag.
type Window struct {
	Project    string    `json:"project"`
	Env        string    `json:"env"`
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Revision   int       `json:"revision"` // +1 when an announced window is moved
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"` // the expected end
	AnnounceAt time.Time `json:"announceAt"`
	CreatedAt  time.Time `json:"createdAt"`
	// Frozen when the window starts applying: what it deploys.
	FromSeq        int64         `json:"fromSeq,omitempty"`
	TargetSeq      int64         `json:"targetSeq,omitempty"`
	Changes        int           `json:"changes,omitempty"`
	Parameters     []ParamChange `json:"parameters,omitempty"`
	ParamsThrough  int64         `json:"paramsThrough,omitempty"`
	Impacts        []Impact      `json:"impacts,omitempty"`
	Components     []string      `json:"components,omitempty"`
	Restarted      []string      `json:"restarted,omitempty"`
	HealthDeadline time.Time     `json:"healthDeadline,omitzero"`
	// The holder of a window in applying or restarting, and until when.
	Holder     string    `json:"holder,omitempty"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	Attempt    int       `json:"attempt,omitempty"`
	FailedIn   string    `json:"failedIn,omitempty"`
	// OpenedNowBy is who opened the window ahead of its time, if anyone.
	OpenedNowBy string       `json:"openedNowBy,omitempty"`
	Error       string       `json:"error,omitempty"`
	History     []Transition `json:"history"`
	// Notices owed by the transitions so far, and those already queued.
	Owed []string `json:"owed,omitempty"`
	Sent []string `json:"sent,omitempty"`
	ETag string   `json:"-"`
}

// Ref is the window's reference in notice ids: its id, plus the revision
// once an announced window has been moved (a new announcement is due).
func (w Window) Ref() string {
	if w.Revision == 0 {
		return w.ID
	}
	return fmt.Sprintf("%s.r%d", w.ID, w.Revision)
}

// windowDoc is a window as stored: without what MarshalJSON derives.
type windowDoc Window

// MarshalJSON is the window as the API shows it: its fields, plus what its
// state allows (actions), whether the environment is in maintenance while
// it is in this state, and whether the state is final. They are derived
// from the state by the machine above, never stored.
func (w Window) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		windowDoc
		Actions       []string `json:"actions"`
		InMaintenance bool     `json:"inMaintenance"`
		Terminal      bool     `json:"terminal"`
	}{windowDoc(w), Actions(w.State), InMaintenance(w.State), Terminal(w.State)})
}

func windowEntity(w Window) store.Entity {
	props := map[string]any{"State": w.State, "Start": w.Start}
	_ = (store.Doc[windowDoc]{Name: "Doc"}).Set(props, windowDoc(w)) // TooLarge: the write is refused
	return store.Entity{PartitionKey: envPK(w.Project, w.Env), RowKey: w.ID, Props: props}
}

func (s *Service) window(ctx context.Context, project, env, id string) (Window, error) {
	w, etag, err := (store.Doc[Window]{Name: "Doc"}).Read(ctx, s.T.Windows, envPK(project, env), store.EncodeKey(id))
	if err != nil {
		return Window{}, fault.E("deploy.window", err)
	}
	w.ETag = etag
	return w, nil
}

// newWindow is the window st planned (allocateWindow).
func newWindow(st EnvState, now time.Time) Window {
	p := st.EffectivePolicy()
	announce := st.NextStart.Add(-p.Notice())
	if announce.Before(now) {
		announce = now
	}
	return Window{Project: st.Project, Env: st.Env, ID: st.WindowID, State: Scheduled, Start: st.NextStart,
		End: st.NextStart.Add(p.Duration()), AnnounceAt: announce, CreatedAt: now.UTC(), History: []Transition{}}
}

// createWindow inserts the window st planned (insert-if-absent: a second
// writer finds it there) and schedules the messages for its times.
func (s *Service) createWindow(ctx context.Context, st EnvState) error {
	w := newWindow(st, s.Now())
	etag, err := s.T.Windows.Insert(ctx, windowEntity(w))
	if fault.Is(err, fault.Conflict) {
		return nil
	}
	if err != nil {
		return fault.E("deploy.createWindow", err)
	}
	w.ETag = etag
	return s.schedule(ctx, w)
}

// schedule sends the scheduled messages that wake a worker at the window's
// announcement and start. They only save time: the reconciler drives every
// window each minute, so a lost one delays nothing by more than a minute.
func (s *Service) schedule(ctx context.Context, w Window) error {
	if s.Queue == nil {
		return nil
	}
	var errs []error
	for _, m := range []Message{WindowMessage(w.Project, w.Env, w.ID, "announce", w.AnnounceAt), WindowMessage(w.Project, w.Env, w.ID, "start", w.Start)} {
		if err := s.Queue.Send(ctx, m); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fault.E("deploy.schedule", fault.Unavailable, fmt.Sprintf("window %s: %v", w.ID, errs[0]))
	}
	return nil
}

// owedNotice is the notice a transition to state owes, if any.
func owedNotice(w Window, to string) string {
	switch to {
	case Announced:
		return KindWindowAnnounced
	case Open:
		return KindWindowOpened
	case Completed:
		return KindWindowEnded
	case Failed:
		return KindWindowFailed
	case Cancelled:
		for _, h := range w.History {
			if h.To == Announced {
				return KindWindowEnded // users were told it was coming; tell them it is off
			}
		}
	}
	return ""
}

// move writes w in state to (same state: a renewal or an edit) with
// If-Match w.ETag. A transition appends to the history and owes its notice
// in the same write, so both happen exactly when the transition does.
func (s *Service) move(ctx context.Context, w Window, to, why string, edit func(*Window)) (Window, error) {
	if !CanMove(w.State, to) {
		return w, fault.E("deploy.move", fault.Conflict, fmt.Sprintf("window %s is %s and cannot become %s", w.ID, w.State, to))
	}
	nw := w
	nw.History = append([]Transition{}, w.History...) // never nil: answered as an array
	nw.Owed = append([]string(nil), w.Owed...)
	nw.Restarted = append([]string(nil), w.Restarted...)
	if edit != nil {
		edit(&nw)
	}
	if to != w.State {
		nw.History = append(nw.History, Transition{From: w.State, To: to, At: s.Now().UTC(), By: s.Instance, Why: why})
		if k := owedNotice(nw, to); k != "" {
			id := noticeID(k, nw)
			if !slices.Contains(nw.Owed, id) {
				nw.Owed = append(nw.Owed, id)
			}
		}
		nw.State = to
	}
	etag, err := s.T.Windows.Update(ctx, windowEntity(nw), w.ETag)
	if fault.Is(err, fault.PreconditionFailed) || fault.Is(err, fault.NotFound) {
		return w, errLost
	}
	if err != nil {
		return w, fault.E("deploy.move", err)
	}
	nw.ETag = etag
	return nw, nil
}

// noticeID is "<kind>:<project>:<env>:<window ref>".
func noticeID(kind string, w Window) string {
	return fmt.Sprintf("%s:%s:%s:%s", kind, w.Project, w.Env, w.Ref())
}

// settleNotices queues every owed notice not yet marked sent, then marks
// them. Queuing is idempotent on the id, so a crash before the mark only
// means the same notice is queued again, and kept once.
func (s *Service) settleNotices(ctx context.Context, w Window) (Window, error) {
	for attempt := 0; attempt < 20; attempt++ {
		var due []string
		for _, id := range w.Owed {
			if !slices.Contains(w.Sent, id) {
				due = append(due, id)
			}
		}
		if len(due) == 0 || s.Notifier == nil {
			return w, nil
		}
		for _, id := range due {
			n, err := s.windowNotice(ctx, w, id)
			if err != nil {
				return w, err
			}
			if err := s.Notifier.Notify(ctx, n); err != nil {
				return w, fault.E("deploy.settleNotices", err)
			}
		}
		nw, err := s.move(ctx, w, w.State, "", func(nw *Window) { nw.Sent = append(append([]string(nil), w.Sent...), due...) })
		if err == errLost {
			if w, err = s.window(ctx, w.Project, w.Env, w.ID); err != nil {
				return w, err
			}
			continue
		}
		return nw, err
	}
	return w, nil
}

func (s *Service) windowNotice(ctx context.Context, w Window, id string) (Notice, error) {
	kind, _, _ := strings.Cut(id, ":")
	to, err := s.recipients(ctx, w.Project, false)
	if err != nil {
		return Notice{}, err
	}
	data := map[string]any{"project": w.Project, "env": w.Env, "window": w.ID, "state": w.State,
		"start": w.Start.Format(time.RFC3339), "end": w.End.Format(time.RFC3339)}
	if len(w.Impacts) > 0 {
		data["impacts"] = w.Impacts
		// "restarts" and "seq" are what the e-mail templates show.
		var restarts []string
		for _, i := range w.Impacts {
			switch i {
			case RestartPortal:
				restarts = append(restarts, "The Work Portal")
			case RestartScheduler:
				restarts = append(restarts, "The Scheduler")
			}
		}
		data["restarts"] = restarts
	}
	if w.TargetSeq > 0 {
		data["targetSeq"] = w.TargetSeq
		data["seq"] = w.TargetSeq
	}
	switch kind {
	case KindWindowFailed:
		data["error"] = w.Error
		data["failedIn"] = w.FailedIn
		data["deployedSeq"] = w.FromSeq
		data["seq"] = w.FromSeq // the environment stays on it
	case KindWindowEnded:
		data["outcome"] = w.State
	}
	return Notice{ID: id, Project: w.Project, Kind: kind, To: to, Data: data}, nil
}

// recipients are the environment's users: the project's members (owners
// only when ownersOnly).
func (s *Service) recipients(ctx context.Context, project string, ownersOnly bool) ([]string, error) {
	if s.Directory == nil {
		return nil, nil
	}
	ms, err := s.Directory.Members(ctx, project)
	if err != nil {
		return nil, fault.E("deploy.recipients", err)
	}
	var to []string
	for _, m := range ms {
		if !ownersOnly || m.Owner {
			to = append(to, m.Email)
		}
	}
	slices.Sort(to)
	return to, nil
}
