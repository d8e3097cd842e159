package main

import (
	"flag"
	"io"
	"strings"
)

// parse parses flags wherever they stand among the positional arguments
// (`collab members claims --json` as well as `collab members --json claims`),
// which the flag package alone does not allow.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) ([]string, bool) {
	fs.SetOutput(stderr)
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, false
	}
	return pos, true
}

// subcommand splits a command's arguments into its sub-command and the rest,
// and makes the sub-command's flag set with the --json flag every
// sub-command has. No sub-command gives "", for which begin's check prints
// the command's usage.
func subcommand(cmd string, args []string) (sub string, rest []string, fs *flag.FlagSet, asJSON *bool) {
	if len(args) > 0 {
		sub, rest = args[0], args[1:]
	}
	fs = flag.NewFlagSet(cmd+" "+sub, flag.ContinueOnError)
	return sub, rest, fs, fs.Bool("json", false, "print JSON")
}

// begin is what every sub-command does before its own work: parse its flags
// and positional arguments, check them (check returns the usage to print,
// or "" when they are right) and sign in. A nil client means stop with the
// returned exit status (the usage or the error has been printed).
func begin(fs *flag.FlagSet, args []string, stderr io.Writer, check func(pos []string) string) (*client, []string, int) {
	pos, ok := parse(fs, args, stderr)
	if !ok {
		return nil, nil, exitUsage
	}
	if msg := check(pos); msg != "" {
		return nil, nil, usageErr(stderr, msg)
	}
	c, code := signedIn(stderr)
	return c, pos, code
}

// arity is begin's check for a command whose every sub-command takes a fixed
// number of positional arguments (need): an unknown sub-command or another
// count prints the sub-command's usage, then the command's.
func arity(sub string, need map[string]int, usages map[string]string, usage string) func(pos []string) string {
	return func(pos []string) string {
		if sub == "" {
			return usage
		}
		if n, known := need[sub]; !known || len(pos) != n {
			return usages[sub] + "\n" + usage
		}
		return ""
	}
}
