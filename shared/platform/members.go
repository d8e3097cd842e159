package platform

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/egress"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// ListMembers lists a project's members (any member may).
func (s *Service) ListMembers(ctx context.Context, c Caller, pid string) ([]Member, error) {
	if _, err := s.projectAccess(ctx, c, pid); err != nil {
		return nil, err
	}
	ms, etags, err := listDocs[Member](ctx, s.t.Members, pid, 5000)
	if err != nil {
		return nil, fault.E("platform.ListMembers", err)
	}
	for i := range ms {
		ms[i].ETag = etags[i]
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Email < ms[j].Email })
	return ms, nil
}

// PutMember adds a subscription user to a project or changes their role
// (owners). The last owner cannot be demoted.
func (s *Service) PutMember(ctx context.Context, c Caller, pid, uid string, role Role, ifMatch string) (Member, bool, error) {
	const op = "platform.PutMember"
	a, err := s.projectAccess(ctx, c, pid)
	if err != nil {
		return Member{}, false, err
	}
	if err := a.require(RoleOwner, "change project membership"); err != nil {
		return Member{}, false, err
	}
	if !role.valid() {
		return Member{}, false, fault.E(op, fault.Invalid, `role must be "owner", "admin" or "developer"`)
	}
	u, err := s.getUser(ctx, a.project.SubscriptionID, uid)
	if fault.Is(err, fault.NotFound) {
		return Member{}, false, fault.E(op, fault.Unprocessable, fmt.Sprintf("user %s is not a user of this subscription", uid))
	}
	if err != nil {
		return Member{}, false, fault.E(op, err)
	}
	var cur Member
	etag, err := getDoc(ctx, s.t.Members, pid, uid, &cur)
	created := fault.Is(err, fault.NotFound)
	if err != nil && !created {
		return Member{}, false, fault.E(op, err)
	}
	if !created && ifMatch != "" && ifMatch != etag {
		return Member{}, false, fault.E(op, fault.PreconditionFailed, "the membership changed since you read it")
	}
	m := Member{ProjectID: pid, UserID: uid, Email: u.Email, Role: role}
	if !created && cur.Role == RoleOwner && role != RoleOwner {
		if err := s.keepAnOwner(ctx, pid, uid); err != nil {
			return Member{}, false, err
		}
	}
	if created {
		etag, err = insertDoc(ctx, s.t.Members, pid, uid, m)
	} else {
		etag, err = updateDoc(ctx, s.t.Members, pid, uid, m, etag)
	}
	if err != nil {
		return Member{}, false, fault.E(op, err)
	}
	if _, err := s.t.MemberIndex.Upsert(ctx, docEntity(uid, pid, indexDoc{Sub: a.project.SubscriptionID, Role: role}, nil)); err != nil {
		return Member{}, false, fault.E(op, err)
	}
	m.ETag = etag
	var before any
	if !created {
		before = cur
	}
	return m, created, s.record(ctx, c, audit.ProjectScope(pid), "member.put", "members/"+uid, before, m)
}

// keepAnOwner fails when uid is the project's only owner.
func (s *Service) keepAnOwner(ctx context.Context, pid, uid string) error {
	ms, _, err := listDocs[Member](ctx, s.t.Members, pid, 5000)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.UserID != uid && m.Role == RoleOwner {
			return nil
		}
	}
	return fault.E("platform", fault.Conflict, "the last owner of a project cannot be removed or demoted")
}

// DeleteMember removes a member (owners); never the last owner.
func (s *Service) DeleteMember(ctx context.Context, c Caller, pid, uid, ifMatch string) error {
	const op = "platform.DeleteMember"
	a, err := s.projectAccess(ctx, c, pid)
	if err != nil {
		return err
	}
	if err := a.require(RoleOwner, "change project membership"); err != nil {
		return err
	}
	var cur Member
	etag, err := getDoc(ctx, s.t.Members, pid, uid, &cur)
	if fault.Is(err, fault.NotFound) {
		return notFound(op, "member "+uid)
	}
	if err != nil {
		return fault.E(op, err)
	}
	if ifMatch != "" && ifMatch != etag {
		return fault.E(op, fault.PreconditionFailed, "the membership changed since you read it")
	}
	if cur.Role == RoleOwner {
		if err := s.keepAnOwner(ctx, pid, uid); err != nil {
			return err
		}
	}
	if err := s.t.Members.Delete(ctx, store.EncodeKey(pid), store.EncodeKey(uid), etag); err != nil {
		return fault.E(op, err)
	}
	_ = s.t.MemberIndex.Delete(ctx, store.EncodeKey(uid), store.EncodeKey(pid), store.AnyETag)
	return s.record(ctx, c, audit.ProjectScope(pid), "member.delete", "members/"+uid, cur, nil)
}

