package fnhost

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// InvocationRequest is the body the Functions host POSTs for a non-HTTP
// trigger. Data holds one entry per trigger or input binding, keyed by the
// binding name in function.json; Metadata holds the trigger's metadata
// (queue dequeue count, Service Bus message id, ...) and "sys".
type InvocationRequest struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// InvocationResponse is what the handler answers. Outputs are keyed by
// output binding name; Logs go to the host's log stream; ReturnValue feeds a
// "$return" binding.
type InvocationResponse struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// SysMetadata is the "sys" block every invocation carries.
type SysMetadata struct {
	MethodName string    `json:"MethodName"`
	UtcNow     time.Time `json:"UtcNow"`
	RandGuid   string    `json:"RandGuid"`
}

// TimerInfo is the payload of a timer trigger binding; IsPastDue tells a job
// that the host was down when the occurrence was due.
type TimerInfo struct {
	Schedule struct {
		AdjustForDST bool `json:"AdjustForDST"`
	} `json:"Schedule"`
	// ScheduleStatus is nil unless the host's schedule monitor applies
	// (useMonitor; on by default for schedules of a minute or more).
	ScheduleStatus *ScheduleStatus `json:"ScheduleStatus"`
	IsPastDue      bool            `json:"IsPastDue"`
}

// ScheduleStatus is the schedule monitor's record of a timer.
type ScheduleStatus struct {
	Last        time.Time `json:"Last"`
	Next        time.Time `json:"Next"`
	LastUpdated time.Time `json:"LastUpdated"`
}

// QueueMetadata is the metadata of a Storage queue trigger; DequeueCount is
// what the host compares with maxDequeueCount before poisoning a message.
type QueueMetadata struct {
	ID              string    `json:"Id"`
	DequeueCount    int64     `json:"DequeueCount"`
	InsertionTime   time.Time `json:"InsertionTime"`
	ExpirationTime  time.Time `json:"ExpirationTime"`
	NextVisibleTime time.Time `json:"NextVisibleTime"`
	PopReceipt      string    `json:"PopReceipt"`
}

// ServiceBusMetadata is the part of a Service Bus trigger's metadata the
// deployment worker relies on: the id for duplicate detection, the session
// (one environment) and the delivery count.
type ServiceBusMetadata struct {
	MessageID             string         `json:"MessageId"`
	SessionID             string         `json:"SessionId"`
	DeliveryCount         int64          `json:"DeliveryCount"`
	SequenceNumber        int64          `json:"SequenceNumber"`
	EnqueuedTimeUtc       time.Time      `json:"EnqueuedTimeUtc"`
	ContentType           string         `json:"ContentType"`
	CorrelationID         string         `json:"CorrelationId"`
	Subject               string         `json:"Subject"`
	Label                 string         `json:"Label"`
	ApplicationProperties map[string]any `json:"ApplicationProperties"`
	UserProperties        map[string]any `json:"UserProperties"`
}

// Properties returns the application properties whichever name the host
// version used for them.
func (m ServiceBusMetadata) Properties() map[string]any {
	if m.ApplicationProperties != nil {
		return m.ApplicationProperties
	}
	return m.UserProperties
}

// Invocation is one non-HTTP call of a function, as a function sees it.
type Invocation struct {
	Function string
	Request  InvocationRequest
	logs     []string
}

// Logf adds a line to the invocation's Logs, which the host forwards to its
// own log stream (Application Insights in Azure).
func (inv *Invocation) Logf(format string, args ...any) {
	inv.logs = append(inv.logs, fmt.Sprintf(format, args...))
}

// Logs returns the lines added with Logf.
func (inv *Invocation) Logs() []string { return inv.logs }

// Text returns a binding's payload as text. The host sends a queue or
// Service Bus message as a JSON string holding the message JSON-encoded once
// more ("\"{...}\""; GetHttpScriptInvocationContextValue, wire.go); the
// plain form (a JSON string holding the message) is read as well. Anything
// else (an object such as TimerInfo, a number) is returned as its JSON text.
// A message whose own text is a JSON string literal is ambiguous between the
// two forms and is read in the host's.
func (inv *Invocation) Text(binding string) (string, error) {
	raw, ok := inv.Request.Data[binding]
	if !ok {
		return "", fault.E("fnhost.Text", fault.Invalid, fmt.Sprintf("no data for binding %q", binding))
	}
	s, isString, err := unquoteHost(raw)
	if err != nil {
		return "", fault.E("fnhost.Text", fault.Invalid, fmt.Sprintf("binding %q is not a JSON string", binding), err)
	}
	if isString {
		return s, nil
	}
	return string(bytes.TrimSpace(raw)), nil
}

// Bytes returns a binding's payload as bytes: the host sends a byte[] as
// base64 text, with or without "dataType": "binary" (wire.go).
func (inv *Invocation) Bytes(binding string) ([]byte, error) {
	raw, ok := inv.Request.Data[binding]
	if !ok {
		return nil, fault.E("fnhost.Bytes", fault.Invalid, fmt.Sprintf("no data for binding %q", binding))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fault.E("fnhost.Bytes", fault.Invalid, fmt.Sprintf("binding %q is not base64 text", binding), err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fault.E("fnhost.Bytes", fault.Invalid, fmt.Sprintf("binding %q is not base64 text", binding), err)
	}
	return b, nil
}

// Bind decodes a binding's payload into v, whether the host sent it as a JSON
// value or as a string holding JSON (queue messages arrive that way).
func (inv *Invocation) Bind(binding string, v any) error {
	text, err := inv.Text(binding)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(text), v); err != nil {
		return fault.E("fnhost.Bind", fault.Invalid, fmt.Sprintf("binding %q does not decode", binding), err)
	}
	return nil
}

// Meta decodes the metadata into v: QueueMetadata and ServiceBusMetadata
// read the host's encoding (scalars as strings, strings with their quotes
// kept; wire.go) and the plain form. A type of the caller's gets the
// metadata as the host sent it. Unknown keys are ignored: hosts add metadata
// over time.
func (inv *Invocation) Meta(v any) error {
	b, err := json.Marshal(inv.Request.Metadata)
	if err != nil {
		return fault.E("fnhost.Meta", fault.Internal, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fault.E("fnhost.Meta", fault.Invalid, "metadata does not decode", err)
	}
	return nil
}

// Sys returns the "sys" metadata block, or a zero value when absent.
func (inv *Invocation) Sys() SysMetadata {
	var s SysMetadata
	if raw, ok := inv.Request.Metadata["sys"]; ok && !isNull(raw) {
		_ = json.Unmarshal(raw, &s)
	}
	return s
}
