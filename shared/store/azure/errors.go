package azure

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/studio-collab/collab/shared/fault"
)

// mapErr is the one place where SDK errors become fault kinds. what names
// the object (table/key, container/blob, queue) for the logs.
func mapErr(op, what string, err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		k := fault.Internal
		switch {
		case re.ErrorCode == "TableNotFound" || re.ErrorCode == "ContainerNotFound" || re.ErrorCode == "QueueNotFound":
			// A missing table is not a missing object: storage is not
			// bootstrapped (yet). Retryable, and never a 404 to a caller.
			return fault.E(op, fault.Unavailable, "storage is not ready", fmt.Errorf("%s: %s", what, re.ErrorCode))
		case re.StatusCode == http.StatusNotFound:
			k = fault.NotFound
		case re.StatusCode == http.StatusPreconditionFailed:
			k = fault.PreconditionFailed
		case re.StatusCode == http.StatusConflict || re.ErrorCode == "PopReceiptMismatch":
			// A pop receipt mismatch means another receiver holds the message now.
			k = fault.Conflict
		case re.StatusCode == http.StatusBadRequest || re.StatusCode == http.StatusRequestEntityTooLarge:
			// The checks in limits.go should have refused this first; say
			// what storage said, so the caller gets more than "invalid".
			k, detail := refusal(re)
			return fault.E(op, k, detail, fmt.Errorf("%s: %s (%s)", what, re.ErrorCode, http.StatusText(re.StatusCode)))
		case re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized:
			// Our own identity lacks a role: an operator problem, not the caller's.
			k = fault.Internal
		case re.StatusCode >= 500 || re.StatusCode == http.StatusTooManyRequests:
			k = fault.Unavailable
		}
		// what (table, key, blob name) goes into the cause, for the logs; never
		// into fault.Path, which callers may see.
		return fault.E(op, k, fmt.Errorf("%s: %s (%s)", what, re.ErrorCode, http.StatusText(re.StatusCode)))
	}
	// Canceled, timeouts, refused connections, DNS: the service is not reachable.
	return fault.E(op, fault.Unavailable, fmt.Errorf("%s: %w", what, err))
}

// refusal turns a 400/413 from storage into a kind and a caller-safe
// detail: the error code says which rule (PropertyValueTooLarge,
// EntityTooLarge, RequestBodyTooLarge, InvalidInput, ...), never the value.
func refusal(re *azcore.ResponseError) (fault.Kind, string) {
	switch re.ErrorCode {
	case "PropertyValueTooLarge":
		return fault.TooLarge, "a value is over the storage limit of 64 KiB (32,768 UTF-16 characters for text)"
	case "EntityTooLarge":
		return fault.TooLarge, "the record is over the storage limit of 1 MiB"
	case "RequestBodyTooLarge", "MessageTooLarge":
		return fault.TooLarge, "the request is over the storage limit (" + re.ErrorCode + ")"
	case "TooManyProperties":
		return fault.TooLarge, "the record has more properties than storage allows (252)"
	case "KeyValueTooLarge", "OutOfRangeInput", "InvalidInput", "PropertiesNeedValue":
		return fault.Invalid, "storage refused the record (" + re.ErrorCode + ")"
	}
	if re.StatusCode == http.StatusRequestEntityTooLarge {
		return fault.TooLarge, "the request is over a storage limit (" + re.ErrorCode + ")"
	}
	code := re.ErrorCode
	if code == "" {
		code = http.StatusText(re.StatusCode)
	}
	return fault.Invalid, "storage refused the request (" + code + ")"
}

// errorCode returns the storage error code of err, or "".
func errorCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}
