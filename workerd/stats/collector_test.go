package stats

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestSampler_Collect exports the fake /proc's figures (USER_HZ ticks are
// hundredths of a second), and leaves the window of Sample's CPU share
// alone.
func TestSampler_Collect(t *testing.T) {
	dir := t.TempDir()
	fs := mustFakeProc(t, dir, "cpu  1000 0 1000 2000 0 0 0 0 0 0", 8<<20, 6<<20, "1.25")
	s, err := newSampler(fs, dir)
	if err != nil {
		t.Fatal(err)
	}
	want := `
# HELP minkube_worker_cpu_seconds_total CPU time of the worker host since boot, summed over its CPUs, by mode (busy, idle; iowait counts as idle).
# TYPE minkube_worker_cpu_seconds_total counter
minkube_worker_cpu_seconds_total{mode="busy"} 20
minkube_worker_cpu_seconds_total{mode="idle"} 20
# HELP minkube_worker_memory_available_bytes Memory available on the worker host (MemAvailable).
# TYPE minkube_worker_memory_available_bytes gauge
minkube_worker_memory_available_bytes 6.442450944e+09
# HELP minkube_worker_load1 The worker host's 1-minute load average.
# TYPE minkube_worker_load1 gauge
minkube_worker_load1 1.25
# HELP minkube_worker_host_stats_errors 1 when the last scrape could not read one of /proc/stat, /proc/meminfo, the disk or /proc/loadavg.
# TYPE minkube_worker_host_stats_errors gauge
minkube_worker_host_stats_errors 0
`
	names := []string{"minkube_worker_cpu_seconds_total", "minkube_worker_memory_available_bytes", "minkube_worker_load1", "minkube_worker_host_stats_errors"}
	if err := testutil.CollectAndCompare(s, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Sample(); err != nil || got.CPUPercent != 50 {
		t.Fatalf("Sample after a scrape = %v, %v; want 50%% since boot (a scrape moves no window)", got.CPUPercent, err)
	}
	if problems, err := testutil.CollectAndLint(s); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}

	if err := os.Remove(filepath.Join(dir, "loadavg")); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(s)
	if got := testutil.ToFloat64(gaugeOf(t, reg, "minkube_worker_host_stats_errors")); got != 1 {
		t.Fatalf("errors gauge = %v with /proc/loadavg gone, want 1", got)
	}
}

// gaugeOf gathers reg and returns the one gauge named name as a collector.
func gaugeOf(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "copy"})
			g.Set(f.GetMetric()[0].GetGauge().GetValue())
			return g
		}
	}
	t.Fatalf("no %s", name)
	return nil
}
