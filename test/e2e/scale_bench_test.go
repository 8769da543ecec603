package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// scaleTasks is how many Tasks the read and apply benchmarks of a manager
// at scale hold. No worker runs: the Tasks stay Pending, which is all a
// list, a get or an apply needs.
const scaleTasks = 10000

// scaleManifest writes n Task documents named prefix-00000... to one file
// in dir and returns its path; with split, one file each instead, and
// returns the directory.
func scaleManifest(b *testing.B, dir, prefix string, n int, split bool) string {
	b.Helper()
	doc := func(i int) string {
		return fmt.Sprintf("apiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: %s-%05d\n  labels: {app: scale, shard: s%d}\nspec:\n  image: %s\n  args: [serve, --port, '8080']\n  ports:\n  - containerPort: 8080\n",
			prefix, i, i%10, testImage)
	}
	if split {
		sub := filepath.Join(dir, prefix)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for i := range n {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("%s-%05d.yaml", prefix, i)), []byte(doc(i)), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		return sub
	}
	var buf bytes.Buffer
	for i := range n {
		buf.WriteString("---\n")
		buf.WriteString(doc(i))
	}
	path := filepath.Join(dir, prefix+".yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

// medianMs reports the median of ds in milliseconds as the metric
// ms-median, the figure the benchmarks of a manager at scale quote (a
// shared machine's mean is pulled by its slowest run).
func medianMs(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2].Microseconds())/1000, "ms-median")
}

// BenchmarkScaleApply measures `mkctl apply -f` of 10,000 Tasks on a fresh
// manager (no workers): from one file of 10,000 documents and from a
// directory of 10,000 files; the figure is creates/s, the median over the
// iterations.
//
//	MINKUBE_E2E_NORACE=1 go test -run '^$' -bench 'BenchmarkScaleApply' -benchtime 3x -count 1 -timeout 30m ./test/e2e/
func BenchmarkScaleApply(b *testing.B) {
	for _, split := range []bool{false, true} {
		name := "file"
		if split {
			name = "dir"
		}
		b.Run(name, func(b *testing.B) {
			path := scaleManifest(b, b.TempDir(), "scale", scaleTasks, split)
			var rates []float64
			for range b.N {
				c := newCluster(b)
				start := time.Now()
				out, errOut, code := c.mkctlRaw("apply", "-f", path)
				elapsed := time.Since(start)
				if code != 0 || strings.Count(out, " created\n") != scaleTasks {
					b.Fatalf("mkctl apply: exit %d, %d lines created, stderr %.500s", code, strings.Count(out, " created\n"), errOut)
				}
				c.stopAll()
				rates = append(rates, scaleTasks/elapsed.Seconds())
			}
			slices.Sort(rates)
			b.ReportMetric(rates[len(rates)/2], "creates/s")
		})
	}
}

// BenchmarkScaleRead measures the reads of a manager holding 10,000 Tasks
// (no workers): the list over HTTPS (list), `mkctl get tasks` (get-table)
// and `mkctl get tasks -o json` (get-json), each run being one sample of
// ms-median.
//
//	MINKUBE_E2E_NORACE=1 go test -run '^$' -bench 'BenchmarkScaleRead' -benchtime 5x -count 1 -timeout 30m ./test/e2e/
func BenchmarkScaleRead(b *testing.B) {
	c := newCluster(b)
	fillTasks(b, c.client(), "scale", scaleTasks)
	hc := c.httpClient()
	mkctl := func(b *testing.B, args ...string) string {
		out, errOut, code := c.mkctlRaw(args...)
		if code != 0 {
			b.Fatalf("mkctl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	timed := func(name string, run func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			var ds []time.Duration
			for b.Loop() {
				start := time.Now()
				run(b)
				ds = append(ds, time.Since(start))
			}
			medianMs(b, ds)
		})
	}
	timed("list", func(b *testing.B) {
		if n := getList(b, hc, c); n < scaleTasks*100 {
			b.Fatalf("the list is %d bytes", n)
		}
	})
	timed("get-table", func(b *testing.B) {
		if out := mkctl(b, "get", "tasks"); strings.Count(out, "\n") != scaleTasks+1 {
			b.Fatalf("mkctl get tasks printed %d lines", strings.Count(out, "\n"))
		}
	})
	timed("get-json", func(b *testing.B) {
		if out := mkctl(b, "get", "tasks", "-o", "json"); strings.Count(out, `"kind": "Task"`) != scaleTasks {
			b.Fatalf("mkctl get tasks -o json printed %d Tasks", strings.Count(out, `"kind": "Task"`))
		}
	})
}

// BenchmarkScaleMemory measures the resident memory of a manager holding
// 10,000 Tasks (no workers), in MB: with the Tasks stored and 30 s idle,
// after 25 lists of them one after the other, and after 30 s idle since. Lists that do
// not build the list twice leave the last two near the first.
//
//	MINKUBE_E2E_NORACE=1 go test -run '^$' -bench 'BenchmarkScaleMemory' -benchtime 1x -count 1 -timeout 30m ./test/e2e/
func BenchmarkScaleMemory(b *testing.B) {
	c := newCluster(b)
	fillTasks(b, c.client(), "scale", scaleTasks)
	hc := c.httpClient()
	pid := c.manager.cmd.Process.Pid
	for range b.N {
		time.Sleep(30 * time.Second) // the scheduler's first look at every Task settles
		stored := residentMB(b, pid)
		for range 25 {
			getList(b, hc, c)
		}
		lists := residentMB(b, pid)
		time.Sleep(30 * time.Second)
		b.ReportMetric(stored, "MB-stored")
		b.ReportMetric(lists, "MB-after-25-lists")
		b.ReportMetric(residentMB(b, pid), "MB-idle-30s")
	}
}

// getList reads GET /api/v1/tasks to its end and returns its size.
func getList(b *testing.B, hc *http.Client, c *cluster) int {
	b.Helper()
	req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, c.server+"/api/v1/tasks", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET /api/v1/tasks: %s, %v", resp.Status, err)
	}
	return int(n)
}

// fillTasks creates n Tasks named prefix-00000... from 32 clients at once.
func fillTasks(b *testing.B, cl *client.Client, prefix string, n int) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || b.Failed() {
					return
				}
				task := &v1.Task{
					Metadata: v1.ObjectMeta{Name: fmt.Sprintf("%s-%05d", prefix, i), Labels: map[string]string{"app": "scale", "shard": fmt.Sprintf("s%d", i%10)}},
					Spec:     v1.TaskSpec{Image: testImage, Args: []string{"serve", "--port", "8080"}, Ports: []v1.Port{{ContainerPort: 8080}}},
				}
				if _, _, err := cl.ApplyTask(b.Context(), task, client.ApplyOptions{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// residentMB returns the resident set size of process pid in MB.
func residentMB(b *testing.B, pid int) float64 {
	b.Helper()
	p, err := procfs.NewProc(pid)
	if err != nil {
		b.Fatal(err)
	}
	st, err := p.NewStatus()
	if err != nil {
		b.Fatal(err)
	}
	return float64(st.VmRSS) / (1 << 20)
}
