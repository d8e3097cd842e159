package main

import "github.com/studio-collab/collab/cmd/devhost/host"

// scheduleParser returns the NCRONTAB parser timers are fired with. Until
// the programmed-jobs issue adds shared/ncrontab, timers are manual: they are
// listed by GET /admin/functions and fired with POST /admin/functions/{name}.
func scheduleParser() host.ScheduleParser { return nil }
