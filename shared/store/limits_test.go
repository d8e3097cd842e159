package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

func TestEntitySizeIsAzuresFormula(t *testing.T) {
	// 4 + 2*(1+2) keys; "S": 8+2+4+2*3; "B": 8+2+4+5; "N": 8+2+8; "I": 8+2+4;
	// "T": 8+2+8; "F": 8+2+1; "é" is one UTF-16 unit, "😀" two.
	e := Entity{PartitionKey: "p", RowKey: "rk", Props: map[string]any{
		"S": "abc", "B": []byte("12345"), "N": int64(1), "I": int32(1), "T": time.Now(), "F": true, "X": nil}}
	want := 4 + 6 + (8 + 2 + 4 + 6) + (8 + 2 + 4 + 5) + (8 + 2 + 8) + (8 + 2 + 4) + (8 + 2 + 8) + (8 + 2 + 1)
	if got := EntitySize(e); got != want {
		t.Fatalf("EntitySize = %d, want %d", got, want)
	}
	if UTF16Len("aé😀") != 4 {
		t.Fatalf("UTF16Len(aé😀) = %d, want 4", UTF16Len("aé😀"))
	}
}

func TestCheckEntityNamesFieldAndLimit(t *testing.T) {
	many := map[string]any{}
	for i := range MaxProperties + 1 {
		many["P"+strings.Repeat("x", i%5)+string(rune('a'+i%26))+strings.Repeat("y", i/26)] = int32(1)
	}
	cases := []struct {
		name string
		e    Entity
		kind fault.Kind
		want string // in the detail
	}{
		{"key at 512 units fits", Entity{PartitionKey: "p", RowKey: strings.Repeat("k", MaxKeyUnits)}, fault.Other, ""},
		{"key past 512 units", Entity{PartitionKey: "p", RowKey: strings.Repeat("k", MaxKeyUnits+1)}, fault.TooLarge, "RowKey is 513"},
		{"key with a slash", Entity{PartitionKey: "a/b", RowKey: "r"}, fault.Invalid, "PartitionKey"},
		{"key with a control character", Entity{PartitionKey: "p", RowKey: "a\x7f"}, fault.Invalid, "RowKey"},
		{"string at 32,768 units fits", Entity{PartitionKey: "p", RowKey: "r", Props: map[string]any{"S": strings.Repeat("é", MaxStringUnits)}}, fault.Other, ""},
		{"string past 32,768 units", Entity{PartitionKey: "p", RowKey: "r", Props: map[string]any{"Value": strings.Repeat("a", MaxStringUnits+1)}}, fault.TooLarge, "property Value is 32769"},
		{"astral characters count twice", Entity{PartitionKey: "p", RowKey: "r", Props: map[string]any{"S": strings.Repeat("😀", MaxStringUnits/2+1)}}, fault.TooLarge, "property S"},
		{"binary at 64 KiB fits", Entity{PartitionKey: "p", RowKey: "r", Props: map[string]any{"B": make([]byte, MaxBinaryBytes)}}, fault.Other, ""},
		{"binary past 64 KiB", Entity{PartitionKey: "p", RowKey: "r", Props: map[string]any{"B": make([]byte, MaxBinaryBytes+1)}}, fault.TooLarge, "property B is 65537"},
		{"253 properties", Entity{PartitionKey: "p", RowKey: "r", Props: many}, fault.TooLarge, "number of properties"},
		{"entity past 1 MiB", Entity{PartitionKey: "p", RowKey: "r", Props: func() map[string]any {
			m := map[string]any{}
			for i := range 16 {
				m[string(rune('A'+i))] = make([]byte, MaxBinaryBytes)
			}
			return m
		}()}, fault.TooLarge, "the entity is"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckEntity(c.e)
			if fault.KindOf(err) != c.kind || !strings.Contains(fault.DetailOf(err), c.want) {
				t.Fatalf("CheckEntity: %v; want kind %v with %q", err, c.kind, c.want)
			}
		})
	}
}

