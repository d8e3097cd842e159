package store

import (
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
