package platform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/audit"
	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Identity is who a person signs in as: the issuer (as its discovery
// document names it) and the subject it vouches for (Entra's oid, else
// sub). DESIGN §5: a user is bound to one (issuer, subject).
type Identity struct {
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
}

func (id Identity) String() string {
	return fmt.Sprintf("issuer %q, subject %q", id.Issuer, id.Subject)
}

// Binding is an identity an address accepts: the one it was bound to on
// first use, or one an owner linked to it.
type Binding struct {
	Identity
	Via      string    `json:"via"` // sign-in | invitation | subscription | link
	BoundAt  time.Time `json:"boundAt"`
	LinkedBy string    `json:"linkedBy,omitempty"`
}

// The bindings of an address live in its user-index partition, next to its
// subscription rows (so Admit reads them with the same one query). Their row
// keys start with '@', which no subscription id does. The first binding's
// row key is fixed, so two identities racing to bind one address cannot
// both win: the second insert is a conflict.
const (
	bindingRow     = "@identity"
	linkRowPrefix  = "@link-"
	identityPrefix = "@"
)

func linkRow(id Identity) string {
	sum := sha256.Sum256([]byte(id.Issuer + "\n" + id.Subject))
	return linkRowPrefix + hex.EncodeToString(sum[:12])
}

func isBindingRow(rk string) bool { return strings.HasPrefix(rk, identityPrefix) }

// bindingsOf reads the index rows of the address uid (one partition, at
// most 1000 rows) and splits them into its bindings and its subscriptions.
func (s *Service) bindingsOf(ctx context.Context, uid string) (bound []Binding, subs []string, err error) {
	es, err := s.t.UserIndex.QueryAll(ctx, store.Eq("PartitionKey", store.EncodeKey(uid)), 1000)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range es {
		rk, _ := store.DecodeKey(e.RowKey)
		if !isBindingRow(rk) {
			subs = append(subs, rk)
			continue
		}
		var b Binding
		if err := unmarshalDoc(e, &b); err != nil {
			return nil, nil, err
		}
		bound = append(bound, b)
	}
	return bound, subs, nil
}

func accepts(bound []Binding, id Identity) bool {
	for _, b := range bound {
		if b.Identity == id {
			return true
		}
	}
	return false
}

// boundElsewhere is the refusal when another identity asserts an address.
// It names the caller's own identity, which an owner needs to link it.
func boundElsewhere(op, email string, id Identity) error {
	return fault.E(op, fault.Forbidden, fmt.Sprintf("the address %s is bound to another sign-in identity; "+
		"a Subscription Owner can link this one to it (%s)", email, id))
}

// bind binds the caller's address to their identity when it is bound to
// none yet, and refuses when it is bound to another one.
func (s *Service) bind(ctx context.Context, c Caller, via string) error {
	const op = "platform.bind"
	if c.UserID == "" {
		return nil
	}
	id := c.Identity()
	b := Binding{Identity: id, Via: via, BoundAt: s.now().UTC()}
	_, err := insertDoc(ctx, s.t.UserIndex, c.UserID, bindingRow, b)
	if err == nil {
		return nil
	}
	if !fault.Is(err, fault.Conflict) {
		return fault.E(op, err)
	}
	bound, _, err := s.bindingsOf(ctx, c.UserID)
	if err != nil {
		return fault.E(op, err)
	}
	if !accepts(bound, id) {
		return boundElsewhere(op, c.Email, id)
	}
	return nil
}

// Identities lists the identities a user's address accepts (Subscription
// Owners of a subscription the user belongs to).
func (s *Service) Identities(ctx context.Context, c Caller, sub, uid string) ([]Binding, error) {
	const op = "platform.Identities"
	if err := s.requireSubscriptionOwner(ctx, c, sub); err != nil {
		return nil, err
	}
	if _, err := s.getUser(ctx, sub, uid); fault.Is(err, fault.NotFound) {
		return nil, notFound(op, "user "+uid)
	} else if err != nil {
		return nil, fault.E(op, err)
	}
	bound, _, err := s.bindingsOf(ctx, uid)
	if err != nil {
		return nil, fault.E(op, err)
	}
	sort.Slice(bound, func(i, j int) bool { return bound[i].BoundAt.Before(bound[j].BoundAt) })
	if bound == nil {
		bound = []Binding{}
	}
	return bound, nil
}

// LinkIdentity lets another identity sign in with a user's address (a
// Subscription Owner, audited). Because the binding is the address's, in
// every subscription, the caller must own every subscription the user
// belongs to: an owner of one customer cannot hand another customer's user
// to an identity of their choosing.
func (s *Service) LinkIdentity(ctx context.Context, c Caller, sub, uid string, id Identity) (Binding, error) {
	const op = "platform.LinkIdentity"
	if err := s.requireSubscriptionOwner(ctx, c, sub); err != nil {
		return Binding{}, err
	}
	id.Issuer, id.Subject = strings.TrimSpace(id.Issuer), strings.TrimSpace(id.Subject)
	if id.Issuer == "" || id.Subject == "" || len(id.Issuer) > 512 || len(id.Subject) > 256 {
		return Binding{}, fault.E(op, fault.Invalid, "issuer and subject are required (at most 512 and 256 characters): the refusal the person saw names both")
	}
	u, err := s.getUser(ctx, sub, uid)
	if fault.Is(err, fault.NotFound) {
		return Binding{}, notFound(op, "user "+uid)
	}
	if err != nil {
		return Binding{}, fault.E(op, err)
	}
	bound, subs, err := s.bindingsOf(ctx, uid)
	if err != nil {
		return Binding{}, fault.E(op, err)
	}
	for _, other := range subs {
		if other == sub {
			continue
		}
		if err := s.requireSubscriptionOwner(ctx, c, other); err != nil {
			return Binding{}, fault.E(op, fault.Forbidden, u.Email+" is also a user of a subscription you do not own: its owners must agree; ask the platform team")
		}
	}
	if accepts(bound, id) {
		return Binding{}, fault.E(op, fault.Conflict, u.Email+" already accepts this identity")
	}
	b := Binding{Identity: id, Via: "link", BoundAt: s.now().UTC(), LinkedBy: actorID(c)}
	if _, err := insertDoc(ctx, s.t.UserIndex, uid, linkRow(id), b); err != nil {
		if fault.Is(err, fault.Conflict) {
			return Binding{}, fault.E(op, fault.Conflict, u.Email+" already accepts this identity")
		}
		return Binding{}, fault.E(op, err)
	}
	return b, s.record(ctx, c, audit.SubscriptionScope(sub), "user.link-identity", "users/"+uid, nil, b)
}
