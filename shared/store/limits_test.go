package store

import (
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
