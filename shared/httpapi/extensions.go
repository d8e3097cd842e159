package httpapi

import "errors"

// Extended is an error that adds members to its problem (for instance the
// list of conflicting paths of a check-in). Domain errors implement
// ProblemExtensions without importing this package.
type Extended interface {
	error
	ProblemExtensions() map[string]any
}

func asExt(err error, target *interface{ ProblemExtensions() map[string]any }) bool {
	var e Extended
	if errors.As(err, &e) {
		*target = e
		return true
	}
	return false
}
