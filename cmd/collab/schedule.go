package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/studio-collab/collab/shared/ncrontab"
)

// runSchedule is `collab schedule next "<expr>" [--from RFC3339] [--tz Zone]
// [--count N]`: offline, no sign-in. One RFC 3339 timestamp per line with the
// zone's offset (Z for UTC) and nothing else on stdout; errors on stderr with
// exit status 2.
func runSchedule(args []string, stdout, stderr io.Writer) int {
	return scheduleNext(args, stdout, stderr, time.Now)
}

func scheduleNext(args []string, stdout, stderr io.Writer, now func() time.Time) int {
	usage := `usage: collab schedule next "<expr>" [--from <RFC3339>] [--tz <Zone>] [--count N]`
	if len(args) == 0 || args[0] != "next" {
		return usageErr(stderr, usage)
	}
	fs := flag.NewFlagSet("schedule next", flag.ContinueOnError)
	from := fs.String("from", "", "start instant, RFC 3339 (default: now); occurrences are strictly after it")
	tz := fs.String("tz", "UTC", "IANA time zone the schedule is read in")
	count := fs.Int("count", 5, "how many occurrences")
	pos, ok := parse(fs, args[1:], stderr)
	if !ok {
		return exitUsage
	}
	if len(pos) != 1 {
		return usageErr(stderr, usage)
	}
	if *count < 1 || *count > 10000 {
		return usageErr(stderr, "--count must be 1..10000, not "+strconv.Itoa(*count))
	}
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return usageErr(stderr, fmt.Sprintf("--tz %q is not an IANA time zone", *tz))
	}
	start := now()
	if *from != "" {
		if start, err = time.Parse(time.RFC3339, *from); err != nil {
			return usageErr(stderr, fmt.Sprintf("--from %q is not an RFC 3339 time", *from))
		}
	}
	s, err := ncrontab.Parse(pos[0])
	if err != nil {
		return usageErr(stderr, err.Error())
	}
	times := s.NextN(start.In(loc), *count)
	for _, t := range times {
		fmt.Fprintln(stdout, t.Format(time.RFC3339))
	}
	if len(times) < *count {
		fmt.Fprintf(stderr, "collab: the schedule has no further occurrence (%d of %d)\n", len(times), *count)
	}
	return exitOK
}
