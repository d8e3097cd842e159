package azure

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// One decode per row (issue 23). The SDK decodes a query's body into
// generic maps, encodes each row back to JSON for its caller, who decodes it
// once more; on a 1,000-row listing that was most of the handler's CPU. So
// the table client carries decodePolicy: for a call whose context holds a
// rowSink it decodes the body, as it arrives from the service, straight into
// store.Entity values, and hands the SDK an empty body in its place (the
// status, headers and continuation keys are untouched, so paging, retries
// and error mapping stay the SDK's). The decoder streams tokens with
// jsontext (the Go team's encoding/json/v2 prototype) instead of building a
// map per row.

// rowSinkKey is the context key of a rowSink.
type rowSinkKey struct{}

// rowSink receives the rows of one call. single: the body is one entity
// (Get), else a query page ({"value": [...]}).
type rowSink struct {
	single  bool
	rows    []store.Entity
	err     error
	decoded bool
}

// emptyPage and emptyEntity replace a decoded body for the SDK.
const (
	emptyPage   = `{"value":[]}`
	emptyEntity = `{}`
)

// decodePolicy is the per-call pipeline policy described above.
type decodePolicy struct{}

func (decodePolicy) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	sink, ok := req.Raw().Context().Value(rowSinkKey{}).(*rowSink)
	if err != nil || !ok || resp == nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	// Payload is the body the SDK already downloaded (no copy).
	body, rerr := runtime.Payload(resp)
	empty := emptyPage
	if sink.single {
		empty = emptyEntity
	}
	resp.Body = io.NopCloser(strings.NewReader(empty))
	if rerr != nil {
		return resp, rerr // the connection broke: the SDK's caller sees it as a transport error
	}
	sink.decoded = true
	if sink.single {
		var e store.Entity
		e, sink.err = decodeEntity(body)
		sink.rows = []store.Entity{e}
	} else {
		sink.rows, sink.err = decodePage(body)
	}
	return resp, nil
}

// decoder turns table JSON (OData, full metadata) into entities. Property
// names repeat on every row, so each distinct name is allocated once.
type decoder struct {
	dec   *jsontext.Decoder
	names map[string]string
	buf   []byte // unquoting scratch
	hint  int    // properties of the previous row, to size the next map
}

func newDecoder(body []byte) *decoder {
	return &decoder{
		// A bytes.Buffer is parsed in place, without a copy.
		dec:   jsontext.NewDecoder(bytes.NewBuffer(body), jsontext.AllowDuplicateNames(true)),
		names: make(map[string]string, 32),
	}
}

const decodeOp = "store.decode"

func decodeErr(err error) error {
	return fault.E(decodeOp, fault.Internal, "storage answered JSON this driver does not read", err)
}

// decodePage decodes a query page: {"odata.metadata": ..., "value": [rows]}.
func decodePage(body []byte) ([]store.Entity, error) {
	d := newDecoder(body)
	if err := d.expect('{'); err != nil {
		return nil, err
	}
	var rows []store.Entity
	for d.dec.PeekKind() != '}' {
		name, err := d.name()
		if err != nil {
			return nil, err
		}
		if name != "value" {
			if err := d.dec.SkipValue(); err != nil {
				return nil, decodeErr(err)
			}
			continue
		}
		if err := d.expect('['); err != nil {
			return nil, err
		}
		rows = make([]store.Entity, 0, 64)
		for d.dec.PeekKind() != ']' {
			e, err := d.entity()
			if err != nil {
				return nil, err
			}
			rows = append(rows, e)
		}
		if err := d.expect(']'); err != nil {
			return nil, err
		}
	}
	if err := d.expect('}'); err != nil {
		return nil, err
	}
	return rows, nil
}

// decodeEntity decodes one entity (the body of a Get).
func decodeEntity(body []byte) (store.Entity, error) {
	return newDecoder(body).entity()
}

func (d *decoder) expect(kind jsontext.Kind) error {
	tok, err := d.dec.ReadToken()
	if err != nil {
		return decodeErr(err)
	}
	if tok.Kind() != kind {
		return decodeErr(fmt.Errorf("want %v, got %v", kind, tok.Kind()))
	}
	return nil
}

// name reads an object member's name, interned.
func (d *decoder) name() (string, error) {
	v, err := d.dec.ReadValue()
	if err != nil {
		return "", decodeErr(err)
	}
	raw, err := d.unquote(v)
	if err != nil {
		return "", err
	}
	if s, ok := d.names[string(raw)]; ok {
		return s, nil
	}
	s := string(raw)
	d.names[s] = s
	return s, nil
}

// unquote returns the text of a JSON string value, valid until the next
// read.
func (d *decoder) unquote(v jsontext.Value) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' {
		return nil, decodeErr(fmt.Errorf("not a string: %.20s", v))
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	var err error
	d.buf, err = jsontext.AppendUnquote(d.buf[:0], v)
	if err != nil {
		return nil, decodeErr(err)
	}
	return d.buf, nil
}

