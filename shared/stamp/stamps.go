package stamp

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/studio-collab/collab/shared/fault"
)

// Stamps is this stamp's place in the deployment. The zero value (one stamp,
// shared) serves everything, which is the single-region default.
type Stamps struct {
	// Self is this stamp's name; "" in a single-stamp deployment (no
	// directory, nothing redirected).
	Self string
	// URLs are every stamp's public base URL by name (Self's included), the
	// targets of redirects and the origins whose consoles may call here.
	URLs map[string]string
	// Dedicated is the one customer subscription this stamp serves; ""
	// for a shared stamp.
	Dedicated string
	// Dir is the global directory; nil when Self is "".
	Dir *Directory
}

// Misdirected is the answer for a subscription or project whose home is
// another stamp: a fault.Misdirected (421) whose problem names the home and
// its URL, so that clients re-send the request there.
type Misdirected struct {
	Home, HomeURL string
	err           error
}

func (m *Misdirected) Error() string { return m.err.Error() }
func (m *Misdirected) Unwrap() error { return m.err }

// ProblemExtensions adds home and homeUrl to the 421 problem.
func (m *Misdirected) ProblemExtensions() map[string]any {
	return map[string]any{"home": m.Home, "homeUrl": m.HomeURL}
}

func (s *Stamps) misdirected(op, what, home string) error {
	u := s.URLs[home]
	if u == "" {
		// A directory naming a stamp this one was not told about is a
		// deployment error, not the caller's: say so instead of guessing.
		return fault.E(op, fault.Unavailable, fmt.Sprintf("%s lives in stamp %q, whose address this stamp does not know", what, home))
	}
	return &Misdirected{Home: home, HomeURL: u, err: fault.E(op, fault.Misdirected,
		fmt.Sprintf("%s is served by stamp %q at %s; send the request there", what, home, u))}
}

// ServeSubscription says whether this stamp serves the subscription: nil,
// a Misdirected naming its home, or NotFound on a dedicated stamp for any
// other subscription. It reads only the directory.
func (s *Stamps) ServeSubscription(ctx context.Context, sub string) error {
	const op = "stamp.ServeSubscription"
	if s == nil {
		return nil
	}
	if s.Dedicated != "" && sub != s.Dedicated {
		return s.refuse(op, "subscription "+sub)
	}
	if s.Dir == nil {
		return nil
	}
	home, err := s.Dir.HomeOf(ctx, sub)
	switch {
	case fault.Is(err, fault.NotFound):
		// No stamp has it: the local lookup answers 404 as before.
		return nil
	case err != nil:
		return fault.E(op, fault.Unavailable, "the stamp directory cannot be read", err)
	case home == s.Self:
		return nil
	}
	return s.misdirected(op, "subscription "+sub, home)
}

// ServeProject is ServeSubscription for a project, found through the
// directory's project row.
func (s *Stamps) ServeProject(ctx context.Context, project string) error {
	const op = "stamp.ServeProject"
	if s == nil || s.Dir == nil {
		// One stamp: a dedicated one holds only its own subscription's
		// projects (creating any other subscription is refused).
		return nil
	}
	sub, err := s.Dir.SubscriptionOf(ctx, project)
	switch {
	case fault.Is(err, fault.NotFound):
		return nil // no stamp has it: the local lookup answers 404
	case err != nil:
		return fault.E(op, fault.Unavailable, "the stamp directory cannot be read", err)
	}
	if s.Dedicated != "" && sub != s.Dedicated {
		return s.refuse(op, "project "+project)
	}
	if err := s.ServeSubscription(ctx, sub); err != nil {
		var m *Misdirected
		if errors.As(err, &m) {
			return s.misdirected(op, "project "+project, m.Home)
		}
		return err
	}
	return nil
}

func (s *Stamps) refuse(op, what string) error {
	return fault.E(op, fault.NotFound, fmt.Sprintf("%s not found: this stamp serves one customer only", what))
}

// PlaceSubscription decides where a new subscription goes: home is the
// caller's explicit choice ("" = this stamp, which Traffic Manager picked as
// the closest). Another stamp is a Misdirected to it; an unknown one is
// Invalid; a dedicated stamp creates only its own subscription.
func (s *Stamps) PlaceSubscription(id, home string) error {
	const op = "stamp.PlaceSubscription"
	if s == nil {
		if home != "" {
			return fault.E(op, fault.Invalid, fmt.Sprintf("home %q: this deployment has one stamp; leave home out", home))
		}
		return nil
	}
	if s.Dedicated != "" && id != s.Dedicated {
		return fault.E(op, fault.Forbidden, "this stamp is dedicated to one customer and creates no other subscription")
	}
	if home == "" || home == s.Self {
		return nil
	}
	if _, ok := s.URLs[home]; !ok {
		return fault.E(op, fault.Invalid, fmt.Sprintf("home %q is not a stamp of this deployment; stamps: %s", home, strings.Join(s.names(), ", ")))
	}
	return s.misdirected(op, "a subscription homed in "+home, home)
}

// ClaimSubscription records a new subscription in the directory as homed
// here, before the stamp writes anything of it (platform.Service.Homes).
func (s *Stamps) ClaimSubscription(ctx context.Context, id string) (string, error) {
	if s == nil || s.Dir == nil {
		if s == nil {
			return "", nil
		}
		return s.Self, nil
	}
	if err := s.Dir.ClaimSubscription(ctx, id, s.Self); err != nil {
		return "", fmt.Errorf("claim subscription %s for stamp %s: %w", id, s.Self, err)
	}
	return s.Self, nil
}

// ClaimProject records a new project's subscription in the directory, so
// that every stamp finds its home from the project id alone.
func (s *Stamps) ClaimProject(ctx context.Context, project, sub string) error {
	if s == nil || s.Dir == nil {
		return nil
	}
	if err := s.Dir.ClaimProject(ctx, project, sub); err != nil {
		return fmt.Errorf("claim project %s: %w", project, err)
	}
	return nil
}

// Origins are the other stamps' origins (scheme://host[:port]): their
// consoles call this stamp's API after a redirect (CORS, CSP connect-src).
func (s *Stamps) Origins() []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, name := range s.names() {
		if u, err := url.Parse(s.URLs[name]); err == nil && u.Host != "" {
			out = append(out, u.Scheme+"://"+u.Host)
		}
	}
	return out
}

func (s *Stamps) names() []string {
	return slices.Sorted(maps.Keys(s.URLs))
}
