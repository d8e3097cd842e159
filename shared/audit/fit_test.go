package audit

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestFitTrimsByItsRule: each step of fit's rule, in order; the result
// always fits one string property.
func TestFitTrimsByItsRule(t *testing.T) {
	small := Entry{Action: "parameter.put", Before: json.RawMessage(`{"value":"EUR"}`)}
	long := strings.Repeat("é", 9000) // 18,000 bytes
	two := Entry{Action: "parameter.put", Before: mustJSON(map[string]any{"value": long}), After: mustJSON(map[string]any{"value": long})}
	many := map[string]any{}
	for i := range 200 {
		many[strings.Repeat("k", i+1)] = strings.Repeat("v", 400)
	}
	wide := Entry{Action: "connector.put", After: mustJSON(many)}
	cases := []struct {
		name    string
		e       Entry
		trimmed bool
		want    string
	}{
		{"1. as it is when it fits", small, false, `"value":"EUR"`},
		{"2. long strings keep 512 bytes and a marker", two, true, "… [trimmed from 18000 bytes, sha256 "},
		{"3. else before and after become a digest", wide, true, `"after":{"bytes":`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := fit(&c.e)
			if len(body) > maxEntryBytes || c.e.Trimmed != c.trimmed || !strings.Contains(string(body), c.want) {
				t.Fatalf("%d bytes, trimmed %v: %.300s", len(body), c.e.Trimmed, body)
			}
		})
	}
}

func mustJSON(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
