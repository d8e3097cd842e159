package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "collab:", err)
	return exitFail
}

func usageErr(stderr io.Writer, msg string) int {
	fmt.Fprintln(stderr, "collab:", msg)
	return exitUsage
}

// signedIn loads the config and refuses early when there is no token.
func signedIn(stderr io.Writer) (*client, int) {
	c, err := loadConfig()
	if err != nil {
		return nil, fail(stderr, err)
	}
	if c.Token == "" {
		fmt.Fprintln(stderr, "collab: not signed in: run `collab login`")
		return nil, exitFail
	}
	if !c.ExpiresAt.IsZero() && time.Now().After(c.ExpiresAt) {
		fmt.Fprintln(stderr, "collab: your sign-in expired: run `collab login` again")
		return nil, exitFail
	}
	return newClient(c), exitOK
}

func runLogin(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	api := fs.String("api", "", "API base URL (default: the saved one, else "+defaultAPI+")")
	email := fs.String("email", "", "local dev issuer: the e-mail to sign in as")
	name := fs.String("name", "", "local dev issuer: display name")
	tenant := fs.String("tenant", "", "Entra ID: tenant id (device code sign-in)")
	clientID := fs.String("client-id", "", "Entra ID: the CLI's public client id")
	scope := fs.String("scope", "", "Entra ID: the API scope, e.g. api://<app-id>/.default")
	if _, ok := parse(fs, args, stderr); !ok {
		return exitUsage
	}
	cfg, _ := loadConfig()
	if *api != "" {
		cfg.API = strings.TrimSuffix(*api, "/")
	}
	switch {
	case *email != "":
		var tok struct {
			AccessToken string `json:"access_token"`
			ExpiresIn   int    `json:"expires_in"`
		}
		if err := newClient(config{API: cfg.API}).do("POST", "/api/dev/token", map[string]string{"email": *email, "name": *name}, &tok); err != nil {
			return fail(stderr, fmt.Errorf("dev sign-in: %w", err))
		}
		cfg.Token, cfg.Email = tok.AccessToken, strings.ToLower(*email)
		cfg.ExpiresAt = time.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	case *tenant != "" && *clientID != "" && *scope != "":
		cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			TenantID: *tenant, ClientID: *clientID,
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				fmt.Fprintln(stderr, m.Message)
				return nil
			},
		})
		if err != nil {
			return fail(stderr, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{*scope}})
		if err != nil {
			return fail(stderr, fmt.Errorf("Entra sign-in: %w", err))
		}
		cfg.Token, cfg.ExpiresAt, cfg.Email = tok.Token, tok.ExpiresOn, ""
	default:
		return usageErr(stderr, "login needs --email (local dev issuer) or --tenant, --client-id and --scope (Entra ID)")
	}
	if err := saveConfig(cfg); err != nil {
		return fail(stderr, err)
	}
	var me struct{ Email, ID string }
	if err := newClient(cfg).do("GET", "/api/me", nil, &me); err != nil {
		return fail(stderr, fmt.Errorf("signed in, but the API refused the token: %w", err))
	}
	fmt.Fprintf(stdout, "signed in to %s as %s (%s)\n", cfg.API, me.Email, me.ID)
	return exitOK
}

func runLogout(args []string, stdout, stderr io.Writer) int {
	cfg, _ := loadConfig()
	cfg.Token, cfg.Email, cfg.ExpiresAt = "", "", time.Time{}
	if err := saveConfig(cfg); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintln(stdout, "signed out")
	return exitOK
}

// runToken prints the saved token: only when asked, never as a side effect.
func runToken(args []string, stdout, stderr io.Writer) int {
	c, code := signedIn(stderr)
	if c == nil {
		return code
	}
	fmt.Fprintln(stdout, c.token)
	return exitOK
}

// printRawList prints every item of a paged list as the API sent it, so that
// --json shows the API's own field names and every field, not the subset a
// table needs.
func printRawList(stdout, stderr io.Writer, c *client, path string) int {
	items, err := list[json.RawMessage](c, path)
	if err != nil {
		return fail(stderr, err)
	}
	if items == nil {
		items = []json.RawMessage{}
	}
	return printJSON(stdout, items)
}

// getJSON prints one API answer as it was sent (for --json).
func getJSON(stdout, stderr io.Writer, c *client, method, path string, body any) int {
	var raw json.RawMessage
	if err := c.do(method, path, body, &raw); err != nil {
		return fail(stderr, err)
	}
	return printJSON(stdout, raw)
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	return exitOK
}

func table(w io.Writer, header string, rows [][]string) int {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
	return exitOK
}

type me struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	Subscriptions []struct {
		ID, Name string
		Owner    bool
	} `json:"subscriptions"`
	Projects []myProject `json:"projects"`
}

// myProject is a project of /api/me: one the caller is a member of, with
// the caller's role.
type myProject struct{ ID, SubscriptionID, Name, Role string }

