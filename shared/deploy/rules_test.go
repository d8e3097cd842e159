package deploy_test

import (
	"os"
	"strings"
	"testing"

	"github.com/studio-collab/collab/shared/deploy"
	"github.com/studio-collab/collab/shared/security"
)

// TestImpactRules: one row per sentence of impact-rules.yaml, plus the
// rule for everything else: "anything unmatched is treated as
// restart-portal, the safe side".
func TestImpactRules(t *testing.T) {
	rules := deploy.DefaultRules()
	cases := []struct {
		name, path, op string
		want           deploy.Impact
	}{
		{"a form is rendered per request: hot", "applications/claims/processes/intake/versions/3/forms/main", "put", deploy.Hot},
		{"a form deep element is hot too", "applications/claims/processes/intake/versions/3/forms/main/fields/amount", "put", deploy.Hot},
		{"a deleted form is hot", "applications/claims/processes/intake/versions/3/forms/main", "delete", deploy.Hot},
		{"a process version is loaded when a case starts: hot", "applications/claims/processes/intake/versions/4", "put", deploy.Hot},
		{"an activity of a version: hot", "applications/claims/processes/intake/versions/4/activities/review", "put", deploy.Hot},
		{"a timer event registers with the Scheduler at start-up", "applications/claims/processes/intake/versions/4/timers/reminder", "put", deploy.RestartScheduler},
		{"the process node: hot", "applications/claims/processes/intake", "put", deploy.Hot},
		{"an application-level form: hot", "applications/claims/forms/search", "put", deploy.Hot},
		{"an application: hot", "applications/claims", "put", deploy.Hot},
		{"the applications main node: hot", "applications", "put", deploy.Hot},
		{"an entity maps to tables and the data model", "entities/application/Claim", "put", deploy.RestartPortal},
		{"an entity attribute", "entities/master/Country/attributes/iso", "put", deploy.RestartPortal},
		{"a parameter entity", "entities/parameter/Limits", "delete", deploy.RestartPortal},
		{"an application business rule is interpreted per case", "rules/application/approve", "put", deploy.Hot},
		{"a global function is compiled at start-up", "rules/functions/round2", "put", deploy.RestartPortal},
		{"a global expression is compiled at start-up", "rules/expressions/isWeekend", "put", deploy.RestartPortal},
		{"authentication providers are configured at start-up", "security/authentication", "put", deploy.RestartPortal},
		{"LDAP settings", "security/ldap/main", "put", deploy.RestartPortal},
		{"an unknown top-level node: restart-portal, the safe side", "reports/monthly", "put", deploy.RestartPortal},
		{"the rules main node alone matches no rule: restart-portal", "rules", "put", deploy.RestartPortal},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rules.Classify(c.path, c.op)
			if got.Impact != c.want {
				t.Fatalf("%s: %s (rule %d), want %s", c.path, got.Impact, got.Rule, c.want)
			}
			if got.Reason == "" {
				t.Fatal("no reason")
			}
			if got.Rule == 0 && got.Reason != deploy.UnmatchedReason {
				t.Fatalf("unmatched with reason %q", got.Reason)
			}
		})
	}
}

// TestEveryRuleLiesInTheObjectTree: each rule's pattern, with its
// wildcards filled in, is a path the catalog accepts (DESIGN §4.2), and
// that path is decided by that rule, not shadowed by an earlier one. A rule
// outside the tree could never be reached by a push.
func TestEveryRuleLiesInTheObjectTree(t *testing.T) {
	for i, r := range deploy.DefaultRules().List() {
		var segs []string
		for _, s := range strings.Split(r.Pattern, "/") {
			switch {
			case s == "**": // zero segments
			case strings.ContainsAny(s, "*?["):
				segs = append(segs, "x1")
			default:
				segs = append(segs, s)
			}
		}
		p := strings.Join(segs, "/")
		if err := security.ValidatePath(p); err != nil {
			t.Errorf("rule %d (%s): %s is not in the object tree: %v", i+1, r.Pattern, p, err)
			continue
		}
		op := deploy.OpPut
		if len(r.Ops) > 0 {
			op = r.Ops[0]
		}
		if got := deploy.DefaultRules().Classify(p, op); got.Rule != i+1 {
			t.Errorf("rule %d (%s): %s is decided by rule %d", i+1, r.Pattern, p, got.Rule)
		}
	}
}

// TestRuleTableIsChecked: a broken table is refused with the row that
// breaks it; ops restrict a rule.
func TestRuleTableIsChecked(t *testing.T) {
	bad := []struct{ name, yaml, want string }{
		{"unknown impact", "rules:\n- {pattern: a/**, impact: reboot, reason: x}\n", "impact \"reboot\""},
		{"no reason", "rules:\n- {pattern: a/**, impact: hot, reason: ''}\n", "every rule says why"},
		{"** not last", "rules:\n- {pattern: a/**/b, impact: hot, reason: x}\n", "** not last"},
		{"empty segment", "rules:\n- {pattern: a//b, impact: hot, reason: x}\n", "empty segment"},
		{"bad op", "rules:\n- {pattern: a, ops: [patch], impact: hot, reason: x}\n", "op \"patch\""},
		{"unknown field", "rules:\n- {pattern: a, impact: hot, reason: x, weight: 2}\n", "does not parse"},
		{"empty", "rules: []\n", "empty"},
	}
	for _, c := range bad {
		if _, err := deploy.ParseRules([]byte(c.yaml)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	r, err := deploy.ParseRules([]byte("rules:\n- {pattern: 'entities/*', ops: [delete], impact: restart-portal, reason: dropping a table}\n- {pattern: 'entities/*', impact: hot, reason: adding is online}\n"))
	must(t, err)
	eq(t, "delete", r.Classify("entities/Claim", "delete").Impact, deploy.RestartPortal)
	eq(t, "put", r.Classify("entities/Claim", "put").Impact, deploy.Hot)
}

// TestRulesAreDocumented keeps docs/deployments.md in step with the rule
// table: every pattern, impact and reason appears there.
func TestRulesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/deployments.md")
	must(t, err)
	for _, r := range deploy.DefaultRules().List() {
		row := "| `" + r.Pattern + "` | " + string(r.Impact) + " | " + r.Reason + " |"
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/deployments.md lacks the row %s", row)
		}
	}
}

// BenchmarkClassify: one change against the default table (the worst case
// walks every rule and falls through to the default).
func BenchmarkClassify(b *testing.B) {
	rules := deploy.DefaultRules()
	paths := []string{
		"applications/claims/processes/intake/versions/3/forms/main",
		"entities/application/Claim/attributes/amount",
		"reports/monthly/summary",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = rules.Classify(paths[i%len(paths)], "put")
	}
}
