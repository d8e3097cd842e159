package deploy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Request records that commit seq of project must reach each of its
// environments and sends one deployment message per environment (id
// "<project>/<env>:<seq>"). It is what the catalog calls after every
// acknowledged commit. A request is durable once its row is in the pending
// index: if the message is then lost, the reconciler processes the request
// within a minute. Requesting the same (environment, seq) again is a no-op.
func (s *Service) Request(ctx context.Context, project string, seq int64) error {
	const op = "deploy.Request"
	if seq < 1 {
		return fault.E(op, fault.Invalid, "a commit sequence is >= 1")
	}
	envs, err := s.Directory.Environments(ctx, project)
	if err != nil {
		return fault.E(op, err)
	}
	var errs []error
	for _, env := range envs {
		_, err := s.T.Pending.Insert(ctx, store.Entity{PartitionKey: envPK(project, env), RowKey: seqKey(seq),
			Props: map[string]any{"Project": project, "Env": env, "Seq": seq, "Created": s.Now().UTC()}})
		if err != nil && !fault.Is(err, fault.Conflict) {
			errs = append(errs, fmt.Errorf("recording %s: %w", EnvKey(project, env), err))
			continue
		}
		if s.Queue != nil {
			if err := s.Queue.Send(ctx, RequestMessage(project, env, seq)); err != nil {
				// Recorded: the reconciler will process it; the caller may log this.
				errs = append(errs, fmt.Errorf("sending %s:%d (recorded; the reconciler takes it): %w", EnvKey(project, env), seq, err))
			}
		}
	}
	if len(errs) > 0 {
		return fault.E(op, errors.Join(errs...))
	}
	return nil
}

// Handle processes one message of the deployment queue (either trigger).
func (s *Service) Handle(ctx context.Context, body []byte) error {
	e, err := DecodeEnvelope(body)
	if err != nil {
		return err
	}
	if e.Kind == MsgWindow {
		return s.Drive(ctx, e.Project, e.Env, e.Window, Completed)
	}
	return s.CatchUp(ctx, e.Project, e.Env, e.Seq)
}

// HistoryEntry is one commit as it reached an environment.
type HistoryEntry struct {
	ID           string       `json:"id"` // "<project>/<env>:<seq>", the request's message id
	Seq          int64        `json:"seq"`
	Hot          int          `json:"hot"`
	Restart      int          `json:"restart"`
	Impacts      []Impact     `json:"impacts"`
	Changes      []Classified `json:"changes"` // at most historySample of them
	More         int          `json:"more,omitempty"`
	CommittedBy  string       `json:"committedBy,omitempty"`
	ClassifiedAt string       `json:"classifiedAt"`
	Status       string       `json:"status"` // derived when read: applying, applied, waiting, deployed
}

const historySample = 50

// CatchUp brings an environment's classification up to at least seq and
// applies its hot changes. Each page of changes is classified and recorded
// in the environment's row with one conditional write (step A); the hot
// changes are then deployed and AppliedSeq advanced with another (step B).
// Two workers doing the same request race on the ETag: one advances, the
// other re-reads and finds nothing left (or deploys the same hot changes
// again, which the runtime takes as the same deployment).
func (s *Service) CatchUp(ctx context.Context, project, env string, seq int64) error {
	if err := s.classifyThrough(ctx, project, env, seq); err != nil {
		return err
	}
	if err := s.applyHot(ctx, project, env); err != nil {
		return err
	}
	return s.dropPending(ctx, project, env)
}

// classifyThrough brings an environment's classification up to at least seq, or
// to the end of the feed if that comes first (step A, page by page).
func (s *Service) classifyThrough(ctx context.Context, project, env string, seq int64) error {
	for {
		st, err := s.state(ctx, project, env)
		if err != nil {
			return err
		}
		if st.Cursor >= seq {
			return nil
		}
		page, err := s.readPage(ctx, project, st.Cursor)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil // the feed has nothing after the cursor yet
		}
		if err := s.classifyPage(ctx, st, page); err != nil && err != errLost {
			return err
		}
	}
}

// readPage reads whole commits after `after`: when a page is full, the last
// commit may continue on the next page, so it is left for then; a commit
// larger than a page makes the page grow until it fits.
func (s *Service) readPage(ctx context.Context, project string, after int64) ([]Change, error) {
	limit := s.PageSize
	for {
		cs, _, err := s.Changes.Changes(ctx, project, after, limit)
		if err != nil {
			return nil, fault.E("deploy.readPage", fault.Unavailable, "reading the change feed", err)
		}
		if len(cs) < limit {
			return cs, nil
		}
		last := cs[len(cs)-1].Seq
		cut := sort.Search(len(cs), func(i int) bool { return cs[i].Seq == last })
		if cut > 0 {
			return cs[:cut], nil
		}
		if limit >= 1<<20 {
			return nil, fault.E("deploy.readPage", fault.Internal, fmt.Sprintf("commit %d has over %d changes", last, limit))
		}
		limit *= 4
	}
}