func runWhoami(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("whoami", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, ok := parse(fs, args, stderr); !ok {
		return exitUsage
	}
	c, code := signedIn(stderr)
	if c == nil {
		return code
	}
	if *asJSON {
		return getJSON(stdout, stderr, c, "GET", "/api/me", nil)
	}
	var m me
	if err := c.do("GET", "/api/me", nil, &m); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "%s  %s  %s\n", m.Email, m.Name, m.ID)
	for _, s := range m.Subscriptions {
		role := "user"
		if s.Owner {
			role = "Subscription Owner"
		}
		fmt.Fprintf(stdout, "subscription %s (%s): %s\n", s.ID, s.Name, role)
	}
	for _, p := range m.Projects {
		fmt.Fprintf(stdout, "project %s (%s): %s\n", p.ID, p.Name, p.Role)
	}
	return exitOK
}

// listCommand builds the list commands: one argument (a project or a
// subscription), --json, and a table of chosen columns.
func listCommand[T any](name, arg string, path func(string) string, header string, row func(T) []string) func([]string, io.Writer, io.Writer) int {
	return func(args []string, stdout, stderr io.Writer) int {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		asJSON := fs.Bool("json", false, "print JSON")
		pos, ok := parse(fs, args, stderr)
		if !ok {
			return exitUsage
		}
		if len(pos) != 1 {
			return usageErr(stderr, fmt.Sprintf("usage: collab %s <%s> [--json]", name, arg))
		}
		c, code := signedIn(stderr)
		if c == nil {
			return code
		}
		if *asJSON {
			return printRawList(stdout, stderr, c, path(pos[0]))
		}
		return printList(stdout, stderr, c, path(pos[0]), false, header, row)
	}
}

// printList prints every item at path (all pages): with asJSON as JSON of T
// (a command that prints the API's own items calls printRawList instead),
// else as a table under header, a row per item made by row.
func printList[T any](stdout, stderr io.Writer, c *client, path string, asJSON bool, header string, row func(T) []string) int {
	items, err := list[T](c, path)
	if err != nil {
		return fail(stderr, err)
	}
	if asJSON {
		return printJSON(stdout, items)
	}
	return printRows(stdout, header, items, row)
}

// printRows prints items as a table under header, a row per item made by row.
func printRows[T any](w io.Writer, header string, items []T, row func(T) []string) int {
	rows := make([][]string, 0, len(items))
	for _, it := range items {
		rows = append(rows, row(it))
	}
	return table(w, header, rows)
}

type project struct{ ID, SubscriptionID, Name, Description string }
type member struct{ UserID, Email, Role string }
type team struct {
	ID, Name string
	Members  []string
}
type environment struct{ Name, Kind, Status, WorkPortalURL string }
type user struct {
	ID, Email, Name, Status string
	SubscriptionOwner       bool
	Disabled                bool
}

func runProjects(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("projects", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	sub := fs.String("subscription", "", "list a subscription's projects (default: every project you can open)")
	if _, ok := parse(fs, args, stderr); !ok {
		return exitUsage
	}
	c, code := signedIn(stderr)
	if c == nil {
		return code
	}
	if *sub != "" {
		if *asJSON {
			return printRawList(stdout, stderr, c, "/api/subscriptions/"+url.PathEscape(*sub)+"/projects")
		}
		return printList(stdout, stderr, c, "/api/subscriptions/"+url.PathEscape(*sub)+"/projects", false,
			"PROJECT\tNAME\tSUBSCRIPTION", func(p project) []string { return []string{p.ID, p.Name, p.SubscriptionID} })
	}
	var m me
	if err := c.do("GET", "/api/me", nil, &m); err != nil {
		return fail(stderr, err)
	}
	if *asJSON {
		return printJSON(stdout, m.Projects)
	}
	return printRows(stdout, "PROJECT\tNAME\tSUBSCRIPTION\tYOUR ROLE", m.Projects, func(p myProject) []string {
		return []string{p.ID, p.Name, p.SubscriptionID, p.Role}
	})
}

var (
	runMembers = listCommand("members", "project", func(p string) string { return "/api/projects/" + p + "/members" },
		"USER\tEMAIL\tROLE", func(m member) []string { return []string{m.UserID, m.Email, m.Role} })
	runTeams = listCommand("teams", "project", func(p string) string { return "/api/projects/" + p + "/teams" },
		"TEAM\tNAME\tMEMBERS", func(t team) []string { return []string{t.ID, t.Name, strings.Join(t.Members, ",")} })
	runEnvs = listCommand("envs", "project", func(p string) string { return "/api/projects/" + p + "/environments" },
		"ENVIRONMENT\tKIND\tSTATUS\tWORK PORTAL", func(e environment) []string { return []string{e.Name, e.Kind, e.Status, e.WorkPortalURL} })
	runUsers = listCommand("users", "subscription", func(s string) string { return "/api/subscriptions/" + s + "/users" },
		"USER\tEMAIL\tSTATUS\tOWNER\tDISABLED", func(u user) []string {
			return []string{u.ID, u.Email, u.Status, fmt.Sprint(u.SubscriptionOwner), fmt.Sprint(u.Disabled)}
		})
)
