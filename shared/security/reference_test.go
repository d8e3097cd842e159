package security

import (
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// referenceLevel is a deliberately naive reading of DESIGN §4.3, written
// without the trie: for the path and then each parent, scan every entry.
func referenceLevel(entries []Entry, developerDefault Level, s Subject, path string) Level {
	if s.Role == RoleOwner {
		return Full
	}
	for p := path; ; {
		var own Level
		var teamLevels []Level
		for _, en := range entries {
			if en.Path != p {
				continue
			}
			kind, id := en.Principal.Split()
			if kind == "user" && id == s.UserID {
				own = en.Level
			}
			if kind == "team" && slices.Contains(s.Teams, id) {
				teamLevels = append(teamLevels, en.Level)
			}
		}
		if own != None {
			return own
		}
		if len(teamLevels) > 0 {
			if slices.Contains(teamLevels, Deny) {
				return Deny
			}
			return slices.Max(teamLevels)
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	if strings.HasPrefix(path, "security") {
		return Deny
	}
	if s.Role == RoleAdmin {
		return Full
	}
	if developerDefault == Deny {
		return Deny
	}
	return Modify
}

// referenceAllowed is the action table of DESIGN §4.3 read literally: deny
// lets one view only entities and rules; modify views and edits; full also
// manages.
func referenceAllowed(level Level, path string, a Action) bool {
	switch a {
	case View:
		if level == Deny {
			return strings.HasPrefix(path, "entities") || strings.HasPrefix(path, "rules")
		}
		return level == Modify || level == Full
	case Edit:
		return level == Modify || level == Full
	case Manage:
		return level == Full
	}
	return false
}

// randomPath picks from a small vocabulary so entries and checks collide.
func randomPath(rng *rand.Rand) string {
	switch rng.Intn(5) {
	case 0, 1:
		p := "applications"
		if rng.Intn(8) > 0 {
			p += fmt.Sprintf("/app%d", rng.Intn(4))
			if rng.Intn(3) > 0 {
				p += fmt.Sprintf("/processes/p%d", rng.Intn(4))
				if rng.Intn(2) == 0 {
					p += fmt.Sprintf("/versions/v%d", rng.Intn(3))
				}
				if rng.Intn(3) == 0 {
					p += fmt.Sprintf("/forms/f%d", rng.Intn(2))
				}
			}
		}
		return p
	case 2:
		p := "entities"
		if rng.Intn(6) > 0 {
			p += "/" + []string{"application", "master", "parameter"}[rng.Intn(3)]
			if rng.Intn(3) > 0 {
				p += fmt.Sprintf("/e%d", rng.Intn(4))
			}
		}
		return p
	case 3:
		p := "rules"
		if rng.Intn(6) > 0 {
			p += "/" + []string{"application", "functions", "expressions"}[rng.Intn(3)]
			if rng.Intn(3) > 0 {
				p += fmt.Sprintf("/r%d", rng.Intn(4))
			}
		}
		return p
	default:
		return "security/" + []string{"authentication", "authorization", "ldap"}[rng.Intn(3)]
	}
}

func randomEntries(rng *rand.Rand, n int) []Entry {
	seen := map[string]bool{}
	var out []Entry
	for len(out) < n {
		p := randomPath(rng)
		var pr Principal
		if rng.Intn(2) == 0 {
			pr = User(fmt.Sprintf("u%d", rng.Intn(6)))
		} else {
			pr = Team(fmt.Sprintf("t%d", rng.Intn(5)))
		}
		if seen[p+"|"+string(pr)] {
			continue // one entry per (path, principal), as storage keeps them
		}
		seen[p+"|"+string(pr)] = true
		l := Level(1 + rng.Intn(3))
		if IsMainNode(p) {
			l = Deny
		}
		out = append(out, Entry{Path: p, Principal: pr, Level: l})
	}
	return out
}

func randomSubject(rng *rand.Rand) Subject {
	s := Subject{UserID: fmt.Sprintf("u%d", rng.Intn(6)), Role: []Role{RoleDeveloper, RoleDeveloper, RoleAdmin, RoleOwner}[rng.Intn(4)]}
	for t := 0; t < 5; t++ {
		if rng.Intn(3) == 0 {
			s.Teams = append(s.Teams, fmt.Sprintf("t%d", t))
		}
	}
	return s
}

// TestCompiledMatchesReference: 10,000 random trees (entries, teams,
// settings) x 10 random subjects and paths x the three actions, compiled
// evaluator against the naive reference; zero disagreements.
func TestCompiledMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(20261124))
	checks := 0
	for tree := 0; tree < 10000; tree++ {
		entries := randomEntries(rng, rng.Intn(30))
		settings := Settings{DeveloperDefault: []Level{Modify, Deny}[rng.Intn(2)]}
		ix, err := Build(entries, settings, "")
		if err != nil {
			t.Fatal(err)
		}
		for c := 0; c < 10; c++ {
			s, p := randomSubject(rng), randomPath(rng)
			got := ix.Decide(s, p)
			want := referenceLevel(entries, settings.DeveloperDefault, s, p)
			if got.Level != want {
				t.Fatalf("tree %d: %+v on %s: compiled %v (%s), reference %v\nentries: %v", tree, s, p, got.Level, got.Explain(), want, entries)
			}
			for _, a := range []Action{View, Edit, Manage} {
				ok, _ := ix.Check(s, p, a)
				if ok != referenceAllowed(want, p, a) {
					t.Fatalf("tree %d: %+v %s on %s: compiled allowed=%v, reference %v (level %v)", tree, s, a, p, ok, !ok, want)
				}
				checks++
			}
		}
	}
	t.Logf("10000 random trees, %d random checks, 0 disagreements", checks)
}