func (s *Service) classify(cs []Change) []Classified {
	out := make([]Classified, len(cs))
	for i, c := range cs {
		out[i] = Classified{Change: c, Classification: s.Rules.Classify(c.Path, c.Op)}
	}
	return out
}

// classifyPage is step A for one page of whole commits after st.Cursor.
func (s *Service) classifyPage(ctx context.Context, st EnvState, page []Change) error {
	cl := s.classify(page)
	last := page[len(page)-1].Seq
	hot, restart := 0, 0
	for _, c := range cl {
		if c.Impact.Restart() {
			restart++
			if st.FirstRestartSeq == 0 || c.Seq < st.FirstRestartSeq {
				st.FirstRestartSeq = c.Seq
			}
			st.LastRestartSeq = max(st.LastRestartSeq, c.Seq)
			if !slices.Contains(st.RestartImpacts, c.Impact) {
				st.RestartImpacts = append(st.RestartImpacts, c.Impact)
			}
		} else {
			hot++
		}
	}
	st.Cursor, st.PendingHot, st.PendingRestart = last, st.PendingHot+hot, st.PendingRestart+restart
	allocated := false
	if st.HasPendingRestart() && st.WindowID == "" {
		if err := st.allocateWindow(s.Now()); err != nil {
			return err
		}
		allocated = true
	}
	// The history rows are built and sized before the first write: a row
	// storage would refuse after the state moved on was a lost history
	// entry (the redelivery found nothing left to do; issue 25).
	rows, err := s.historyRows(st, cl)
	if err != nil {
		return err
	}
	nst, err := s.putState(ctx, st)
	if err != nil {
		return err
	}
	if err := s.record(ctx, rows); err != nil {
		return err
	}
	if allocated {
		return s.createWindow(ctx, nst)
	}
	return nil
}

// historyRows builds one history row per commit of a classified page,
// each checked against storage's limits. Rows are facts derived from the
// feed and the rules, so a replay builds the same rows. A row over the
// limits keeps fewer sample changes (counted in More) until it fits.
func (s *Service) historyRows(st EnvState, cl []Classified) ([]store.Entity, error) {
	by := map[int64]*HistoryEntry{}
	var seqs []int64
	for _, c := range cl {
		h := by[c.Seq]
		if h == nil {
			h = &HistoryEntry{ID: fmt.Sprintf("%s:%d", EnvKey(st.Project, st.Env), c.Seq), Seq: c.Seq, CommittedBy: c.CommittedBy,
				ClassifiedAt: s.Now().UTC().Format("2006-01-02T15:04:05Z"), Impacts: []Impact{}}
			by[c.Seq] = h
			seqs = append(seqs, c.Seq)
		}
		if c.Impact.Restart() {
			h.Restart++
		} else {
			h.Hot++
		}
		if !slices.Contains(h.Impacts, c.Impact) {
			h.Impacts = append(h.Impacts, c.Impact)
		}
		if len(h.Changes) < historySample {
			h.Changes = append(h.Changes, c)
		} else {
			h.More++
		}
	}
	rows := make([]store.Entity, 0, len(seqs))
	for _, seq := range seqs {
		h := by[seq]
		for {
			// Newest first: the row key counts down.
			e := store.Entity{PartitionKey: envPK(st.Project, st.Env), RowKey: seqKey(math.MaxInt64 - seq), Props: map[string]any{}}
			err := setDoc(e.Props, h)
			if err == nil {
				err = store.CheckEntity(e)
			}
			if err == nil {
				rows = append(rows, e)
				break
			}
			if len(h.Changes) == 0 {
				return nil, fault.E("deploy.historyRows", err)
			}
			h.Changes, h.More = h.Changes[:len(h.Changes)/2], h.More+len(h.Changes)-len(h.Changes)/2
		}
	}
	return rows, nil
}

// record writes the history rows of a classified page.
func (s *Service) record(ctx context.Context, rows []store.Entity) error {
	for _, e := range rows {
		if _, err := s.T.History.Upsert(ctx, e); err != nil {
			return fault.E("deploy.record", err)
		}
	}
	return nil
}

