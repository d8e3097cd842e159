package handlers

import (
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/idempotency"
)

// keyed makes a POST honour Idempotency-Key (README, "Calling the API"):
// the same key and body replay the first answer, another body is 422, a
// key still in progress is 503 with Retry-After. k nil (a test that wires
// no keeper) leaves h as it is.
func keyed(k *idempotency.Keeper, h httpapi.HandlerFunc) httpapi.HandlerFunc {
	if k == nil {
		return h
	}
	return k.Wrap(h)
}
