package azure

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Table is one table of the account: a store.Table. Safe for concurrent use.
type Table struct {
	name   string
	client *aztables.Client
}

func (t *Table) what(pk, rk string) string { return t.name + "/" + pk + "/" + rk }

// Get reads one entity; NotFound when absent.
func (t *Table) Get(ctx context.Context, pk, rk string) (store.Entity, error) {
	sink := &rowSink{single: true}
	resp, err := t.client.GetEntity(context.WithValue(ctx, rowSinkKey{}, sink), pk, rk, &aztables.GetEntityOptions{Format: to.Ptr(aztables.MetadataFormatFull)})
	if err != nil {
		return store.Entity{}, mapErr("store.Get", t.what(pk, rk), err)
	}
	if !sink.decoded || sink.err != nil || len(sink.rows) != 1 {
		return store.Entity{}, sinkErr("store.Get", t.what(pk, rk), sink)
	}
	e := sink.rows[0]
	e.ETag = string(resp.ETag)
	return e, nil
}

// Insert adds e only if no entity has its keys (insert-if-absent); an
// existing one is a Conflict. It returns the new ETag.
func (t *Table) Insert(ctx context.Context, e store.Entity) (string, error) {
	b, err := store.EncodeEntity(e)
	if err != nil {
		return "", err
	}
	resp, err := t.client.AddEntity(ctx, b, nil)
	if err != nil {
		return "", mapErr("store.Insert", t.what(e.PartitionKey, e.RowKey), err)
	}
	return string(resp.ETag), nil
}

// Update replaces e if its current ETag is ifMatch (AnyETag: whatever it
// is). A stale ETag is PreconditionFailed; a missing entity NotFound.
func (t *Table) Update(ctx context.Context, e store.Entity, ifMatch string) (string, error) {
	return t.update(ctx, "store.Update", e, ifMatch, aztables.UpdateModeReplace)
}

// Merge updates only e's properties, with the same condition as Update.
func (t *Table) Merge(ctx context.Context, e store.Entity, ifMatch string) (string, error) {
	return t.update(ctx, "store.Merge", e, ifMatch, aztables.UpdateModeMerge)
}

func (t *Table) update(ctx context.Context, op string, e store.Entity, ifMatch string, mode aztables.UpdateMode) (string, error) {
	if ifMatch == "" {
		return "", fault.E(op, fault.Internal, "an ETag (or AnyETag) is required")
	}
	b, err := store.EncodeEntity(e)
	if err != nil {
		return "", err
	}
	etag := azcore.ETag(ifMatch)
	resp, err := t.client.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: mode})
	if err != nil {
		return "", mapErr(op, t.what(e.PartitionKey, e.RowKey), err)
	}
	return string(resp.ETag), nil
}

// Upsert writes e whatever is there (replace).
func (t *Table) Upsert(ctx context.Context, e store.Entity) (string, error) {
	b, err := store.EncodeEntity(e)
	if err != nil {
		return "", err
	}
	resp, err := t.client.UpsertEntity(ctx, b, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		return "", mapErr("store.Upsert", t.what(e.PartitionKey, e.RowKey), err)
	}
	return string(resp.ETag), nil
}

// Delete removes the entity if its ETag is ifMatch (AnyETag: any).
func (t *Table) Delete(ctx context.Context, pk, rk, ifMatch string) error {
	if ifMatch == "" {
		return fault.E("store.Delete", fault.Internal, "an ETag (or AnyETag) is required")
	}
	etag := azcore.ETag(ifMatch)
	_, err := t.client.DeleteEntity(ctx, pk, rk, &aztables.DeleteEntityOptions{IfMatch: &etag})
	return mapErr("store.Delete", t.what(pk, rk), err)
}

type cursor struct {
	PK string `json:"p"`
	RK string `json:"r"`
}

