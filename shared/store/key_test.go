package store

import (
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEncodeKey(t *testing.T) {
	cases := []struct{ in, want string }{
		{"applications/claims/processes/p1", "applications!claims!processes!p1"},
		{"plain-name_1.x", "plain-name_1.x"},
		{"a!b", "a~21b"},
		{"a~b", "a~7Eb"},
		{`back\slash#hash?q'quote%pct`, "back~5Cslash~23hash~3Fq~27quote~25pct"},
		{"tab\there\x7f", "tab~09here~7F"},
		{"c1\u0085x", "c1~C2~85x"},
		{"ünïcode", "ünïcode"},
		{"bad\xffutf8", "bad~FFutf8"},
		{"", ""},
	}
	for _, c := range cases {
		got := EncodeKey(c.in)
		if got != c.want {
			t.Errorf("EncodeKey(%q) = %q, want %q", c.in, got, c.want)
		}
		back, err := DecodeKey(got)
		if err != nil || back != c.in {
			t.Errorf("DecodeKey(%q) = %q, %v", got, back, err)
		}
	}
	for _, bad := range []string{"~", "~4", "~G0", "a~zz"} {
		if _, err := DecodeKey(bad); err == nil {
			t.Errorf("DecodeKey(%q) accepted", bad)
		}
	}
}

func TestEncodeKeyLongestPathFits(t *testing.T) {
	seg := strings.Repeat("a", 63)
	path := strings.TrimSuffix(strings.Repeat(seg+"/", 16), "/")
	for len(path) < 1024 {
		path += "b"
	}
	if got := EncodeKey(path); len(got) > 1024 {
		t.Fatalf("a 1,024-byte path encodes to %d bytes", len(got))
	}
}

func checkKeyProperties(t *testing.T, a, b string) {
	t.Helper()
	ea, eb := EncodeKey(a), EncodeKey(b)
	if utf8.ValidString(a) && utf8.ValidString(b) && EncodeKey(a+b) != ea+eb {
		t.Fatalf("not a homomorphism: %q + %q", a, b)
	}
	if (a == b) != (ea == eb) {
		t.Fatalf("not injective: %q %q -> %q %q", a, b, ea, eb)
	}
	for _, r := range ea {
		if strings.ContainsRune(`/\#?'%`, r) || r < 0x20 || (r >= 0x7F && r <= 0x9F) {
			t.Fatalf("EncodeKey(%q) = %q holds %q", a, ea, r)
		}
	}
	if back, err := DecodeKey(ea); err != nil || back != a {
		t.Fatalf("round trip of %q: %q %v", a, back, err)
	}
}

func TestEncodeKeyRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	alphabet := []rune("aZ09._-/!~\\#?'%\x00\x1f\x7f\u0085éü😀")
	gen := func() string {
		n := rng.Intn(12)
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteRune(alphabet[rng.Intn(len(alphabet))])
		}
		return b.String()
	}
	for i := 0; i < 20000; i++ {
		checkKeyProperties(t, gen(), gen())
	}
}

func FuzzEncodeKey(f *testing.F) {
	f.Add("applications/x", "/y")
	f.Add("~21", "!")
	f.Add("\xff", "\x00")
	f.Fuzz(func(t *testing.T, a, b string) { checkKeyProperties(t, a, b) })
}

func TestPrefixRange(t *testing.T) {
	ge, lt := PrefixRange("applications!claims!")
	if ge != "applications!claims!" || lt != "applications!claims\"" {
		t.Fatalf("%q %q", ge, lt)
	}
	for _, k := range []string{"applications!claims!x", "applications!claims!~21"} {
		if !(k >= ge && k < lt) {
			t.Errorf("%q outside [%q, %q)", k, ge, lt)
		}
	}
	for _, k := range []string{"applications!claims", "applications!claims-old!x", "applications!claimsx"} {
		if k >= ge && k < lt {
			t.Errorf("%q inside [%q, %q)", k, ge, lt)
		}
	}
}

func TestFilterLiterals(t *testing.T) {
	cases := []struct {
		f    Filter
		want string
	}{
		{Eq("RowKey", "it's"), "RowKey eq 'it''s'"},
		{Ge("N", int64(5)), "N ge 5L"},
		{Eq("B", true), "B eq true"},
		{And(Eq("A", "x"), Filter{}), "A eq 'x'"},
		{And(Eq("A", "x"), Eq("B", int32(2))), "(A eq 'x') and (B eq 2)"},
	}
	for _, c := range cases {
		if c.f.String() != c.want {
			t.Errorf("got %q want %q", c.f.String(), c.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a property name with a space must panic")
		}
	}()
	Eq("Row Key eq 'x' or 1", "v")
}
