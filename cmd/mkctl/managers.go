package main

import (
	"context"
	"fmt"
	"io"
	"strconv"

	v1 "github.com/minkube/minkube/apis/v1"
)

// kindManager is the resource type of `mkctl get managers`.
const kindManager = "manager"

// getManagers prints every manager that is up, or those named: NAME
// ADDRESS LEADER READY AGE, or the ManagerList with -o json|yaml.
func (c *cli) getManagers(ctx context.Context, p printer, names []string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	list, err := api.ListManagers(ctx)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		list.Items, err = namedManagers(list.Items, names)
		if err != nil {
			return err
		}
	}
	if c.noneFound(p, len(list.Items), "managers") {
		return nil
	}
	return p.printManagers(c.out, list, len(names) == 1)
}

// namedManagers keeps the managers named, in the order named; a name that
// is not up is an error.
func namedManagers(items []v1.Manager, names []string) ([]v1.Manager, error) {
	var out []v1.Manager
	for _, name := range names {
		found := false
		for _, m := range items {
			if m.Name == name {
				out, found = append(out, m), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("%s %q not found among the managers that are up", kindManager, name)
		}
	}
	return out, nil
}

// printManagers prints list; single as for printTasks.
func (p printer) printManagers(w io.Writer, list *v1.ManagerList, single bool) error {
	switch p.format {
	case outputJSON, outputYAML:
		if single && len(list.Items) == 1 {
			return printObject(w, p.format, &list.Items[0])
		}
		setKind(&list.TypeMeta, v1.KindManagerList)
		if list.Items == nil {
			list.Items = []v1.Manager{}
		}
		return printObject(w, p.format, list)
	case outputName:
		return printNames(w, kindManager, len(list.Items), func(i int) string { return list.Items[i].Name })
	}
	rows := make([][]string, 0, len(list.Items))
	for _, m := range list.Items {
		rows = append(rows, []string{m.Name, orNone(m.Address), strconv.FormatBool(m.Leader), strconv.FormatBool(m.Ready), age(p.now, m.StartTime)})
	}
	return p.printTable(w, []string{"NAME", "ADDRESS", "LEADER", "READY", "AGE"}, rows)
}
