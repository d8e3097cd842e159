package catalog

import (
	"fmt"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// MaxPathBytes is the longest path the catalog stores. An object's row key
// is its encoded path and a history row's key adds "~" and a ten-digit
// version; a table key is at most 512 UTF-16 units (1 KiB), so a path of
// more than 501 bytes could be claimed and then never applied. Paths are
// ASCII (security.ValidatePath) and EncodeKey keeps their length, so bytes,
// key characters and UTF-16 units are the same number here.
const MaxPathBytes = store.MaxKeyUnits - len("~0000000000")

// checkPathKey refuses a path whose keys would not fit, naming the change.
func checkPathKey(at, path string) error {
	if n := store.UTF16Len(historyKey(path, 0)); n > store.MaxKeyUnits {
		return fault.E("catalog.Checkin", fault.TooLarge, fault.Path(path), fmt.Sprintf(
			"%s.path is %d bytes; the catalog stores paths of at most %d bytes (a storage key is 1 KiB)", at, len(path), MaxPathBytes))
	}
	return nil
}

// checkRows builds every row commit rec will write once claimed (feed,
// history, object and key rows) and checks each against storage's limits,
// so that nothing that can fail deterministically is left for after the
// claim: a claimed commit that storage refuses would be retried by every
// roll-forward and wedge the project. known are the object rows read at
// the quiet head (their state becomes the previous one).
func checkRows(rec *record, known map[string]store.Entity) error {
	const op = "catalog.Checkin"
	feed, err := feedRows(rec)
	if err != nil {
		return fault.E(op, err)
	}
	rows := feed
	for _, c := range rec.Changes {
		o := rec.object(c)
		rows = append(rows, historyRow(rec.Project, o))
		var prev Object
		if e, ok := known[c.Path]; ok {
			prev = objectFrom(e, "", c.Path)
		}
		rows = append(rows, objectRow(rec.Project, o, prev))
	}
	if rec.Key != "" {
		rows = append(rows, keyRow(rec, recordName(rec.Project, fmt.Sprintf("%064d", 0))))
	}
	for _, e := range rows {
		if err := store.CheckEntity(e); err != nil {
			return fault.E(op, fault.TooLarge, "the check-in would make a record over the storage limits ("+fault.DetailOf(err)+"); split it into smaller check-ins", err)
		}
	}
	return nil
}
