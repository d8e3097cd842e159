package idempotency

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/housekeeping"
	"github.com/studio-collab/collab/shared/httpapi"
	"github.com/studio-collab/collab/shared/identity"
	"github.com/studio-collab/collab/shared/store"
)

// Layout is the storage the records need.
var Layout = store.Layout{Tables: []string{"idempotency"}}

// PendingTTL is how long a pending record written before leases (one
// without LeaseUntil) blocks its key.
const PendingTTL = 2 * time.Minute

// PendingLease is how long a pending record blocks its key after its last
// renewal: the request that holds it renews it every PendingLease/3 while
// its handler runs, so a live request keeps its key however long it takes,
// and the key of a request whose process died is free PendingLease later.
const PendingLease = 15 * time.Second

// MaxWait is how long a retry waits for the request that holds its key
// before it answers 503 with a Retry-After.
const MaxWait = 10 * time.Second

// Keeper runs handlers at most once per key.
type Keeper struct {
	table store.Table
	now   func() time.Time
	poll  time.Duration
	renew time.Duration // how often a running request renews its lease (real time)
}

// New returns a Keeper on t.
func New(t store.Table) *Keeper {
	return &Keeper{table: t, now: time.Now, poll: 50 * time.Millisecond, renew: PendingLease / 3}
}

// InProgressError is the answer to a retry whose key is held by a request
// still running (or whose process died less than PendingLease ago): 503,
// retry after RetryAfter. The status is not 409, which means a conflict a
// retry cannot solve.
type InProgressError struct{ After time.Duration }

func (e *InProgressError) Error() string {
	return fmt.Sprintf("the request with this Idempotency-Key is still in progress; retry with the same key in %d s", int(e.RetryAfter().Seconds()))
}

func inProgress(after time.Duration) error {
	e := &InProgressError{After: after}
	return fault.E("idempotency", fault.Unavailable, e.Error(), e)
}

// RetryAfter is when the key's holder will have finished or lost its lease.
func (e *InProgressError) RetryAfter() time.Duration {
	return min(max(e.After.Round(time.Second), time.Second), PendingLease)
}

// Wrap returns h made idempotent for requests that carry Idempotency-Key.
// Requests without the header run as usual.
func (k *Keeper) Wrap(h httpapi.HandlerFunc) httpapi.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			return h(w, r)
		}
		if len(key) > 200 {
			return fault.E("idempotency", fault.Invalid, "Idempotency-Key is longer than 200 characters")
		}
		body, err := httpapi.ReadBody(r)
		if err != nil {
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		bodyHash := hashOf(body)
		caller, _ := identity.FromContext(r.Context())
		pk, rk := scopeKey(caller.ID, r.Method, r.URL.Path), store.EncodeKey(key)

		for attempt := 0; ; attempt++ {
			etag, err := k.table.Insert(r.Context(), store.Entity{PartitionKey: pk, RowKey: rk, Props: map[string]any{
				"State": "pending", "BodyHash": bodyHash, "Created": k.now().UTC(), "LeaseUntil": k.now().Add(PendingLease).UTC()}})
			if err == nil {
				return k.runAndRecord(w, r, h, pk, rk, bodyHash, etag)
			}
			if !fault.Is(err, fault.Conflict) {
				return err
			}
			rec, err := k.waitDone(r.Context(), pk, rk, bodyHash)
			if err != nil {
				return err
			}
			if rec == nil { // a stale pending record was cleared: try again
				if attempt > 3 {
					return inProgress(time.Second)
				}
				continue
			}
			replay(w, *rec)
			return nil
		}
	}
}

