// Package ncrontab reads schedules exactly as Azure Functions timers do (the
// NCrontab library): six fields {second} {minute} {hour} {day} {month}
// {day-of-week}, or five without seconds; `*`, lists, ranges, steps (`*/5`,
// `10-40/5`, `2/5` = from 2 to the maximum by 5), month and day names
// matched case-insensitively by prefix (Jan, january, Augu; the first name
// that starts with the token), day-of-week 0–6 with Sunday = 0.
//
// Unlike Vixie cron, a day-of-month and a day-of-week both restrict: an
// occurrence must match both (`0 0 1 * Mon` is a Monday the 1st), as
// NCrontab does. An impossible schedule (`* * 31 Feb *`) has no next
// occurrence: Next says so instead of searching forever.
//
// Time zones (our addition, docs/schedules.md): a schedule is evaluated on
// the wall clock of the time's location. A wall time that does not exist (a
// spring-forward gap) runs once, at the first instant after the gap; a wall
// time that happens twice (a fall-back overlap) runs once, at its first
// occurrence.
//
// Invariants: Next is strictly after its argument, terminates (it searches
// at most 400 years), and allocates nothing.
package ncrontab

import _ "time/tzdata" // IANA zones on hosts without a zoneinfo database
