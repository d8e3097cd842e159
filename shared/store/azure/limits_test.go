package azure

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// TestLimitsAgreeWithStorage: what store.CheckEntity accepts, storage stores;
// one past each limit, CheckEntity refuses before the SDK call, and storage
// itself refuses the same write sent raw (so the check is never more
// lenient than the service), with a detail that names the rule.
func TestLimitsAgreeWithStorage(t *testing.T) {
	ctx := context.Background()
	a, l := fresh(t)
	tb := a.Table(l.Tables[0]).(*Table)
	at := []store.Entity{
		{PartitionKey: "p", RowKey: strings.Repeat("k", store.MaxKeyUnits)},
		// ASCII, not "é": Azurite joins the body's network chunks as strings
		// one by one (node_modules/azurite/dist/src/table/generated/utils/
		// serializer.js, readRequestIntoText), so a two-byte character split
		// between chunks counts twice and a string at the limit is refused
		// when the body arrives in pieces (it did, under load). That UTF-16
		// units are what counts is store.TestCheckEntityNamesFieldAndLimit's business.
		{PartitionKey: "p", RowKey: "s", Props: map[string]any{"S": strings.Repeat("s", store.MaxStringUnits)}},
		{PartitionKey: "p", RowKey: "b", Props: map[string]any{"B": make([]byte, store.MaxBinaryBytes)}},
	}
	for _, e := range at {
		if _, err := tb.Insert(ctx, e); err != nil {
			t.Fatalf("at the limit %s: %v", e.RowKey[:1], err)
		}
	}
	past := []store.Entity{
		{PartitionKey: "p", RowKey: strings.Repeat("k", store.MaxKeyUnits+1)},
		{PartitionKey: "p", RowKey: "s2", Props: map[string]any{"S": strings.Repeat("é", store.MaxStringUnits+1)}},
		{PartitionKey: "p", RowKey: "b2", Props: map[string]any{"B": make([]byte, store.MaxBinaryBytes+1)}},
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
func rawBody(e store.Entity) []byte {
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
