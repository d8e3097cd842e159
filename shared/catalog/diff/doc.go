// Package diff compares and merges versions of catalog content: a line diff
// for text, a structural diff for JSON (added, removed and changed keys by
// JSON Pointer, objects compared without regard to key order), size and
// hash for binary content, and the three-way merge (base, mine, theirs)
// that push, pull and a forced revert run instead of refusing.
//
// Invariants:
//
//   - A merge never drops a change silently: a key (JSON) or a run of lines
//     (text) that both sides changed differently is a Conflict, and the
//     merged bytes keep mine there (JSON) or carry conflict markers (text).
//   - A clean merge holds every change of both sides: applying it to base is
//     the same as applying mine then theirs where they do not overlap.
//   - JSON objects merge key by key at every depth; an array is one value
//     (its elements' order matters), so two different edits of one array
//     conflict. Key order of the result is mine's, theirs' new keys after.
//   - The line diff is github.com/aymanbagabas/go-udiff (Myers/LCS on lines,
//     the algorithm gopls uses); this package only arranges its edits.
//
// It is pure: no storage, no HTTP, so the server and the CLI run the same code.
package diff
