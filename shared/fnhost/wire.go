package fnhost

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The Functions host builds an invocation's Data and Metadata with
// GetHttpScriptInvocationContextValue (azure-functions-host,
// src/WebJobs.Script/Workers/MessageExtensions/ScriptInvocationContextExtensions.cs,
// lines 56-82) and serializes the result with Newtonsoft.Json. So, on the wire:
//   - a byte[] is base64 text (line 64; with dataType binary, line 62, the
//     byte[] itself, which Newtonsoft writes as base64 too);
//   - a DateTime / DateTimeOffset goes through ToString and Parse (lines 66-73):
//     whole seconds, "2026-11-24T09:01:00+00:00" for an offset, and no zone at
//     all for a DateTime ("2026-11-24T09:01:00", which is UTC for Service Bus);
//   - an object becomes a JSON object (line 76: TimerInfo, sys, property bags);
//   - anything else (a string, a number) goes through JsonConvert.SerializeObject
//     (line 81), so it arrives as a JSON string holding JSON: "\"abc\"" for the
//     string abc, "1" for the number 1 (GetHttpScriptInvocationContextValueTest_String).
// The decoders below read that, and the plain form (a string as a JSON string,
// a number as a number, an RFC 3339 time) as well, so that hand-written
// invocations and older callers keep working.

// unquoteHost returns the text of a JSON value the host sent as a string. A
// string whose content is itself a JSON string literal is the host's double
// encoding and is unwrapped once more; any other string is returned as is.
// ok is false when raw is not a JSON string.
func unquoteHost(raw json.RawMessage) (s string, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, err
	}
	if inner := strings.TrimSpace(s); len(inner) >= 2 && inner[0] == '"' && inner[len(inner)-1] == '"' {
		var s2 string
		if json.Unmarshal([]byte(inner), &s2) == nil {
			return s2, true, nil
		}
	}
	return s, true, nil
}

// metaString reads a string-valued metadata entry: "\"abc\"" (host) or "abc".
func metaString(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	s, ok, err := unquoteHost(raw)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("want a string, got %s", clip(raw))
	}
	return s, nil
}

// metaInt reads an integer metadata entry: "1" (host) or 1.
func metaInt(raw json.RawMessage) (int64, error) {
	if isNull(raw) {
		return 0, nil
	}
	// The host's "1" is a string holding the number once: no further unwrapping.
	text := string(bytes.TrimSpace(raw))
	if text[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, err
		}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("want an integer, got %s", clip(raw))
	}
	return n, nil
}

// hostTimeLayouts are the forms a time takes on the wire: Newtonsoft's ISO
// form with an offset or a Z, without a zone (a DateTime of unspecified
// kind after the host's ToString/Parse round trip), with or without
// fractions (Go's parser accepts fractions after the seconds).
var hostTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05"}

// metaTime reads a time metadata entry. A time without a zone is UTC: the
// host loses the kind of Service Bus's EnqueuedTimeUtc (a UTC DateTime).
func metaTime(raw json.RawMessage) (time.Time, error) {
	if isNull(raw) {
		return time.Time{}, nil
	}
	s, err := metaString(raw)
	if err != nil {
		return time.Time{}, err
	}
	return parseHostTime(s)
}

func parseHostTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range hostTimeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("want a time, got %q", s)
}

