package stamp

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Layout is the directory's storage: one table in the global account
// (infra/modules/directory.bicep), never in a stamp's own account.
var Layout = store.Layout{Tables: []string{TableName}}

// TableName is the directory table.
const TableName = "directory"

// Partition keys of the directory's rows.
const (
	subscriptionRows = "subscription" // RowKey: subscription id; Home: stamp name
	projectRows      = "project"      // RowKey: project id; Subscription: its subscription id
)

// Directory is the global record of where each customer lives. Rows are
// written once and never change, so a row read once is kept for the life
// of the process: a running stamp keeps serving the customers it has seen
// while the directory's region is down, and the directory costs one read
// per id per instance.
type Directory struct {
	t     store.Table
	now   func() time.Time
	known sync.Map // partition + "/" + id -> value
}

// NewDirectory reads and writes the directory table t (on the global
// account); now is the clock (nil = time.Now).
func NewDirectory(t store.Table, now func() time.Time) *Directory {
	if now == nil {
		now = time.Now
	}
	return &Directory{t: t, now: now}
}

// HomeOf returns the home stamp of a subscription; NotFound when it has none
// (never created, or created before the directory existed).
func (d *Directory) HomeOf(ctx context.Context, sub string) (string, error) {
	home, err := d.read(ctx, subscriptionRows, sub, "Home")
	if err != nil {
		return "", fmt.Errorf("home of subscription %s: %w", sub, err)
	}
	return home, nil
}

// read returns one row's value, from memory once it has been read.
func (d *Directory) read(ctx context.Context, pk, id, prop string) (string, error) {
	key := pk + "/" + id
	if v, ok := d.known.Load(key); ok {
		return v.(string), nil
	}
	e, err := d.t.Get(ctx, pk, store.EncodeKey(id))
	if err != nil {
		return "", err
	}
	v := e.String(prop)
	d.known.Store(key, v)
	return v, nil
}

// SubscriptionOf returns the subscription a project belongs to; NotFound
// when the directory does not know it.
func (d *Directory) SubscriptionOf(ctx context.Context, project string) (string, error) {
	sub, err := d.read(ctx, projectRows, project, "Subscription")
	if err != nil {
		return "", fmt.Errorf("subscription of project %s: %w", project, err)
	}
	return sub, nil
}

// claim inserts a row once. A row already there with the same value is a
// retry after a crash between the directory and the stamp's own write (the
// claim holds); another value is a Conflict.
func (d *Directory) claim(ctx context.Context, pk, id, prop, value string) error {
	e := store.Entity{PartitionKey: pk, RowKey: store.EncodeKey(id), Props: map[string]any{prop: value, "Created": d.now().UTC()}}
	_, err := d.t.Insert(ctx, e)
	if !fault.Is(err, fault.Conflict) {
		return err
	}
	got, gerr := d.t.Get(ctx, pk, store.EncodeKey(id))
	if gerr != nil {
		return gerr
	}
	if got.String(prop) == value {
		return nil
	}
	return fault.E("stamp.claim", fault.Conflict, fmt.Sprintf("a %s with this id exists", pk))
}

// ClaimSubscription records home as the subscription's home, once.
func (d *Directory) ClaimSubscription(ctx context.Context, sub, home string) error {
	return d.claim(ctx, subscriptionRows, sub, "Home", home)
}

// ClaimProject records the project's subscription, once; project ids are
// global across stamps.
func (d *Directory) ClaimProject(ctx context.Context, project, sub string) error {
	return d.claim(ctx, projectRows, project, "Subscription", sub)
}
