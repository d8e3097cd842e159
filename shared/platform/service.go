package platform

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	netmail "net/mail"
	"sort"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/secevent"
	"github.com/studio-collab/collab/shared/store"
)

// Service is the platform's domain service.
type Service struct {
	t     Tables
	audit *audit.Log
	now   func() time.Time
	// CanCreateSubscriptions decides who may bootstrap a subscription: any
	// signed-in user when the dev issuer is on, else service principals with
	// the Subscriptions.Create application role.
	CanCreateSubscriptions func(c Caller) bool
	// Outbox sends the invitation e-mails (nil: none are sent).
	Outbox interface {
		Enqueue(ctx context.Context, n mail.Notification) error
	}
	// Events records the refusals that matter: a disabled user's sign-in,
	// an outsider's probe of an existing subscription or project (nil:
	// none are recorded).
	Events secevent.Recorder
	// PublicURL is the base of links in e-mails (COLLAB_PUBLIC_URL).
	PublicURL string
	// Homes records a new subscription's home stamp and a new project's
	// subscription in the global directory before anything of theirs is
	// written here (shared/stamp); nil in tests of one stamp.
	Homes interface {
		ClaimSubscription(ctx context.Context, id string) (home string, err error)
		ClaimProject(ctx context.Context, project, sub string) error
	}
}

// New returns the service.
func New(t Tables, log *audit.Log, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{t: t, audit: log, now: now, CanCreateSubscriptions: func(c Caller) bool {
		for _, r := range c.Roles {
			if strings.EqualFold(r, "Subscriptions.Create") {
				return true
			}
		}
		return false
	}}
}

func notFound(op, what string) error {
	return fault.E(op, fault.NotFound, fmt.Sprintf("%s not found", what))
}

func forbidden(op, why string) error { return fault.E(op, fault.Forbidden, why) }

func (s *Service) record(ctx context.Context, c Caller, scope, action, target string, before, after any) error {
	who := c.Email
	if who == "" {
		who = c.Name
	}
	return s.audit.Record(ctx, scope, audit.Entry{Actor: actorID(c), ActorName: who, Action: action, Target: target, RequestID: requestIDOf(ctx)}, before, after)
}

func actorID(c Caller) string {
	if c.UserID != "" {
		return c.UserID
	}
	return "service:" + c.PrincipalID
}

type requestIDKey struct{}

// WithRequestID lets audit entries carry the request id without this
// package knowing about HTTP.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

func requestIDOf(ctx context.Context) string { id, _ := ctx.Value(requestIDKey{}).(string); return id }

// ---- admission -------------------------------------------------------------

