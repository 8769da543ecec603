package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// BenchmarkPrintTaskTable_10000 prints the Task table of 10,000 Tasks as
// the manager serves it: mkctl's own share of `mkctl get tasks`.
//
//	go test -run '^$' -bench 'BenchmarkPrintTaskTable_10000' -benchtime 20x -count 1 ./cmd/mkctl/
func BenchmarkPrintTaskTable_10000(b *testing.B) {
	created := time.Now().Add(-time.Hour)
	tasks := make([]v1.Task, 10000)
	for i := range tasks {
		tasks[i] = v1.Task{
			Metadata: v1.ObjectMeta{Name: fmt.Sprintf("task-%05d", i), CreationTimestamp: &created},
			Spec:     v1.TaskSpec{Image: "minkube/testapp:dev", Ports: []v1.Port{{ContainerPort: 8080}}},
			Status:   v1.TaskStatus{Phase: v1.PhaseRunning, Worker: fmt.Sprintf("w%03d", i%100)},
		}
	}
	tbl := v1.TaskTable(tasks, "1")
	for _, format := range []string{"", "wide"} {
		b.Run("o="+format, func(b *testing.B) {
			p, err := newPrinter(format, "", false, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := p.printTaskTable(io.Discard, tbl); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrintJSONList_10000 measures mkctl's share of `mkctl get tasks
// -o json|yaml` on a list of 10,000 running tasks as the manager encodes
// it.
//
//	go test -run '^$' -bench 'BenchmarkPrintJSONList_10000' -benchtime 20x -count 1 ./cmd/mkctl/
func BenchmarkPrintJSONList_10000(b *testing.B) {
	raw := runningTaskList(b, 10000)
	b.ReportMetric(float64(len(raw)), "bytes/list")
	b.Run("o=json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := printJSONListStream(io.Discard, bytes.NewReader(raw), v1.KindTaskList); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("o=yaml", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := printYAMLList(io.Discard, raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// runningTaskList returns the JSON of a TaskList of n running tasks with
// the status a worker reports.
func runningTaskList(b *testing.B, n int) []byte {
	b.Helper()
	now := time.Now().UTC()
	list := v1.TaskList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTaskList}, Metadata: v1.ListMeta{ResourceVersion: "123456"}}
	for i := range n {
		list.Items = append(list.Items, v1.Task{
			TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
			Metadata: v1.ObjectMeta{
				Name: fmt.Sprintf("task-%05d", i), UID: fmt.Sprintf("5f0c8e2a-1b7d-4c1e-9a5e-%012d", i),
				ResourceVersion: fmt.Sprint(100000 + i), Generation: 1, CreationTimestamp: &now,
				Labels: map[string]string{"app": "scale"},
			},
			Spec: v1.TaskSpec{Image: "minkube/testapp:dev", Ports: []v1.Port{{ContainerPort: 8080}}},
			Status: v1.TaskStatus{
				Phase: v1.PhaseRunning, Worker: fmt.Sprintf("w%03d", i%100), HostIP: "127.0.0.1",
				ContainerID: fmt.Sprintf("%064x", i), StartedAt: &now, ObservedGeneration: 1,
				Conditions: []v1.Condition{
					{Type: v1.TaskScheduled, Status: v1.ConditionTrue, Reason: "Assigned", Message: "assigned to worker w001", LastTransitionTime: &now, ObservedGeneration: 1},
					{Type: v1.TaskReady, Status: v1.ConditionTrue, LastTransitionTime: &now},
				},
			},
		})
	}
	raw, err := json.Marshal(list)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}
