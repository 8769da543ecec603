package v1

import (
	"strconv"
	"strings"
	"time"
)

// TaskTableColumns are the columns of the Task table: NAME PHASE WORKER
// RESTARTS AGE, and IMAGE PORTS REASON in the wide table. AGE is the
// creation time.
var TaskTableColumns = []TableColumn{
	{Name: "NAME", Type: ColumnString},
	{Name: "PHASE", Type: ColumnString},
	{Name: "WORKER", Type: ColumnString},
	{Name: "RESTARTS", Type: ColumnInteger},
	{Name: "AGE", Type: ColumnDate},
	{Name: "IMAGE", Type: ColumnString, Priority: 1},
	{Name: "PORTS", Type: ColumnString, Priority: 1},
	{Name: "REASON", Type: ColumnString, Priority: 1},
}

// TaskTableRow returns the cells of t under TaskTableColumns.
func TaskTableRow(t *Task) TableRow {
	return TableRow{Cells: []string{
		t.Metadata.Name,
		ShownPhase(t),
		orNoValue(t.Status.Worker),
		strconv.Itoa(int(t.Status.RestartCount)),
		tableDate(t.Metadata.CreationTimestamp),
		t.Spec.Image,
		shownPorts(t),
		orNoValue(t.Status.Reason),
	}}
}

// TaskTable returns the Task table of tasks at resourceVersion rv.
func TaskTable(tasks []Task, rv string) *Table {
	tbl := &Table{
		TypeMeta:          TypeMeta{APIVersion: APIVersion, Kind: KindTable},
		Metadata:          ListMeta{ResourceVersion: rv},
		ColumnDefinitions: TaskTableColumns,
		Rows:              make([]TableRow, 0, len(tasks)),
	}
	for i := range tasks {
		tbl.Rows = append(tbl.Rows, TaskTableRow(&tasks[i]))
	}
	return tbl
}

// ShownPhase is the phase shown of t: Terminating while a delete is under
// way, Pending before any status was written, its phase otherwise.
func ShownPhase(t *Task) string {
	switch {
	case t.Metadata.DeletionTimestamp != nil && !t.Status.Phase.Terminal():
		return "Terminating"
	case t.Status.Phase == "":
		return string(PhasePending)
	}
	return string(t.Status.Phase)
}

// shownPorts is the PORTS column: the published ports as
// HOSTPORT->CONTAINERPORT/PROTO once the worker reports them, the container
// ports of the spec before.
func shownPorts(t *Task) string {
	var parts []string
	if len(t.Status.Ports) > 0 {
		for _, p := range t.Status.Ports {
			s := strconv.Itoa(int(p.ContainerPort)) + "/" + string(p.Protocol.OrDefault())
			if p.HostPort != 0 {
				s = strconv.Itoa(int(p.HostPort)) + "->" + s
			}
			parts = append(parts, s)
		}
	} else {
		for _, p := range t.Spec.Ports {
			parts = append(parts, strconv.Itoa(int(p.ContainerPort))+"/"+string(p.Protocol.OrDefault()))
		}
	}
	if len(parts) == 0 {
		return NoValue
	}
	return strings.Join(parts, ",")
}

func orNoValue(s string) string {
	if s == "" {
		return NoValue
	}
	return s
}

// tableDate renders a time for a ColumnDate cell.
func tableDate(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
