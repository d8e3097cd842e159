package diff

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestJSONDiff(t *testing.T) {
	cases := []struct {
		name string
		a, b string
		want []KeyChange
	}{
		{"equal", `{"a":1}`, `{"a":1}`, []KeyChange{}},
		{"key order does not matter", `{"a":1,"b":2}`, `{"b":2,"a":1}`, []KeyChange{}},
		{"added", `{"a":1}`, `{"a":1,"b":true}`, []KeyChange{{Op: "added", Key: "/b", To: json.RawMessage(`true`)}}},
		{"removed", `{"a":1,"b":"x"}`, `{"a":1}`, []KeyChange{{Op: "removed", Key: "/b", From: json.RawMessage(`"x"`)}}},
		{"changed", `{"a":1}`, `{"a":2}`, []KeyChange{{Op: "changed", Key: "/a", From: json.RawMessage(`1`), To: json.RawMessage(`2`)}}},
		{"nested keys by pointer", `{"form":{"fields":{"x/y":{"len":1}}}}`, `{"form":{"fields":{"x/y":{"len":2}}}}`,
			[]KeyChange{{Op: "changed", Key: "/form/fields/x~1y/len", From: json.RawMessage(`1`), To: json.RawMessage(`2`)}}},
		{"arrays are one value", `{"a":[1,2,3]}`, `{"a":[1,3,2]}`,
			[]KeyChange{{Op: "changed", Key: "/a", From: json.RawMessage(`[1,2,3]`), To: json.RawMessage(`[1,3,2]`)}}},
		{"nested object order", `{"o":{"x":1,"y":2}}`, `{"o":{"y":2,"x":1}}`, []KeyChange{}},
		{"unicode", `{"título":"año"}`, `{"título":"años ✓"}`,
			[]KeyChange{{Op: "changed", Key: "/título", From: json.RawMessage(`"año"`), To: json.RawMessage(`"años ✓"`)}}},
		{"type change", `{"a":{"b":1}}`, `{"a":[1]}`, []KeyChange{{Op: "changed", Key: "/a", From: json.RawMessage(`{"b":1}`), To: json.RawMessage(`[1]`)}}},
		{"whole document", `1`, `"x"`, []KeyChange{{Op: "changed", Key: "", From: json.RawMessage(`1`), To: json.RawMessage(`"x"`)}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := JSON([]byte(c.a), []byte(c.b))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %s\nwant %s", js(got), js(c.want))
			}
		})
	}
	if _, err := JSON([]byte(`{"a":`), []byte(`{}`)); err == nil {
		t.Fatal("a broken document was diffed")
	}
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestTextDiff(t *testing.T) {
	cases := []struct {
		name           string
		a, b           string
		added, removed int
		contains       []string
	}{
		{"equal", "a\nb\n", "a\nb\n", 0, 0, nil},
		{"one line changed", "a\nb\nc\n", "a\nB\nc\n", 1, 1, []string{"-b", "+B", " a", " c"}},
		{"added at end", "a\n", "a\nb\n", 1, 0, []string{"+b"}},
		{"removed", "a\nb\n", "b\n", 0, 1, []string{"-a"}},
		{"no final newline", "a", "a\nb", 2, 1, []string{"-a", "+a", "+b"}},
		{"unicode", "añó\nß\n", "añó\nßé\n", 1, 1, []string{"-ß", "+ßé"}},
		{"from nothing", "", "x\ny\n", 2, 0, []string{"+x", "+y"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, add, rem := Text(c.a, c.b, "v1", "v2")
			if add != c.added || rem != c.removed {
				t.Fatalf("added %d removed %d, want %d %d:\n%s", add, rem, c.added, c.removed, u)
			}
			for _, s := range c.contains {
				if !strings.Contains(u, "\n"+s+"\n") && !strings.HasSuffix(u, "\n"+s) {
					t.Fatalf("diff lacks line %q:\n%s", s, u)
				}
			}
			if c.a != c.b && !strings.HasPrefix(u, "--- v1\n+++ v2\n") {
				t.Fatalf("no labels:\n%s", u)
			}
		})
	}
}

var mk = Markers{Mine: "mine", Base: "base", Theirs: "theirs"}

