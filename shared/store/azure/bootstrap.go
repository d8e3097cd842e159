package azure

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/studio-collab/collab/shared/fault"
	"github.com/studio-collab/collab/shared/store"
)

// Bootstrap creates every table, container and queue of the layouts. It is
// idempotent: what already exists is left as it is.
func (a *Account) Bootstrap(ctx context.Context, layouts ...store.Layout) error {
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
	// A marker blob names the exact set of names last bootstrapped: a warm
	// start (every instance after the first, every restart) costs one read.
	// What was deleted out of band since is not recreated until the layout
	// changes; in Azure infra/ owns these names anyway.
	marker := "layout-" + layoutKey(layouts)
	if _, err := a.Container(BootstrapContainer).Stat(ctx, marker); err == nil {
		return nil
	}
	layouts = append(layouts, store.Layout{Containers: []string{BootstrapContainer}})
	// One create per distinct name, run concurrently: start-up waits for
	// the slowest call, not for the sum of forty round trips.
	type create struct {
		what string
		do   func() error
	}
	var creates []create
	seen := map[string]bool{}
	add := func(what string, do func() error) {
		if !seen[what] {
			seen[what] = true
			creates = append(creates, create{what, do})
		}
	}
	for _, l := range layouts {
		for _, t := range l.Tables {
			add("table "+t, func() error { _, err := a.tables.CreateTable(ctx, a.tablePrefix+t, nil); return err })
		}
		for _, c := range l.Containers {
			add("container "+c, func() error {
				_, err := a.blobs.CreateContainer(ctx, strings.ToLower(a.tablePrefix)+c, nil)
				return err
			})
		}
		for _, q := range l.Queues {
			add("queue "+q, func() error { _, err := a.queues.CreateQueue(ctx, q, nil); return err })
		}
	}
	errs := make([]error, len(creates))
	sem := make(chan struct{}, bootstrapParallel)
	var wg sync.WaitGroup
	for i, c := range creates {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := c.do(); err != nil && !alreadyExists(err) {
				errs[i] = mapErr("store.Bootstrap", c.what, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if _, err := a.Container(BootstrapContainer).Put(ctx, marker, nil, store.PutOptions{}); err != nil {
		return mapErr("store.Bootstrap", "the layout marker", err)
	}
	return nil
}

// BootstrapContainer holds the marker of the layout last bootstrapped.
const BootstrapContainer = "bootstrap"

// OwnLayout is the storage this package needs itself (infra/ provisions it
// with the modules' layouts).
var OwnLayout = store.Layout{Containers: []string{BootstrapContainer}}

// layoutKey is a digest of every name of the layouts, in order-free form.
func layoutKey(layouts []store.Layout) string {
	var names []string
	for _, l := range layouts {
		for _, t := range l.Tables {
			names = append(names, "t:"+t)
		}
		for _, c := range l.Containers {
			names = append(names, "c:"+c)
		}
		for _, q := range l.Queues {
			names = append(names, "q:"+q)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	sum := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return hex.EncodeToString(sum[:12])
}

// bootstrapParallel bounds the creates in flight at start-up.
const bootstrapParallel = 16

func alreadyExists(err error) bool {
	switch errorCode(err) {
	case "TableAlreadyExists", "ContainerAlreadyExists", "QueueAlreadyExists":
		return true
	}
	return false
}
