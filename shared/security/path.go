package security

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/studio-collab/collab/shared/fault"
)

// Limits of DESIGN §4.2.
const (
	MaxSegments  = 16
	MaxPathBytes = 1024
)

var segmentPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// Areas: the first segment of every path.
const (
	AreaApplications = "applications"
	AreaEntities     = "entities"
	AreaRules        = "rules"
	AreaSecurity     = "security"
)

var (
	entityGroups = map[string]bool{"application": true, "master": true, "parameter": true}
	ruleGroups   = map[string]bool{"application": true, "functions": true, "expressions": true}
)

// ValidatePath checks a path against DESIGN §4.2: its segments, its length,
// and that it lies in one of the four areas with the fixed groups in place.
func ValidatePath(p string) error {
	const op = "security.ValidatePath"
	if p == "" {
		return fault.E(op, fault.Invalid, "the path is empty")
	}
	if len(p) > MaxPathBytes {
		return fault.E(op, fault.Invalid, fmt.Sprintf("the path is over %d bytes", MaxPathBytes))
	}
	segs := strings.Split(p, "/")
	if len(segs) > MaxSegments {
		return fault.E(op, fault.Invalid, fmt.Sprintf("the path has over %d segments", MaxSegments))
	}
	for _, s := range segs {
		if !segmentPattern.MatchString(s) {
			return fault.E(op, fault.Invalid, fmt.Sprintf("segment %q: want [A-Za-z0-9][A-Za-z0-9._-]{0,127}", s))
		}
	}
	switch segs[0] {
	case AreaApplications, AreaSecurity:
		// applications/{app}/processes/{p}/versions/{v} and elements at any depth.
	case AreaEntities:
		if len(segs) >= 2 && !entityGroups[segs[1]] {
			return fault.E(op, fault.Invalid, fmt.Sprintf("entities/%s: the groups are application, master and parameter", segs[1]))
		}
	case AreaRules:
		if len(segs) >= 2 && !ruleGroups[segs[1]] {
			return fault.E(op, fault.Invalid, fmt.Sprintf("rules/%s: the groups are application, functions and expressions", segs[1]))
		}
	default:
		return fault.E(op, fault.Invalid, fmt.Sprintf("%q: a path starts with applications, entities, rules or security", segs[0]))
	}
	return nil
}

// IsMainNode reports whether p is applications, entities or rules.
func IsMainNode(p string) bool {
	return p == AreaApplications || p == AreaEntities || p == AreaRules
}

// area returns the first segment of p.
func area(p string) string {
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return p
}

// Under reports whether p is at or below prefix.
func Under(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}