type indexDoc struct {
	Owner    bool   `json:"owner,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
	Sub      string `json:"sub,omitempty"`
	Role     Role   `json:"role,omitempty"`
}

// Admit refuses a caller who is disabled in a subscription they belong to,
// or whose address is bound to another identity (issuer, subject); the
// first sign-in of an active user binds their address. It costs one
// partition query (subscriptions and bindings alike) plus one point read
// per subscription of the caller.
func (s *Service) Admit(ctx context.Context, c Caller) error {
	const op = "platform.Admit"
	if c.Service || c.UserID == "" {
		return nil
	}
	bound, subs, err := s.bindingsOf(ctx, c.UserID)
	if err != nil {
		return fault.E(op, err)
	}
	if len(bound) > 0 && !accepts(bound, c.Identity()) {
		return boundElsewhere(op, c.Email, c.Identity())
	}
	active := false
	for _, sub := range subs {
		u, err := s.getUser(ctx, sub, c.UserID)
		if fault.Is(err, fault.NotFound) {
			continue
		}
		if err != nil {
			return fault.E(op, err)
		}
		if u.Disabled {
			secevent.Emit(ctx, s.Events, secevent.Event{Kind: secevent.SignInRefused, Reason: "disabled", Principal: c.UserID,
				PrincipalName: c.Email, Verified: true, Subscription: sub})
			return fault.E(op, fault.Unauthenticated, "this user is disabled")
		}
		active = active || u.Status == StatusActive
	}
	if len(bound) == 0 && active {
		return s.bind(ctx, c, "sign-in") // the first sign-in binds the address
	}
	return nil
}

// ---- subscriptions and users ----------------------------------------------

// userRow is how a User is stored.
type userRow struct {
	User
}

func (s *Service) getUser(ctx context.Context, sub, uid string) (User, error) {
	var r userRow
	etag, err := getDoc(ctx, s.t.Users, sub, uid, &r)
	if err != nil {
		return User{}, err
	}
	r.User.ETag = etag
	return r.User, nil
}

// putUser writes the user row (conditionally) and then its index row; the
// user row is the truth, the index is derived and rewritten on every change.
func (s *Service) putUser(ctx context.Context, u User, ifMatch string) (string, error) {
	row := userRow{User: u}
	var etag string
	var err error
	if ifMatch == "" {
		etag, err = insertDoc(ctx, s.t.Users, u.SubscriptionID, u.ID, row)
	} else {
		etag, err = updateDoc(ctx, s.t.Users, u.SubscriptionID, u.ID, row, ifMatch)
	}
	if err != nil {
		return "", err
	}
	_, err = s.t.UserIndex.Upsert(ctx, docEntity(u.ID, u.SubscriptionID, indexDoc{Owner: u.SubscriptionOwner, Disabled: u.Disabled}, nil))
	return etag, err
}

// activeUser returns the caller's active membership of sub, or NotFound.
func (s *Service) activeUser(ctx context.Context, c Caller, sub string) (User, error) {
	if c.UserID == "" {
		return User{}, notFound("platform", "subscription "+sub)
	}
	u, err := s.getUser(ctx, sub, c.UserID)
	if fault.Is(err, fault.NotFound) || (err == nil && u.Status != StatusActive) {
		return User{}, notFound("platform", "subscription "+sub)
	}
	return u, err
}

// subscriptionUser is activeUser for a request naming sub: the NotFound of
// an outsider on a subscription that exists is a cross-tenant probe, and
// is recorded as one (DESIGN §4.10) in that subscription's log.
func (s *Service) subscriptionUser(ctx context.Context, c Caller, sub string) (User, error) {
	u, err := s.activeUser(ctx, c, sub)
	if fault.Is(err, fault.NotFound) && s.Events != nil && c.UserID != "" {
		var existing Subscription
		if _, gerr := getDoc(ctx, s.t.Subscriptions, "s", sub, &existing); gerr == nil {
			s.probe(ctx, c, sub, "", "subscriptions/"+sub)
		}
	}
	return u, err
}

// probe records a person's 404 on another tenant's (or a project's
// outsider's) existing resource. The reason says which: another
// subscription entirely, or a project of their own subscription they are
// not a member of.
func (s *Service) probe(ctx context.Context, c Caller, sub, project, target string) {
	reason := "other-subscription"
	if project != "" {
		if u, err := s.getUser(ctx, sub, c.UserID); err == nil && u.Status == StatusActive {
			reason = "not-a-member"
		}
	}
	secevent.Emit(ctx, s.Events, secevent.Event{Kind: secevent.TenantProbe, Reason: reason, Principal: c.UserID, PrincipalName: c.Email,
		Verified: true, Subscription: sub, Project: project, Target: target})
}

// SubscriptionOf is the subscription a project belongs to (the security
// events file a project's events under it too).
func (s *Service) SubscriptionOf(ctx context.Context, pid string) (string, error) {
	var p Project
	if _, err := getDoc(ctx, s.t.Projects, "p", pid, &p); err != nil {
		return "", fault.E("platform.SubscriptionOf", err)
	}
	return p.SubscriptionID, nil
}

// RequireSubscriptionOwner refuses anyone but sub's Subscription Owners
// (NotFound for outsiders, Forbidden for its other users).
func (s *Service) RequireSubscriptionOwner(ctx context.Context, c Caller, sub string) error {
	return s.requireSubscriptionOwner(ctx, c, sub)
}

// RequireProjectOwner refuses anyone but the project's owners (Subscription
// Owners included): NotFound for outsiders, Forbidden for other members.
func (s *Service) RequireProjectOwner(ctx context.Context, c Caller, pid, what string) error {
	a, err := s.projectAccess(ctx, c, pid)
	if err != nil {
		return err
	}
	return a.require(RoleOwner, what)
}

// CreateSubscription bootstraps a customer; the caller becomes its owner.
func (s *Service) CreateSubscription(ctx context.Context, c Caller, id, name string) (Subscription, error) {
	const op = "platform.CreateSubscription"
	if !s.CanCreateSubscriptions(c) {
		return Subscription{}, forbidden(op, "creating subscriptions is reserved to the platform administrators")
	}
	if !slugPattern.MatchString(id) {
		return Subscription{}, fault.E(op, fault.Invalid, "id must be 2–40 lower-case letters, digits and inner hyphens")
	}
	if strings.TrimSpace(name) == "" {
		name = id
	}
	if err := capText(op, "name", name, MaxNameBytes); err != nil {
		return Subscription{}, err
	}
	sub := Subscription{ID: id, Name: name, CreatedAt: s.now().UTC(), CreatedBy: actorID(c)}
	if err := s.bind(ctx, c, "subscription"); err != nil {
		return Subscription{}, err // before anything is written
	}
	if s.Homes != nil {
		home, err := s.Homes.ClaimSubscription(ctx, id)
		if err != nil {
			return Subscription{}, fault.E(op, err)
		}
		sub.Home = home
	}
	if _, err := insertDoc(ctx, s.t.Subscriptions, "s", id, sub); err != nil {
		if fault.Is(err, fault.Conflict) {
			return Subscription{}, fault.E(op, fault.Conflict, "a subscription with this id exists")
		}
		return Subscription{}, fault.E(op, err)
	}
	if c.UserID != "" {
		u := User{ID: c.UserID, SubscriptionID: id, Email: c.Email, Name: c.Name, SubscriptionOwner: true, Status: StatusActive}
		if _, err := s.putUser(ctx, u, ""); err != nil {
			return Subscription{}, fault.E(op, err)
		}
	}
	return sub, s.record(ctx, c, audit.SubscriptionScope(id), "subscription.create", "subscriptions/"+id, nil, sub)
}

// GetSubscription shows a subscription to its users.
func (s *Service) GetSubscription(ctx context.Context, c Caller, id string) (Subscription, error) {
	if _, err := s.subscriptionUser(ctx, c, id); err != nil {
		return Subscription{}, err
	}
	var sub Subscription
	_, err := getDoc(ctx, s.t.Subscriptions, "s", id, &sub)
	if fault.Is(err, fault.NotFound) {
		return Subscription{}, notFound("platform.GetSubscription", "subscription "+id)
	}
	return sub, err
}

func (s *Service) requireSubscriptionOwner(ctx context.Context, c Caller, sub string) error {
	u, err := s.subscriptionUser(ctx, c, sub)
	if err != nil {
		return err
	}
	if !u.SubscriptionOwner {
		return forbidden("platform", "only Subscription Owners may do this")
	}
	return nil
}

// SubscriptionOwners are the addresses of sub's active, enabled
// Subscription Owners: who the security alerts are sent to.
func (s *Service) SubscriptionOwners(ctx context.Context, sub string) ([]string, error) {
	rows, _, err := listDocs[userRow](ctx, s.t.Users, sub, 5000)
	if err != nil {
		return nil, fault.E("platform.SubscriptionOwners", err)
	}
	var out []string
	for _, r := range rows {
		if r.SubscriptionOwner && r.Status == StatusActive && !r.Disabled && r.Email != "" {
			out = append(out, r.Email)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ListUsers is the Customer Portal's user list (Subscription Owners).
func (s *Service) ListUsers(ctx context.Context, c Caller, sub string) ([]User, error) {
	if err := s.requireSubscriptionOwner(ctx, c, sub); err != nil {
		return nil, err
	}
	rows, etags, err := listDocs[userRow](ctx, s.t.Users, sub, 5000)
	if err != nil {
		return nil, fault.E("platform.ListUsers", err)
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = r.User
		out[i].ETag = etags[i]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out, nil
}

// Invite adds an invited user and returns the invitation with its token
// (shown once). Re-inviting a pending address issues a new token.
func (s *Service) Invite(ctx context.Context, c Caller, sub, email, name string, owner bool) (Invitation, error) {
	const op = "platform.Invite"
	if err := s.requireSubscriptionOwner(ctx, c, sub); err != nil {
		return Invitation{}, err
	}
	email = strings.ToLower(strings.TrimSpace(email))
	if !emailPattern.MatchString(email) || len(email) > 254 {
		return Invitation{}, fault.E(op, fault.Invalid, fmt.Sprintf("%q is not an e-mail address", email))
	}
	if err := capText(op, "name", name, MaxNameBytes); err != nil {
		return Invitation{}, err
	}
	uid := UserID(email)
	existing, err := s.getUser(ctx, sub, uid)
	switch {
	case err == nil && existing.Status == StatusActive:
		return Invitation{}, fault.E(op, fault.Conflict, email+" is already a user of this subscription")
	case err != nil && !fault.Is(err, fault.NotFound):
		return Invitation{}, fault.E(op, err)
	}
	now := s.now().UTC()
	u := User{ID: uid, SubscriptionID: sub, Email: email, Name: name, SubscriptionOwner: owner, Status: StatusInvited, InvitedBy: actorID(c), InvitedAt: now}
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	inv := Invitation{SubscriptionID: sub, Email: email, ExpiresAt: now.Add(InvitationLifetime), InvitedBy: actorID(c)}
	// The e-mail is built and checked before the first write: a refused
	// invitation stores nothing (no user, no invitation, no audit entry).
	var n mail.Notification
	if s.Outbox != nil {
		to := email
		if name != "" {
			to = (&netmail.Address{Name: name, Address: email}).String()
		}
		n = mail.Notification{ID: "invitation:" + sub + ":" + tokenHash(token)[:24], Project: mail.SubscriptionScope(sub),
			Kind: mail.KindInvitation, To: []string{to}, Data: map[string]any{"subscription": sub, "invitedBy": c.Email,
				"acceptUrl": strings.TrimRight(s.PublicURL, "/") + "/api/invitations/" + token + "/accept", "expiresAt": inv.ExpiresAt}}
		check := n
		check.To = append([]string(nil), n.To...)
		if err := check.Validate(); err != nil {
			return Invitation{}, fault.E(op, err)
		}
	}
	if err == nil {
		_, err = s.putUser(ctx, u, existing.ETag)
	} else {
		_, err = s.putUser(ctx, u, "")
	}
	if err != nil {
		return Invitation{}, fault.E(op, err)
	}
	if _, err := insertDoc(ctx, s.t.Invitations, "i", tokenHash(token), inv); err != nil {
		return Invitation{}, fault.E(op, err)
	}
	if err := s.record(ctx, c, audit.SubscriptionScope(sub), "user.invite", "users/"+uid, nil, u); err != nil {
		return Invitation{}, err
	}
	if s.Outbox != nil {
		if err := s.Outbox.Enqueue(ctx, n); err != nil {
			return Invitation{}, fault.E(op, err)
		}
	}
	inv.Token = token
	return inv, nil
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// AcceptInvitation activates the invited user; the caller's e-mail must be
// the invited one.
func (s *Service) AcceptInvitation(ctx context.Context, c Caller, token string) (User, error) {
	const op = "platform.AcceptInvitation"
	var inv Invitation
	ietag, err := getDoc(ctx, s.t.Invitations, "i", tokenHash(token), &inv)
	if fault.Is(err, fault.NotFound) {
		return User{}, notFound(op, "invitation")
	}
	if err != nil {
		return User{}, fault.E(op, err)
	}
	if !strings.EqualFold(inv.Email, c.Email) {
		return User{}, notFound(op, "invitation") // do not confirm it exists to someone else
	}
	if !inv.AcceptedAt.IsZero() {
		return User{}, fault.E(op, fault.Conflict, "this invitation was already accepted")
	}
	if s.now().After(inv.ExpiresAt) {
		return User{}, fault.E(op, fault.Gone, "this invitation expired; ask for a new one")
	}
	u, err := s.getUser(ctx, inv.SubscriptionID, c.UserID)
	if err != nil {
		return User{}, fault.E(op, err)
	}
	if err := s.bind(ctx, c, "invitation"); err != nil {
		return User{}, err // accepted through another identity than the address's
	}
	before := u
	u.Status = StatusActive
	if u.Name == "" {
		u.Name = c.Name
	}
	inv.AcceptedAt = s.now().UTC()
	if _, err := updateDoc(ctx, s.t.Invitations, "i", tokenHash(token), inv, ietag); err != nil {
		return User{}, fault.E(op, err)
	}
	if u.ETag, err = s.putUser(ctx, u, u.ETag); err != nil {
		return User{}, fault.E(op, err)
	}
	return u, s.record(ctx, c, audit.SubscriptionScope(u.SubscriptionID), "user.accept", "users/"+u.ID, before, u)
}

// UserPatch changes a subscription user; nil fields stay.
type UserPatch struct {
	Disabled          *bool `json:"disabled"`
	SubscriptionOwner *bool `json:"subscriptionOwner"`
}

// PatchUser disables/enables a user or changes their ownership (Subscription
// Owners). The last active owner cannot be disabled or demoted.
func (s *Service) PatchUser(ctx context.Context, c Caller, sub, uid string, p UserPatch, ifMatch string) (User, error) {
	const op = "platform.PatchUser"
	if err := s.requireSubscriptionOwner(ctx, c, sub); err != nil {
		return User{}, err
	}
	u, err := s.getUser(ctx, sub, uid)
	if fault.Is(err, fault.NotFound) {
		return User{}, notFound(op, "user "+uid)
	}
	if err != nil {
		return User{}, fault.E(op, err)
	}
	if ifMatch != "" && ifMatch != u.ETag {
		return User{}, fault.E(op, fault.PreconditionFailed, "the user changed since you read it")
	}
	before := u
	if p.Disabled != nil {
		u.Disabled = *p.Disabled
	}
	if p.SubscriptionOwner != nil {
		u.SubscriptionOwner = *p.SubscriptionOwner
	}
	if before.SubscriptionOwner && !before.Disabled && (!u.SubscriptionOwner || u.Disabled) {
		users, _, err := listDocs[userRow](ctx, s.t.Users, sub, 5000)
		if err != nil {
			return User{}, fault.E(op, err)
		}
		others := 0
		for _, o := range users {
			if o.ID != uid && o.SubscriptionOwner && !o.Disabled && o.Status == StatusActive {
				others++
			}
		}
		if others == 0 {
			return User{}, fault.E(op, fault.Conflict, "the last active Subscription Owner cannot be disabled or demoted")
		}
	}
	if u.ETag, err = s.putUser(ctx, u, u.ETag); err != nil {
		return User{}, fault.E(op, err)
	}
	return u, s.record(ctx, c, audit.SubscriptionScope(sub), "user.patch", "users/"+uid, before, u)
}

// ---- projects ---------------------------------------------------------------

// access is the caller's standing in a project.
type access struct {
	project  Project
	role     Role // effective: owner for Subscription Owners
	subOwner bool
}

func (s *Service) projectAccess(ctx context.Context, c Caller, pid string) (access, error) {
	var a access
	etag, err := getDoc(ctx, s.t.Projects, "p", pid, &a.project)
	if fault.Is(err, fault.NotFound) {
		return a, notFound("platform", "project "+pid)
	}
	if err != nil {
		return a, err
	}
	a.project.ETag = etag
	if c.UserID == "" {
		return a, notFound("platform", "project "+pid)
	}
	u, err := s.activeUser(ctx, c, a.project.SubscriptionID)
	if err != nil {
		s.probe(ctx, c, a.project.SubscriptionID, pid, "projects/"+pid)
		return a, notFound("platform", "project "+pid)
	}
	if u.SubscriptionOwner {
		a.role, a.subOwner = RoleOwner, true
		return a, nil
	}
	var m Member
	if _, err := getDoc(ctx, s.t.Members, pid, c.UserID, &m); err != nil {
		if fault.Is(err, fault.NotFound) {
			s.probe(ctx, c, a.project.SubscriptionID, pid, "projects/"+pid)
			return a, notFound("platform", "project "+pid)
		}
		return a, err
	}
	a.role = m.Role
	return a, nil
}

// RoleIn returns the caller's effective role in a project (for other
// modules' authorization); NotFound when they cannot see it.
func (s *Service) RoleIn(ctx context.Context, c Caller, pid string) (Role, error) {
	a, err := s.projectAccess(ctx, c, pid)
	return a.role, err
}

// RequireAdmin is the one "admin or owner" check of the modules a project
// configures (parameters, connectors, jobs, maintenance windows, e-mail):
// nil when the caller is an admin or owner of the project, Forbidden for
// another member (what names the refused action: "only project admins and
// owners "+what), and NotFound for anyone else, as RoleIn.
func (s *Service) RequireAdmin(ctx context.Context, c Caller, pid, what string) error {
	a, err := s.projectAccess(ctx, c, pid)
	if err != nil {
		return err
	}
	if !a.role.Administers() {
		return forbidden("platform.RequireAdmin", "only project admins and owners "+what)
	}
	return nil
}

func (a access) require(min Role, what string) error {
	rank := map[Role]int{RoleDeveloper: 1, RoleAdmin: 2, RoleOwner: 3}
	if rank[a.role] < rank[min] {
		return forbidden("platform", fmt.Sprintf("only project %ss may %s", min, what))
	}
	return nil
}

// ListProjects lists the subscription's projects the caller can open.
func (s *Service) ListProjects(ctx context.Context, c Caller, sub string) ([]Project, error) {
	u, err := s.subscriptionUser(ctx, c, sub)
	if err != nil {
		return nil, err
	}
	es, err := s.t.Projects.QueryAll(ctx, store.And(store.Eq("PartitionKey", "p"), store.Eq("Sub", sub)), 5000)
	if err != nil {
		return nil, fault.E("platform.ListProjects", err)
	}
	out := []Project{}
	for _, e := range es {
		var p Project
		if err := unmarshalDoc(e, &p); err != nil {
			return nil, err
		}
		p.ETag = e.ETag
		if !u.SubscriptionOwner {
			if _, err := s.t.Members.Get(ctx, store.EncodeKey(p.ID), store.EncodeKey(c.UserID)); err != nil {
				continue
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// CreateProject adds a project (Subscription Owners). Project ids are
// global; a taken id is a Conflict.
func (s *Service) CreateProject(ctx context.Context, c Caller, sub, id, name, desc string) (Project, error) {
	const op = "platform.CreateProject"
	if err := s.requireSubscriptionOwner(ctx, c, sub); err != nil {
		return Project{}, err
	}
	if !slugPattern.MatchString(id) {
		return Project{}, fault.E(op, fault.Invalid, "id must be 2–40 lower-case letters, digits and inner hyphens")
	}
	if name == "" {
		name = id
	}
	if err := capText(op, "name", name, MaxNameBytes); err != nil {
		return Project{}, err
	}
	if err := capText(op, "description", desc, MaxDescriptionBytes); err != nil {
		return Project{}, err
	}
	p := Project{ID: id, SubscriptionID: sub, Name: name, Description: desc, CreatedAt: s.now().UTC()}
	if s.Homes != nil {
		if err := s.Homes.ClaimProject(ctx, id, sub); err != nil {
			return Project{}, fault.E(op, err)
		}
	}
	etag, err := s.t.Projects.Insert(ctx, docEntity("p", id, p, map[string]any{"Sub": sub}))
	if err = writeErr(op, err, fault.Conflict, "a project with this id exists"); err != nil {
		return Project{}, err
	}
	p.ETag = etag
	return p, s.record(ctx, c, audit.ProjectScope(id), "project.create", "projects/"+id, nil, p)
}

// GetProject shows a project to its members.
func (s *Service) GetProject(ctx context.Context, c Caller, pid string) (Project, error) {
	a, err := s.projectAccess(ctx, c, pid)
	return a.project, err
}

// ProjectPatch changes a project; nil fields stay.
type ProjectPatch struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// PatchProject renames or redescribes a project (owners).
func (s *Service) PatchProject(ctx context.Context, c Caller, pid string, p ProjectPatch, ifMatch string) (Project, error) {
	const op = "platform.PatchProject"
	a, err := s.projectAccess(ctx, c, pid)
	if err != nil {
		return Project{}, err
	}
	if err := a.require(RoleOwner, "change the project"); err != nil {
		return Project{}, err
	}
	if err := matches(op, ifMatch, a.project.ETag, "the project"); err != nil {
		return Project{}, err
	}
	ifMatch = a.project.ETag
	before, after := a.project, a.project
	if p.Name != nil {
		if strings.TrimSpace(*p.Name) == "" {
			return Project{}, fault.E(op, fault.Invalid, "name cannot be empty")
		}
		if err := capText(op, "name", *p.Name, MaxNameBytes); err != nil {
			return Project{}, err
		}
		after.Name = *p.Name
	}
	if p.Description != nil {
		if err := capText(op, "description", *p.Description, MaxDescriptionBytes); err != nil {
			return Project{}, err
		}
		after.Description = *p.Description
	}
	etag, err := s.t.Projects.Update(ctx, docEntity("p", pid, after, map[string]any{"Sub": after.SubscriptionID}), ifMatch)
	if err = writeErr(op, err, fault.PreconditionFailed, "the project changed since you read it"); err != nil {
		return Project{}, err
	}
	after.ETag = etag
	return after, s.record(ctx, c, audit.ProjectScope(pid), "project.patch", "projects/"+pid, before, after)
}

// DeleteProject removes a project (owners). Members, teams and environments
// rows stay as orphans that nobody can reach; a cleanup job may sweep them.
func (s *Service) DeleteProject(ctx context.Context, c Caller, pid, ifMatch string) error {
	const op = "platform.DeleteProject"
	a, err := s.projectAccess(ctx, c, pid)
	if err != nil {
		return err
	}
	if err := a.require(RoleOwner, "delete the project"); err != nil {
		return err
	}
	if err := matches(op, ifMatch, a.project.ETag, "the project"); err != nil {
		return err
	}
	if err := s.t.Projects.Delete(ctx, store.EncodeKey("p"), store.EncodeKey(pid), a.project.ETag); err != nil {
		if fault.Is(err, fault.PreconditionFailed) {
			return fault.E(op, fault.PreconditionFailed, "the project changed since you read it")
		}
		return fault.E(op, err)
	}
	return s.record(ctx, c, audit.ProjectScope(pid), "project.delete", "projects/"+pid, a.project, nil)
}
