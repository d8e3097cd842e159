package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Layout is the storage the audit log needs.
var Layout = store.Layout{Tables: []string{"audit"}}

// Entry is one audited action.
type Entry struct {
	ID        string          `json:"id"`
	At        time.Time       `json:"at"`
	Actor     string          `json:"actor"`     // user id or service id
	ActorName string          `json:"actorName"` // e-mail or display name, for people reading the log
	Action    string          `json:"action"`    // e.g. "member.put", "team.delete"
	Target    string          `json:"target"`    // what it acted on, e.g. "members/u-12ab"
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	RequestID string          `json:"requestId,omitempty"`
}

// Scope names whose log an entry goes to.
func ProjectScope(p string) string      { return "project:" + p }
func SubscriptionScope(s string) string { return "subscription:" + s }

// Table is what the log needs from a table (shared/store.Table has it).
type Table interface {
	Insert(ctx context.Context, e store.Entity) (string, error)
	Query(ctx context.Context, f store.Filter, opt store.QueryOptions) (store.Page, error)
}

// Log appends and reads audit entries.
type Log struct {
	table Table
	now   func() time.Time
}

// New returns a Log on t.
func New(t Table, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{table: t, now: now}
}

// Secret marks a value to be masked in the log.
type Secret string

// MarshalJSON masks the value: the log records that it changed, not what it is.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"***"`), nil }

// Record appends an entry. before and after are any JSON-encodable values
// (nil for none); wrap secret fields in Secret.
func (l *Log) Record(ctx context.Context, scope string, e Entry, before, after any) error {
	const op = "audit.Record"
	e.At = l.now().UTC()
	var err error
	if e.Before, err = encode(before); err != nil {
		return fault.E(op, fault.Internal, err)
	}
	if e.After, err = encode(after); err != nil {
		return fault.E(op, fault.Internal, err)
	}
	// Newest first: the row key counts down with time; a random suffix keeps
	// two entries of the same instant apart.
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	e.ID = fmt.Sprintf("%019d-%s", math.MaxInt64-e.At.UnixNano(), hex.EncodeToString(rnd[:]))
	body, _ := json.Marshal(e)
	_, err = l.table.Insert(ctx, store.Entity{PartitionKey: store.EncodeKey(scope), RowKey: e.ID, Props: map[string]any{"Entry": string(body)}})
	if err != nil {
		return fault.E(op, err)
	}
	return nil
}

func encode(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return nil, err
	}
	return b, nil
}

// Page is a page of entries, newest first.
type Page struct {
	Entries []Entry `json:"items"`
	Next    string  `json:"next,omitempty"`
}

// List reads a scope's entries newest first; since (optional) keeps only
// entries at or after it.
func (l *Log) List(ctx context.Context, scope string, since time.Time, limit int, cursor string) (Page, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	f := store.Eq("PartitionKey", store.EncodeKey(scope))
	if !since.IsZero() {
		f = store.And(f, store.Le("RowKey", fmt.Sprintf("%019d-~", math.MaxInt64-since.UTC().UnixNano())))
	}
	p, err := l.table.Query(ctx, f, store.QueryOptions{Top: int32(limit), Cursor: cursor})
	if err != nil {
		return Page{}, fault.E("audit.List", err)
	}
	out := Page{Entries: make([]Entry, 0, len(p.Entities)), Next: p.Next}
	for _, ent := range p.Entities {
		var e Entry
		if err := json.NewDecoder(strings.NewReader(ent.String("Entry"))).Decode(&e); err != nil {
			return Page{}, fault.E("audit.List", fault.Internal, err)
		}
		out.Entries = append(out.Entries, e)
	}
	return out, nil
}
