package main

import (
	"github.com/studio-collab/collab/cmd/devhost/host"
	"github.com/studio-collab/collab/shared/ncrontab"
)

// scheduleParser reads timer schedules as the Functions host does (NCRONTAB).
func scheduleParser() host.ScheduleParser {
	return func(expr string) (host.Schedule, error) { return ncrontab.Parse(expr) }
}
