package host

import (
	"context"
	"time"

	"github.com/studio-collab/collab/shared/fnhost"
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
			h.fireTimer(ctx, f, last, h.opt.Now(), false, false)
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
			// useMonitor's default: on for schedules of a minute or more.
			monitor := after.Sub(next) >= time.Minute
			h.fireTimer(ctx, f, last, after, h.opt.Now().Sub(next) > time.Minute, monitor)
			last = next
		}
	}()
}

// fireTimer invokes a timer function with the host's TimerInfo: its
// ScheduleStatus only when the schedule monitor applies (useMonitor).
func (h *Host) fireTimer(ctx context.Context, f *manifest.Function, last, next time.Time, pastDue, monitor bool) {
	ti := fnhost.TimerInfo{IsPastDue: pastDue}
	ti.Schedule.AdjustForDST = true
	if monitor {
		ti.ScheduleStatus = &fnhost.ScheduleStatus{Last: last, Next: next, LastUpdated: time.Now()}
	}
	body, err := fnhost.TimerInvocation(f.Binding, ti, h.sys(f))
	if err != nil {
		h.log.Error("timer payload", "function", f.Name, "error", err.Error())
		return
	}
	_ = h.invoke(ctx, f, "timer", body)
}

func (h *Host) setTimer(name string, s timerState) {
	h.mu.Lock()
	h.timers[name] = s
	h.mu.Unlock()
}
