package security

import (
	"fmt"
	"sort"
	"strings"

	"github.com/studio-collab/collab/shared/fault"
)

// Index is a project's entries compiled into a trie over path segments, so
// a check walks at most the path's depth and allocates nothing. Immutable
// once built; safe for concurrent use.
type Index struct {
	root             *node
	developerDefault Level
	entries          []Entry
	version          string
}

type node struct {
	children map[string]*node
	users    map[string]grant
	teams    map[string]grant
}

// grant keeps the principal's full name, built once, so that explaining a
// decision does not allocate.
type grant struct {
	level     Level
	principal Principal
}

// Settings are the project's security settings.
type Settings struct {
	// DeveloperDefault is Modify (the default) or Deny.
	DeveloperDefault Level `json:"developerDefault"`
}

// Build compiles entries. version identifies the entry set (the storage
// ETag), so a cache can tell whether it is current. Invalid entries are
// refused: they cannot have been granted.
func Build(entries []Entry, s Settings, version string) (*Index, error) {
	if s.DeveloperDefault == None {
		s.DeveloperDefault = Modify
	}
	if s.DeveloperDefault != Modify && s.DeveloperDefault != Deny {
		return nil, fault.E("security.Build", fault.Invalid, "the developer default is modify or deny")
	}
	ix := &Index{root: &node{}, developerDefault: s.DeveloperDefault, version: version}
	for _, e := range entries {
		if err := validateEntry(e); err != nil {
			return nil, err
		}
		n := ix.root
		for seg := range strings.SplitSeq(e.Path, "/") {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			c, ok := n.children[seg]
			if !ok {
				c = &node{}
				n.children[seg] = c
			}
			n = c
		}
		kind, id := e.Principal.Split()
		g := grant{level: e.Level, principal: e.Principal}
		if kind == "user" {
			if n.users == nil {
				n.users = map[string]grant{}
			}
			n.users[id] = g
		} else {
			if n.teams == nil {
				n.teams = map[string]grant{}
			}
			n.teams[id] = g
		}
	}
	ix.entries = append([]Entry(nil), entries...)
	sort.Slice(ix.entries, func(i, j int) bool {
		if ix.entries[i].Path != ix.entries[j].Path {
			return ix.entries[i].Path < ix.entries[j].Path
		}
		return ix.entries[i].Principal < ix.entries[j].Principal
	})
	return ix, nil
}

func validateEntry(e Entry) error {
	if err := ValidatePath(e.Path); err != nil {
		return err
	}
	if _, err := ParsePrincipal(string(e.Principal)); err != nil {
		return err
	}
	if e.Level < Deny || e.Level > Full {
		return fault.E("security", fault.Invalid, "the level is deny, modify or full")
	}
	if IsMainNode(e.Path) && e.Level != Deny {
		return fault.E("security", fault.Invalid, fmt.Sprintf("%s is a main node: only deny can be set on it", e.Path))
	}
	return nil
}

// Version is the version the index was built from.
func (ix *Index) Version() string { return ix.version }

// Entries returns the entries, sorted by path then principal.
func (ix *Index) Entries() []Entry { return ix.entries }

// Settings returns the settings the index was built with.
func (ix *Index) Settings() Settings { return Settings{DeveloperDefault: ix.developerDefault} }

// relevant reports whether n carries an entry for s or one of s's teams.
func (n *node) relevant(s *Subject) bool {
	if _, ok := n.users[s.UserID]; ok {
		return true
	}
	if len(n.teams) == 0 {
		return false
	}
	for _, t := range s.Teams {
		if _, ok := n.teams[t]; ok {
			return true
		}
	}
	return false
}

// decide applies §4.3 step 2 on the deciding node.
func (n *node) decide(s *Subject) grant {
	if g, ok := n.users[s.UserID]; ok {
		return g
	}
	var best grant
	for _, t := range s.Teams {
		g, ok := n.teams[t]
		if !ok {
			continue
		}
		switch {
		case g.level == Deny:
			return g
		case g.level > best.level || (g.level == best.level && g.principal < best.principal):
			best = g
		}
	}
	return best
}

// Decide evaluates the subject's level on path (which must be valid).
func (ix *Index) Decide(s Subject, path string) Decision {
	if s.Role == RoleOwner {
		return Decision{Level: Full, Owner: true}
	}
	n := ix.root
	var best *node
	bestEnd := 0
	for i := 0; i <= len(path); {
		j := strings.IndexByte(path[i:], '/')
		if j < 0 {
			j = len(path)
		} else {
			j += i
		}
		c := n.children[path[i:j]]
		if c == nil {
			break
		}
		n = c
		if n.relevant(&s) {
			best, bestEnd = n, j
		}
		i = j + 1
	}
	if best == nil {
		return Decision{Level: ix.defaultLevel(s.Role, path), Default: s.Role}
	}
	g := best.decide(&s)
	return Decision{Level: g.level, Path: path[:bestEnd], Principal: g.principal}
}

func (ix *Index) defaultLevel(r Role, path string) Level {
	if area(path) == AreaSecurity {
		return Deny // only an owner's grant lets non-owners into security elements
	}
	switch r {
	case RoleAdmin:
		return Full
	case RoleDeveloper:
		return ix.developerDefault
	}
	return Deny // unknown roles get nothing
}

// Allows reports whether a level permits an action on a path (the action
// table of DESIGN §4.3): Deny still lets one view entities and rules
// (read-only, usable in forms and expressions) but hides the applications
// tree and security elements; Modify allows view and modify; Full also manage.
func Allows(l Level, a Action, path string) bool {
	switch a {
	case View:
		if l >= Modify {
			return true
		}
		ar := area(path)
		return l == Deny && (ar == AreaEntities || ar == AreaRules)
	case Edit:
		return l >= Modify
	case Manage:
		return l == Full
	}
	return false
}

// Check decides and applies the action table in one call.
func (ix *Index) Check(s Subject, path string, a Action) (bool, Decision) {
	d := ix.Decide(s, path)
	return Allows(d.Level, a, path), d
}

// CanGrant says whether grantor may set or remove an entry on path: owners
// anywhere; others only where they have Full Control (that node and below).
// Main nodes take only deny.
func (ix *Index) CanGrant(grantor Subject, e Entry) error {
	if err := validateEntry(e); err != nil {
		return err
	}
	return ix.canManage(grantor, e.Path)
}

// CanRevoke is CanGrant for removing the entry on path.
func (ix *Index) CanRevoke(grantor Subject, path string) error {
	if err := ValidatePath(path); err != nil {
		return err
	}
	return ix.canManage(grantor, path)
}

func (ix *Index) canManage(grantor Subject, path string) error {
	if grantor.Role == RoleOwner {
		return nil
	}
	d := ix.Decide(grantor, path)
	if d.Level == Full {
		return nil
	}
	if area(path) == AreaSecurity {
		return fault.E("security.CanGrant", fault.Forbidden, fmt.Sprintf("only owners, or holders of Full Control on %s, manage security elements", path))
	}
	return fault.E("security.CanGrant", fault.Forbidden,
		fmt.Sprintf("you need Full Control on %s to change its entries (you have %s: %s)", path, d.Level, d.Explain()))
}
