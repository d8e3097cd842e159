package security_test

import (
	"testing"

	"github.com/studio-collab/collab/shared/security"
	"github.com/studio-collab/collab/shared/security/securitytest"
)

// BenchmarkCheck: one check on the model, 100,000 objects, 10,000
// entries, 100 teams (target < 1 µs, 0 allocs). bench/security runs the same
// model in Casbin.
func BenchmarkCheck(b *testing.B) {
	m := securitytest.NewModel(7, 100000, 10000, 100)
	ix, err := security.Build(m.Entries, security.Settings{}, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ix.Check(m.Subjects[i&63], m.Objects[(i*7919)%len(m.Objects)], security.Edit)
	}
}

// BenchmarkBuild: compiling 10,000 entries (paid when entries change).
func BenchmarkBuild(b *testing.B) {
	m := securitytest.NewModel(7, 100000, 10000, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := security.Build(m.Entries, security.Settings{}, "v"); err != nil {
			b.Fatal(err)
		}
	}
}
