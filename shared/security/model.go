package security

import (
	"fmt"
	"strings"

	"github.com/studio-collab/collab/shared/fault"
)

// Level is an access level. The zero Level means "no entry".
type Level uint8

// The levels, in increasing order.
const (
	None   Level = iota
	Deny         // see entities and rules read-only; nothing of the applications tree
	Modify       // create, edit, delete the object and everything under it
	Full         // Modify, plus change the security entries of the object and its subtree
)

var levelNames = [...]string{None: "none", Deny: "deny", Modify: "modify", Full: "full"}

func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", l)
}

// ParseLevel reads "deny", "modify" or "full".
func ParseLevel(s string) (Level, error) {
	switch strings.ToLower(s) {
	case "deny":
		return Deny, nil
	case "modify":
		return Modify, nil
	case "full":
		return Full, nil
	}
	return None, fault.E("security.ParseLevel", fault.Invalid, fmt.Sprintf("level %q: want deny, modify or full", s))
}

// MarshalText writes the level's name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a level's name.
func (l *Level) UnmarshalText(b []byte) error {
	v, err := ParseLevel(string(b))
	*l = v
	return err
}

// Role is a member's project role as security sees it.
type Role string

// Roles.
const (
	RoleOwner     Role = "owner" // Project Owner or Subscription Owner
	RoleAdmin     Role = "admin"
	RoleDeveloper Role = "developer"
)

// Administers reports whether the role may act on others' behalf (check or
// see another member's access): a project admin or owner, as
// platform.Role.Administers.
func (r Role) Administers() bool { return r == RoleOwner || r == RoleAdmin }

// Principal is "user:<id>" or "team:<id>".
type Principal string

// User and Team build principals.
func User(id string) Principal { return Principal("user:" + id) }
func Team(id string) Principal { return Principal("team:" + id) }

// Split returns the principal's kind ("user" or "team") and id.
func (p Principal) Split() (kind, id string) {
	k, v, _ := strings.Cut(string(p), ":")
	return k, v
}

// ParsePrincipal validates "user:<id>" or "team:<id>".
func ParsePrincipal(s string) (Principal, error) {
	k, id, ok := strings.Cut(s, ":")
	if !ok || (k != "user" && k != "team") || !segmentPattern.MatchString(id) {
		return "", fault.E("security.ParsePrincipal", fault.Invalid, fmt.Sprintf("principal %q: want user:<id> or team:<id>", s))
	}
	return Principal(s), nil
}

// Entry is one security entry.
type Entry struct {
	Path      string    `json:"path"`
	Principal Principal `json:"principal"`
	Level     Level     `json:"level"`
}

// Subject is who is being checked: their user id, teams and role.
type Subject struct {
	UserID string
	Teams  []string
	Role   Role
}

// Action is what the subject wants to do.
type Action string

// Actions.
const (
	View   Action = "view"
	Edit   Action = "modify"
	Manage Action = "manage"
)

// ParseAction reads "view", "modify" or "manage".
func ParseAction(s string) (Action, error) {
	switch Action(s) {
	case View, Edit, Manage:
		return Action(s), nil
	}
	return "", fault.E("security.ParseAction", fault.Invalid, fmt.Sprintf("action %q: want view, modify or manage", s))
}

// Decision is an evaluated level with its explanation.
type Decision struct {
	Level Level
	// Exactly one of the following explains it.
	Owner     bool      // the subject is an owner
	Path      string    // the node that decided
	Principal Principal // the entry on that node that decided
	Default   Role      // no entry on the path: the role's default
}

// Explain is a sentence for people reading an admin screen.
func (d Decision) Explain() string {
	switch {
	case d.Owner:
		return "owners have Full Control everywhere"
	case d.Path != "":
		return fmt.Sprintf("%s on %s decides: %s", d.Principal, d.Path, d.Level)
	default:
		return fmt.Sprintf("no entry on the path: the %s default is %s", d.Default, d.Level)
	}
}
