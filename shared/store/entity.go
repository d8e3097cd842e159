package store

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// Entity is one table row. Props hold the other properties with Go types
// that round-trip exactly through the table service:
//
//	string, bool, int32 (Edm.Int32), int64 (Edm.Int64, no float rounding),
//	float64 (Edm.Double), time.Time (Edm.DateTime, UTC, 100 ns precision),
//	[]byte (Edm.Binary).
//
// An int is stored as int64. Reading returns exactly these types, with one
// exception: Azurite drops the Edm.Double annotation of whole-valued doubles
// (2.0 reads back as int32 2), so read floating-point properties with
// Float64, which accepts any number.
type Entity struct {
	PartitionKey string
	RowKey       string
	ETag         string
	Timestamp    time.Time
	Props        map[string]any
}

// String returns a string property, "" when absent or of another type.
func (e Entity) String(name string) string { s, _ := e.Props[name].(string); return s }

// Int64 returns an integer property (int64 or int32), 0 when absent.
func (e Entity) Int64(name string) int64 {
	switch v := e.Props[name].(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	}
	return 0
}

// Float64 returns a numeric property as float64, 0 when absent.
func (e Entity) Float64(name string) float64 {
	if f, ok := e.Props[name].(float64); ok {
		return f
	}
	return float64(e.Int64(name))
}

// Bool returns a bool property, false when absent.
func (e Entity) Bool(name string) bool { b, _ := e.Props[name].(bool); return b }

// Time returns a time property, the zero time when absent.
func (e Entity) Time(name string) time.Time { t, _ := e.Props[name].(time.Time); return t }

// Bytes returns a binary property, nil when absent.
func (e Entity) Bytes(name string) []byte { b, _ := e.Props[name].([]byte); return b }

const edmTimeLayout = "2006-01-02T15:04:05.0000000Z"

// MinTime is the earliest Edm.DateTime Azure Table storage accepts; Azurite
// takes earlier ones, so EncodeEntity refuses them for it.
var MinTime = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// ValidPropertyName reports whether name may name a property (in a filter,
// a select list or an entity).
func ValidPropertyName(name string) bool { return propertyName.MatchString(name) }

// EncodeEntity is e as the table service's JSON body (OData, with type
// annotations), after CheckEntity: every driver write goes through it, so no
// oversized entity, bad property name, unsupported type or pre-1601 date
// reaches a service. It is portable (no SDK) because the limits are counted
// in this form: BatchBytes sizes batches with it.
func EncodeEntity(e Entity) ([]byte, error) {
	if err := CheckEntity(e); err != nil {
		return nil, err
	}
	m := make(map[string]any, len(e.Props)*2+2)
	m["PartitionKey"] = e.PartitionKey
	m["RowKey"] = e.RowKey
	for k, v := range e.Props {
		if !propertyName.MatchString(k) || k == "PartitionKey" || k == "RowKey" || k == "Timestamp" || strings.HasPrefix(k, "odata") {
			return nil, fault.E("store.Entity", fault.Invalid, fmt.Sprintf("property name %q is not allowed", k))
		}
		switch x := v.(type) {
		case string, bool:
			m[k] = x
		case int32:
			m[k] = x
		case int:
			m[k], m[k+"@odata.type"] = strconv.FormatInt(int64(x), 10), "Edm.Int64"
		case int64:
			m[k], m[k+"@odata.type"] = strconv.FormatInt(x, 10), "Edm.Int64"
		case float64:
			m[k], m[k+"@odata.type"] = x, "Edm.Double"
		case time.Time:
			// Azure refuses dates before 1601 (Azurite takes them): a zero
			// time.Time would pass every local test and fail in Azure.
			if x.Before(MinTime) {
				return nil, fault.E("store.Entity", fault.Internal, fmt.Sprintf("property %q is %s, before 1601, which Azure Table storage refuses (leave it out instead)", k, x.Format(time.RFC3339)))
			}
			m[k], m[k+"@odata.type"] = x.UTC().Format(edmTimeLayout), "Edm.DateTime"
		case []byte:
			m[k], m[k+"@odata.type"] = base64.StdEncoding.EncodeToString(x), "Edm.Binary"
		case nil:
			// absent
		default:
			return nil, fault.E("store.Entity", fault.Invalid, fmt.Sprintf("property %q has unsupported type %T", k, v))
		}
	}
	return json.Marshal(m)
}