// TestLimitsAgreeWithStorage: what CheckEntity accepts, storage stores;
// one past each limit, CheckEntity refuses before the SDK call, and storage
// itself refuses the same write sent raw (so the check is never more
// lenient than the service), with a detail that names the rule.
func TestLimitsAgreeWithStorage(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
	tb := a.Table(l.Tables[0])
	at := []Entity{
		{PartitionKey: "p", RowKey: strings.Repeat("k", MaxKeyUnits)},
		{PartitionKey: "p", RowKey: "s", Props: map[string]any{"S": strings.Repeat("é", MaxStringUnits)}},
		{PartitionKey: "p", RowKey: "b", Props: map[string]any{"B": make([]byte, MaxBinaryBytes)}},
	}
	for _, e := range at {
		if _, err := tb.Insert(ctx, e); err != nil {
			t.Fatalf("at the limit %s: %v", e.RowKey[:1], err)
		}
	}
	past := []Entity{
		{PartitionKey: "p", RowKey: strings.Repeat("k", MaxKeyUnits+1)},
		{PartitionKey: "p", RowKey: "s2", Props: map[string]any{"S": strings.Repeat("é", MaxStringUnits+1)}},
		{PartitionKey: "p", RowKey: "b2", Props: map[string]any{"B": make([]byte, MaxBinaryBytes+1)}},
	}
	for _, e := range past {
		if _, err := tb.Insert(ctx, e); !fault.Is(err, fault.TooLarge) || fault.DetailOf(err) == "" {
			t.Fatalf("past the limit: %v; want TooLarge with a detail", err)
		}
		// Sent raw, past our check: storage refuses it too, and mapErr says why.
		_, err := tb.client.AddEntity(ctx, rawBody(e), nil)
		if err = mapErr("raw", "t", err); err == nil || fault.DetailOf(err) == "" {
			t.Fatalf("storage accepted %.2s… past the limit, or said nothing: %v", e.RowKey, err)
		}
	}
}

// rawBody is e's JSON body without CheckEntity (string and binary
// properties only).
func rawBody(e Entity) []byte {
	m := map[string]any{"PartitionKey": e.PartitionKey, "RowKey": e.RowKey}
	for k, v := range e.Props {
		switch x := v.(type) {
		case string:
			m[k] = x
		case []byte:
			m[k], m[k+"@odata.type"] = base64.StdEncoding.EncodeToString(x), "Edm.Binary"
		}
	}
	b, _ := json.Marshal(m)
	return b
}

func TestBatchAndMessageLimits(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
	tb := a.Table(l.Tables[0])
	ops := make([]BatchOp, MaxBatchOps+1)
	for i := range ops {
		ops[i] = BatchOp{Insert: &Entity{PartitionKey: "p", RowKey: string(rune('a'+i%26)) + strings.Repeat("z", i/26)}}
	}
	if err := tb.Batch(ctx, ops); !fault.Is(err, fault.TooLarge) || !strings.Contains(fault.DetailOf(err), "100 operations") {
		t.Fatalf("101 operations: %v", err)
	}
	// 70 rows of 60 KiB: under 100 operations, over 4 MiB.
	big := make([]BatchOp, 70)
	for i := range big {
		big[i] = BatchOp{Insert: &Entity{PartitionKey: "p", RowKey: strings.Repeat("r", i+1), Props: map[string]any{"B": make([]byte, 60<<10)}}}
	}
	if err := tb.Batch(ctx, big); !fault.Is(err, fault.TooLarge) || !strings.Contains(fault.DetailOf(err), "bytes") {
		t.Fatalf("a 5 MiB batch: %v", err)
	}
	if err := tb.Batch(ctx, big[:40]); err != nil {
		t.Fatalf("a batch under 4 MiB: %v", err)
	}
	q := a.Queue(l.Queues[0])
	if _, err := q.Send(ctx, strings.Repeat("m", MaxMessageText), 0, 0); err != nil {
		t.Fatalf("a message at the limit: %v", err)
	}
	if _, err := q.Send(ctx, strings.Repeat("m", MaxMessageText+1), 0, 0); !fault.Is(err, fault.TooLarge) {
		t.Fatalf("a message past the limit: %v", err)
	}
}
