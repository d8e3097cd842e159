package main

import (
	"fmt"
	"io"
	"net/url"
	"time"
)

type jobView struct {
	Name, Schedule, TimeZone, Action, Target string
	Enabled                                  bool
	ConsecutiveFailures                      int
}

type runView struct {
	Occurrence time.Time
	Status     string
	Attempt    int
	Duration   time.Duration
	Error      string
}

func runJobs(args []string, stdout, stderr io.Writer) int {
	usage := "usage: collab jobs ls|add|run|runs <project> <env> ..."
	sub, args, fs, asJSON := subcommand("jobs", args)
	schedule := fs.String("schedule", "", "add: NCRONTAB schedule")
	tz := fs.String("tz", "UTC", "add: IANA time zone")
	action := fs.String("action", "http", "add: http (the only action: a call to the environment's Scheduler at --target)")
	target := fs.String("target", "", "add: path on the Scheduler endpoint")
	retries := fs.Int("retries", 0, "add: retries after a failure")
	need := map[string]int{"ls": 2, "add": 3, "run": 3, "runs": 3}
	c, pos, code := begin(fs, args, stderr, arity(sub, need, map[string]string{
		"ls":   "usage: collab jobs ls <project> <env> [--json]",
		"add":  "usage: collab jobs add <project> <env> <name> --schedule \"<expr>\" [--tz Zone] [--target /path] [--retries N]",
		"run":  "usage: collab jobs run <project> <env> <name>",
		"runs": "usage: collab jobs runs <project> <env> <name> [--json]",
	}, usage))
	if c == nil {
		return code
	}
	base := "/api/projects/" + url.PathEscape(pos[0]) + "/environments/" + url.PathEscape(pos[1]) + "/jobs"
	switch sub {
	case "ls":
		if *asJSON {
			return printRawList(stdout, stderr, c, base)
		}
		return printList(stdout, stderr, c, base, false, "JOB\tSCHEDULE\tZONE\tACTION\tENABLED\tFAILURES", func(j jobView) []string {
			return []string{j.Name, j.Schedule, j.TimeZone, j.Action + " " + j.Target, fmt.Sprint(j.Enabled), fmt.Sprint(j.ConsecutiveFailures)}
		})
	case "add":
		if *schedule == "" {
			return usageErr(stderr, "jobs add needs --schedule")
		}
		body := map[string]any{"name": pos[2], "schedule": *schedule, "timeZone": *tz, "action": *action, "target": *target, "retries": *retries}
		if err := c.do("POST", base, body, nil); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "added job %s (%s, %s)\n", pos[2], *schedule, *tz)
		return exitOK
	case "run":
		if err := c.do("POST", base+"/"+url.PathEscape(pos[2])+"/run", nil, nil); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "queued a run of %s; the next tick (within 15 s) performs it\n", pos[2])
		return exitOK
	default:
		if *asJSON {
			return printRawList(stdout, stderr, c, base+"/"+url.PathEscape(pos[2])+"/runs")
		}
		return printList(stdout, stderr, c, base+"/"+url.PathEscape(pos[2])+"/runs", false, "OCCURRENCE\tSTATUS\tATTEMPT\tDURATION\tERROR", func(r runView) []string {
			return []string{r.Occurrence.Format(time.RFC3339), r.Status, fmt.Sprint(r.Attempt), r.Duration.Round(time.Millisecond).String(), r.Error}
		})
	}
}