// ---- teams ------------------------------------------------------------------

// ListTeams lists a project's teams (any member).
func (s *Service) ListTeams(ctx context.Context, c Caller, pid string) ([]Team, error) {
	if _, err := s.projectAccess(ctx, c, pid); err != nil {
		return nil, err
	}
	ts, etags, err := listDocs[Team](ctx, s.t.Teams, pid, 5000)
	if err != nil {
		return nil, fault.E("platform.ListTeams", err)
	}
	for i := range ts {
		ts[i].ETag = etags[i]
	}
	return ts, nil
}

// TeamsOf returns the ids of the teams uid belongs to in a project (for
// Studio Security).
func (s *Service) TeamsOf(ctx context.Context, pid, uid string) ([]string, error) {
	ts, _, err := listDocs[Team](ctx, s.t.Teams, pid, 5000)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range ts {
		if slices.Contains(t.Members, uid) {
			out = append(out, t.ID)
		}
	}
	return out, nil
}

func (s *Service) ownerOf(ctx context.Context, c Caller, pid string) (access, error) {
	a, err := s.projectAccess(ctx, c, pid)
	if err != nil {
		return a, err
	}
	if a.role != RoleOwner {
		return a, forbidden("platform", "only Project Owners and Subscription Owners manage teams")
	}
	return a, nil
}

// CreateTeam adds a team (Project Owners and Subscription Owners only).
func (s *Service) CreateTeam(ctx context.Context, c Caller, pid, id, name string) (Team, error) {
	const op = "platform.CreateTeam"
	if _, err := s.ownerOf(ctx, c, pid); err != nil {
		return Team{}, err
	}
	if !slugPattern.MatchString(id) {
		return Team{}, fault.E(op, fault.Invalid, "id must be 2–40 lower-case letters, digits and inner hyphens")
	}
	if name == "" {
		name = id
	}
	if err := capText(op, "name", name, MaxNameBytes); err != nil {
		return Team{}, err
	}
	t := Team{ProjectID: pid, ID: id, Name: name, Members: []string{}}
	etag, err := insertDoc(ctx, s.t.Teams, pid, id, t)
	if err = writeErr(op, err, fault.Conflict, "a team with this id exists"); err != nil {
		return Team{}, err
	}
	t.ETag = etag
	return t, s.record(ctx, c, audit.ProjectScope(pid), "team.create", "teams/"+id, nil, t)
}

// DeleteTeam removes a team (owners).
func (s *Service) DeleteTeam(ctx context.Context, c Caller, pid, id string) error {
	const op = "platform.DeleteTeam"
	if _, err := s.ownerOf(ctx, c, pid); err != nil {
		return err
	}
	var t Team
	etag, err := getDoc(ctx, s.t.Teams, pid, id, &t)
	if fault.Is(err, fault.NotFound) {
		return notFound(op, "team "+id)
	}
	if err != nil {
		return fault.E(op, err)
	}
	if err := s.t.Teams.Delete(ctx, store.EncodeKey(pid), store.EncodeKey(id), etag); err != nil {
		return fault.E(op, err)
	}
	return s.record(ctx, c, audit.ProjectScope(pid), "team.delete", "teams/"+id, t, nil)
}

