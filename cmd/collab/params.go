package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// paramView is a parameter as the API shows it (a secret's value is "***").
type paramView struct {
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Description string         `json:"description"`
	Impact      string         `json:"impact"`
	Value       any            `json:"value"`
	ValueSet    bool           `json:"valueSet"`
	Default     any            `json:"default"`
	Applied     bool           `json:"applied"`
	Validation  map[string]any `json:"validation"`
	Pending     *struct {
		Value    any       `json:"value"`
		ValueSet bool      `json:"valueSet"`
		Delete   bool      `json:"delete"`
		Impact   string    `json:"impact"`
		Since    time.Time `json:"since"`
		By       string    `json:"by"`
	} `json:"pending"`
	UpdatedAt time.Time `json:"updatedAt"`
	UpdatedBy string    `json:"updatedBy"`
}

func show(v any, set bool) string {
	if !set && v == nil {
		return "-"
	}
	return fmt.Sprint(v)
}

func (p paramView) value() string {
	if !p.ValueSet && p.Default != nil {
		return fmt.Sprintf("%v (default)", p.Default)
	}
	return show(p.Value, p.ValueSet)
}

func (p paramView) pending() string {
	switch {
	case p.Pending == nil:
		return ""
	case p.Pending.Delete:
		return "delete at the next window (" + p.Pending.Impact + ")"
	}
	return show(p.Pending.Value, p.Pending.ValueSet) + " at the next window (" + p.Pending.Impact + ")"
}

// typedValue turns the command line's text into the JSON value of the
// parameter's type, so "30" is sent as 30 to an int parameter.
func typedValue(typ, s string) (any, error) {
	switch typ {
	case "int":
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	case "bool":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return b, nil
	}
	return s, nil
}

func runParams(args []string, stdout, stderr io.Writer) int {
	usage := "usage: collab params ls|get|set|rm <project> <env> ..."
	sub, args, fs, asJSON := subcommand("params", args)
	typ := fs.String("type", "", "set: string, int, bool, url or secret (needed for a new parameter)")
	impact := fs.String("impact", "", "set: hot, restart-portal or restart-scheduler")
	desc := fs.String("description", "", "set: what the parameter is for")
	def := fs.String("default", "", "set: the default value")
	fromFile := fs.String("from-file", "", "set: read the value from a file (- for stdin), so a secret stays out of the shell history")
	usages := map[string]string{
		"ls":  "usage: collab params ls <project> <env> [--json]",
		"get": "usage: collab params get <project> <env> <name> [--json]",
		"set": "usage: collab params set <project> <env> <name> [<value> | --from-file F] [--type string|int|bool|url|secret] [--impact hot|restart-portal|restart-scheduler] [--description D] [--default V]",
		"rm":  "usage: collab params rm <project> <env> <name>",
	}
	c, pos, code := begin(fs, args, stderr, func(pos []string) string {
		n := len(pos)
		valid := map[string]bool{"ls": n == 2, "get": n == 3, "set": n == 3 || (n == 4 && *fromFile == ""), "rm": n == 3}
		if valid[sub] {
			return ""
		}
		if msg, known := usages[sub]; known {
			return msg
		}
		return usage
	})
	if c == nil {
		return code
	}
	base := "/api/projects/" + url.PathEscape(pos[0]) + "/environments/" + url.PathEscape(pos[1]) + "/parameters"
	switch sub {
	case "ls":
		return printList(stdout, stderr, c, base, *asJSON, "PARAMETER\tTYPE\tIMPACT\tVALUE\tPENDING\tDESCRIPTION", func(p paramView) []string {
			return []string{p.Name, p.Type, p.Impact, p.value(), p.pending(), p.Description}
		})
	case "get":
		var p paramView
		if err := c.do("GET", base+"/"+url.PathEscape(pos[2]), nil, &p); err != nil {
			return fail(stderr, err)
		}
		if *asJSON {
			return printJSON(stdout, p)
		}
		fmt.Fprintf(stdout, "%s (%s, %s)\n  value:   %s\n", p.Name, p.Type, p.Impact, p.value())
		if pd := p.pending(); pd != "" {
			fmt.Fprintf(stdout, "  pending: %s\n", pd)
		}
		if p.Description != "" {
			fmt.Fprintf(stdout, "  about:   %s\n", p.Description)
		}
		fmt.Fprintf(stdout, "  changed: %s by %s\n", p.UpdatedAt.Format(time.RFC3339), p.UpdatedBy)
		return exitOK
	case "rm":
		var p paramView
		if err := c.do("DELETE", base+"/"+url.PathEscape(pos[2]), nil, &p); err != nil {
			return fail(stderr, err)
		}
		if p.Pending != nil && p.Pending.Delete {
			fmt.Fprintf(stdout, "%s will be deleted in the next maintenance window (%s)\n", pos[2], p.Pending.Impact)
		} else {
			fmt.Fprintf(stdout, "deleted %s\n", pos[2])
		}
		return exitOK
	}
	return setParam(c, base, pos, *typ, *impact, *desc, *def, *fromFile, fs, stdout, stderr)
}

func setParam(c *client, base string, pos []string, typ, impact, desc, def, fromFile string, fs *flag.FlagSet, stdout, stderr io.Writer) int {
	path := base + "/" + url.PathEscape(pos[2])
	body := map[string]any{}
	flagSet := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { flagSet[f.Name] = true })
	if typ == "" {
		// An existing parameter's type decides how the value is sent.
		var cur paramView
		err := c.do("GET", path, nil, &cur)
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == 404 {
			return usageErr(stderr, fmt.Sprintf("parameter %s does not exist yet: give its --type", pos[2]))
		}
		if err != nil {
			return fail(stderr, err)
		}
		typ = cur.Type
	} else {
		body["type"] = typ
	}
	var raw string
	hasValue := false
	switch {
	case fromFile == "-":
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return fail(stderr, err)
		}
		raw, hasValue = strings.TrimRight(string(b), "\r\n"), true
	case fromFile != "":
		b, err := os.ReadFile(fromFile)
		if err != nil {
			return fail(stderr, err)
		}
		raw, hasValue = strings.TrimRight(string(b), "\r\n"), true
	case len(pos) == 4:
		raw, hasValue = pos[3], true
	}
	if hasValue {
		v, err := typedValue(typ, raw)
		if err != nil {
			return usageErr(stderr, err.Error())
		}
		body["value"] = v
	}
	if flagSet["default"] {
		v, err := typedValue(typ, def)
		if err != nil {
			return usageErr(stderr, "--default: "+err.Error())
		}
		body["default"] = v
	}
	if flagSet["impact"] {
		body["impact"] = impact
	}
	if flagSet["description"] {
		body["description"] = desc
	}
	var p paramView
	if err := c.do("PUT", path, body, &p); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "set %s (%s, %s): %s\n", p.Name, p.Type, p.Impact, p.value())
	if pd := p.pending(); pd != "" {
		fmt.Fprintf(stdout, "pending: %s\n", pd)
	}
	return exitOK
}