func hashOf(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// scopeKey is the partition of a caller's keys on one route.
func scopeKey(caller, method, path string) string {
	scope := sha256.Sum256([]byte(caller + "\x00" + method + "\x00" + path))
	return hex.EncodeToString(scope[:16])
}

func (k *Keeper) runAndRecord(w http.ResponseWriter, r *http.Request, h httpapi.HandlerFunc, pk, rk, bodyHash, etag string) error {
	rec := &recorder{header: http.Header{}}
	stop := k.keepLease(r.Context(), pk, rk, bodyHash, etag)
	herr := h(rec, r)
	stop()
	status := rec.code
	if herr != nil {
		status = httpapi.StatusOf(herr)
	}
	if status >= 500 || status == 0 {
		// Not recorded: the key may be retried, and the operation must be safe to retry.
		_ = k.table.Delete(context.WithoutCancel(r.Context()), pk, rk, store.AnyETag)
		if herr != nil {
			return herr
		}
		copyOut(w, rec)
		return nil
	}
	if herr != nil {
		// Record the problem answer so a retry gets the same one.
		pr := &recorder{header: http.Header{}}
		httpapi.Error(pr, r, herr)
		httpapi.Observed(r, herr)
		rec = pr
	}
	props := map[string]any{
		"State": "done", "BodyHash": bodyHash, "Created": k.now().UTC(),
		"Status": int32(rec.code), "ContentType": rec.header.Get("Content-Type"), "Location": rec.header.Get("Location"),
		"ETagHeader": rec.header.Get("ETag")}
	err := storeBody(props, rec.body.Bytes())
	if err == nil {
		_, err = k.table.Update(context.WithoutCancel(r.Context()), store.Entity{PartitionKey: pk, RowKey: rk, Props: props}, store.AnyETag)
	}
	if err != nil {
		httpapi.Logger(r.Context()).Warn("idempotency record not saved", "error", err.Error())
	}
	copyOut(w, rec)
	return nil
}

// keepLease renews the pending record's lease while the handler runs, with
// conditional writes: once a renewal fails (the record was taken over after
// a stall longer than the lease) it stops, and the handler's outcome is
// still recorded (the operations behind keys are safe to run twice: the
// catalog finds its commit by key).
func (k *Keeper) keepLease(ctx context.Context, pk, rk, bodyHash, etag string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(k.renew)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			next, err := k.table.Update(context.WithoutCancel(ctx), store.Entity{PartitionKey: pk, RowKey: rk, Props: map[string]any{
				"State": "pending", "BodyHash": bodyHash, "Created": k.now().UTC(), "LeaseUntil": k.now().Add(PendingLease).UTC()}}, etag)
			if err != nil {
				return
			}
			etag = next
		}
	}()
	return func() { close(done); wg.Wait() }
}

type record struct {
	status                      int
	contentType, location, etag string
	body                        []byte
}

// waitDone polls a key's record until it is done (returned), the body
// differs (422), or a pending record whose lease ran out was removed (nil,
// nil): the retry then takes the key over. After MaxWait it answers 503
// (*InProgressError) with the time left on the holder's lease.
func (k *Keeper) waitDone(ctx context.Context, pk, rk, bodyHash string) (*record, error) {
	deadline := k.now().Add(MaxWait)
	for {
		e, err := k.table.Get(ctx, pk, rk)
		if fault.Is(err, fault.NotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if e.String("BodyHash") != bodyHash {
			return nil, fault.E("idempotency", fault.Unprocessable, "this Idempotency-Key was used with a different request body")
		}
		if e.String("State") == "done" {
			return &record{status: int(e.Int64("Status")), contentType: e.String("ContentType"), location: e.String("Location"),
				etag: e.String("ETagHeader"), body: loadBody(e)}, nil
		}
		until := e.Time("LeaseUntil")
		if until.IsZero() {
			until = e.Time("Created").Add(PendingTTL)
		}
		if !k.now().Before(until) {
			_ = k.table.Delete(ctx, pk, rk, e.ETag)
			return nil, nil
		}
		if k.now().After(deadline) {
			return nil, inProgress(until.Sub(k.now()))
		}
		select {
		case <-ctx.Done():
			return nil, fault.E("idempotency", fault.Unavailable, ctx.Err())
		case <-time.After(k.poll):
		}
	}
}

func replay(w http.ResponseWriter, rec record) {
	if rec.contentType != "" {
		w.Header().Set("Content-Type", rec.contentType)
	}
	if rec.location != "" {
		w.Header().Set("Location", rec.location)
	}
	if rec.etag != "" {
		w.Header().Set("ETag", rec.etag)
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body)
}

type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(c int) {
	if r.code == 0 {
		r.code = c
	}
}

func copyOut(w http.ResponseWriter, rec *recorder) {
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	w.WriteHeader(rec.code)
	_, _ = w.Write(rec.body.Bytes())
}

// Answers over 32 KiB (a 10,000-object check-in's) are gzipped and split
// over several properties, so the record still fits one entity.
const gzipOver = 32 << 10

func storeBody(props map[string]any, body []byte) error {
	if len(body) <= gzipOver {
		props["Body"] = body
		return nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(body)
	_ = zw.Close()
	props["BodyGzip"] = true
	return store.SetChunked(props, "Body", buf.Bytes())
}

func loadBody(e store.Entity) []byte {
	b := e.Chunked("Body")
	if !e.Bool("BodyGzip") {
		return b
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	out, _ := io.ReadAll(zr)
	return out
}

// Housekeeping is the idempotency module's periodic job on t (the table the
// Keeper keeps its records in): records are kept 24 hours (DESIGN §4.4),
// purged hourly.
func Housekeeping(t housekeeping.Purger) []housekeeping.Task {
	return []housekeeping.Task{housekeeping.Purge("purge-idempotency", "0 7 * * * *", t, "Created", 24*time.Hour)}
}