func TestMergeText(t *testing.T) {
	cases := []struct {
		name               string
		base, mine, theirs string
		want               string
		conflicts          int
	}{
		{"clean: separate lines", "a\nb\nc\nd\ne\n", "A\nb\nc\nd\ne\n", "a\nb\nc\nd\nE\n", "A\nb\nc\nd\nE\n", 0},
		{"same change on both sides", "a\nb\n", "a\nB\n", "a\nB\n", "a\nB\n", 0},
		{"only theirs", "a\nb\n", "a\nb\n", "a\nb\nc\n", "a\nb\nc\n", 0},
		{"conflict: same line", "a\nb\nc\n", "a\nmine\nc\n", "a\ntheirs\nc\n",
			"a\n<<<<<<< mine\nmine\n||||||| base\nb\n=======\ntheirs\n>>>>>>> theirs\nc\n", 1},
		{"deleted vs modified", "a\nb\nc\n", "a\nc\n", "a\nB\nc\n",
			"a\n<<<<<<< mine\n||||||| base\nb\n=======\nB\n>>>>>>> theirs\nc\n", 1},
		{"added on both sides, different", "", "x\n", "y\n", "<<<<<<< mine\nx\n||||||| base\n=======\ny\n>>>>>>> theirs\n", 1},
		{"added on both sides, alike", "", "x\n", "x\n", "x\n", 0},
		{"insertions at one point", "a\nz\n", "a\nm\nz\n", "a\nt\nz\n",
			"a\n<<<<<<< mine\nm\n||||||| base\n=======\nt\n>>>>>>> theirs\nz\n", 1},
		{"unicode lines", "título\nb\nc\nd\n", "título ✓\nb\nc\nd\n", "título\nb\nc\nдa\n", "título ✓\nb\nc\nдa\n", 0},
		{"no final newline on theirs", "a\nb\nc\nd", "A\nb\nc\nd", "a\nb\nc\nD", "A\nb\nc\nD", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, cs := MergeText(c.base, c.mine, c.theirs, mk)
			if got != c.want || len(cs) != c.conflicts {
				t.Fatalf("got %d conflicts:\n%s\nwant %d:\n%s", len(cs), got, c.conflicts, c.want)
			}
			if HasMarkers(got) != (c.conflicts > 0) {
				t.Fatal("HasMarkers disagrees")
			}
		})
	}
}

func TestMergeJSON(t *testing.T) {
	cases := []struct {
		name               string
		base, mine, theirs string
		want               string // compared structurally
		conflicts          []string
	}{
		{"clean: different keys", `{"a":1,"b":1}`, `{"a":2,"b":1}`, `{"a":1,"b":2}`, `{"a":2,"b":2}`, nil},
		{"conflict: same key", `{"a":1}`, `{"a":2}`, `{"a":3}`, `{"a":2}`, []string{"/a"}},
		{"same change both sides", `{"a":1}`, `{"a":2}`, `{"a":2}`, `{"a":2}`, nil},
		{"deleted vs modified", `{"a":1,"b":1}`, `{"b":1}`, `{"a":5,"b":1}`, `{"b":1}`, []string{"/a"}},
		{"deleted vs unchanged", `{"a":1,"b":1}`, `{"b":1}`, `{"a":1,"b":2}`, `{"b":2}`, nil},
		{"added on both sides, different keys", `{}`, `{"x":1}`, `{"y":2}`, `{"x":1,"y":2}`, nil},
		{"added on both sides, same key differently", `{}`, `{"x":1}`, `{"x":2}`, `{"x":1}`, []string{"/x"}},
		{"object added by both", ``, `{"x":1}`, `{"y":1}`, `{"x":1,"y":1}`, nil},
		{"arrays: one side", `{"l":[1,2]}`, `{"l":[1,2,3]}`, `{"l":[1,2],"k":0}`, `{"l":[1,2,3],"k":0}`, nil},
		{"arrays: both sides differently", `{"l":[1,2]}`, `{"l":[1,2,3]}`, `{"l":[0,1,2]}`, `{"l":[1,2,3]}`, []string{"/l"}},
		{"nested keys", `{"f":{"x":{"len":1,"req":false}}}`, `{"f":{"x":{"len":9,"req":false}}}`, `{"f":{"x":{"len":1,"req":true}}}`,
			`{"f":{"x":{"len":9,"req":true}}}`, nil},
		{"nested conflict path", `{"f":{"x":{"len":1}}}`, `{"f":{"x":{"len":2}}}`, `{"f":{"x":{"len":3}}}`, `{"f":{"x":{"len":2}}}`, []string{"/f/x/len"}},
		{"unicode keys", `{"título":"a","ñ":1}`, `{"título":"b","ñ":1}`, `{"título":"a","ñ":2}`, `{"título":"b","ñ":2}`, nil},
		{"object vs scalar", `{"a":{"b":1}}`, `{"a":{"b":2}}`, `{"a":7}`, `{"a":{"b":2}}`, []string{"/a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var base []byte
			if c.base != "" {
				base = []byte(c.base)
			}
			got, cs, err := MergeJSON(base, []byte(c.mine), []byte(c.theirs))
			if err != nil {
				t.Fatal(err)
			}
			if d, err := JSON(got, []byte(c.want)); err != nil || len(d) != 0 {
				t.Fatalf("merged %s, want %s (%v %s)", got, c.want, err, js(d))
			}
			var keys []string
			for _, k := range cs {
				keys = append(keys, k.Key)
			}
			if !reflect.DeepEqual(keys, c.conflicts) {
				t.Fatalf("conflicts %s, want %v", js(cs), c.conflicts)
			}
		})
	}
}

