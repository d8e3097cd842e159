package security

import (
	"sort"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	sec "github.com/studio-collab/collab/shared/security"
)

// casbinModel: the first matching policy decides (priority effect), so the
// policies are ordered to give DESIGN §4.3's answer: deeper paths first
// (nearest wins), on one path the user's entry before team entries, team
// denies before other team entries, full before modify; role defaults last.
const casbinModel = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act, eft

[role_definition]
g = _, _

[policy_effect]
e = priority(p.eft) || deny

[matchers]
m = g(r.sub, p.sub) && (p.obj == "*" || r.obj == p.obj || keyMatch(r.obj, p.obj + "/*")) && r.act == p.act
`

// actionsFor is the action table: what a level allows on a path.
func actionsFor(l sec.Level, path string) map[string]string {
	out := map[string]string{}
	for _, a := range []sec.Action{sec.View, sec.Edit, sec.Manage} {
		eft := "deny"
		if sec.Allows(l, a, path) {
			eft = "allow"
		}
		out[string(a)] = eft
	}
	return out
}

// NewCasbin builds an enforcer for entries and the subjects' team
// memberships and roles.
func NewCasbin(entries []sec.Entry, subjects []sec.Subject) (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		return nil, err
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, err
	}
	sorted := append([]sec.Entry(nil), entries...)
	rank := func(x sec.Entry) int {
		kind, _ := x.Principal.Split()
		switch {
		case kind == "user":
			return 0
		case x.Level == sec.Deny:
			return 1
		case x.Level == sec.Full:
			return 2
		default:
			return 3
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		di, dj := strings.Count(sorted[i].Path, "/"), strings.Count(sorted[j].Path, "/")
		if di != dj {
			return di > dj
		}
		if sorted[i].Path != sorted[j].Path {
			return sorted[i].Path < sorted[j].Path
		}
		return rank(sorted[i]) < rank(sorted[j])
	})
	var rules [][]string
	rules = append(rules, []string{"role:owner", "*", "view", "allow"}, []string{"role:owner", "*", "modify", "allow"}, []string{"role:owner", "*", "manage", "allow"})
	for _, en := range sorted {
		for act, eft := range actionsFor(en.Level, en.Path) {
			rules = append(rules, []string{string(en.Principal), en.Path, act, eft})
		}
	}
	// Role defaults, per area (no default on security/*).
	for _, area := range []string{"applications", "entities", "rules"} {
		for role, l := range map[string]sec.Level{"role:admin": sec.Full, "role:developer": sec.Modify} {
			for act, eft := range actionsFor(l, area) {
				rules = append(rules, []string{role, area, act, eft})
			}
		}
	}
	if _, err := e.AddPolicies(rules); err != nil {
		return nil, err
	}
	var links [][]string
	for _, s := range subjects {
		u := string(sec.User(s.UserID))
		links = append(links, []string{u, "role:" + string(s.Role)})
		for _, t := range s.Teams {
			links = append(links, []string{u, string(sec.Team(t))})
		}
	}
	if _, err := e.AddGroupingPolicies(links); err != nil {
		return nil, err
	}
	return e, nil
}
