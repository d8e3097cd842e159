package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/store"
)

// Purger is a table the built-in clean-up jobs delete from.
type Purger interface {
	QueryAll(ctx context.Context, f store.Filter, limit int) ([]store.Entity, error)
	Delete(ctx context.Context, pk, rk, ifMatch string) error
}

// PurgeOlder deletes the rows of t whose property prop is before cutoff
// (at most limit per run, so a run stays within its timeout).
func PurgeOlder(ctx context.Context, t Purger, prop string, cutoff time.Time, limit int) (int, error) {
	es, err := t.QueryAll(ctx, store.Lt(prop, cutoff), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range es {
		if err := t.Delete(ctx, e.PartitionKey, e.RowKey, e.ETag); err == nil {
			n++
		}
	}
	return n, nil
}

// HTTPExecutor calls an environment's Scheduler endpoint: POST <base><target>
// with the job and occurrence as JSON; a non-2xx answer fails the attempt.
// base resolves the endpoint of the job's environment.
func HTTPExecutor(client *http.Client, base func(ctx context.Context, project, env string) (string, error)) Executor {
	return func(ctx context.Context, j Job, occ time.Time) error {
		root, err := base(ctx, j.Project, j.Env)
		if err != nil {
			return err
		}
		if root == "" {
			return fmt.Errorf("environment %s has no Scheduler endpoint", j.Env)
		}
		body, _ := json.Marshal(map[string]any{"job": j.Name, "occurrence": occ.UTC(), "project": j.Project, "env": j.Env})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(root, "/")+"/"+strings.TrimPrefix(j.Target, "/"), bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", IdempotencyKey(j, occ)) // the same for every attempt: the Scheduler de-duplicates by it
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("calling the Scheduler: %w", err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("the Scheduler answered %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
		}
		return nil
	}
}
