package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	"github.com/studio-collab/collab/shared/fault"
)

// The maintenance policy and the runtime settings live in the
// environment's state row, which the state machine rewrites on every
// deployment; the row's ETag would change under an admin who only read the
// policy. So each of them has an ETag of its own, a hash of what GET shows,
// and a PUT with If-Match compares it inside the state row's conditional
// update (a lost race reads again and compares again): two admins who read
// the same version cannot both overwrite it.

// PolicyETag is the ETag of an environment's policy as GET shows it.
func PolicyETag(p Policy, isDefault bool) string {
	return tagOf(struct {
		P Policy
		D bool
	}{p, isDefault})
}

// RuntimeETag is the ETag of an environment's runtime settings.
func RuntimeETag(rc RuntimeConfig) string { return tagOf(rc) }

func tagOf(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// precondition refuses an If-Match that is not the current tag ("" and "*"
// match).
func precondition(op, ifMatch, current, what string) error {
	if ifMatch == "" || ifMatch == "*" || ifMatch == current {
		return nil
	}
	return fault.E(op, fault.PreconditionFailed, what+" changed since you read it (If-Match "+ifMatch+" is not its current ETag; read it again)")
}

// PolicyChange is what PutPolicyIf did: the policy before and after, and
// the new ETag.
type PolicyChange struct {
	Before, After Policy
	ETag          string
}

// PutPolicyIf is PutPolicy when the policy still has the ETag ifMatch
// ("" = whatever it is): PreconditionFailed otherwise, nothing written.
func (s *Service) PutPolicyIf(ctx context.Context, project, env string, p Policy, ifMatch string) (PolicyChange, error) {
	const op = "deploy.PutPolicy"
	// A stale If-Match is 412 whatever the body says, as on every route;
	// the update below compares it again, atomically.
	if ifMatch != "" {
		st, err := s.state(ctx, project, env)
		if err != nil {
			return PolicyChange{}, err
		}
		if err := precondition(op, ifMatch, PolicyETag(st.EffectivePolicy(), st.Policy == nil), "the maintenance policy"); err != nil {
			return PolicyChange{}, err
		}
	}
	if err := p.Validate(); err != nil {
		return PolicyChange{}, err
	}
	var before Policy
	_, err := s.putPolicy(ctx, project, env, p, func(st *EnvState) error {
		before = st.EffectivePolicy()
		return precondition(op, ifMatch, PolicyETag(before, st.Policy == nil), "the maintenance policy")
	})
	if err != nil {
		return PolicyChange{}, err
	}
	return PolicyChange{Before: before, After: p, ETag: PolicyETag(p, false)}, nil
}

// RuntimeChange is what PutRuntimeConfigIf did.
type RuntimeChange struct {
	Before, After RuntimeConfig
	ETag          string
}

// PutRuntimeConfigIf is PutRuntimeConfig when the settings still have the
// ETag ifMatch ("" = whatever they are): PreconditionFailed otherwise.
func (s *Service) PutRuntimeConfigIf(ctx context.Context, project, env string, rc RuntimeConfig, ifMatch string) (RuntimeChange, error) {
	const op = "deploy.PutRuntimeConfig"
	if ifMatch != "" { // 412 before 400, as on every route; compared again below
		st, err := s.state(ctx, project, env)
		if err != nil {
			return RuntimeChange{}, err
		}
		if err := precondition(op, ifMatch, RuntimeETag(st.Runtime), "the runtime settings"); err != nil {
			return RuntimeChange{}, err
		}
	}
	var before RuntimeConfig
	rc, err := s.putRuntime(ctx, project, env, rc, func(st *EnvState) error {
		before = st.Runtime
		return precondition(op, ifMatch, RuntimeETag(before), "the runtime settings")
	})
	if err != nil {
		return RuntimeChange{}, err
	}
	return RuntimeChange{Before: before, After: rc, ETag: RuntimeETag(rc)}, nil
}
