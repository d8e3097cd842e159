package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/studio-collab/collab/shared/fault"
)

// MaxChunkedBytes is the most SetChunked stores: 15 binary properties of
// 60 KiB each keep an entity under the table service's 1 MiB limit, and each
// property under its 64 KiB limit.
const MaxChunkedBytes = 15 * chunkSize

const chunkSize = 60 << 10

// SetChunked stores b in props as name, name1, name2, ... (binary properties
// of at most 60 KiB), for documents larger than one property may hold. A
// document over MaxChunkedBytes is TooLarge.
func SetChunked(props map[string]any, name string, b []byte) error {
	if len(b) > MaxChunkedBytes {
		return fault.E("store.SetChunked", fault.TooLarge, fmt.Sprintf("%s is %d bytes, over %d", name, len(b), MaxChunkedBytes))
	}
	for i := 0; i == 0 || len(b) > 0; i++ {
		n := min(len(b), chunkSize)
		key := name
		if i > 0 {
			key = fmt.Sprintf("%s%d", name, i)
		}
		props[key] = append([]byte{}, b[:n]...)
		b = b[n:]
	}
	return nil
}

// Chunked reads back what SetChunked stored under name.
func (e Entity) Chunked(name string) []byte {
	out := e.Bytes(name)
	for i := 1; ; i++ {
		c, ok := e.Props[fmt.Sprintf("%s%d", name, i)].([]byte)
		if !ok {
			return out
		}
		out = append(out, c...)
	}
}

// maxDocString is the longest document SetDoc keeps as a string: a string
// property holds MaxStringUnits UTF-16 units, and UTF-8 never has fewer
// bytes than UTF-16 units.
const maxDocString = MaxStringUnits

// SetDoc stores a JSON document under name: as a string when it fits one
// property (rows stay readable in a storage browser, and rows written
// before keep their shape), else as chunked binary (SetChunked). A
// document over MaxChunkedBytes is TooLarge. Read it back with Doc.
func SetDoc(props map[string]any, name string, b []byte) error {
	if len(b) <= maxDocString {
		props[name] = string(b)
		return nil
	}
	return SetChunked(props, name, b)
}

// Doc reads back what SetDoc (or SetChunked) stored under name.
func (e Entity) Doc(name string) []byte {
	if s, ok := e.Props[name].(string); ok {
		return []byte(s)
	}
	return e.Chunked(name)
}

// Doc is the one "JSON document in a column" of the service: a value of T
// kept as JSON under the property Name of a row (SetDoc's form; with Binary,
// SetChunked's), next to whatever properties the row is queried by. Modules
// declare one per row kind, e.g.
//
//	var taskDoc = store.Doc[Task]{Name: "Doc"}
//
// and never marshal by hand, so every row reads back whichever form it was
// written in.
type Doc[T any] struct {
	// Name is the property; chunked documents continue in Name1, Name2, ...
	Name string
	// Binary always stores chunked binary, never a string: for documents
	// that often outgrow a string property's 32,768 UTF-16 units, so their
	// rows keep one shape.
	Binary bool
}

// Set stores v in props. A document over MaxChunkedBytes is TooLarge, and
// props then hold it as one oversized string, so that a write of the row
// is refused as TooLarge as well: a caller that cannot return the error
// never writes a row without its document.
func (d Doc[T]) Set(props map[string]any, v T) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fault.E("store.Doc", fault.Internal, fmt.Sprintf("%T does not encode", v), err)
	}
	if d.Binary {
		err = SetChunked(props, d.Name, b)
	} else {
		err = SetDoc(props, d.Name, b)
	}
	if err != nil {
		props[d.Name] = string(b)
	}
	return err
}

// Read reads the row pk/rk of t and its document, and the row's ETag. A
// missing row is t.Get's NotFound.
func (d Doc[T]) Read(ctx context.Context, t Table, pk, rk string) (T, string, error) {
	e, err := t.Get(ctx, pk, rk)
	if err != nil {
		var zero T
		return zero, "", err
	}
	v, err := d.Get(e)
	return v, e.ETag, err
}

// Query reads the documents of the rows of t that f selects (limit as
// QueryAll's), in order, handing each value its row's ETag through tag:
// a listing as the domain's values.
func (d Doc[T]) Query(ctx context.Context, t Table, f Filter, limit int, tag func(v *T, etag string)) ([]T, error) {
	es, err := t.QueryAll(ctx, f, limit)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(es))
	for _, e := range es {
		v, err := d.Get(e)
		if err != nil {
			return nil, err
		}
		tag(&v, e.ETag)
		out = append(out, v)
	}
	return out, nil
}

// Get reads the document of e. One that does not decode is Internal:
// storage holds what this code did not write.
func (d Doc[T]) Get(e Entity) (T, error) {
	var v T
	if err := json.Unmarshal(e.Doc(d.Name), &v); err != nil {
		return v, fault.E("store.Doc", fault.Internal, fmt.Sprintf("property %s", d.Name), err)
	}
	return v, nil
}
