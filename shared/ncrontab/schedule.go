package ncrontab

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/studio-collab/collab/shared/fault"
)

// Schedule is a parsed expression.
type Schedule struct {
	seconds, minutes uint64 // bit n = value n
	hours, days      uint32
	months           uint16
	weekdays         uint8
	withSeconds      bool
}

type fieldSpec struct {
	name     string
	min, max int
	names    []string // full names, matched by prefix
}

var (
	secondField  = fieldSpec{name: "second", min: 0, max: 59}
	minuteField  = fieldSpec{name: "minute", min: 0, max: 59}
	hourField    = fieldSpec{name: "hour", min: 0, max: 23}
	dayField     = fieldSpec{name: "day", min: 1, max: 31}
	monthField   = fieldSpec{name: "month", min: 1, max: 12, names: []string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}}
	weekdayField = fieldSpec{name: "day-of-week", min: 0, max: 6, names: []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}}
)

// Parse reads a 5- or 6-field expression. Errors are fault.Invalid and name
// the field and the bad token.
func Parse(expr string) (*Schedule, error) {
	fields := strings.Fields(expr)
	s := &Schedule{}
	var specs []fieldSpec
	switch len(fields) {
	case 5:
		s.seconds = 1 // second 0
		specs = []fieldSpec{minuteField, hourField, dayField, monthField, weekdayField}
	case 6:
		s.withSeconds = true
		specs = []fieldSpec{secondField, minuteField, hourField, dayField, monthField, weekdayField}
	default:
		return nil, fault.E("ncrontab.Parse", fault.Invalid, fmt.Sprintf("%q has %d fields; want 5 (minute hour day month day-of-week) or 6 (with seconds first)", expr, len(fields)))
	}
	for i, spec := range specs {
		v, err := parseField(fields[i], spec)
		if err != nil {
			return nil, err
		}
		switch spec.name {
		case "second":
			s.seconds = v
		case "minute":
			s.minutes = v
		case "hour":
			s.hours = uint32(v)
		case "day":
			s.days = uint32(v)
		case "month":
			s.months = uint16(v)
		case "day-of-week":
			s.weekdays = uint8(v)
		}
	}
	return s, nil
}

func badToken(spec fieldSpec, token, why string) error {
	return fault.E("ncrontab.Parse", fault.Invalid, fmt.Sprintf("%s field: bad token %q: %s", spec.name, token, why))
}

func parseField(f string, spec fieldSpec) (uint64, error) {
	var set uint64
	for _, item := range strings.Split(f, ",") {
		if item == "" {
			return 0, badToken(spec, f, "empty list item")
		}
		rng, stepStr, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n <= 0 {
				return 0, badToken(spec, item, "the step must be a positive number")
			}
			step = n
		}
		lo, hi := spec.min, spec.max
		switch {
		case rng == "*":
		default:
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = value(a, spec); err != nil {
				return 0, badToken(spec, item, err.Error())
			}
			switch {
			case isRange:
				if hi, err = value(b, spec); err != nil {
					return 0, badToken(spec, item, err.Error())
				}
				if hi < lo {
					return 0, badToken(spec, item, "the range ends before it starts")
				}
			case hasStep:
				hi = spec.max // "a/s": from a to the maximum
			default:
				hi = lo
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << uint(v)
		}
	}
	return set, nil
}

func value(tok string, spec fieldSpec) (int, error) {
	if tok == "" {
		return 0, fmt.Errorf("missing value")
	}
	if tok[0] >= '0' && tok[0] <= '9' {
		n, err := strconv.Atoi(tok)
		if err != nil {
			return 0, fmt.Errorf("not a number")
		}
		if n < spec.min || n > spec.max {
			return 0, fmt.Errorf("out of range %d-%d", spec.min, spec.max)
		}
		return n, nil
	}
	if spec.names == nil {
		return 0, fmt.Errorf("not a number")
	}
	low := strings.ToLower(tok)
	for i, name := range spec.names {
		if strings.HasPrefix(name, low) {
			return spec.min + i, nil
		}
	}
	return 0, fmt.Errorf("not a %s name", spec.name)
}

// String is the canonical form (NCrontab's formatting): "*" for a full
// field, else the values with runs written as ranges.
func (s *Schedule) String() string {
	parts := []string{
		format(uint64(s.minutes), minuteField), format(uint64(s.hours), hourField),
		format(uint64(s.days), dayField), format(uint64(s.months), monthField), format(uint64(s.weekdays), weekdayField),
	}
	if s.withSeconds {
		parts = append([]string{format(s.seconds, secondField)}, parts...)
	}
	return strings.Join(parts, " ")
}

func format(set uint64, spec fieldSpec) string {
	full := uint64(0)
	for v := spec.min; v <= spec.max; v++ {
		full |= 1 << uint(v)
	}
	if set == full {
		return "*"
	}
	var b strings.Builder
	for v := spec.min; v <= spec.max; v++ {
		if set&(1<<uint(v)) == 0 {
			continue
		}
		end := v
		for end+1 <= spec.max && set&(1<<uint(end+1)) != 0 {
			end++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(v))
		if end > v {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(end))
		}
		v = end
	}
	return b.String()
}

// searchYears bounds the search: every possible combination of month,
// day and weekday recurs within 400 years (the Gregorian cycle).
const searchYears = 400

