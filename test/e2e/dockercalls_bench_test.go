package e2e

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// dockerCallsWindow is how long BenchmarkDockerAPICalls counts a settled
// worker's calls: several relist periods.
const dockerCallsWindow = 20 * time.Second

// BenchmarkDockerAPICalls measures the Docker API calls per second one
// worker makes while nothing changes, with 10, 100 and 300 running tasks,
// counted by a socket proxy between the worker and the engine. Run it with
// -benchtime 1x: each iteration counts for dockerCallsWindow.
func BenchmarkDockerAPICalls(b *testing.B) {
	for _, n := range []int{10, 100, 300} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			proxy := startDockerProxy(b)
			c := newCluster(b)
			c.addWorkerEnv("w1", proxy.env())
			docs := make([]string, n)
			for i := range docs {
				docs[i] = taskYAML(fmt.Sprintf("quiet-%03d", i), "", "log", "--every", "1h")
			}
			c.apply(docs...)
			waitFor(b, 10*time.Minute, fmt.Sprintf("%d tasks Running", n), func() bool {
				var list v1.TaskList
				if err := c.getJSON(&list, "get", "tasks"); err != nil {
					return false
				}
				ready := 0
				for _, t := range list.Items {
					if t.Status.Phase == v1.PhaseRunning {
						ready++
					}
				}
				return ready == n
			})
			time.Sleep(dockerCallsWindow / 2) // let the start settle
			b.ResetTimer()
			var calls map[string]int
			for range b.N {
				proxy.takeCalls()
				time.Sleep(dockerCallsWindow)
				calls = proxy.takeCalls()
			}
			b.StopTimer()
			b.ReportMetric(float64(total(calls))/dockerCallsWindow.Seconds(), "calls/s")
			keys := slices.Sorted(maps.Keys(calls))
			lines := make([]string, 0, len(keys))
			for _, k := range keys {
				lines = append(lines, fmt.Sprintf("%6d %s", calls[k], k))
			}
			b.Logf("%d tasks, calls in %s:\n%s", n, dockerCallsWindow, strings.Join(lines, "\n"))
		})
	}
}
