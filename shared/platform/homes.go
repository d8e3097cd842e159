package platform

import (
	"context"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// ClaimHomes records every subscription and project this stamp holds in
// the global directory through s.Homes (idempotent: a claim already there
// with the same value holds). It backfills data created before the
// directory existed, at start-up; a subscription or project that another
// stamp has claimed under the same id is reported in conflicts, not
// changed. It reads only this stamp's own tables.
func (s *Service) ClaimHomes(ctx context.Context) (claimed int, conflicts []string, err error) {
	const op = "platform.ClaimHomes"
	if s.Homes == nil {
		return 0, nil, nil
	}
	subs, err := s.t.Subscriptions.QueryAll(ctx, store.Eq("PartitionKey", "s"), 0)
	if err != nil {
		return 0, nil, fault.E(op, err)
	}
	for _, e := range subs {
		id, _ := store.DecodeKey(e.RowKey)
		if _, err := s.Homes.ClaimSubscription(ctx, id); fault.Is(err, fault.Conflict) {
			conflicts = append(conflicts, "subscription "+id)
			continue
		} else if err != nil {
			return claimed, conflicts, fault.E(op, err)
		}
		claimed++
	}
	projects, err := s.t.Projects.QueryAll(ctx, store.Eq("PartitionKey", "p"), 0)
	if err != nil {
		return claimed, conflicts, fault.E(op, err)
	}
	for _, e := range projects {
		id, _ := store.DecodeKey(e.RowKey)
		if err := s.Homes.ClaimProject(ctx, id, e.String("Sub")); fault.Is(err, fault.Conflict) {
			conflicts = append(conflicts, "project "+id)
			continue
		} else if err != nil {
			return claimed, conflicts, fault.E(op, err)
		}
		claimed++
	}
	return claimed, conflicts, nil
}
