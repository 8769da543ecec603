package stats

import (
	goruntime "runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// Families of the host's load, read fresh at each scrape; the CPU is a
// cumulative counter (rate() it), so a scrape never moves the window of
// Sample's CPU share.
var (
	cpuDesc = prometheus.NewDesc("minkube_worker_cpu_seconds_total",
		"CPU time of the worker host since boot, summed over its CPUs, by mode (busy, idle; iowait counts as idle).", []string{"mode"}, nil)
	cpusDesc        = prometheus.NewDesc("minkube_worker_cpus", "CPUs this worker may use.", nil, nil)
	memTotalDesc    = prometheus.NewDesc("minkube_worker_memory_total_bytes", "Memory of the worker host.", nil, nil)
	memAvailDesc    = prometheus.NewDesc("minkube_worker_memory_available_bytes", "Memory available on the worker host (MemAvailable).", nil, nil)
	diskTotalDesc   = prometheus.NewDesc("minkube_worker_disk_total_bytes", "Size of the worker's data disk, less --disk-reserved.", nil, nil)
	diskFreeDesc    = prometheus.NewDesc("minkube_worker_disk_free_bytes", "Free bytes of the worker's data disk, less --disk-reserved.", nil, nil)
	load1Desc       = prometheus.NewDesc("minkube_worker_load1", "The worker host's 1-minute load average.", nil, nil)
	collectorFailed = prometheus.NewDesc("minkube_worker_host_stats_errors", "1 when the last scrape could not read one of /proc/stat, /proc/meminfo, the disk or /proc/loadavg.", nil, nil)
)

// Describe implements prometheus.Collector: a Sampler exports the host's
// CPU, memory, disk and load.
func (s *Sampler) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{cpuDesc, cpusDesc, memTotalDesc, memAvailDesc, diskTotalDesc, diskFreeDesc, load1Desc, collectorFailed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. What cannot be read is left
// out, and minkube_worker_host_stats_errors says so.
func (s *Sampler) Collect(ch chan<- prometheus.Metric) {
	failed := 0.0
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	if stat, err := s.fs.Stat(); err == nil {
		c := stat.CPUTotal
		idle := c.Idle + c.Iowait
		busy := c.User + c.Nice + c.System + c.IRQ + c.SoftIRQ + c.Steal
		ch <- prometheus.MustNewConstMetric(cpuDesc, prometheus.CounterValue, busy, "busy")
		ch <- prometheus.MustNewConstMetric(cpuDesc, prometheus.CounterValue, idle, "idle")
	} else {
		failed = 1
	}
	gauge(cpusDesc, float64(goruntime.NumCPU()))
	if total, avail, err := s.memory(); err == nil {
		gauge(memTotalDesc, float64(total))
		gauge(memAvailDesc, float64(avail))
	} else {
		failed = 1
	}
	if total, free, err := s.disk(); err == nil {
		gauge(diskTotalDesc, float64(total))
		gauge(diskFreeDesc, float64(free))
	} else {
		failed = 1
	}
	if load, err := s.fs.LoadAvg(); err == nil {
		gauge(load1Desc, load.Load1)
	} else {
		failed = 1
	}
	gauge(collectorFailed, failed)
}