// entity reads one entity object. A property's type annotation
// ("X@odata.type") may come before or after its value; a value read before
// its annotation is converted again when the annotation arrives.
func (d *decoder) entity() (store.Entity, error) {
	if err := d.expect('{'); err != nil {
		return store.Entity{}, err
	}
	e := store.Entity{Props: make(map[string]any, max(d.hint, 8))}
	var types map[string]string // annotations, only when one precedes its value
	for d.dec.PeekKind() != '}' {
		name, err := d.name()
		if err != nil {
			return store.Entity{}, err
		}
		v, err := d.dec.ReadValue()
		if err != nil {
			return store.Entity{}, decodeErr(err)
		}
		switch {
		case name == "PartitionKey" || name == "RowKey" || name == "odata.etag":
			s, err := d.str(v)
			if err != nil {
				return store.Entity{}, err
			}
			switch name {
			case "PartitionKey":
				e.PartitionKey = s
			case "RowKey":
				e.RowKey = s
			default:
				e.ETag = s
			}
		case name == "Timestamp":
			if v.Kind() == '"' {
				raw, err := d.unquote(v)
				if err != nil {
					return store.Entity{}, err
				}
				e.Timestamp, _ = time.Parse(time.RFC3339Nano, string(raw))
			}
		case strings.HasSuffix(name, "@odata.type"):
			prop := strings.TrimSuffix(name, "@odata.type")
			raw, err := d.unquote(v)
			if err != nil {
				return store.Entity{}, err
			}
			typ := d.intern(raw)
			if cur, ok := e.Props[prop]; ok {
				// The value came first: convert it now.
				if e.Props[prop], err = retype(cur, typ); err != nil {
					return store.Entity{}, propErr(prop, err)
				}
				continue
			}
			if types == nil {
				types = make(map[string]string, 8)
			}
			types[prop] = typ
		case strings.HasPrefix(name, "odata.") || strings.Contains(name, "@odata."):
			// metadata: skipped
		default:
			val, err := d.value(v, types[name])
			if err != nil {
				return store.Entity{}, propErr(name, err)
			}
			e.Props[name] = val
		}
	}
	if err := d.expect('}'); err != nil {
		return store.Entity{}, err
	}
	d.hint = len(e.Props)
	return e, nil
}

// sinkErr is the fault of a call whose rows did not decode (or were not
// decoded at all: the pipeline lost decodePolicy). what goes into the
// cause, for the logs, never into a caller-visible detail.
func sinkErr(op, what string, sink *rowSink) error {
	if !sink.decoded {
		return fault.E(op, fault.Internal, fmt.Errorf("%s: the response was not decoded", what))
	}
	return fault.E(op, fault.Internal, fmt.Errorf("%s: %w", what, sink.err))
}

func propErr(name string, err error) error {
	return fault.E(decodeOp, fault.Internal, fmt.Sprintf("property %s", name), err)
}

func (d *decoder) intern(raw []byte) string {
	if s, ok := d.names[string(raw)]; ok {
		return s
	}
	s := string(raw)
	d.names[s] = s
	return s
}

func (d *decoder) str(v jsontext.Value) (string, error) {
	raw, err := d.unquote(v)
	if err != nil {
		return "", err
	}
	return string(raw), nil
}

// value converts one property value by its annotation (typ; "" when none
// came before it), to the Go types store.Entity documents: untyped JSON
// numbers are Edm.Int32 when whole and in range, else Edm.Double (Azurite
// drops the annotation of whole doubles).
func (d *decoder) value(v jsontext.Value, typ string) (any, error) {
	switch v.Kind() {
	case 'n':
		return nil, nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	case '0':
		switch typ {
		case "Edm.Double":
			return strconv.ParseFloat(string(v), 64)
		case "Edm.Int64":
			return strconv.ParseInt(string(v), 10, 64)
		}
		if i, err := strconv.ParseInt(string(v), 10, 32); err == nil {
			return int32(i), nil
		}
		return strconv.ParseFloat(string(v), 64)
	case '"':
		raw, err := d.unquote(v)
		if err != nil {
			return nil, err
		}
		switch typ {
		case "Edm.Int64":
			return strconv.ParseInt(string(raw), 10, 64)
		case "Edm.Int32":
			i, err := strconv.ParseInt(string(raw), 10, 32)
			return int32(i), err
		case "Edm.DateTime":
			t, err := time.Parse(time.RFC3339Nano, string(raw))
			return t.UTC(), err
		case "Edm.Binary":
			out := make([]byte, base64.StdEncoding.DecodedLen(len(raw)))
			n, err := base64.StdEncoding.Decode(out, raw)
			return out[:n], err
		case "Edm.Double": // "NaN", "Infinity", "-Infinity"
			return strconv.ParseFloat(string(raw), 64)
		}
		return string(raw), nil
	}
	return nil, fmt.Errorf("unexpected JSON %v", v.Kind())
}

// retype converts a value decoded without its annotation once the
// annotation arrives after it.
func retype(cur any, typ string) (any, error) {
	switch x := cur.(type) {
	case string:
		switch typ {
		case "Edm.Int64":
			return strconv.ParseInt(x, 10, 64)
		case "Edm.Int32":
			i, err := strconv.ParseInt(x, 10, 32)
			return int32(i), err
		case "Edm.DateTime":
			t, err := time.Parse(time.RFC3339Nano, x)
			return t.UTC(), err
		case "Edm.Binary":
			return base64.StdEncoding.DecodeString(x)
		case "Edm.Double":
			return strconv.ParseFloat(x, 64)
		}
	case int32:
		switch typ {
		case "Edm.Double":
			return float64(x), nil
		case "Edm.Int64":
			return int64(x), nil
		}
	case float64:
		if typ == "Edm.Int64" {
			return int64(x), nil
		}
	}
	return cur, nil
}
