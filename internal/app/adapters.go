package app

import (
	"context"
	"fmt"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/catalog"
	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/mail"
	"github.com/studio-collab/collab/shared/platform"
	"github.com/studio-collab/collab/shared/security"
	"github.com/studio-collab/collab/shared/security/acl"
)

// The adapters below let one module use another through an interface the
// user declares, so that no domain package imports another's service. They
// live here, with the wiring, because they are wiring: a shape conversion
// and nothing else.

// catalogFeed is the catalog's change feed as deployments read it
// (deploy.ChangeSource): every change in sequence order, not filtered by
// anyone's permissions.
type catalogFeed struct{ c *catalog.Service }

func (f catalogFeed) Changes(ctx context.Context, project string, after int64, limit int) ([]deploy.Change, int64, error) {
	cs, head, err := f.c.Changes(ctx, project, after, limit)
	if err != nil {
		return nil, 0, err
	}
	out := make([]deploy.Change, len(cs))
	for i, c := range cs {
		out[i] = deploy.Change{Seq: c.Seq, Path: c.Path, Op: c.Op, Version: c.Version, SHA256: c.SHA256,
			CommittedBy: c.CommittedBy, CommittedAt: c.CommittedAt}
	}
	return out, head, nil
}

// deployOnCommit is deployments as the catalog's subscriber: every
// acknowledged commit requests its deployment (a lost request is caught up
// by the reconciler, so a failure is only logged).
type deployOnCommit struct{ d *deploy.Service }

func (s deployOnCommit) Committed(ctx context.Context, project string, seq int64) {
	if err := s.d.Request(ctx, project, seq); err != nil {
		httpapi.Logger(ctx).Warn("deployment request", "project", project, "seq", seq, "error", err.Error())
	}
}

// outboxNotifier sends deployment notices as e-mail through the outbox
// (idempotent on the notice id, as deploy.Notifier requires).
type outboxNotifier struct{ o *mail.Outbox }

func (n outboxNotifier) Notify(ctx context.Context, x deploy.Notice) error {
	return n.o.Enqueue(ctx, mail.Notification{ID: x.ID, Project: x.Project, Kind: x.Kind, To: x.To, Data: x.Data})
}

// deployDirectory is the platform as deploy.Directory.
type deployDirectory struct{ p *platform.Service }

func (d deployDirectory) Environments(ctx context.Context, project string) ([]string, error) {
	es, err := d.p.EnvironmentsOf(ctx, project)
	names := make([]string, 0, len(es))
	for _, e := range es {
		names = append(names, e.Name)
	}
	return names, err
}

func (d deployDirectory) Environment(ctx context.Context, project, env string) (deploy.EnvInfo, error) {
	e, err := d.p.Environment(ctx, project, env)
	return deploy.EnvInfo{WorkPortalURL: e.WorkPortalURL, SchedulerURL: e.SchedulerURL, Status: e.Status}, err
}

func (d deployDirectory) Members(ctx context.Context, project string) ([]deploy.Member, error) {
	ms, err := d.p.MembersOf(ctx, project)
	out := make([]deploy.Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, deploy.Member{Email: m.Email, Owner: m.Role == platform.RoleOwner})
	}
	return out, err
}

func (d deployDirectory) SetStatus(ctx context.Context, project, env, status string) error {
	return d.p.SetEnvironmentStatus(ctx, project, env, status)
}

// studioSecurity is Studio Security as the catalog's check-in authorizer:
// the author's role and teams in the project (platform) checked against the
// project's access-control index (acl) for edit on each path.
type studioSecurity struct {
	p   *platform.Service
	acl *acl.Service
}

func (s studioSecurity) Denied(ctx context.Context, project string, author catalog.Author, paths []string) ([]string, error) {
	role, teams, err := s.p.SubjectOf(ctx, project, author.ID)
	if err != nil {
		return nil, err
	}
	ix, err := s.acl.Index(ctx, project)
	if err != nil {
		return nil, err
	}
	subj := security.Subject{UserID: author.ID, Teams: teams, Role: security.Role(role)}
	var denied []string
	for _, p := range paths {
		if ok, _ := ix.Check(subj, p, security.Edit); !ok {
			denied = append(denied, p)
		}
	}
	return denied, nil
}

// catalogAudit is the audit log as the catalog's Auditor: a revert or a
// restore goes to the project's log with the commit it undoes as target.
type catalogAudit struct{ log *audit.Log }

func (a catalogAudit) Undone(ctx context.Context, project string, who catalog.Author, u catalog.Undo) error {
	return a.log.Record(ctx, audit.ProjectScope(project), audit.Entry{Actor: who.ID, ActorName: who.Email, Action: u.Action,
		Target: fmt.Sprintf("commits/%d", u.Undoes), RequestID: httpapi.RequestID(ctx)}, nil, u)
}
