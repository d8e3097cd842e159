package fnhost

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"time"
)

// This file builds invocation bodies exactly as the Functions host does
// (wire.go has the rules and their source lines), for the devhost and for
// tests that play the host. The decoders read them back; the fixtures in
// testdata/ hold one body per trigger, and TestEncoderMatchesFixtures keeps
// the two in step.

// DateTimeOffset is a time the host holds as a .NET DateTimeOffset (queue
// message times): on the wire, whole seconds with a "+00:00" offset.
type DateTimeOffset time.Time

// DateTime is a time the host holds as a .NET DateTime (Service Bus
// EnqueuedTimeUtc): on the wire, whole seconds and no zone at all.
type DateTime time.Time

// MaxDateTimeOffset is DateTimeOffset.MaxValue, which the queue extension
// puts in ExpirationTime and NextVisibleTime when a message has none.
var MaxDateTimeOffset = DateTimeOffset(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))

// HostValue encodes one Data or Metadata value as GetHttpScriptInvocationContextValue
// and Newtonsoft.Json do. ok is false for nil, which the host leaves out of
// Metadata (ScriptInvocationContextExtensions.cs line 25).
func HostValue(v any) (raw json.RawMessage, ok bool, err error) {
	switch x := v.(type) {
	case nil:
		return nil, false, nil
	case []byte:
		raw, err = marshal(base64.StdEncoding.EncodeToString(x)) // line 64
	case DateTimeOffset:
		raw, err = marshal(time.Time(x).UTC().Truncate(time.Second).Format("2006-01-02T15:04:05-07:00")) // line 70
	case DateTime:
		raw, err = marshal(time.Time(x).UTC().Truncate(time.Second).Format("2006-01-02T15:04:05")) // line 66
	case json.RawMessage:
		raw = x // already an object (JObject)
	default:
		switch reflect.ValueOf(v).Kind() {
		case reflect.Map, reflect.Struct, reflect.Pointer:
			raw, err = marshal(v) // line 76: JObject.FromObject
		default:
			// line 81: JsonConvert.SerializeObject, then serialized once more.
			var inner []byte
			if inner, err = marshal(v); err == nil {
				raw, err = marshal(string(inner))
			}
		}
	}
	if err != nil {
		return nil, false, fmt.Errorf("fnhost: encoding %T: %w", v, err)
	}
	return raw, true, nil
}

// EncodeInvocation encodes a whole body: data by binding name, metadata by key
// (nil values left out), with "sys" added.
func EncodeInvocation(data map[string]any, metadata map[string]any, sys SysMetadata) ([]byte, error) {
	req := InvocationRequest{Data: map[string]json.RawMessage{}, Metadata: map[string]json.RawMessage{}}
	for k, v := range data {
		raw, ok, err := HostValue(v)
		if err != nil {
			return nil, err
		}
		if !ok {
			raw = json.RawMessage("null")
		}
		req.Data[k] = raw
	}
	keys := make([]string, 0, len(metadata))
	for k := range metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw, ok, err := HostValue(metadata[k])
		if err != nil {
			return nil, err
		}
		if ok {
			req.Metadata[k] = raw
		}
	}
	s, _ := marshal(map[string]any{"MethodName": sys.MethodName, "UtcNow": sys.UtcNow.UTC(), "RandGuid": sys.RandGuid})
	req.Metadata["sys"] = s
	return marshal(req)
}

// marshal is json.Marshal without Go's HTML escaping, which Newtonsoft
// does not do either ("<" stays "<").
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// QueueMessage is a Storage queue message as the queue trigger sees it.
type QueueMessage struct {
	ID, PopReceipt, Text                           string
	DequeueCount                                   int64
	InsertionTime, ExpirationTime, NextVisibleTime time.Time
}

