package main

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/studio-collab/collab/shared/platform"
)

// principalArg accepts user:<e-mail> as a convenience and turns it into the
// user's id; user:<id> and team:<id> pass through.
func principalArg(s string) string {
	if kind, v, ok := strings.Cut(s, ":"); ok && kind == "user" && strings.Contains(v, "@") {
		return "user:" + platform.UserID(v)
	}
	return s
}

// userArg accepts an e-mail or a user id.
func userArg(s string) string {
	if strings.Contains(s, "@") {
		return platform.UserID(s)
	}
	return s
}

func runSecurity(args []string, stdout, stderr io.Writer) int {
	usage := "usage: collab security ls|grant|revoke|check|explain <project> ..."
	sub, args, fs, asJSON := subcommand("security", args)
	path := fs.String("path", "", "ls: entries at this path")
	subtree := fs.Bool("subtree", false, "ls: include entries below --path")
	action := fs.String("action", "modify", "check: view, modify or manage")
	user := fs.String("user", "", "check, explain: another user (e-mail or id; owners and admins)")
	prefix := fs.String("prefix", "", "explain: only nodes under this path")
	need := map[string]int{"ls": 1, "grant": 4, "revoke": 3, "check": 2, "explain": 1}
	c, pos, code := begin(fs, args, stderr, func(pos []string) string {
		n, known := need[sub]
		if !known {
			return usage
		}
		if len(pos) == n || sub == "explain" && len(pos) == 2 {
			return ""
		}
		return map[string]string{
			"ls":      "usage: collab security ls <project> [--path P [--subtree]] [--json]",
			"grant":   "usage: collab security grant <project> <path> <user:e-mail|user:id|team:id> <deny|modify|full>",
			"revoke":  "usage: collab security revoke <project> <path> <principal>",
			"check":   "usage: collab security check <project> <path> [--action view|modify|manage] [--user U]",
			"explain": "usage: collab security explain <project> [<path>] [--prefix P] [--user U]",
		}[sub]
	})
	if c == nil {
		return code
	}
	base := "/api/projects/" + url.PathEscape(pos[0]) + "/security"
	switch sub {
	case "ls":
		var out struct {
			Entries []struct{ Path, Principal, Level string }
			Version string
		}
		q := url.Values{}
		if *path != "" {
			q.Set("path", *path)
		}
		if *subtree {
			q.Set("subtree", "true")
		}
		if *asJSON {
			return getJSON(stdout, stderr, c, "GET", base+"/entries?"+q.Encode(), nil)
		}
		if err := c.do("GET", base+"/entries?"+q.Encode(), nil, &out); err != nil {
			return fail(stderr, err)
		}
		rows := [][]string{}
		for _, e := range out.Entries {
			rows = append(rows, []string{e.Path, e.Principal, e.Level})
		}
		return table(stdout, "PATH\tPRINCIPAL\tLEVEL", rows)
	case "grant":
		body := map[string]string{"path": pos[1], "principal": principalArg(pos[2]), "level": pos[3]}
		if err := c.do("PUT", base+"/entries", body, nil); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "granted %s %s on %s\n", body["principal"], pos[3], pos[1])
		return exitOK
	case "revoke":
		q := url.Values{"path": {pos[1]}, "principal": {principalArg(pos[2])}}
		if err := c.do("DELETE", base+"/entries?"+q.Encode(), nil, nil); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "revoked %s on %s\n", principalArg(pos[2]), pos[1])
		return exitOK
	case "check":
		body := map[string]string{"path": pos[1], "action": *action}
		if *user != "" {
			body["user"] = userArg(*user)
		}
		var r struct {
			Allowed   bool
			Level     string
			DecidedBy map[string]any
		}
		if *asJSON {
			return getJSON(stdout, stderr, c, "POST", base+"/check", body)
		}
		if err := c.do("POST", base+"/check", body, &r); err != nil {
			return fail(stderr, err)
		}
		verdict := "denied"
		if r.Allowed {
			verdict = "allowed"
		}
		fmt.Fprintf(stdout, "%s: %s on %s (level %s; %s)\n", verdict, *action, pos[1], r.Level, describe(r.DecidedBy))
		return exitOK
	default: // explain
		if len(pos) == 2 {
			return explainPath(stdout, stderr, c, base, pos[1], userArg(*user), *asJSON)
		}
		q := url.Values{}
		if *prefix != "" {
			q.Set("prefix", *prefix)
		}
		if *user != "" {
			q.Set("user", userArg(*user))
		}
		var out struct {
			User, Role string
			Nodes      []struct{ Path, Level, Explanation string }
		}
		if *asJSON {
			return getJSON(stdout, stderr, c, "GET", base+"/effective?"+q.Encode(), nil)
		}
		if err := c.do("GET", base+"/effective?"+q.Encode(), nil, &out); err != nil {
			return fail(stderr, err)
		}
		fmt.Fprintf(stdout, "%s (%s)\n", out.User, out.Role)
		rows := [][]string{}
		for _, n := range out.Nodes {
			rows = append(rows, []string{n.Path, n.Level, n.Explanation})
		}
		return table(stdout, "PATH\tLEVEL\tWHY", rows)
	}
}

// explainPath shows what decides the user's access to one path, for each
// action: one batch check.
func explainPath(stdout, stderr io.Writer, c *client, base, path, user string, asJSON bool) int {
	var checks []map[string]string
	for _, a := range []string{"view", "modify", "manage"} {
		ch := map[string]string{"path": path, "action": a}
		if user != "" {
			ch["user"] = user
		}
		checks = append(checks, ch)
	}
	body := map[string]any{"checks": checks}
	if asJSON {
		return getJSON(stdout, stderr, c, "POST", base+"/check", body)
	}
	var out struct {
		Results []struct {
			Action, Level string
			Allowed       bool
			DecidedBy     map[string]any
		}
	}
	if err := c.do("POST", base+"/check", body, &out); err != nil {
		return fail(stderr, err)
	}
	if len(out.Results) > 0 {
		fmt.Fprintf(stdout, "%s: level %s (%s)\n", path, out.Results[0].Level, describe(out.Results[0].DecidedBy))
	}
	rows := [][]string{}
	for _, r := range out.Results {
		verdict := "no"
		if r.Allowed {
			verdict = "yes"
		}
		rows = append(rows, []string{r.Action, verdict})
	}
	return table(stdout, "ACTION\tALLOWED", rows)
}

func describe(d map[string]any) string {
	switch {
	case d["owner"] == true:
		return "owners have Full Control"
	case d["default"] != nil:
		return fmt.Sprintf("no entry on the path: %v default", d["default"])
	default:
		return fmt.Sprintf("decided by %v on %v", d["principal"], d["path"])
	}
}
