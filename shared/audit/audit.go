package audit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/housekeeping"
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
	// Trimmed says Before/After were shortened to fit one row (see fit).
	Trimmed bool `json:"trimmed,omitempty"`
}

// Scope names whose log an entry goes to.
func ProjectScope(p string) string      { return "project:" + p }
func SubscriptionScope(s string) string { return "subscription:" + s }

// Log appends and reads audit entries.
type Log struct {
	table store.Table
	now   func() time.Time
}

// New returns a Log on t.
func New(t store.Table, now func() time.Time) *Log {
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
	body := fit(&e)
	_, err = l.table.Insert(ctx, store.Entity{PartitionKey: store.EncodeKey(scope), RowKey: e.ID, Props: map[string]any{"Entry": string(body)}})
	if err != nil {
		return fault.E(op, err)
	}
	return nil
}

// maxEntryBytes is the most an entry's JSON may take: it is stored as one
// string property, at most 32,768 UTF-16 units, and UTF-8 never has fewer
// bytes than UTF-16 units; the margin is for nothing in particular.
const maxEntryBytes = 32000

// trimString is how much of a long string value an over-size entry keeps.
const trimString = 512

// fit returns the entry's JSON, trimmed by a fixed rule so that it always
// fits its row: an entry is never dropped for its size, and a change is
// never refused because its audit entry would be too large (issue 25).
//  1. As it is, if it fits.
//  2. Else every string in Before/After longer than 512 bytes keeps its
//     first 512 bytes and a marker with its length and SHA-256.
//  3. Else Before and After become {"trimmed":true,"bytes":n,"sha256":h}.
//
// Trimmed is set in cases 2 and 3.
func fit(e *Entry) []byte {
	body, _ := json.Marshal(e)
	if len(body) <= maxEntryBytes {
		return body
	}
	e.Trimmed = true
	e.Before, e.After = trimValues(e.Before), trimValues(e.After)
	if body, _ = json.Marshal(e); len(body) <= maxEntryBytes {
		return body
	}
	e.Before, e.After = digest(e.Before), digest(e.After)
	if len(e.Target) > 1024 {
		e.Target = e.Target[:1024]
	}
	body, _ = json.Marshal(e)
	return body
}

func trimValues(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return digest(raw)
	}
	b, err := json.Marshal(trimAny(v))
	if err != nil {
		return digest(raw)
	}
	return b
}

func trimAny(v any) any {
	switch x := v.(type) {
	case string:
		if len(x) <= trimString {
			return x
		}
		cut := trimString
		for cut > 0 && !utf8.RuneStart(x[cut]) {
			cut--
		}
		sum := sha256.Sum256([]byte(x))
		return fmt.Sprintf("%s… [trimmed from %d bytes, sha256 %s]", x[:cut], len(x), hex.EncodeToString(sum[:8]))
	case map[string]any:
		for k, y := range x {
			x[k] = trimAny(y)
		}
	case []any:
		for i, y := range x {
			x[i] = trimAny(y)
		}
	}
	return v
}

func digest(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return nil
	}
	sum := sha256.Sum256(raw)
	b, _ := json.Marshal(map[string]any{"trimmed": true, "bytes": len(raw), "sha256": hex.EncodeToString(sum[:])})
	return b
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

// Retention is how long audit entries are kept.
const Retention = 400 * 24 * time.Hour

// Housekeeping is the audit module's periodic job on t (the audit table):
// entries older than Retention are purged nightly; an entry's Timestamp is
// its write time.
func Housekeeping(t housekeeping.Purger) []housekeeping.Task {
	return []housekeeping.Task{housekeeping.Purge("audit-retention", "0 30 3 * * *", t, "Timestamp", Retention)}
}
