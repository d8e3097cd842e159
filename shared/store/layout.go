package store

import (
	"fmt"
	"regexp"

	"github.com/studio-collab/collab/shared/fault"
)

// Layout is what a module needs to exist in storage. Modules declare it;
// the driver bootstraps it (azure.Account.Bootstrap, on a fresh Azurite)
// and infra/ provisions it in Azure.
type Layout struct {
	Tables     []string
	Containers []string
	Queues     []string
}

var (
	tableName     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{2,62}$`)
	containerName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)
	queueName     = containerName // same rules: 3–63, lower case, single hyphens
)

// Validate checks every name against Azure's naming rules.
func (l Layout) Validate() error {
	check := func(kind string, re *regexp.Regexp, names []string) error {
		for _, n := range names {
			if !re.MatchString(n) || (kind != "table" && len(n) > 63) {
				return fault.E("store.Layout", fault.Invalid, fmt.Sprintf("%s name %q breaks Azure's naming rules", kind, n))
			}
		}
		return nil
	}
	if err := check("table", tableName, l.Tables); err != nil {
		return err
	}
	if err := check("container", containerName, l.Containers); err != nil {
		return err
	}
	return check("queue", queueName, l.Queues)
}
