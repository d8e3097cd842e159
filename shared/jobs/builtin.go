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
)

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
