package store

import (
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/fault"
)

type docT struct {
	Name  string   `json:"name"`
	Items []string `json:"items"`
}

// TestDocRoundTrip: a document reads back whichever form it was stored in
// (a string when it fits, chunked binary when it does not or when Binary
// asks for it), and what does not fit or decode is refused with a kind.
func TestDocRoundTrip(t *testing.T) {
	big := docT{Name: "big", Items: []string{strings.Repeat("x", MaxStringUnits)}}
	cases := []struct {
		name     string
		doc      Doc[docT]
		v        docT
		asString bool
	}{
		{"small as a string", Doc[docT]{Name: "Doc"}, docT{Name: "a", Items: []string{"b"}}, true},
		{"too long for a string is chunked", Doc[docT]{Name: "Doc"}, big, false},
		{"binary even when small", Doc[docT]{Name: "Doc", Binary: true}, docT{Name: "a"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			props := map[string]any{"Other": "kept"}
			if err := c.doc.Set(props, c.v); err != nil {
				t.Fatal(err)
			}
			if _, isString := props["Doc"].(string); isString != c.asString {
				t.Fatalf("stored as %T", props["Doc"])
			}
			if err := CheckEntity(Entity{PartitionKey: "p", RowKey: "r", Props: props}); err != nil {
				t.Fatalf("the row does not fit storage: %v", err)
			}
			got, err := c.doc.Get(Entity{Props: props})
			if err != nil || got.Name != c.v.Name || len(got.Items) != len(c.v.Items) || props["Other"] != "kept" {
				t.Fatalf("read back %+v, %v", got.Name, err)
			}
		})
	}
	huge := docT{Items: []string{strings.Repeat("y", MaxChunkedBytes)}}
	props := map[string]any{}
	if err := (Doc[docT]{Name: "Doc"}).Set(props, huge); !fault.Is(err, fault.TooLarge) {
		t.Fatalf("a document over MaxChunkedBytes: %v", err)
	}
	if err := CheckEntity(Entity{PartitionKey: "p", RowKey: "r", Props: props}); !fault.Is(err, fault.TooLarge) {
		t.Fatalf("the row of a document over MaxChunkedBytes would be written: %v", err)
	}
	if _, err := (Doc[docT]{Name: "Doc"}).Get(Entity{Props: map[string]any{"Doc": "{not json"}}); !fault.Is(err, fault.Internal) {
		t.Fatalf("a corrupt document: %v", err)
	}
}
