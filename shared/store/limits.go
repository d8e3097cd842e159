package store

import (
	"encoding/base64"
	"fmt"
	"time"
	"unicode/utf16"

	"github.com/studio-collab/collab/shared/fault"
)

// Azure Storage's size limits, as data: the one place that knows them.
// Every write checks them before the SDK call, so an oversized write is a
// TooLarge fault naming the field and the limit, never an empty 400 from the
// service, and domain code can size its rows before its first write
// (DESIGN §5: "every size is known before the first write").
//
// Sources: "Understanding the Table service data model" (learn.microsoft.com,
// rest/api/storageservices/understanding-the-table-service-data-model: keys
// up to 1 KiB, 252 custom properties, string properties of 64 KiB in UTF-16,
// binary of 64 KiB, an entity of 1 MiB counted by the formula in EntitySize),
// "Performing entity group transactions" (100 operations, 4 MiB payload) and
// "Put Message" (a message of up to 64 KiB, after encoding). Azurite enforces
// the same numbers (node_modules/azurite/dist/src/table/handlers/
// TableHandler.js validateKey, checkProperties, checkEntityLimit; its
// DEFAULT_KEY_MAX_LENGTH is 512 UTF-16 units, i.e. 1 KiB).
const (
	MaxKeyUnits     = 512                     // UTF-16 code units of a PartitionKey or RowKey (1 KiB)
	MaxStringUnits  = 32 << 10                // UTF-16 code units of a string property (64 KiB)
	MaxBinaryBytes  = 64 << 10                // bytes of a binary property
	MaxProperties   = 252                     // custom properties of one entity
	MaxEntityBytes  = 1 << 20                 // one entity, as EntitySize counts it
	MaxBatchOps     = 100                     // operations in one entity group transaction
	MaxBatchBytes   = 4 << 20                 // payload of one entity group transaction
	MaxMessageBytes = 64 << 10                // a queue message as sent (base64 text)
	MaxMessageText  = MaxMessageBytes / 4 * 3 // the text before base64 encoding
	maxPropertyName = 255
	BatchOverheadOp = 512 // per-operation MIME framing of a batch, generously
)

// UTF16Len is the length of s in UTF-16 code units, which is how the table
// service measures strings and keys. Invalid UTF-8 bytes count as one unit
// each (they become U+FFFD).
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// TooLarge is the fault for a value over a storage limit: field names the
// value (a property, a key, a batch), limit says what the rule is. The detail
// is safe to show: it holds names and numbers, never the value.
func TooLarge(op, field string, size int, limit string) error {
	return fault.E(op, fault.TooLarge, fmt.Sprintf("%s is %d, over the storage limit of %s", field, size, limit))
}

// CheckKey refuses a key Azure Table storage would: over 512 UTF-16 units
// (TooLarge) or holding '/', '\', '#', '?' or a control character (Invalid).
// Keys built with EncodeKey never hold the forbidden characters.
func CheckKey(field, k string) error {
	const op = "store.CheckKey"
	if n := UTF16Len(k); n > MaxKeyUnits {
		return TooLarge(op, field, n, fmt.Sprintf("%d UTF-16 units (1 KiB)", MaxKeyUnits))
	}
	for _, r := range k {
		if r == '/' || r == '\\' || r == '#' || r == '?' || r < 0x20 || (r >= 0x7F && r <= 0x9F) {
			return fault.E(op, fault.Invalid, fmt.Sprintf("%s holds %q, which table keys may not hold", field, r))
		}
	}
	return nil
}

// EntitySize is the size of e as Azure counts it: 4 bytes, plus 2 per
// character of both keys, plus for each property 8 bytes, 2 per character
// of its name and its value's size (a string 4 + 2 per UTF-16 unit, binary
// 4 + its length, int32 4, int64, double and date 8, bool 1).
func EntitySize(e Entity) int {
	n := 4 + 2*(UTF16Len(e.PartitionKey)+UTF16Len(e.RowKey))
	for k, v := range e.Props {
		if v == nil {
			continue
		}
		n += 8 + 2*UTF16Len(k) + valueSize(v)
	}
	return n
}

func valueSize(v any) int {
	switch x := v.(type) {
	case string:
		return 4 + 2*UTF16Len(x)
	case []byte:
		return 4 + len(x)
	case bool:
		return 1
	case int32:
		return 4
	case int, int64, float64, time.Time:
		return 8
	}
	return 0
}

// CheckEntity refuses an entity Azure would refuse for its size: a key, a
// string or binary property, the number of properties or the whole entity
// over its limit. Property names and types are checked by EncodeEntity.
func CheckEntity(e Entity) error {
	const op = "store.CheckEntity"
	if err := CheckKey("PartitionKey", e.PartitionKey); err != nil {
		return err
	}
	if err := CheckKey("RowKey", e.RowKey); err != nil {
		return err
	}
	props := 0
	for k, v := range e.Props {
		if v == nil {
			continue
		}
		props++
		if len(k) > maxPropertyName {
			return TooLarge(op, "a property name", len(k), fmt.Sprintf("%d characters", maxPropertyName))
		}
		switch x := v.(type) {
		case string:
			if n := UTF16Len(x); n > MaxStringUnits {
				return TooLarge(op, "property "+k, n, fmt.Sprintf("%d UTF-16 units (64 KiB)", MaxStringUnits))
			}
		case []byte:
			if len(x) > MaxBinaryBytes {
				return TooLarge(op, "property "+k, len(x), fmt.Sprintf("%d bytes", MaxBinaryBytes))
			}
		}
	}
	if props > MaxProperties {
		return TooLarge(op, "the number of properties", props, fmt.Sprint(MaxProperties))
	}
	if n := EntitySize(e); n > MaxEntityBytes {
		return TooLarge(op, "the entity", n, fmt.Sprintf("%d bytes (1 MiB, as Azure counts it)", MaxEntityBytes))
	}
	return nil
}

// BatchBytes is the payload one entity adds to a batch: its JSON body as
// sent plus the MIME framing of its operation (bounded generously), so that
// callers can split rows into batches under MaxBatchBytes before writing.
func BatchBytes(e Entity) (int, error) {
	b, err := EncodeEntity(e)
	if err != nil {
		return 0, err
	}
	return len(b) + BatchOverheadOp, nil
}

// CheckMessage refuses a queue message whose base64 encoding (the form it
// is sent in) is over 64 KiB.
func CheckMessage(field, text string) error {
	if n := base64.StdEncoding.EncodedLen(len(text)); n > MaxMessageBytes {
		return TooLarge("store.CheckMessage", field, n, fmt.Sprintf("%d bytes after base64 encoding", MaxMessageBytes))
	}
	return nil
}
