package host

import (
	"context"
	"time"

	"github.com/studio-collab/collab/shared/fnhost/manifest"
)

// startTimer fires f on its schedule when a parser is configured, with the
// Functions timer payload; otherwise the timer is manual (admin API).
func (h *Host) startTimer(ctx context.Context, f *manifest.Function) {
	if h.opt.Schedules == nil {
		h.setTimer(f.Name, timerState{mode: "manual"})
		h.log.Info("timer is manual (no schedule parser)", "function", f.Name, "schedule", f.Schedule)
		return
	}
	sched, err := h.opt.Schedules(f.Schedule)
	if err != nil {
		h.setTimer(f.Name, timerState{mode: "manual"})
		h.log.Error("timer schedule does not parse; timer is manual", "function", f.Name, "schedule", f.Schedule, "error", err.Error())
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		last := time.Time{}
		if f.RunOnStartup {
			h.fireTimer(ctx, f, last, h.opt.Now(), false)
			last = h.opt.Now()
		}
		for {
			now := h.opt.Now()
			next, ok := sched.Next(now)
			if !ok {
				h.setTimer(f.Name, timerState{mode: "never", last: last})
				return
			}
			h.setTimer(f.Name, timerState{mode: "scheduled", last: last, next: next})
			select {
			case <-ctx.Done():
				return
			case <-time.After(next.Sub(now)):
			}
			after, _ := sched.Next(next)
			h.fireTimer(ctx, f, last, after, h.opt.Now().Sub(next) > time.Minute)
			last = next
		}
	}()
}

func (h *Host) fireTimer(ctx context.Context, f *manifest.Function, last, next time.Time, pastDue bool) {
	payload := map[string]any{
		"Schedule":       map[string]any{"AdjustForDST": true},
		"ScheduleStatus": map[string]any{"Last": last.UTC(), "Next": next.UTC(), "LastUpdated": time.Now().UTC()},
		"IsPastDue":      pastDue,
	}
	_ = h.invoke(ctx, f, "timer", payload, nil)
}

func (h *Host) setTimer(name string, s timerState) {
	h.mu.Lock()
	h.timers[name] = s
	h.mu.Unlock()
}
