package deploy

import (
	_ "embed"
	"fmt"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/studio-collab/collab/shared/fault"
)

// Impact says what a change needs before it is live in an environment.
type Impact string

// The impacts, from cheapest to dearest.
const (
	Hot              Impact = "hot"               // applied at once
	RestartPortal    Impact = "restart-portal"    // waits for a window; the Work Portal restarts
	RestartScheduler Impact = "restart-scheduler" // waits for a window; the Scheduler restarts
)

// Restart reports whether the impact needs a maintenance window.
func (i Impact) Restart() bool { return i == RestartPortal || i == RestartScheduler }

func (i Impact) valid() bool { return i == Hot || i.Restart() }

// Component is what a restart impact restarts.
func (i Impact) Component() string {
	switch i {
	case RestartPortal:
		return ComponentPortal
	case RestartScheduler:
		return ComponentScheduler
	}
	return ""
}

// The restartable components of an environment.
const (
	ComponentPortal    = "portal"
	ComponentScheduler = "scheduler"
)

// Rule is one row of the impact table.
type Rule struct {
	Pattern string   `yaml:"pattern" json:"pattern"`
	Ops     []string `yaml:"ops,omitempty" json:"ops,omitempty"` // empty: every op
	Impact  Impact   `yaml:"impact" json:"impact"`
	Reason  string   `yaml:"reason" json:"reason"`
	segs    []string
}

// Rules is an ordered impact table: the first matching rule decides.
type Rules struct{ rules []Rule }

// UnmatchedReason is the reason given for a path no rule matches.
const UnmatchedReason = "No rule matches this path, so it is treated as restart-portal: the safe side."

//go:embed impact-rules.yaml
var defaultRules []byte

// DefaultRules is the table in impact-rules.yaml, compiled into the binary so
// every instance classifies alike.
func DefaultRules() *Rules {
	r, err := ParseRules(defaultRules)
	if err != nil {
		panic(fmt.Sprintf("deploy: impact-rules.yaml: %v", err)) // a broken file fails every test
	}
	return r
}

// ParseRules reads a rule table (YAML, the format of impact-rules.yaml) and
// checks every row: a pattern of valid segments with `**` last only, a known
// impact, a reason, and ops among put and delete.
func ParseRules(b []byte) (*Rules, error) {
	const op = "deploy.ParseRules"
	var doc struct {
		Rules []Rule `yaml:"rules"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fault.E(op, fault.Invalid, "the rule table does not parse", err)
	}
	if len(doc.Rules) == 0 {
		return nil, fault.E(op, fault.Invalid, "the rule table is empty")
	}
	for i := range doc.Rules {
		r := &doc.Rules[i]
		where := fmt.Sprintf("rule %d (%s)", i+1, r.Pattern)
		if !r.Impact.valid() {
			return nil, fault.E(op, fault.Invalid, fmt.Sprintf("%s: impact %q is not hot, restart-portal or restart-scheduler", where, r.Impact))
		}
		if strings.TrimSpace(r.Reason) == "" {
			return nil, fault.E(op, fault.Invalid, where+": every rule says why")
		}
		for _, o := range r.Ops {
			if o != OpPut && o != OpDelete {
				return nil, fault.E(op, fault.Invalid, fmt.Sprintf("%s: op %q is not put or delete", where, o))
			}
		}
		r.segs = strings.Split(r.Pattern, "/")
		for j, s := range r.segs {
			if s == "" || (s == "**" && j != len(r.segs)-1) {
				return nil, fault.E(op, fault.Invalid, where+": empty segment, or ** not last")
			}
			if _, err := path.Match(s, "x"); err != nil {
				return nil, fault.E(op, fault.Invalid, where+": bad segment "+s)
			}
		}
	}
	return &Rules{rules: doc.Rules}, nil
}

// List returns the rules in order (for docs and the API).
func (r *Rules) List() []Rule { return append([]Rule(nil), r.rules...) }

// Classification is the outcome for one change.
type Classification struct {
	Impact Impact `json:"impact"`
	Reason string `json:"reason"`
	Rule   int    `json:"rule"` // 1-based index of the deciding rule; 0 = none matched
}

// Classify decides the impact of a change to objPath by op.
func (r *Rules) Classify(objPath, op string) Classification {
	segs := strings.Split(strings.Trim(objPath, "/"), "/")
	for i, rule := range r.rules {
		if len(rule.Ops) > 0 && !slices.Contains(rule.Ops, op) {
			continue
		}
		if matchSegs(rule.segs, segs) {
			return Classification{Impact: rule.Impact, Reason: rule.Reason, Rule: i + 1}
		}
	}
	return Classification{Impact: RestartPortal, Reason: UnmatchedReason}
}

func matchSegs(pat, segs []string) bool {
	for i, p := range pat {
		if p == "**" {
			return true // ** is last: it takes whatever remains, nothing included
		}
		if i >= len(segs) {
			return false
		}
		if ok, _ := path.Match(p, segs[i]); !ok {
			return false
		}
	}
	return len(pat) == len(segs)
}