// SetTeamMember adds (in=true) or removes a project member from a team
// (owners). Concurrent changes retry on the team row's ETag, so none is lost.
func (s *Service) SetTeamMember(ctx context.Context, c Caller, pid, id, uid string, in bool) (Team, error) {
	const op = "platform.SetTeamMember"
	if _, err := s.ownerOf(ctx, c, pid); err != nil {
		return Team{}, err
	}
	if in {
		if _, err := s.t.Members.Get(ctx, store.EncodeKey(pid), store.EncodeKey(uid)); err != nil {
			if fault.Is(err, fault.NotFound) {
				return Team{}, fault.E(op, fault.Unprocessable, fmt.Sprintf("user %s is not a member of the project", uid))
			}
			return Team{}, fault.E(op, err)
		}
	}
	for attempt := 0; attempt < 10; attempt++ {
		var t Team
		etag, err := getDoc(ctx, s.t.Teams, pid, id, &t)
		if fault.Is(err, fault.NotFound) {
			return Team{}, notFound(op, "team "+id)
		}
		if err != nil {
			return Team{}, fault.E(op, err)
		}
		before := t
		before.Members = slices.Clone(t.Members)
		has := slices.Contains(t.Members, uid)
		switch {
		case in && !has:
			t.Members = append(t.Members, uid)
			sort.Strings(t.Members)
		case !in && has:
			t.Members = slices.DeleteFunc(t.Members, func(m string) bool { return m == uid })
		case !in && !has:
			return Team{}, notFound(op, "team member "+uid)
		default:
			t.ETag = etag
			return t, nil // already a member: idempotent
		}
		newTag, err := updateDoc(ctx, s.t.Teams, pid, id, t, etag)
		if fault.Is(err, fault.PreconditionFailed) {
			continue
		}
		if err != nil {
			return Team{}, fault.E(op, err)
		}
		t.ETag = newTag
		action := "team.member.add"
		if !in {
			action = "team.member.remove"
		}
		return t, s.record(ctx, c, audit.ProjectScope(pid), action, "teams/"+id+"/members/"+uid, before, t)
	}
	return Team{}, fault.E(op, fault.Conflict, "the team is changing too fast; retry")
}

// ---- environments -----------------------------------------------------------

var envKinds = []string{KindDevelopment, KindTest, KindProduction}