// QueueInvocation is the body for a queue trigger bound as a string (the
// default for a custom handler): the message text JSON-encoded once more,
// and the metadata of QueueTriggerBinding.CreateBindingData. An empty ID or
// PopReceipt (a message made by the admin API) is left out, as the host
// leaves out nulls; a zero time is DateTimeOffset.MaxValue.
func QueueInvocation(binding string, m QueueMessage, sys SysMetadata) ([]byte, error) {
	meta := map[string]any{"DequeueCount": m.DequeueCount,
		"InsertionTime": offsetOrMax(m.InsertionTime), "ExpirationTime": offsetOrMax(m.ExpirationTime),
		"NextVisibleTime": offsetOrMax(m.NextVisibleTime)}
	if m.ID != "" {
		meta["Id"] = m.ID
	}
	if m.PopReceipt != "" {
		meta["PopReceipt"] = m.PopReceipt
	}
	return EncodeInvocation(map[string]any{binding: m.Text}, meta, sys)
}

func offsetOrMax(t time.Time) DateTimeOffset {
	if t.IsZero() {
		return MaxDateTimeOffset
	}
	return DateTimeOffset(t)
}

// ServiceBusMessage is a Service Bus message as the trigger sees it.
type ServiceBusMessage struct {
	MessageID, SessionID, ContentType, CorrelationID, Subject, LockToken string
	DeliveryCount, SequenceNumber                                        int64
	EnqueuedTime, ExpiresAt                                              time.Time
	Properties                                                           map[string]any
	Body                                                                 string
}

// ServiceBusInvocation is the body for a Service Bus trigger bound as a
// string: the body JSON-encoded once more, and the trigger's binding data
// (ServiceBusTriggerBindingStrategy.AddBindingData; the v5 extension adds
// SessionId, Subject and ApplicationProperties, keeping UserProperties and
// Label for older functions). Empty strings stand for nulls and are left out.
func ServiceBusInvocation(binding string, m ServiceBusMessage, sys SysMetadata) ([]byte, error) {
	props := m.Properties
	if props == nil {
		props = map[string]any{}
	}
	meta := map[string]any{
		"DeliveryCount": m.DeliveryCount, "SequenceNumber": m.SequenceNumber,
		"EnqueuedTimeUtc": DateTime(m.EnqueuedTime), "ExpiresAtUtc": DateTime(m.ExpiresAt),
		"ApplicationProperties": props, "UserProperties": props,
	}
	for k, v := range map[string]string{"MessageId": m.MessageID, "SessionId": m.SessionID, "ContentType": m.ContentType,
		"CorrelationId": m.CorrelationID, "Subject": m.Subject, "Label": m.Subject, "LockToken": m.LockToken} {
		if v != "" {
			meta[k] = v
		}
	}
	return EncodeInvocation(map[string]any{binding: m.Body}, meta, sys)
}

// TimerInvocation is the body for a timer trigger: TimerInfo as an object,
// and no metadata but "sys" (the timer's own binding data, TimerTrigger,
// ends in "trigger" and is left out: line 32).
func TimerInvocation(binding string, t TimerInfo, sys SysMetadata) ([]byte, error) {
	type status struct {
		Last        string `json:"Last"`
		Next        string `json:"Next"`
		LastUpdated string `json:"LastUpdated"`
	}
	obj := map[string]any{"Schedule": map[string]any{"AdjustForDST": t.Schedule.AdjustForDST}, "ScheduleStatus": nil, "IsPastDue": t.IsPastDue}
	if s := t.ScheduleStatus; s != nil {
		// Inside a JObject a DateTime keeps its precision and its kind (local = UTC on Azure's Linux workers).
		f := func(x time.Time) string { return x.UTC().Format("2006-01-02T15:04:05.9999999-07:00") }
		obj["ScheduleStatus"] = status{Last: f(s.Last), Next: f(s.Next), LastUpdated: f(s.LastUpdated)}
	}
	raw, _ := marshal(obj)
	return EncodeInvocation(map[string]any{binding: json.RawMessage(raw)}, nil, sys)
}

// MaxDateTime is DateTime.MaxValue (a Service Bus message's ExpiresAtUtc
// when it never expires).
var MaxDateTime = DateTime(time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC))

// StripFixtureComments drops the leading "//" lines of a fixture in
// testdata/host/*.jsonc (they cite the host's source); the rest is the body
// exactly as the host sends it.
func StripFixtureComments(b []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) == 0 || bytes.HasPrefix(t, []byte("//")) {
			continue
		}
		out = append(out, line)
	}
	return bytes.TrimSpace(bytes.Join(out, []byte("\n")))
}
