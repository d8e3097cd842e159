package store

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/studio-collab/collab/shared/fault"
)

// Layout is what a module needs to exist in storage. Modules declare it;
// the handler bootstraps it on a fresh Azurite and infra/ provisions it in
// Azure.
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

// Bootstrap creates every table, container and queue of the layouts. It is
// idempotent: what already exists is left as it is.
func (a *Account) Bootstrap(ctx context.Context, layouts ...Layout) error {
	for _, l := range layouts {
		if a.tablePrefix != "" {
			for i, t := range l.Tables {
				if len(a.tablePrefix+t) > 63 {
					return fault.E("store.Bootstrap", fault.Invalid, fmt.Sprintf("table %q with prefix is over 63 characters", l.Tables[i]))
				}
			}
		}
		if err := l.Validate(); err != nil {
			return err
		}
	}
	for _, l := range layouts {
		for _, t := range l.Tables {
			if _, err := a.tables.CreateTable(ctx, a.tablePrefix+t, nil); err != nil && !alreadyExists(err) {
				return mapErr("store.Bootstrap", "table "+t, err)
			}
		}
		for _, c := range l.Containers {
			if _, err := a.blobs.CreateContainer(ctx, strings.ToLower(a.tablePrefix)+c, nil); err != nil && !alreadyExists(err) {
				return mapErr("store.Bootstrap", "container "+c, err)
			}
		}
		for _, q := range l.Queues {
			if _, err := a.queues.CreateQueue(ctx, q, nil); err != nil && !alreadyExists(err) {
				return mapErr("store.Bootstrap", "queue "+q, err)
			}
		}
	}
	return nil
}

func alreadyExists(err error) bool {
	switch errorCode(err) {
	case "TableAlreadyExists", "ContainerAlreadyExists", "QueueAlreadyExists":
		return true
	}
	return false
}
