package fault

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestKindOf(t *testing.T) {
	base := E("store.Get", NotFound, Path("applications/a"), io.EOF)
	cases := []struct {
		name string
		err  error
		want Kind
	}{
		{"nil is Other", nil, Other},
		{"plain error is Other", io.EOF, Other},
		{"direct kind", base, NotFound},
		{"wrapped with fmt keeps kind", fmt.Errorf("catalog: %w", base), NotFound},
		{"outer E without kind inherits inner", E("catalog.Read", base), NotFound},
		{"outer kind wins over inner", E("catalog.Read", Forbidden, base), Forbidden},
		{"Errorf", Errorf(Invalid, "bad %s", "x"), Invalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := KindOf(c.err); got != c.want {
				t.Fatalf("KindOf = %v, want %v", got, c.want)
			}
		})
	}
}

func TestErrorKeepsCauseAndContext(t *testing.T) {
	err := E("store.Get", NotFound, Path("entities/master/x"), "no such entity", io.EOF)
	if !errors.Is(err, io.EOF) {
		t.Fatal("cause lost")
	}
	if got, want := err.Error(), "store.Get: entities/master/x: not-found: no such entity: EOF"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if DetailOf(fmt.Errorf("x: %w", err)) != "no such entity" || PathOf(err) != "entities/master/x" {
		t.Fatal("detail or path not found along the chain")
	}
}

func TestKindNamesAreUniqueAndSet(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		s := k.String()
		if s == "" || seen[s] {
			t.Fatalf("kind %d has empty or duplicate name %q", k, s)
		}
		seen[s] = true
	}
}
