package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/studio-collab/collab/shared/fault"
)

// DefaultBodyLimit is the request body cap of a route registered without
// its own (DESIGN §5: bodies are capped; 413 past the cap).
const DefaultBodyLimit int64 = 1 << 20

// limitBody caps r.Body at n bytes; Content-Length past n is refused before
// a byte is read.
func limitBody(w http.ResponseWriter, r *http.Request, n int64) error {
	if r.ContentLength > n {
		return tooLarge(n)
	}
	r.Body = http.MaxBytesReader(w, r.Body, n)
	return nil
}

func tooLarge(n int64) error {
	return fault.E("httpapi.body", fault.TooLarge, fmt.Sprintf("the request body is over the limit of %d bytes", n))
}

// ReadBody reads the whole (capped) body; past the cap it returns a TooLarge
// error, so handlers that take raw bytes get the same 413 as JSON ones.
func ReadBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(mbe.Limit)
		}
		return nil, fault.E("httpapi.ReadBody", fault.Invalid, "the request body could not be read", err)
	}
	return b, nil
}

// DecodeJSON decodes the request body into v strictly: the content type must
// be JSON, unknown fields and trailing data are refused, and every error is a
// fault.Invalid whose detail names the field or the byte offset, so the
// caller can fix the request.
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return fault.E("httpapi.DecodeJSON", fault.Invalid, fmt.Sprintf("content type %q is not JSON", ct))
		}
	}
	body, err := ReadBody(r)
	if err != nil {
		return err
	}
	return decodeStrict(body, v)
}

func decodeStrict(body []byte, v any) error {
	const op = "httpapi.DecodeJSON"
	if len(bytes.TrimSpace(body)) == 0 {
		return fault.E(op, fault.Invalid, "the request body is empty; a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fault.E(op, fault.Invalid, describeJSONError(err), err)
	}
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return fault.E(op, fault.Invalid, fmt.Sprintf("invalid data after the JSON value at byte %d", dec.InputOffset()))
		}
		return fault.E(op, fault.Invalid, fmt.Sprintf("unexpected data after the JSON value at byte %d: %v", dec.InputOffset(), tok))
	}
	return nil
}

func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return fmt.Sprintf("the body must be a JSON %s, not %s", typ.Type.Kind(), typ.Value)
		}
		return fmt.Sprintf("field %q must be %s, not %s", field, jsonTypeName(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: the body ends in the middle of a value"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		return "malformed JSON: " + err.Error()
	}
}

func jsonTypeName(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		if strings.HasPrefix(goKind, "int") || strings.HasPrefix(goKind, "uint") || strings.HasPrefix(goKind, "float") {
			return "a number"
		}
		return goKind
	}
}
