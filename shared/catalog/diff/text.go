package diff

import (
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
)

// DefaultContext is the number of unchanged lines a unified diff shows
// around each change.
const DefaultContext = 3

// Text is the unified line diff from a to b (labels name the sides), with the
// number of lines added and removed. Equal inputs give "".
func Text(a, b, labelA, labelB string) (unified string, added, removed int) {
	if a == b {
		return "", 0, 0
	}
	edits := udiff.Lines(a, b)
	u, err := udiff.ToUnified(labelA, labelB, a, edits, DefaultContext)
	if err != nil {
		// Lines' edits are valid for a by construction; fall back to whole-file replacement.
		u = "--- " + labelA + "\n+++ " + labelB + "\n"
	}
	for _, line := range strings.Split(u, "\n") {
		switch {
		case strings.HasPrefix(line, "+++ "), strings.HasPrefix(line, "--- "):
		case strings.HasPrefix(line, "+"):
			added++
		case strings.HasPrefix(line, "-"):
			removed++
		}
	}
	return u, added, removed
}

// lines splits s after each newline (the last line may lack one), as go-udiff
// does, with start[i] the byte offset of line i and start[len] = len(s).
func lines(s string) (ls []string, start map[int]int) {
	start = map[int]int{0: 0}
	from := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			ls = append(ls, s[from:i+1])
			from = i + 1
			start[from] = len(ls)
		}
	}
	if from < len(s) {
		ls = append(ls, s[from:])
		start[len(s)] = len(ls)
	}
	return ls, start
}

// hunk is one side's change of base lines [s, e) into repl.
type hunk struct {
	s, e int
	repl []string
}

func hunks(base, side string, start map[int]int) []hunk {
	var out []hunk
	for _, ed := range udiff.Lines(base, side) {
		sl, _ := lines(ed.New)
		out = append(out, hunk{s: start[ed.Start], e: start[ed.End], repl: sl})
	}
	return out
}

// Markers label the sides of a text conflict.
type Markers struct{ Mine, Base, Theirs string }

// TextConflict is a run of base lines both sides changed differently
// (1-based, inclusive; an insertion has Last = First-1).
type TextConflict struct {
	First int `json:"first"`
	Last  int `json:"last"`
}

// MergeText merges mine and theirs, both changed from base, line by line
// (diff3): changes to separate runs of lines both apply; changes that
// overlap or touch are a conflict unless both sides made the same change.
// A conflict is written with markers in the git style.
func MergeText(base, mine, theirs string, m Markers) (string, []TextConflict) {
	switch {
	case mine == theirs, theirs == base:
		return mine, nil
	case mine == base:
		return theirs, nil
	}
	bl, start := lines(base)
	hm, ht := hunks(base, mine, start), hunks(base, theirs, start)
	var out strings.Builder
	var conflicts []TextConflict
	pos, i, j := 0, 0, 0
	for i < len(hm) || j < len(ht) {
		// The chunk starts at the earliest hunk and takes in every hunk of
		// either side that overlaps or touches it.
		var cs, ce int
		if j >= len(ht) || (i < len(hm) && hm[i].s <= ht[j].s) {
			cs, ce = hm[i].s, hm[i].e
		} else {
			cs, ce = ht[j].s, ht[j].e
		}
		i0, j0 := i, j
		for grew := true; grew; {
			grew = false
			for i < len(hm) && hm[i].s <= ce && hm[i].e >= cs {
				ce = max(ce, hm[i].e)
				i, grew = i+1, true
			}
			for j < len(ht) && ht[j].s <= ce && ht[j].e >= cs {
				ce = max(ce, ht[j].e)
				j, grew = j+1, true
			}
		}
		out.WriteString(strings.Join(bl[pos:cs], ""))
		a := apply(bl, cs, ce, hm[i0:i])
		b := apply(bl, cs, ce, ht[j0:j])
		switch {
		case i == i0:
			out.WriteString(b)
		case j == j0, a == b:
			out.WriteString(a)
		default:
			conflicts = append(conflicts, TextConflict{First: cs + 1, Last: ce})
			writeSide(&out, "<<<<<<< "+m.Mine, a)
			writeSide(&out, "||||||| "+m.Base, strings.Join(bl[cs:ce], ""))
			writeSide(&out, "=======", b)
			out.WriteString(">>>>>>> " + m.Theirs + "\n")
		}
		pos = ce
	}
	out.WriteString(strings.Join(bl[pos:], ""))
	return out.String(), conflicts
}

// apply is base lines [cs, ce) with one side's hunks (all inside it) applied.
func apply(bl []string, cs, ce int, hs []hunk) string {
	var b strings.Builder
	pos := cs
	for _, h := range hs {
		b.WriteString(strings.Join(bl[pos:h.s], ""))
		b.WriteString(strings.Join(h.repl, ""))
		pos = h.e
	}
	b.WriteString(strings.Join(bl[pos:ce], ""))
	return b.String()
}

func writeSide(b *strings.Builder, marker, text string) {
	b.WriteString(marker + "\n")
	b.WriteString(text)
	if text != "" && !strings.HasSuffix(text, "\n") {
		b.WriteString("\n")
	}
}

// HasMarkers reports whether text still holds a conflict's markers.
func HasMarkers(text string) bool {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "<<<<<<< ") || strings.HasPrefix(l, ">>>>>>> ") {
			return true
		}
	}
	return false
}
