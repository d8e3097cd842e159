// Command collab is the co-developers' and administrators' command-line
// client. Each subcommand is a function from arguments and streams to an exit
// status, so tests run them in-process.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"version": {"print the client version", func(_ []string, out, _ io.Writer) int {
			fmt.Fprintln(out, version)
			return 0
		}},
		"login":    {"sign in: --email (local dev issuer) or --tenant/--client-id/--scope (Entra ID)", runLogin},
		"logout":   {"forget the saved token", runLogout},
		"token":    {"print the saved access token (for curl)", runToken},
		"whoami":   {"who you are, your subscriptions and projects", runWhoami},
		"projects": {"the projects you can open [--subscription S]", runProjects},
		"members":  {"a project's members: members <project>", runMembers},
		"teams":    {"a project's Collaboration Teams: teams <project>", runTeams},
		"envs":     {"a project's environments: envs <project>", runEnvs},
		"users":    {"a subscription's users (Customer Portal): users <subscription>", runUsers},
		"dev":      {"local development helpers: dev seed", runDev},
		"jobs":     {"programmed jobs: jobs ls|add|run|runs <project> <env> ...", runJobs},
		"schedule": {"offline: schedule next \"<expr>\" [--from T] [--tz Zone] [--count N]", runSchedule},
		"security": {"Studio Security: security ls|grant|revoke|check|explain <project> ...", runSecurity},
		"env":      {"deployments: env status|windows|deployments|policy|open-now|cancel|reschedule <project> <env>", runEnv},
		"params":   {"environment parameters: params ls|get|set|rm <project> <env> ...", runParams},
		"clone":    {"working copy: clone <project> [dir] (resumes an interrupted clone)", runClone},
		"status":   {"working copy: what push would send [-C dir]", runStatus},
		"pull":     {"working copy: bring in others' commits (resumable) [-C dir]", runPull},
		"push":     {"working copy: push -m \"message\" [-C dir]", runPush},
		"log":      {"working copy: log [path] [-n N] [--since 7d|2026-12-01] [--author who] [-C dir]", runLog},
		"diff":     {"working copy: diff [path] (your edits vs their base), diff --commit N [-C dir]", runDiff},
		"show":     {"working copy: show N (a commit's message, author and diffs) [-C dir]", runShow},
		"revert":   {"working copy: revert N [-m message] [--force] (a new commit undoing N) [-C dir]", runRevert},
		"restore":  {"working copy: restore <path> --version V [-m message] (as a new commit) [-C dir]", runRestore},
		"lock":     {"working copy: lock <path> [--ttl 1h] [-C dir]", runLock},
		"unlock":   {"working copy: unlock <path> [-C dir]", runUnlock},
	}
}

func main() { os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr)) }

// dispatch runs the subcommand named by args[0]. Exit statuses: 0 success,
// 1 the operation failed, 2 the command line is wrong.
func dispatch(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout, cmds)
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "collab: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: collab <command> [arguments]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, cmds[n].summary)
	}
}
