package security

import (
	"testing"

	sec "github.com/studio-collab/collab/shared/security"
	"github.com/studio-collab/collab/shared/security/securitytest"
)

// TestCasbinAgrees: before comparing speeds, check that the Casbin model
// gives the same answers as ours on a sample of the benchmark's checks.
func TestCasbinAgrees(t *testing.T) {
	m := securitytest.NewModel(7, 20000, 2000, 100)
	ix, err := sec.Build(m.Entries, sec.Settings{}, "")
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewCasbin(m.Entries, m.Subjects)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		s, obj := m.Subjects[i&63], m.Objects[(i*7919)%len(m.Objects)]
		for _, a := range []sec.Action{sec.View, sec.Edit, sec.Manage} {
			want, d := ix.Check(s, obj, a)
			got, err := e.Enforce(string(sec.User(s.UserID)), obj, string(a))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("%s %s %s: casbin %v, ours %v (%s)", s.UserID, obj, a, got, want, d.Explain())
			}
		}
	}
}

var model100k = securitytest.NewModel(7, 100000, 10000, 100)

// BenchmarkCompiled and BenchmarkCasbin run the same checks on the same
// model (100,000 objects, 10,000 entries, 100 teams) in one run.
func BenchmarkCompiled(b *testing.B) {
	ix, err := sec.Build(model100k.Entries, sec.Settings{}, "")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.Check(model100k.Subjects[i&63], model100k.Objects[(i*7919)%len(model100k.Objects)], sec.Edit)
	}
}

func BenchmarkCasbin(b *testing.B) {
	e, err := NewCasbin(model100k.Entries, model100k.Subjects)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := model100k.Subjects[i&63]
		if _, err := e.Enforce(string(sec.User(s.UserID)), model100k.Objects[(i*7919)%len(model100k.Objects)], "modify"); err != nil {
			b.Fatal(err)
		}
	}
}
