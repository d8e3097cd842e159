// Package pack is the framing of many content blobs in one HTTP body, used
// both ways between collab and the catalog (docs/catalog.md, "Transfer"):
//
//	collab-pack 1\n
//	<sha256 hex> <size>\n<size bytes>     once per blob
//	end\n
//
// A reader checks every blob against its name as it arrives, so a blob
// handed to the caller is the content its hash names, and the end line
// tells a complete pack from a cut one. The framing is this small on
// purpose: a blob is already content-addressed, so tar or zip would add
// headers and a central directory without adding a check.
package pack

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ContentType is the media type of a pack body.
const ContentType = "application/vnd.collab.pack"

const (
	magic = "collab-pack 1\n"
	end   = "end\n"
)

// Writer writes a pack.
type Writer struct {
	w       io.Writer
	started bool
}

// NewWriter returns a Writer on w; nothing is written until the first Add
// or Close.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

func (p *Writer) start() error {
	if p.started {
		return nil
	}
	p.started = true
	_, err := io.WriteString(p.w, magic)
	return err
}

// Add writes one blob under its SHA-256 (the caller computed it).
func (p *Writer) Add(sum string, data []byte) error {
	if err := p.start(); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(p.w, "%s %d\n", sum, len(data)); err != nil {
		return err
	}
	_, err := p.w.Write(data)
	return err
}

// Close writes the end line (it does not close the underlying writer).
func (p *Writer) Close() error {
	if err := p.start(); err != nil {
		return err
	}
	_, err := io.WriteString(p.w, end)
	return err
}

// Len is the length of the pack that Add (once per blob, in any order) and
// Close write for blobs with these names and sizes. A sender declares it as
// the request's Content-Length before it streams the pack: the Functions host
// forwards a request body to the handler only when it has a Content-Length
// (docs/devhost.md), so a chunked upload would arrive empty.
func Len(sums []string, sizes []int64) int64 {
	n := int64(len(magic) + len(end))
	for i, sum := range sums {
		n += int64(len(sum)+1+len(strconv.FormatInt(sizes[i], 10))+1) + sizes[i]
	}
	return n
}

// Reader reads a pack, verifying each blob.
type Reader struct {
	r       *bufio.Reader
	max     int64
	started bool
	done    bool
	// Bytes counts the blob bytes read so far (for progress).
	Bytes int64
}

// ErrCorrupt is wrapped by every error about a malformed pack or a blob that
// does not match its name.
var ErrCorrupt = errors.New("corrupt pack")

// NewReader reads a pack from r; a blob over maxBlob bytes is refused.
func NewReader(r io.Reader, maxBlob int64) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: maxBlob}
}

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// Next returns the next blob and its hash, or io.EOF after the end line. A
// stream that stops before the end line is io.ErrUnexpectedEOF.
func (p *Reader) Next() (string, []byte, error) {
	if p.done {
		return "", nil, io.EOF
	}
	if !p.started {
		p.started = true
		line, err := p.line()
		if err != nil {
			return "", nil, err
		}
		if line+"\n" != magic {
			return "", nil, corrupt("not a collab pack (first line %.40q)", line)
		}
	}
	line, err := p.line()
	if err != nil {
		return "", nil, err
	}
	if line+"\n" == end {
		p.done = true
		return "", nil, io.EOF
	}
	sum, sz, ok := strings.Cut(line, " ")
	n, err := strconv.ParseInt(sz, 10, 64)
	if !ok || err != nil || n < 0 || len(sum) != 64 || strings.ToLower(sum) != sum {
		return "", nil, corrupt("bad entry header %.100q", line)
	}
	if _, err := hex.DecodeString(sum); err != nil {
		return "", nil, corrupt("bad entry header %.100q", line)
	}
	if n > p.max {
		return "", nil, corrupt("blob %s is %d bytes, over the %d-byte limit", sum, n, p.max)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(p.r, data); err != nil {
		return "", nil, cut(err)
	}
	got := sha256.Sum256(data)
	if hex.EncodeToString(got[:]) != sum {
		return "", nil, corrupt("the bytes of %s hash to %x", sum, got)
	}
	p.Bytes += n
	return sum, data, nil
}

func (p *Reader) line() (string, error) {
	line, err := p.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) || len(line) > 200 {
		return "", corrupt("line too long")
	}
	if err != nil {
		return "", cut(err)
	}
	return strings.TrimSuffix(string(line), "\n"), nil
}

func cut(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
