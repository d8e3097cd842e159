package store

import (
	"context"
)

// AnyETag matches any current version in Update and Delete: an
// unconditional write. Use it only where a lost update cannot happen.
const AnyETag = "*"

// Account opens tables, containers and queues by name. A driver's account
// (shared/store/azure) has it; domain packages take this, so they never see
// the driver. Names are those of the modules' Layouts.
type Account interface {
	Table(name string) Table
	Container(name string) Container
	Queue(name string) Queue
}

// Table is one table: the one table interface of the service, declared
// here once, implemented by a driver and checked by storetest. Safe for
// concurrent use.
//
// Errors are fault kinds: NotFound (no such entity), Conflict (Insert of
// an existing key), PreconditionFailed (stale ETag), Invalid (a bad cursor),
// TooLarge (a limit of limits.go), Unavailable (storage unreachable or not
// bootstrapped).
type Table interface {
	// Get reads one entity; NotFound when absent.
	Get(ctx context.Context, pk, rk string) (Entity, error)
	// Insert adds e only if no entity has its keys (insert-if-absent); an
	// existing one is a Conflict. It returns the new ETag.
	Insert(ctx context.Context, e Entity) (string, error)
	// Update replaces e if its current ETag is ifMatch (AnyETag: whatever
	// it is). A stale ETag is PreconditionFailed; a missing entity NotFound.
	Update(ctx context.Context, e Entity, ifMatch string) (string, error)
	// Merge updates only e's properties, with the same condition as Update.
	Merge(ctx context.Context, e Entity, ifMatch string) (string, error)
	// Upsert writes e whatever is there (replace).
	Upsert(ctx context.Context, e Entity) (string, error)
	// Delete removes the entity if its ETag is ifMatch (AnyETag: any).
	Delete(ctx context.Context, pk, rk, ifMatch string) error
	// Query returns one page of the entities matching f, in key order. A
	// cursor that does not decode is Invalid (it came from a client).
	Query(ctx context.Context, f Filter, opt QueryOptions) (Page, error)
	// QueryAll follows Next until the end or until limit entities (0 = no
	// limit); for internal scans of bounded size only. Drivers implement
	// it with the portable QueryAll.
	QueryAll(ctx context.Context, f Filter, limit int) ([]Entity, error)
	// Batch writes up to MaxBatchOps entities of one partition in one
	// request.
	//
	// It is an optimisation only: Azurite ignores If-Match inside a batch
	// and accepts mixed partition keys (DESIGN §4.4), so no correctness
	// argument may rest on a batch being conditional or atomic across
	// partitions. Use it for writes that are idempotent and already guarded
	// by a conditional single-entity write.
	Batch(ctx context.Context, ops []BatchOp) error
}

// QueryOptions shape a query page.
type QueryOptions struct {
	Select []string // property names; empty = all
	Top    int32    // page size; 0 = the service's (1,000)
	Cursor string   // from a previous page's Next; "" = first page
}

// Page is one page of a query. Next is "" on the last page.
type Page struct {
	Entities []Entity
	Next     string
}

// BatchOp is one write of a Batch.
type BatchOp struct {
	Upsert *Entity // insert or replace
	Insert *Entity // insert (fails the batch if present)
	Delete *Entity // PartitionKey/RowKey; ETag or AnyETag
}

// QueryAll follows t's pages from the first until the end or until limit
// entities (0 = no limit): the one implementation of Table.QueryAll, which
// drivers call so that every driver pages the same way.
func QueryAll(ctx context.Context, t Table, f Filter, limit int) ([]Entity, error) {
	var out []Entity
	opt := QueryOptions{}
	for {
		p, err := t.Query(ctx, f, opt)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Entities...)
		if p.Next == "" || (limit > 0 && len(out) >= limit) {
			if limit > 0 && len(out) > limit {
				out = out[:limit]
			}
			return out, nil
		}
		opt.Cursor = p.Next
	}
}
