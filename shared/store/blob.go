package store

import (
	"context"
	"time"
)

// Container is one blob container. Safe for concurrent use. Errors are
// fault kinds: NotFound (no such blob), Conflict (CreateOnly over an
// existing blob, a lease held by another), PreconditionFailed (stale
// IfMatch), Unavailable.
type Container interface {
	// Put stores data under name in one request.
	Put(ctx context.Context, name string, data []byte, opt PutOptions) (BlobInfo, error)
	// Get reads a whole blob; NotFound when absent. For blobs of bounded
	// size (callers cap what they store).
	Get(ctx context.Context, name string) ([]byte, BlobInfo, error)
	// GetRange reads count bytes of a blob from offset (one ranged read);
	// NotFound when absent. Packs of many small contents are read this
	// way, a span at a time, instead of one request per content.
	GetRange(ctx context.Context, name string, offset, count int64) ([]byte, error)
	// Stat returns a blob's properties; NotFound when absent.
	Stat(ctx context.Context, name string) (BlobInfo, error)
	// Exists reports whether a blob exists.
	Exists(ctx context.Context, name string) (bool, error)
	// Delete removes a blob; NotFound when absent.
	Delete(ctx context.Context, name string) error
	// AcquireLease takes an exclusive lease of 15–60 s (or -1: infinite)
	// on an existing blob: the building block for leader election and
	// single-writer sections. A lease held by someone else is a Conflict.
	AcquireLease(ctx context.Context, name string, d time.Duration) (Lease, error)
}

// Lease is a held blob lease.
type Lease interface {
	// ID names the lease.
	ID() string
	// Renew extends the lease by its duration; Conflict if it was lost.
	Renew(ctx context.Context) error
	// Release gives the lease up.
	Release(ctx context.Context) error
}

// PutOptions shape a Put.
type PutOptions struct {
	ContentType string
	// CreateOnly refuses to overwrite (If-None-Match: *): an existing blob is
	// a Conflict. Content-addressed writes use it to stay idempotent.
	CreateOnly bool
	// IfMatch replaces the blob only if its ETag is still this one: a stale
	// ETag is PreconditionFailed. A single conditional write, so a whole
	// document (an ACL) changes atomically.
	IfMatch string
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	ETag         string
	Size         int64
	ContentType  string
	LastModified time.Time
}
