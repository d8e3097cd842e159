package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/studio-collab/collab/shared/platform"
)

// The demo of `make run` (issue: identity and platform): subscription demo,
// project claims with environments development and test, alice (project and
// subscription owner), bob (developer, in team finance), carol (admin).
const (
	demoAlice = "alice@example.com"
	demoBob   = "bob@example.com"
	demoCarol = "carol@example.com"
)

// tolerate turns "already there" answers into success, so seeding twice is
// the same as seeding once.
func tolerate(err error, statuses ...int) error {
	var ae *apiError
	if errors.As(err, &ae) {
		for _, s := range statuses {
			if ae.Status == s {
				return nil
			}
		}
	}
	return err
}

func runDev(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "seed" {
		return usageErr(stderr, "usage: collab dev seed [--api URL] [--workportal URL]")
	}
	fs := flag.NewFlagSet("dev seed", flag.ContinueOnError)
	api := fs.String("api", "", "API base URL (default: the saved one, else "+defaultAPI+")")
	workPortal := fs.String("workportal", "", "the Work Portal stand-in's URL: point the demo environments at it")
	if _, ok := parse(fs, args[1:], stderr); !ok {
		return exitUsage
	}
	cfg, _ := loadConfig()
	if *api != "" {
		cfg.API = *api
	}
	if err := seed(cfg.API, *workPortal, stdout); err != nil {
		return fail(stderr, fmt.Errorf("seeding the demo: %w", err))
	}
	return exitOK
}

func seed(api, workPortal string, out io.Writer) error {
	as := map[string]*client{}
	for _, email := range []string{demoAlice, demoBob, demoCarol} {
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := newClient(config{API: api}).do("POST", "/api/dev/token", map[string]string{"email": email}, &tok); err != nil {
			return fmt.Errorf("dev token for %s: %w", email, err)
		}
		as[email] = newClient(config{API: api, Token: tok.AccessToken})
	}
	alice := as[demoAlice]
	steps := []struct {
		what string
		run  func() error
	}{
		{"subscription demo", func() error {
			return tolerate(alice.do("POST", "/api/subscriptions", map[string]string{"id": "demo", "name": "Demo subscription"}, nil), http.StatusConflict)
		}},
		{"users bob and carol", func() error {
			for _, email := range []string{demoBob, demoCarol} {
				var inv struct{ Token string }
				err := alice.do("POST", "/api/subscriptions/demo/users", map[string]string{"email": email}, &inv)
				if tolerate(err, http.StatusConflict) != nil {
					return err
				}
				if err == nil {
					if err := as[email].do("POST", "/api/invitations/"+inv.Token+"/accept", nil, nil); err != nil {
						return err
					}
				}
			}
			return nil
		}},
		{"project claims", func() error {
			return tolerate(alice.do("POST", "/api/subscriptions/demo/projects", map[string]string{"id": "claims", "name": "Claims"}, nil), http.StatusConflict)
		}},
		{"members alice (owner), bob (developer), carol (admin)", func() error {
			for email, role := range map[string]string{demoAlice: "owner", demoBob: "developer", demoCarol: "admin"} {
				if err := alice.do("PUT", "/api/projects/claims/members/"+platform.UserID(email), map[string]string{"role": role}, nil); err != nil {
					return err
				}
			}
			return nil
		}},
		{"environments development and test", func() error {
			for _, env := range []string{"development", "test"} {
				err := alice.do("POST", "/api/projects/claims/environments", map[string]string{"name": env, "kind": env}, nil)
				if tolerate(err, http.StatusConflict) != nil {
					return err
				}
			}
			return nil
		}},
		{"team finance with bob", func() error {
			if err := tolerate(alice.do("POST", "/api/projects/claims/teams", map[string]string{"id": "finance", "name": "Finance"}, nil), http.StatusConflict); err != nil {
				return err
			}
			return alice.do("PUT", "/api/projects/claims/teams/finance/members/"+platform.UserID(demoBob), nil, nil)
		}},
	}
	steps = append(steps, deploySeedSteps(alice, workPortal)...)
	for _, s := range steps {
		if err := s.run(); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
		fmt.Fprintln(out, "seeded:", s.what)
	}
	return nil
}

// seedStep is one step of the seed (the same type as seed's own steps).
type seedStep = struct {
	what string
	run  func() error
}

// demoPolicy is the development environment's maintenance policy in the
// demo: a window every five minutes, announced two minutes before, so the
// whole flow shows within minutes of a check-in.
var demoPolicy = map[string]any{"schedules": []string{"0 */5 * * * *"}, "timeZone": "UTC", "durationMinutes": 10, "noticeMinutes": 2}

// deploySeedSteps (issue: deployments) give development the demo policy and,
// with a stand-in URL, point both environments' Work Portal and Scheduler at
// the stand-in (under /claims/<env>/portal and /claims/<env>/scheduler).
func deploySeedSteps(alice *client, workPortal string) []seedStep {
	steps := []seedStep{{"development maintenance policy: every 5 minutes, 2 minutes' notice", func() error {
		return alice.do("PUT", "/api/projects/claims/environments/development/maintenance-policy", demoPolicy, nil)
	}}}
	if workPortal == "" {
		return steps
	}
	base := strings.TrimSuffix(workPortal, "/")
	return append(steps, seedStep{"environments pointed at the Work Portal stand-in " + base, func() error {
		for _, env := range []string{"development", "test"} {
			body := map[string]string{"workPortalUrl": base + "/claims/" + env + "/portal", "schedulerUrl": base + "/claims/" + env + "/scheduler"}
			if err := alice.do("PATCH", "/api/projects/claims/environments/"+env, body, nil); err != nil {
				return err
			}
		}
		return nil
	}})
}