// Query returns one page of the entities matching f. A cursor that does not
// decode is Invalid (it came from a client, so say so).
func (t *Table) Query(ctx context.Context, f store.Filter, opt store.QueryOptions) (store.Page, error) {
	const op = "store.Query"
	lo := &aztables.ListEntitiesOptions{Format: to.Ptr(aztables.MetadataFormatFull)}
	if f.String() != "" {
		lo.Filter = to.Ptr(f.String())
	}
	if len(opt.Select) > 0 {
		for _, s := range opt.Select {
			if !store.ValidPropertyName(s) {
				return store.Page{}, fault.E(op, fault.Internal, fmt.Sprintf("bad property %q in select", s))
			}
		}
		sel := ""
		for i, s := range opt.Select {
			if i > 0 {
				sel += ","
			}
			sel += s
		}
		lo.Select = &sel
	}
	if opt.Top > 0 {
		lo.Top = to.Ptr(opt.Top)
	}
	if opt.Cursor != "" {
		raw, err := base64.RawURLEncoding.DecodeString(opt.Cursor)
		var c cursor
		if err != nil || json.Unmarshal(raw, &c) != nil || c.PK == "" {
			return store.Page{}, fault.E(op, fault.Invalid, "the cursor is not valid")
		}
		lo.NextPartitionKey = &c.PK
		if c.RK != "" {
			lo.NextRowKey = &c.RK
		}
	}
	sink := &rowSink{}
	pager := t.client.NewListEntitiesPager(lo)
	resp, err := pager.NextPage(context.WithValue(ctx, rowSinkKey{}, sink))
	if err != nil {
		return store.Page{}, mapErr(op, t.name, err)
	}
	if !sink.decoded || sink.err != nil {
		return store.Page{}, sinkErr(op, t.name, sink)
	}
	page := store.Page{Entities: sink.rows}
	if page.Entities == nil {
		page.Entities = []store.Entity{}
	}
	if resp.NextPartitionKey != nil && *resp.NextPartitionKey != "" {
		c := cursor{PK: *resp.NextPartitionKey}
		if resp.NextRowKey != nil {
			c.RK = *resp.NextRowKey
		}
		b, _ := json.Marshal(c)
		page.Next = base64.RawURLEncoding.EncodeToString(b)
	}
	return page, nil
}

// QueryAll follows Next until the end or until limit entities (0 = no
// limit); for internal scans of bounded size only.
func (t *Table) QueryAll(ctx context.Context, f store.Filter, limit int) ([]store.Entity, error) {
	return store.QueryAll(ctx, t, f, limit)
}

// Batch writes up to 100 entities of one partition in one transaction.
//
// It is an optimisation only: Azurite ignores If-Match inside a batch and
// accepts mixed partition keys (DESIGN §4.4), so no correctness argument may
// rest on a batch being conditional or atomic across partitions. Use it for
// writes that are idempotent and already guarded by a conditional
// single-entity write.
func (t *Table) Batch(ctx context.Context, ops []store.BatchOp) error {
	const op = "store.Batch"
	if len(ops) == 0 {
		return nil
	}
	if len(ops) > store.MaxBatchOps {
		return store.TooLarge(op, "the batch", len(ops), fmt.Sprintf("%d operations", store.MaxBatchOps))
	}
	size := 0
	actions := make([]aztables.TransactionAction, 0, len(ops))
	pk := ""
	for _, o := range ops {
		var a aztables.TransactionAction
		var e *store.Entity
		switch {
		case o.Upsert != nil:
			e, a.ActionType = o.Upsert, aztables.TransactionTypeInsertReplace
		case o.Insert != nil:
			e, a.ActionType = o.Insert, aztables.TransactionTypeAdd
		case o.Delete != nil:
			e, a.ActionType = o.Delete, aztables.TransactionTypeDelete
			etag := azcore.ETag(o.Delete.ETag)
			if etag == "" {
				etag = azcore.ETagAny
			}
			a.IfMatch = &etag
		default:
			return fault.E(op, fault.Internal, "empty batch operation")
		}
		if pk == "" {
			pk = e.PartitionKey
		} else if pk != e.PartitionKey {
			return fault.E(op, fault.Internal, "a batch must stay within one partition")
		}
		b, err := store.EncodeEntity(*e)
		if err != nil {
			return err
		}
		a.Entity = b
		actions = append(actions, a)
		size += len(b) + store.BatchOverheadOp
	}
	if size > store.MaxBatchBytes {
		return store.TooLarge(op, "the batch", size, fmt.Sprintf("%d bytes", store.MaxBatchBytes))
	}
	_, err := t.client.SubmitTransaction(ctx, actions, nil)
	return mapErr(op, t.name+"/"+pk, err)
}
