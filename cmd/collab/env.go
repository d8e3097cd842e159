package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// multi is a repeatable string flag (--schedule a --schedule b).
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ", ") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

type envStatusView struct {
	Status string
	Window *struct {
		ID, State  string
		Start, End time.Time
	}
	ExpectedEnd                                   *time.Time
	DeployedSeq, AppliedSeq, ClassifiedSeq        int64
	PendingHot, PendingRestart, PendingParameters int
	Impacts                                       []string
	Degraded, LastError                           string
}

type windowView struct {
	ID, State, Error, FailedIn string
	Start, End                 time.Time
	Impacts                    []string
	TargetSeq                  int64
}

type deploymentView struct {
	Seq                 int64
	Status, CommittedBy string
	Hot, Restart        int
	Impacts             []string
}

type policyView struct {
	Schedules       []string `json:"schedules"`
	TimeZone        string   `json:"timeZone"`
	DurationMinutes int      `json:"durationMinutes"`
	NoticeMinutes   int      `json:"noticeMinutes"`
	Default         bool     `json:"default,omitempty"`
}

func runEnv(args []string, stdout, stderr io.Writer) int {
	usage := "usage: collab env status|windows|deployments|policy|open-now|cancel|reschedule <project> <env> ..."
	sub, args, fs, asJSON := subcommand("env", args)
	var schedules multi
	fs.Var(&schedules, "schedule", "policy: an NCRONTAB start time (repeat for several)")
	tz := fs.String("tz", "", "policy: IANA time zone")
	duration := fs.Int("duration", 0, "policy: window length in minutes")
	notice := fs.Int("notice", -1, "policy: notice period in minutes")
	startAt := fs.String("start", "", "reschedule: the new start (RFC 3339)")
	need := map[string]int{"status": 2, "windows": 2, "deployments": 2, "policy": 2, "open-now": 2, "cancel": 3, "reschedule": 3}
	c, pos, code := begin(fs, args, stderr, arity(sub, need, map[string]string{
		"status":      "usage: collab env status <project> <env> [--json]",
		"windows":     "usage: collab env windows <project> <env> [--json]",
		"deployments": "usage: collab env deployments <project> <env> [--json]",
		"policy":      "usage: collab env policy <project> <env> [--schedule \"<expr>\"]... [--tz Zone] [--duration MIN] [--notice MIN]",
		"open-now":    "usage: collab env open-now <project> <env>",
		"cancel":      "usage: collab env cancel <project> <env> <window>",
		"reschedule":  "usage: collab env reschedule <project> <env> <window> --start <RFC 3339>",
	}, usage))
	if c == nil {
		return code
	}
	base := "/api/projects/" + url.PathEscape(pos[0]) + "/environments/" + url.PathEscape(pos[1])
	switch sub {
	case "status":
		var st envStatusView
		if err := c.do("GET", base+"/status", nil, &st); err != nil {
			return fail(stderr, err)
		}
		if *asJSON {
			return printJSON(stdout, st)
		}
		fmt.Fprintf(stdout, "%s: %s\n", pos[1], st.Status)
		if st.ExpectedEnd != nil {
			fmt.Fprintf(stdout, "  in maintenance until %s\n", st.ExpectedEnd.Local().Format(time.RFC3339))
		}
		if st.Degraded != "" {
			fmt.Fprintf(stdout, "  degraded: %s\n", st.Degraded)
		}
		fmt.Fprintf(stdout, "  deployed seq %d (hot changes live through %d, classified through %d)\n", st.DeployedSeq, st.AppliedSeq, st.ClassifiedSeq)
		fmt.Fprintf(stdout, "  pending: %d hot, %d restart, %d parameters %s\n", st.PendingHot, st.PendingRestart, st.PendingParameters, strings.Join(st.Impacts, " "))
		if w := st.Window; w != nil {
			fmt.Fprintf(stdout, "  window %s %s: %s to %s\n", w.ID, w.State, w.Start.Local().Format(time.RFC3339), w.End.Local().Format(time.RFC3339))
		}
		if st.LastError != "" {
			fmt.Fprintf(stdout, "  last error: %s\n", st.LastError)
		}
		return exitOK
	case "windows":
		return printList(stdout, stderr, c, base+"/windows", *asJSON, "WINDOW\tSTATE\tSTART\tEND\tIMPACTS\tERROR", func(w windowView) []string {
			errText := w.Error
			if w.FailedIn != "" {
				errText = w.FailedIn + ": " + errText
			}
			return []string{w.ID, w.State, w.Start.Local().Format(time.RFC3339), w.End.Local().Format(time.RFC3339), strings.Join(w.Impacts, " "), errText}
		})
	case "deployments":
		return printList(stdout, stderr, c, base+"/deployments", *asJSON, "SEQ\tSTATUS\tHOT\tRESTART\tIMPACTS\tBY", func(d deploymentView) []string {
			return []string{fmt.Sprint(d.Seq), d.Status, fmt.Sprint(d.Hot), fmt.Sprint(d.Restart), strings.Join(d.Impacts, " "), d.CommittedBy}
		})
	case "policy":
		var p policyView
		if err := c.do("GET", base+"/maintenance-policy", nil, &p); err != nil {
			return fail(stderr, err)
		}
		if len(schedules) > 0 || *tz != "" || *duration > 0 || *notice >= 0 {
			if len(schedules) > 0 {
				p.Schedules = schedules
			}
			if *tz != "" {
				p.TimeZone = *tz
			}
			if *duration > 0 {
				p.DurationMinutes = *duration
			}
			if *notice >= 0 {
				p.NoticeMinutes = *notice
			}
			p.Default = false
			body := map[string]any{"schedules": p.Schedules, "timeZone": p.TimeZone, "durationMinutes": p.DurationMinutes, "noticeMinutes": p.NoticeMinutes}
			if err := c.do("PUT", base+"/maintenance-policy", body, &p); err != nil {
				return fail(stderr, err)
			}
		}
		if *asJSON {
			return printJSON(stdout, p)
		}
		def := ""
		if p.Default {
			def = " (the default)"
		}
		fmt.Fprintf(stdout, "%s maintenance policy%s: %s in %s, %d minutes, announced %d minutes before\n", pos[1], def, strings.Join(p.Schedules, " | "), p.TimeZone, p.DurationMinutes, p.NoticeMinutes)
		return exitOK
	case "open-now":
		var w windowView
		if err := c.do("POST", base+"/windows/open-now", nil, &w); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "window %s is %s; a worker applies and restarts now (the reconciler within a minute)\n", w.ID, w.State)
		return exitOK
	case "cancel":
		var w windowView
		if err := c.do("POST", base+"/windows/"+url.PathEscape(pos[2])+"/cancel", nil, &w); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "window %s is %s\n", w.ID, w.State)
		return exitOK
	default:
		t, err := time.Parse(time.RFC3339, *startAt)
		if err != nil {
			return usageErr(stderr, "env reschedule needs --start <RFC 3339>, e.g. 2026-11-28T02:00:00-05:00")
		}
		var w windowView
		if err := c.do("PATCH", base+"/windows/"+url.PathEscape(pos[2]), map[string]string{"start": t.Format(time.RFC3339)}, &w); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "window %s is %s, from %s\n", w.ID, w.State, w.Start.Local().Format(time.RFC3339))
		return exitOK
	}
}
