package platform

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// Role is a member's role in a project.
type Role string

// The roles, lowest first.
const (
	RoleDeveloper Role = "developer"
	RoleAdmin     Role = "admin"
	RoleOwner     Role = "owner"
)

// Administers reports whether the role configures the project's modules
// (parameters, connectors, jobs, maintenance windows, e-mail): an admin or
// an owner. Service.RequireAdmin is the check built on it.
func (r Role) Administers() bool { return r == RoleAdmin || r == RoleOwner }

func (r Role) valid() bool { return r == RoleDeveloper || r == RoleAdmin || r == RoleOwner }

// Caller is who makes a request, as the platform sees them.
type Caller struct {
	PrincipalID string // from the token
	Issuer      string // who vouched for the caller (the identity's issuer)
	Subject     string // who the issuer says the caller is
	UserID      string // UserID(Email); empty for service principals
	Email       string
	Name        string
	Service     bool
	Roles       []string // application roles of a service principal
}

// Identity is the (issuer, subject) the caller signed in as.
func (c Caller) Identity() Identity { return Identity{Issuer: c.Issuer, Subject: c.Subject} }

// UserID is the stable id of an e-mail address.
func UserID(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return "u-" + hex.EncodeToString(sum[:8])
}

// UserRef reads a user as a caller names one: a user id (u-…), the same
// prefixed as a security principal (user:u-…), or an e-mail address (its
// id is derived). Anything else is Invalid, naming what is expected.
func UserRef(s string) (string, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "user:")
	switch {
	case userIDPattern.MatchString(s):
		return s, nil
	case strings.Contains(s, "@") && emailPattern.MatchString(s) && len(s) <= 254:
		return UserID(s), nil
	}
	return "", fault.E("platform.UserRef", fault.Invalid, fmt.Sprintf("user %q: give a user id (u-…) or an e-mail address", s))
}

var userIDPattern = regexp.MustCompile(`^u-[0-9a-f]{16}$`)

// Subscription is a customer.
type Subscription struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	CreatedBy string    `json:"createdBy"`
	// Home is the stamp that holds the subscription's data (absent in a
	// single-stamp deployment).
	Home string `json:"home,omitempty"`
}

// User is a person in a subscription (the Customer Portal's view).
type User struct {
	ID                string    `json:"id"`
	SubscriptionID    string    `json:"subscriptionId"`
	Email             string    `json:"email"`
	Name              string    `json:"name,omitempty"`
	SubscriptionOwner bool      `json:"subscriptionOwner"`
	Disabled          bool      `json:"disabled"`
	Status            string    `json:"status"` // "invited" | "active"
	InvitedBy         string    `json:"invitedBy,omitempty"`
	InvitedAt         time.Time `json:"invitedAt,omitzero"`
	ETag              string    `json:"-"`
}

// UserStatus values.
const (
	StatusInvited = "invited"
	StatusActive  = "active"
)

// Invitation is a pending invitation; Token is only ever returned once, on
// creation (the store keeps its hash).
type Invitation struct {
	Token          string    `json:"token,omitempty"`
	SubscriptionID string    `json:"subscriptionId"`
	Email          string    `json:"email"`
	ExpiresAt      time.Time `json:"expiresAt"`
	AcceptedAt     time.Time `json:"acceptedAt,omitzero"`
	InvitedBy      string    `json:"invitedBy"`
}

// InvitationLifetime is how long an invitation can be accepted.
const InvitationLifetime = 7 * 24 * time.Hour

// Project is a project of a subscription.
type Project struct {
	ID             string    `json:"id"`
	SubscriptionID string    `json:"subscriptionId"`
	Name           string    `json:"name"`
	Description    string    `json:"description,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
	ETag           string    `json:"-"`
}

// Member is a user's role in a project.
type Member struct {
	ProjectID string `json:"projectId"`
	UserID    string `json:"userId"`
	Email     string `json:"email"`
	Role      Role   `json:"role"`
	ETag      string `json:"-"`
}

// Team is a Collaboration Team: a named group of project members.
type Team struct {
	ProjectID string   `json:"projectId"`
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Members   []string `json:"members"`
	ETag      string   `json:"-"`
}

// Environment kinds and statuses.
const (
	KindDevelopment = "development"
	KindTest        = "test"
	KindProduction  = "production"

	EnvRunning     = "running"
	EnvMaintenance = "maintenance"
	EnvDegraded    = "degraded"
)

// Environment is one of a project's environments.
type Environment struct {
	ProjectID     string `json:"projectId"`
	Name          string `json:"name"`
	Kind          string `json:"kind"`
	WorkPortalURL string `json:"workPortalUrl,omitempty"`
	SchedulerURL  string `json:"schedulerUrl,omitempty"`
	Status        string `json:"status"`
	ETag          string `json:"-"`
}

// Me is what GET /api/me shows.
type Me struct {
	ID            string           `json:"id"`
	Email         string           `json:"email"`
	Name          string           `json:"name,omitempty"`
	Service       bool             `json:"service,omitempty"`
	Subscriptions []MySubscription `json:"subscriptions"`
	Projects      []MyProject      `json:"projects"`
}

// MySubscription is a subscription the caller belongs to.
type MySubscription struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Owner bool   `json:"owner"`
}

// MyProject is a project the caller can open, with their effective role.
type MyProject struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscriptionId"`
	Name           string `json:"name"`
	Role           Role   `json:"role"`
}

// Caps of free-text fields (documented in api/openapi.yaml as maxLength):
// with them every platform row is far under a table row's limits.
const (
	MaxNameBytes        = 200
	MaxDescriptionBytes = 4096
	MaxURLBytes         = 2048
)

// capText refuses a text field over max bytes, or one that holds a control
// character (NUL, CR, LF, …), naming it: names and descriptions are single
// lines that end up in e-mail headers, logs and table rows, where a line
// break or a NUL is an injection, never content.
func capText(op, field, v string, max int) error {
	if len(v) > max {
		return fault.E(op, fault.Invalid, fmt.Sprintf("%s is %d bytes; at most %d", field, len(v), max))
	}
	if i := strings.IndexFunc(v, isControl); i >= 0 {
		return fault.E(op, fault.Invalid, fmt.Sprintf("%s must not contain control characters (found %U at byte %d)", field, []rune(v[i:])[0], i))
	}
	return nil
}

// isControl is a C0 or C1 control character, DEL, or a Unicode line or
// paragraph separator.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == '\u2028' || r == '\u2029'
}

var (
	slugPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$`)
	emailPattern = regexp.MustCompile(`^[^@\s<>"',;]+@[^@\s<>"',;]+\.[^@\s<>"',;]+$`)
)

// matches checks an If-Match against the ETag just read, before anything is
// written: any well-formed tag that is not the current one is a stale read
// (412 with a detail), whatever the storage would say of its format. ""
// and "*" match.
func matches(op, ifMatch, current, what string) error {
	if ifMatch == "" || ifMatch == "*" || ifMatch == current {
		return nil
	}
	return fault.E(op, fault.PreconditionFailed, what+" changed since you read it (If-Match "+ifMatch+" is not its current ETag; read it again)")
}
