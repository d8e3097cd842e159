// Package securitytest builds the benchmark model of the Studio Security
// issue (objects, entries, teams, subjects) once, so that our evaluator and
// the Casbin comparison in bench/ are measured on exactly the same data.
package securitytest

import (
	"fmt"
	"math/rand"
	"strings"

	"github.com/studio-collab/collab/shared/security"
)

// Model is a project's objects, entries and a few subjects to check.
type Model struct {
	Objects  []string
	Entries  []security.Entry
	Subjects []security.Subject
}

// NewModel makes a model with about nObjects objects, nEntries entries on
// objects or their ancestors, for users u0000.. and nTeams teams; subjects
// are developers in 5 teams each. Seeded: the same arguments give the same model.
func NewModel(seed int64, nObjects, nEntries, nTeams int) Model {
	rng := rand.New(rand.NewSource(seed))
	m := Model{Objects: make([]string, 0, nObjects)}
	for a := 0; len(m.Objects) < nObjects; a++ {
		app := fmt.Sprintf("applications/app%03d", a%200)
		m.Objects = append(m.Objects, fmt.Sprintf("%s/processes/p%03d/versions/v%d/forms/f%d", app, (a/200)%100, a%5, a%7))
		if a%4 == 0 {
			m.Objects = append(m.Objects, fmt.Sprintf("entities/master/e%05d/attributes/a%d", a, a%9))
		}
		if a%9 == 0 {
			m.Objects = append(m.Objects, fmt.Sprintf("rules/functions/fn%05d", a))
		}
	}
	seen := map[string]bool{}
	for len(m.Entries) < nEntries {
		obj := m.Objects[rng.Intn(len(m.Objects))]
		segs := strings.Split(obj, "/")
		p := strings.Join(segs[:2+rng.Intn(len(segs)-1)], "/") // the object or one of its ancestors
		var pr security.Principal
		if rng.Intn(3) == 0 {
			pr = security.User(fmt.Sprintf("u%04d", rng.Intn(2000)))
		} else {
			pr = security.Team(fmt.Sprintf("team%03d", rng.Intn(nTeams)))
		}
		if seen[p+string(pr)] {
			continue
		}
		seen[p+string(pr)] = true
		m.Entries = append(m.Entries, security.Entry{Path: p, Principal: pr, Level: security.Level(1 + rng.Intn(3))})
	}
	m.Subjects = make([]security.Subject, 64)
	users := map[string]bool{}
	for i := range m.Subjects {
		id := fmt.Sprintf("u%04d", rng.Intn(2000))
		for users[id] { // one subject per user: a user has one set of teams
			id = fmt.Sprintf("u%04d", rng.Intn(2000))
		}
		users[id] = true
		s := security.Subject{UserID: id, Role: security.RoleDeveloper}
		for len(s.Teams) < 5 {
			s.Teams = append(s.Teams, fmt.Sprintf("team%03d", rng.Intn(nTeams)))
		}
		m.Subjects[i] = s
	}
	return m
}