func validURL(s string) bool {
	if s == "" {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// ListEnvironments lists a project's environments (any member).
func (s *Service) ListEnvironments(ctx context.Context, c Caller, pid string) ([]Environment, error) {
	if _, err := s.projectAccess(ctx, c, pid); err != nil {
		return nil, err
	}
	es, etags, err := listDocs[Environment](ctx, s.t.Environments, pid, 100)
	if err != nil {
		return nil, fault.E("platform.ListEnvironments", err)
	}
	for i := range es {
		es[i].ETag = etags[i]
	}
	return es, nil
}

// GetEnvironment shows one environment (any member).
func (s *Service) GetEnvironment(ctx context.Context, c Caller, pid, name string) (Environment, error) {
	if _, err := s.projectAccess(ctx, c, pid); err != nil {
		return Environment{}, err
	}
	var e Environment
	etag, err := getDoc(ctx, s.t.Environments, pid, name, &e)
	if fault.Is(err, fault.NotFound) {
		return Environment{}, notFound("platform.GetEnvironment", "environment "+name)
	}
	e.ETag = etag
	return e, err
}

func (e Environment) validate() error {
	if !slugPattern.MatchString(e.Name) {
		return fault.E("platform", fault.Invalid, "environment name must be 2–40 lower-case letters, digits and inner hyphens")
	}
	if !slices.Contains(envKinds, e.Kind) {
		return fault.E("platform", fault.Invalid, "kind must be development, test or production")
	}
	if len(e.WorkPortalURL) > MaxURLBytes || len(e.SchedulerURL) > MaxURLBytes {
		return fault.E("platform", fault.Invalid, fmt.Sprintf("workPortalUrl and schedulerUrl are at most %d bytes", MaxURLBytes))
	}
	if !validURL(e.WorkPortalURL) || !validURL(e.SchedulerURL) {
		return fault.E("platform", fault.Invalid, "workPortalUrl and schedulerUrl must be http(s) URLs")
	}
	for _, f := range []struct{ name, u string }{{"workPortalUrl", e.WorkPortalURL}, {"schedulerUrl", e.SchedulerURL}} {
		if u, _ := url.Parse(f.u); u != nil {
			if err := egress.NeverHost(u.Hostname()); err != nil {
				return fault.E("platform", fault.Invalid, f.name+": "+err.Error(), err)
			}
		}
	}
	if !slices.Contains([]string{EnvRunning, EnvMaintenance, EnvDegraded}, e.Status) {
		return fault.E("platform", fault.Invalid, "status must be running, maintenance or degraded")
	}
	return nil
}

// CreateEnvironment adds an environment (admins and owners).
func (s *Service) CreateEnvironment(ctx context.Context, c Caller, pid string, e Environment) (Environment, error) {
	const op = "platform.CreateEnvironment"
	a, err := s.projectAccess(ctx, c, pid)
	if err != nil {
		return Environment{}, err
	}
	if err := a.require(RoleAdmin, "add environments"); err != nil {
		return Environment{}, err
	}
	e.ProjectID = pid
	if e.Status == "" {
		e.Status = EnvRunning
	}
	if err := e.validate(); err != nil {
		return Environment{}, err
	}
	etag, err := insertDoc(ctx, s.t.Environments, pid, e.Name, e)
	if err = writeErr(op, err, fault.Conflict, "an environment with this name exists"); err != nil {
		return Environment{}, err
	}
	e.ETag = etag
	return e, s.record(ctx, c, audit.ProjectScope(pid), "environment.create", "environments/"+e.Name, nil, e)
}

// EnvironmentPatch changes an environment; nil fields stay.
type EnvironmentPatch struct {
	Kind          *string `json:"kind"`
	WorkPortalURL *string `json:"workPortalUrl"`
	SchedulerURL  *string `json:"schedulerUrl"`
	Status        *string `json:"status"`
}

// PatchEnvironment changes an environment (admins and owners).
func (s *Service) PatchEnvironment(ctx context.Context, c Caller, pid, name string, p EnvironmentPatch, ifMatch string) (Environment, error) {
	const op = "platform.PatchEnvironment"
	a, err := s.projectAccess(ctx, c, pid)
	if err != nil {
		return Environment{}, err
	}
	if err := a.require(RoleAdmin, "change environments"); err != nil {
		return Environment{}, err
	}
	var e Environment
	etag, err := getDoc(ctx, s.t.Environments, pid, name, &e)
	if fault.Is(err, fault.NotFound) {
		return Environment{}, notFound(op, "environment "+name)
	}
	if err != nil {
		return Environment{}, fault.E(op, err)
	}
	if err := matches(op, ifMatch, etag, "the environment"); err != nil {
		return Environment{}, err
	}
	ifMatch = etag
	before := e
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&e.Kind, p.Kind)
	set(&e.WorkPortalURL, p.WorkPortalURL)
	set(&e.SchedulerURL, p.SchedulerURL)
	set(&e.Status, p.Status)
	if err := e.validate(); err != nil {
		return Environment{}, err
	}
	newTag, err := updateDoc(ctx, s.t.Environments, pid, name, e, ifMatch)
	if err = writeErr(op, err, fault.PreconditionFailed, "the environment changed since you read it"); err != nil {
		return Environment{}, err
	}
	e.ETag = newTag
	return e, s.record(ctx, c, audit.ProjectScope(pid), "environment.patch", "environments/"+name, before, e)
}

// ---- me and audit -----------------------------------------------------------

// Me lists the caller's subscriptions and projects with their roles.
func (s *Service) Me(ctx context.Context, c Caller) (Me, error) {
	me := Me{ID: c.UserID, Email: c.Email, Name: c.Name, Service: c.Service, Subscriptions: []MySubscription{}, Projects: []MyProject{}}
	if c.UserID == "" {
		me.ID = "service:" + c.PrincipalID
		return me, nil
	}
	subs, err := s.t.UserIndex.QueryAll(ctx, store.Eq("PartitionKey", store.EncodeKey(c.UserID)), 100)
	if err != nil {
		return me, fault.E("platform.Me", err)
	}
	for _, e := range subs {
		sid, _ := store.DecodeKey(e.RowKey)
		if isBindingRow(sid) {
			continue
		}
		u, err := s.activeUser(ctx, c, sid)
		if err != nil {
			continue
		}
		var sub Subscription
		if _, err := getDoc(ctx, s.t.Subscriptions, "s", sid, &sub); err != nil {
			continue
		}
		me.Subscriptions = append(me.Subscriptions, MySubscription{ID: sid, Name: sub.Name, Owner: u.SubscriptionOwner})
		ps, err := s.ListProjects(ctx, c, sid)
		if err != nil {
			return me, err
		}
		for _, p := range ps {
			role, err := s.RoleIn(ctx, c, p.ID)
			if err != nil {
				continue
			}
			me.Projects = append(me.Projects, MyProject{ID: p.ID, SubscriptionID: sid, Name: p.Name, Role: role})
		}
	}
	return me, nil
}

// CanReadProjectAudit allows project owners (and Subscription Owners).
func (s *Service) CanReadProjectAudit(ctx context.Context, c Caller, pid string) error {
	_, err := s.ownerOf(ctx, c, pid)
	if fault.Is(err, fault.Forbidden) {
		return forbidden("platform", "only owners read the audit log")
	}
	return err
}

// CanReadSubscriptionAudit allows Subscription Owners.
func (s *Service) CanReadSubscriptionAudit(ctx context.Context, c Caller, sub string) error {
	return s.requireSubscriptionOwner(ctx, c, sub)
}

// SubjectOf returns a user's effective role in a project (owner for a
// Subscription Owner) and the teams they belong to there, for Studio
// Security. NotFound when they are not in the project.
func (s *Service) SubjectOf(ctx context.Context, pid, uid string) (Role, []string, error) {
	a, err := s.projectAccess(ctx, Caller{UserID: uid}, pid)
	if err != nil {
		return "", nil, err
	}
	teams, err := s.TeamsOf(ctx, pid, uid)
	if err != nil {
		return "", nil, fault.E("platform.SubjectOf", err)
	}
	return a.role, teams, nil
}

// Environment reads an environment without a caller, for the service's own
// work (the job runner calling an environment's Scheduler).
func (s *Service) Environment(ctx context.Context, pid, name string) (Environment, error) {
	var e Environment
	etag, err := getDoc(ctx, s.t.Environments, pid, name, &e)
	if fault.Is(err, fault.NotFound) {
		return Environment{}, notFound("platform.Environment", "environment "+name)
	}
	e.ETag = etag
	return e, err
}

// ---- for deployments (the service's own work, no caller) --------------------

// EnvironmentsOf lists a project's environments without a caller, for the
// deployment worker that fans a commit out to each of them.
func (s *Service) EnvironmentsOf(ctx context.Context, pid string) ([]Environment, error) {
	es, etags, err := listDocs[Environment](ctx, s.t.Environments, pid, 100)
	if err != nil {
		return nil, fault.E("platform.EnvironmentsOf", err)
	}
	for i := range es {
		es[i].ETag = etags[i]
	}
	return es, nil
}

// MembersOf lists a project's members without a caller, for the notices
// the deployment worker sends to an environment's users. Disabled users are
// left out: they no longer use the environment.
func (s *Service) MembersOf(ctx context.Context, pid string) ([]Member, error) {
	const op = "platform.MembersOf"
	var p Project
	if _, err := getDoc(ctx, s.t.Projects, "p", pid, &p); err != nil {
		return nil, fault.E(op, err)
	}
	ms, _, err := listDocs[Member](ctx, s.t.Members, pid, 5000)
	if err != nil {
		return nil, fault.E(op, err)
	}
	active := ms[:0]
	for _, m := range ms {
		u, err := s.getUser(ctx, p.SubscriptionID, m.UserID)
		if err != nil && !fault.Is(err, fault.NotFound) {
			return nil, fault.E(op, err)
		}
		if err == nil && !u.Disabled {
			active = append(active, m)
		}
	}
	sort.Slice(active, func(i, j int) bool { return active[i].Email < active[j].Email })
	return active, nil
}

// SetEnvironmentStatus records the status the deployment worker computed
// (running, maintenance, degraded), with a conditional write. It is not
// audited: it follows the windows, which keep their own history.
func (s *Service) SetEnvironmentStatus(ctx context.Context, pid, name, status string) error {
	const op = "platform.SetEnvironmentStatus"
	for attempt := 0; attempt < 10; attempt++ {
		var e Environment
		etag, err := getDoc(ctx, s.t.Environments, pid, name, &e)
		if fault.Is(err, fault.NotFound) {
			return notFound(op, "environment "+name)
		}
		if err != nil {
			return fault.E(op, err)
		}
		if e.Status == status {
			return nil
		}
		e.Status = status
		if err := e.validate(); err != nil {
			return err
		}
		_, err = updateDoc(ctx, s.t.Environments, pid, name, e, etag)
		if fault.Is(err, fault.PreconditionFailed) {
			continue
		}
		if err != nil {
			return fault.E(op, err)
		}
		return nil
	}
	return fault.E(op, fault.Unavailable, "the environment is changing too fast; retry")
}
