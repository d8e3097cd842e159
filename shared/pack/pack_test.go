package pack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestRoundTrip(t *testing.T) {
	blobs := [][]byte{[]byte("one"), {}, bytes.Repeat([]byte{0, '\n', 'x'}, 70000)}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, b := range blobs {
		if err := w.Add(sum(b), b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sums, sizes := make([]string, len(blobs)), make([]int64, len(blobs))
	for i, b := range blobs {
		sums[i], sizes[i] = sum(b), int64(len(b))
	}
	if n := Len(sums, sizes); n != int64(buf.Len()) {
		t.Fatalf("Len says %d bytes, the pack has %d", n, buf.Len())
	}
	r := NewReader(&buf, 1<<20)
	for i, want := range blobs {
		s, got, err := r.Next()
		if err != nil || s != sum(want) || !bytes.Equal(got, want) {
			t.Fatalf("blob %d: %s %d bytes %v", i, s, len(got), err)
		}
	}
	if _, _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last blob: %v", err)
	}
	if r.Bytes != int64(3+0+210000) {
		t.Fatalf("bytes %d", r.Bytes)
	}
}

func TestBadPacks(t *testing.T) {
	good := sum([]byte("abc"))
	cases := []struct {
		name, body string
		want       error
	}{
		{"not a pack", "PK\x03\x04\n", ErrCorrupt},
		{"cut in a blob", magic + good + " 3\nab", io.ErrUnexpectedEOF},
		{"no end line", magic + good + " 3\nabc", io.ErrUnexpectedEOF},
		{"wrong bytes", magic + good + " 3\nabd" + end, ErrCorrupt},
		{"over the limit", magic + good + " 99999\n", ErrCorrupt},
		{"upper-case hash", magic + strings.ToUpper(good) + " 3\nabc" + end, ErrCorrupt},
		{"negative size", magic + good + " -1\n", ErrCorrupt},
		{"endless line", magic + strings.Repeat("a", 70000), ErrCorrupt},
	}
	for _, c := range cases {
		r := NewReader(strings.NewReader(c.body), 1000)
		var err error
		for err == nil {
			_, _, err = r.Next()
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