// metaObject reads an object-valued entry: a JSON object (host: JObject)
// or a string holding one.
func metaObject(raw json.RawMessage) (map[string]any, error) {
	if isNull(raw) {
		return nil, nil
	}
	if s, ok, err := unquoteHost(raw); ok {
		if err != nil {
			return nil, err
		}
		raw = json.RawMessage(s)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("want an object, got %s", clip(raw))
	}
	return m, nil
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func clip(raw json.RawMessage) string {
	if len(raw) > 60 {
		return string(raw[:60]) + "..."
	}
	return string(raw)
}

// fields decodes metadata (or any JSON object) field by field; the first
// error names its key.
type fields struct {
	m   map[string]json.RawMessage
	err error
}

func newFields(b []byte) (*fields, error) {
	f := &fields{}
	if err := json.Unmarshal(b, &f.m); err != nil {
		return nil, err
	}
	return f, nil
}

// field sets *dst from the field key, read with parse, unless the key is
// absent or an earlier field failed (f.err says which).
func field[T any](f *fields, key string, dst *T, parse func(json.RawMessage) (T, error)) {
	if raw, ok := f.m[key]; ok && f.err == nil {
		*dst, f.err = parse(raw)
		f.wrap(key)
	}
}

func (f *fields) str(key string, dst *string)            { field(f, key, dst, metaString) }
func (f *fields) int(key string, dst *int64)             { field(f, key, dst, metaInt) }
func (f *fields) time(key string, dst *time.Time)        { field(f, key, dst, metaTime) }
func (f *fields) object(key string, dst *map[string]any) { field(f, key, dst, metaObject) }

func (f *fields) bool(key string, dst *bool) {
	raw, ok := f.m[key]
	if !ok || f.err != nil || isNull(raw) {
		return
	}
	text := string(bytes.TrimSpace(raw))
	if s, ok, err := unquoteHost(raw); ok {
		if err != nil {
			f.err = err
			f.wrap(key)
			return
		}
		text = s
	}
	*dst, f.err = strconv.ParseBool(strings.ToLower(strings.TrimSpace(text)))
	f.wrap(key)
}

func (f *fields) wrap(key string) {
	if f.err != nil {
		f.err = fmt.Errorf("%s: %w", key, f.err)
	}
}

// UnmarshalJSON reads the queue metadata in the host's encoding (CreateBindingData
// in the queue extension's QueueTriggerBinding.cs: DequeueCount long, the times
// DateTimeOffset, Id and PopReceipt strings) or in the plain form.
func (m *QueueMetadata) UnmarshalJSON(b []byte) error {
	f, err := newFields(b)
	if err != nil {
		return err
	}
	f.str("Id", &m.ID)
	f.int("DequeueCount", &m.DequeueCount)
	f.time("InsertionTime", &m.InsertionTime)
	f.time("ExpirationTime", &m.ExpirationTime)
	f.time("NextVisibleTime", &m.NextVisibleTime)
	f.str("PopReceipt", &m.PopReceipt)
	return f.err
}

// UnmarshalJSON reads Service Bus metadata in the host's encoding (the
// extension's ServiceBusTriggerBindingStrategy.AddBindingData: DeliveryCount
// int, SequenceNumber long, EnqueuedTimeUtc a UTC DateTime, the ids strings,
// the property bags objects) or in the plain form.
func (m *ServiceBusMetadata) UnmarshalJSON(b []byte) error {
	f, err := newFields(b)
	if err != nil {
		return err
	}
	f.str("MessageId", &m.MessageID)
	f.str("SessionId", &m.SessionID)
	f.int("DeliveryCount", &m.DeliveryCount)
	f.int("SequenceNumber", &m.SequenceNumber)
	f.time("EnqueuedTimeUtc", &m.EnqueuedTimeUtc)
	f.str("ContentType", &m.ContentType)
	f.str("CorrelationId", &m.CorrelationID)
	f.str("Subject", &m.Subject)
	f.str("Label", &m.Label)
	f.object("ApplicationProperties", &m.ApplicationProperties)
	f.object("UserProperties", &m.UserProperties)
	return f.err
}

// UnmarshalJSON reads "sys" (SystemBindingData, an object: line 76).
func (s *SysMetadata) UnmarshalJSON(b []byte) error {
	f, err := newFields(b)
	if err != nil {
		return err
	}
	f.str("MethodName", &s.MethodName)
	f.time("UtcNow", &s.UtcNow)
	f.str("RandGuid", &s.RandGuid)
	return f.err
}

// UnmarshalJSON reads a TimerInfo (an object: line 76). ScheduleStatus is
// null unless the schedule monitor applies (useMonitor).
func (t *TimerInfo) UnmarshalJSON(b []byte) error {
	f, err := newFields(b)
	if err != nil {
		return err
	}
	var sched struct {
		AdjustForDST bool `json:"AdjustForDST"`
	}
	if raw, ok := f.m["Schedule"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &sched); err != nil {
			return fmt.Errorf("Schedule: %w", err)
		}
	}
	t.Schedule.AdjustForDST = sched.AdjustForDST
	t.ScheduleStatus = nil
	if raw, ok := f.m["ScheduleStatus"]; ok && !isNull(raw) {
		st, err := newFields(raw)
		if err != nil {
			return fmt.Errorf("ScheduleStatus: %w", err)
		}
		var s ScheduleStatus
		st.time("Last", &s.Last)
		st.time("Next", &s.Next)
		st.time("LastUpdated", &s.LastUpdated)
		if st.err != nil {
			return fmt.Errorf("ScheduleStatus: %w", st.err)
		}
		t.ScheduleStatus = &s
	}
	f.bool("IsPastDue", &t.IsPastDue)
	return f.err
}