func TestMergeKeepsFormatting(t *testing.T) {
	base := "{\n  \"name\": \"Intake\",\n  \"fields\": 3,\n  \"owner\": \"ann\",\n  \"sla\": 5\n}\n"
	mine := strings.Replace(base, `"Intake"`, `"Intake form"`, 1)
	theirs := strings.Replace(base, `"sla": 5`, `"sla": 7`, 1)
	m := Merge("x.json", "application/json", []byte(base), []byte(mine), []byte(theirs), mk)
	want := strings.Replace(mine, `"sla": 5`, `"sla": 7`, 1)
	if !m.Clean() || string(m.Data) != want {
		t.Fatalf("clean=%v\n%s\nwant\n%s", m.Clean(), m.Data, want)
	}
	// Adjacent lines conflict as text but not as JSON: the document is
	// written anew with mine's indentation and key order.
	theirs = strings.Replace(base, `"fields": 3`, `"fields": 4`, 1)
	m = Merge("x.json", "application/json", []byte(base), []byte(mine), []byte(theirs), mk)
	want = strings.Replace(mine, `"fields": 3`, `"fields": 4`, 1)
	if !m.Clean() || string(m.Data) != want || m.Kind != KindJSON {
		t.Fatalf("clean=%v kind %s\n%s\nwant\n%s", m.Clean(), m.Kind, m.Data, want)
	}
}

func TestMergeKinds(t *testing.T) {
	bin := func(s string) []byte { return append([]byte{0}, s...) }
	cases := []struct {
		name               string
		file               string
		base, mine, theirs []byte
		kind               string
		clean              bool
		data               string
	}{
		{"binary: one side", "a.png", bin("1"), bin("1"), bin("2"), KindBinary, true, "\x002"},
		{"binary: both sides", "a.png", bin("1"), bin("2"), bin("3"), KindBinary, false, "\x002"},
		{"json named .json", "a.json", []byte(`{"a":1,"b":1}`), []byte(`{"a":2,"b":1}`), []byte(`{"a":1,"b":2}`), KindJSON, true, `{"a":2,"b":2}`},
		{"broken json merges as text", "a.json", []byte("{\n1\n2\n3\n"), []byte("{\nx\n2\n3\n"), []byte("{\n1\n2\ny\n"), KindText, true, "{\nx\n2\ny\n"},
		{"text", "a.bpmn", []byte("a\nb\nc\n"), []byte("A\nb\nc\n"), []byte("a\nb\nC\n"), KindText, true, "A\nb\nC\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := Merge(c.file, "", c.base, c.mine, c.theirs, mk)
			if m.Kind != c.kind || m.Clean() != c.clean || string(m.Data) != c.data {
				t.Fatalf("kind %s clean %v data %q", m.Kind, m.Clean(), m.Data)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	r := Compare("a.json", "application/json", []byte(`{"a":1}`), []byte(`{"a":2}`), "v1", "v2")
	if r.Kind != KindJSON || len(r.Keys) != 1 || r.Keys[0].Key != "/a" || r.Unified == "" {
		t.Fatalf("%s", js(r))
	}
	r = Compare("a.png", "image/png", []byte{0, 1}, []byte{0, 1, 2}, "v1", "v2")
	if r.Kind != KindBinary || r.FromSize != 2 || r.ToSize != 3 || r.FromSHA == r.ToSHA || r.Unified != "" {
		t.Fatalf("%s", js(r))
	}
	r = Compare("a.json", "", nil, []byte(`{"b": [1]}`), "absent", "v1")
	if len(r.Keys) != 1 || r.Keys[0].Op != "added" || r.Keys[0].Key != "" || string(r.Keys[0].To) != `{"b":[1]}` {
		t.Fatalf("a new document: %s", js(r))
	}
	r = Compare("a.txt", "", nil, []byte("x\n"), "absent", "v1")
	if r.Kind != KindText || r.Added != 1 || r.Same {
		t.Fatalf("%s", js(r))
	}
	big := make([]byte, MaxBytes+1)
	if k := KindOf("a.txt", "", big); k != KindBinary {
		t.Fatalf("a %d-byte file compared as %s", len(big), k)
	}
}
