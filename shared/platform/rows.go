package platform

import (
	"context"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Tables are the platform's tables.
type Tables struct {
	Subscriptions, Users, UserIndex, Invitations, Projects, Members, MemberIndex, Teams, Environments store.Table
}

// Layout is the storage the platform needs.
var Layout = store.Layout{Tables: []string{"subscriptions", "subusers", "useridx", "invitations", "projects", "members", "memberidx", "teams", "environments"}}

// OpenTables returns the platform's tables of an account.
func OpenTables(a store.Account) Tables {
	return Tables{
		Subscriptions: a.Table("subscriptions"), Users: a.Table("subusers"), UserIndex: a.Table("useridx"),
		Invitations: a.Table("invitations"), Projects: a.Table("projects"), Members: a.Table("members"),
		MemberIndex: a.Table("memberidx"), Teams: a.Table("teams"), Environments: a.Table("environments"),
	}
}

// Every record is one row holding its JSON document in "Doc"; keys are
// encoded with store.EncodeKey. The row's ETag guards updates.

func getDoc[T any](ctx context.Context, t store.Table, pk, rk string, into *T) (string, error) {
	v, etag, err := (store.Doc[T]{Name: "Doc"}).Read(ctx, t, store.EncodeKey(pk), store.EncodeKey(rk))
	if err != nil {
		return "", err
	}
	*into = v
	return etag, nil
}

// writeErr is the error of a store write under op: the refusal the write
// can meet in normal use (k: Conflict for an insert of an id that exists,
// PreconditionFailed for an update that lost a race) says why; any other
// error is wrapped; nil stays nil.
func writeErr(op string, err error, k fault.Kind, why string) error {
	if fault.Is(err, k) {
		return fault.E(op, k, why)
	}
	if err != nil {
		return fault.E(op, err)
	}
	return nil
}

func unmarshalDoc[T any](e store.Entity, into *T) error {
	v, err := (store.Doc[T]{Name: "Doc"}).Get(e)
	if err != nil {
		return fault.E("platform.unmarshalDoc", err)
	}
	*into = v
	return nil
}

func docEntity(pk, rk string, v any, extra map[string]any) store.Entity {
	props := map[string]any{}
	// A team of many members outgrows one string property: Doc chunks it.
	// Past store.MaxChunkedBytes the write is refused (TooLarge) before it
	// reaches storage.
	_ = (store.Doc[any]{Name: "Doc"}).Set(props, v)
	for k, x := range extra {
		props[k] = x
	}
	return store.Entity{PartitionKey: store.EncodeKey(pk), RowKey: store.EncodeKey(rk), Props: props}
}

func insertDoc(ctx context.Context, t store.Table, pk, rk string, v any) (string, error) {
	return t.Insert(ctx, docEntity(pk, rk, v, nil))
}

func updateDoc(ctx context.Context, t store.Table, pk, rk string, v any, ifMatch string) (string, error) {
	return t.Update(ctx, docEntity(pk, rk, v, nil), ifMatch)
}

func listDocs[T any](ctx context.Context, t store.Table, pk string, limit int) ([]T, []string, error) {
	es, err := t.QueryAll(ctx, store.Eq("PartitionKey", store.EncodeKey(pk)), limit)
	if err != nil {
		return nil, nil, err
	}
	out := make([]T, 0, len(es))
	etags := make([]string, 0, len(es))
	for _, e := range es {
		v, err := (store.Doc[T]{Name: "Doc"}).Get(e)
		if err != nil {
			return nil, nil, fault.E("platform.listDocs", err)
		}
		out = append(out, v)
		etags = append(etags, e.ETag)
	}
	return out, etags, nil
}
