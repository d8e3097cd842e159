// Package envconfigtest holds test stand-ins for what envconfig needs from
// other modules. RestartRecorder stands in for the deployment module's
// restart queue until the lead wires the real one: it records each call in
// an Azurite table, so tests on several instances see the same calls.
package envconfigtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/studio-collab/collab/shared/store"
)

// Layout is the table the recorder writes to (bootstrap it in the test).
var Layout = store.Layout{Tables: []string{"restartlog"}}

// Call is one recorded QueueRestartChange.
type Call struct{ Project, Env, Source, Impact string }

// RestartRecorder implements envconfig.RestartQueue by recording calls.
type RestartRecorder struct {
	Table store.Table
	// Fail makes the next calls fail, as a deployment queue that is down.
	Fail atomic.Bool
}

// QueueRestartChange records the call (or fails while Fail is set).
func (r *RestartRecorder) QueueRestartChange(ctx context.Context, project, env, source, impact string) error {
	if r.Fail.Load() {
		return errors.New("the deployment queue is down (test)")
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	_, err := r.Table.Insert(ctx, store.Entity{PartitionKey: store.EncodeKey(project + "/" + env),
		RowKey: fmt.Sprintf("%020d-%s", time.Now().UnixNano(), hex.EncodeToString(rnd[:])),
		Props:  map[string]any{"Source": source, "Impact": impact}})
	return err
}

// Calls lists the recorded calls of an environment, oldest first.
func (r *RestartRecorder) Calls(ctx context.Context, project, env string) ([]Call, error) {
	es, err := r.Table.QueryAll(ctx, store.Eq("PartitionKey", store.EncodeKey(project+"/"+env)), 1000)
	if err != nil {
		return nil, err
	}
	out := make([]Call, 0, len(es))
	for _, e := range es {
		out = append(out, Call{Project: project, Env: env, Source: e.String("Source"), Impact: e.String("Impact")})
	}
	return out, nil
}
