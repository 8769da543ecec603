package main

import (
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