// applyHot is step B: deploy the hot changes after AppliedSeq, one page at a
// time, each page's AppliedSeq advanced with a conditional write.
func (s *Service) applyHot(ctx context.Context, project, env string) error {
	for {
		st, err := s.state(ctx, project, env)
		if err != nil {
			return err
		}
		if st.AppliedSeq >= st.Cursor {
			return nil
		}
		page, err := s.readPage(ctx, project, st.AppliedSeq)
		if err != nil {
			return err
		}
		// Only what step A has classified: stop at the cursor.
		cut := sort.Search(len(page), func(i int) bool { return page[i].Seq > st.Cursor })
		page = page[:cut]
		if len(page) == 0 {
			return fault.E("deploy.applyHot", fault.Unavailable, fmt.Sprintf("the change feed has nothing after %d though %s was classified to %d", st.AppliedSeq, EnvKey(project, env), st.Cursor))
		}
		var hot []Classified
		for _, c := range s.classify(page) {
			if !c.Impact.Restart() {
				hot = append(hot, c)
			}
		}
		upto := page[len(page)-1].Seq
		if len(hot) > 0 {
			t, terr := s.target(ctx, st)
			if terr == nil {
				terr = s.Runtime.Deploy(ctx, t, Deployment{FromSeq: st.AppliedSeq, Seq: upto, Mode: ModeHot, Changes: hot})
			}
			if terr != nil {
				return s.hotFailed(ctx, st, terr)
			}
		}
		_, _, err = s.updateState(ctx, project, env, func(cur *EnvState) (bool, error) {
			if cur.AppliedSeq >= upto {
				return false, nil // another worker got there
			}
			cur.AppliedSeq = upto
			cur.PendingHot = max(cur.PendingHot-len(hot), 0)
			if cur.AppliedSeq >= cur.Cursor {
				cur.PendingHot = 0
			}
			cur.ApplyFailures, cur.LastError = 0, ""
			if cur.DegradedKind == DegradedApply {
				cur.Degraded, cur.DegradedKind = "", ""
			}
			cur.DeployedSeq = cur.deployedFrom()
			return true, nil
		})
		if err != nil {
			return err
		}
	}
}

// hotFailed records a failed hot deployment. After ApplyFailuresBeforeNotice
// failures in a row the environment is degraded and its owners are told
// (once per stuck sequence). The request stays recorded in the row
// (AppliedSeq < Cursor), so the reconciler retries it each minute.
func (s *Service) hotFailed(ctx context.Context, st EnvState, cause error) error {
	var notify bool
	nst, _, err := s.updateState(ctx, st.Project, st.Env, func(cur *EnvState) (bool, error) {
		if cur.AppliedSeq != st.AppliedSeq {
			return false, nil // someone else moved on
		}
		cur.ApplyFailures++
		cur.LastError = fault.DetailOf(cause)
		if cur.LastError == "" {
			cur.LastError = cause.Error()
		}
		notify = cur.ApplyFailures == s.ApplyFailuresBeforeNotice
		if cur.ApplyFailures >= s.ApplyFailuresBeforeNotice && cur.Degraded == "" {
			cur.Degraded, cur.DegradedKind = "hot changes could not be deployed: "+cur.LastError, DegradedApply
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if notify && s.Notifier != nil {
		to, err := s.recipients(ctx, st.Project, true)
		if err != nil {
			return err
		}
		n := Notice{ID: fmt.Sprintf("%s:%s:%s:%d", KindDeploymentFailed, st.Project, st.Env, nst.AppliedSeq), Project: st.Project,
			Kind: KindDeploymentFailed, To: to, Data: map[string]any{"project": st.Project, "env": st.Env, "deployedSeq": nst.DeployedSeq,
				"fromSeq": nst.AppliedSeq, "toSeq": nst.Cursor, "seq": nst.Cursor, "error": nst.LastError, "failures": nst.ApplyFailures}}
		if err := s.Notifier.Notify(ctx, n); err != nil {
			return fault.E("deploy.hotFailed", err)
		}
	}
	s.mirror(ctx, st.Project, st.Env)
	return nil
}

// dropPending removes the recorded requests the environment has passed.
func (s *Service) dropPending(ctx context.Context, project, env string) error {
	st, err := s.state(ctx, project, env)
	if err != nil {
		return err
	}
	rows, err := s.T.Pending.QueryAll(ctx, store.And(store.Eq("PartitionKey", envPK(project, env)), store.Le("RowKey", seqKey(st.Cursor))), 1000)
	if err != nil {
		return fault.E("deploy.dropPending", err)
	}
	for _, r := range rows {
		if err := s.T.Pending.Delete(ctx, r.PartitionKey, r.RowKey, store.AnyETag); err != nil && !fault.Is(err, fault.NotFound) {
			return fault.E("deploy.dropPending", err)
		}
	}
	return nil
}

// target is where the environment's components answer.
func (s *Service) target(ctx context.Context, st EnvState) (Target, error) {
	t := Target{Project: st.Project, Env: st.Env, Portal: st.Runtime.Portal, Scheduler: st.Runtime.Scheduler}
	if s.Directory != nil {
		info, err := s.Directory.Environment(ctx, st.Project, st.Env)
		if err != nil {
			return t, fault.E("deploy.target", err)
		}
		t.Portal.BaseURL, t.Scheduler.BaseURL = info.WorkPortalURL, info.SchedulerURL
	}
	return t, nil
}