// next returns the first wall time (as a UTC-located naive time) at or
// after w that matches, or false.
func (s *Schedule) next(w time.Time) (time.Time, bool) {
	limit := w.Year() + searchYears
	y, mo, d := w.Date()
	h, mi, sec := w.Clock()
	for y <= limit {
		if s.months&(1<<uint(mo)) == 0 {
			nm := nextBit(uint64(s.months), int(mo)+1, 12)
			if nm < 0 {
				y, mo, d, h, mi, sec = y+1, time.Month(lowestBit(uint64(s.months))), 1, 0, 0, 0
			} else {
				mo, d, h, mi, sec = time.Month(nm), 1, 0, 0, 0
			}
			continue
		}
		if d > daysIn(mo, y) {
			y, mo, d, h, mi, sec = nextMonth(y, mo)
			continue
		}
		wd := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Weekday()
		if s.days&(1<<uint(d)) == 0 || s.weekdays&(1<<uint(wd)) == 0 {
			d, h, mi, sec = d+1, 0, 0, 0
			continue
		}
		if s.hours&(1<<uint(h)) == 0 {
			nh := nextBit(uint64(s.hours), h+1, 23)
			if nh < 0 {
				d, h, mi, sec = d+1, 0, 0, 0
			} else {
				h, mi, sec = nh, 0, 0
			}
			continue
		}
		if s.minutes&(1<<uint(mi)) == 0 {
			nm := nextBit(s.minutes, mi+1, 59)
			if nm < 0 {
				h, mi, sec = h+1, 0, 0
				if h > 23 {
					d, h = d+1, 0
				}
			} else {
				mi, sec = nm, 0
			}
			continue
		}
		if s.seconds&(1<<uint(sec)) == 0 {
			ns := nextBit(s.seconds, sec+1, 59)
			if ns < 0 {
				mi, sec = mi+1, 0
				if mi > 59 {
					h, mi = h+1, 0
					if h > 23 {
						d, h = d+1, 0
					}
				}
			} else {
				sec = ns
			}
			continue
		}
		return time.Date(y, mo, d, h, mi, sec, 0, time.UTC), true
	}
	return time.Time{}, false
}

func nextMonth(y int, mo time.Month) (int, time.Month, int, int, int, int) {
	if mo == 12 {
		return y + 1, 1, 1, 0, 0, 0
	}
	return y, mo + 1, 1, 0, 0, 0
}

func daysIn(mo time.Month, y int) int {
	switch mo {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// nextBit is the smallest set bit n with from <= n <= max, or -1.
func nextBit(set uint64, from, max int) int {
	if from > max {
		return -1
	}
	rest := set >> uint(from)
	if rest == 0 {
		return -1
	}
	n := from + bits.TrailingZeros64(rest)
	if n > max {
		return -1
	}
	return n
}

func lowestBit(set uint64) int { return bits.TrailingZeros64(set) }

// Next is the first occurrence strictly after `after`, on the wall clock of
// after's location (DST rule in the package doc); false when there is none.
func (s *Schedule) Next(after time.Time) (time.Time, bool) {
	loc := after.Location()
	a := after.Truncate(time.Second)
	wall := naive(a.In(loc)).Add(time.Second)
	for {
		w, ok := s.next(wall)
		if !ok {
			return time.Time{}, false
		}
		t := instant(w, loc)
		if t.After(after) {
			return t, true
		}
		// A wall time of an overlap's second pass maps to its first
		// occurrence, which is not after `after`: look further.
		wall = w.Add(time.Second)
	}
}

// NextWithin is Next bounded by end: the occurrence if it is not after end,
// else end and false (NCrontab's GetNextOccurrence(base, end)).
func (s *Schedule) NextWithin(after, end time.Time) (time.Time, bool) {
	t, ok := s.Next(after)
	if !ok || t.After(end) {
		return end, false
	}
	return t, true
}

// NextN lists the next n occurrences after `after`.
func (s *Schedule) NextN(after time.Time, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for len(out) < n {
		t, ok := s.Next(after)
		if !ok {
			break
		}
		out = append(out, t)
		after = t
	}
	return out
}

func naive(t time.Time) time.Time {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

// instant maps a wall time of loc to an instant: the earlier of two in an
// overlap, the first instant after the gap for a wall time in a gap.
func instant(w time.Time, loc *time.Location) time.Time {
	if loc == time.UTC {
		return w
	}
	_, before := w.Add(-26 * time.Hour).In(loc).Zone()
	_, after := w.Add(26 * time.Hour).In(loc).Zone()
	c1 := w.Add(-time.Duration(before) * time.Second).In(loc) // as if the earlier offset held
	c2 := w.Add(-time.Duration(after) * time.Second).In(loc)  // as if the later offset held
	v1, v2 := naive(c1).Equal(w), naive(c2).Equal(w)
	switch {
	case v1 && v2:
		if c2.Before(c1) {
			return c2
		}
		return c1
	case v1:
		return c1
	case v2:
		return c2
	}
	// In a gap: find the transition, the first instant whose offset is the
	// later one, between the two candidates.
	lo, hi := c2, c1
	if hi.Before(lo) {
		lo, hi = hi, lo
	}
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if _, off := mid.Zone(); off == after {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}
