package apiserver

import (
	"github.com/prometheus/client_golang/prometheus"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/metrics"
	"github.com/minkube/minkube/store"
)

// taskPhases and workerPhases are the label values of the cluster gauges:
// every phase is always exported, 0 when no object is in it, so that a
// phase emptied does not vanish from the graphs.
var (
	taskPhases   = []v1.Phase{v1.PhasePending, v1.PhaseScheduled, v1.PhaseRunning, v1.PhaseSucceeded, v1.PhaseFailed, v1.PhaseUnknown}
	workerPhases = []v1.WorkerPhase{v1.WorkerReady, v1.WorkerNotReady}
)

// apiMetrics are the API server's own families.
type apiMetrics struct {
	http    *metrics.HTTP
	watches prometheus.Gauge
}

func newAPIMetrics(reg prometheus.Registerer, st *store.State) *apiMetrics {
	m := &apiMetrics{
		http: metrics.NewHTTP(reg, "apiserver"),
		watches: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metrics.Namespace, Subsystem: "apiserver", Name: "watch_streams",
			Help: "Watch streams (mkctl get -w, the dashboard, workers) open now.",
		}),
	}
	reg.MustRegister(m.watches, &clusterCollector{st: st})
	return m
}

// clusterCollector counts the tasks and workers in the manager's caches
// at each scrape, so the figures are what the manager holds at that
// moment: minkube_tasks{phase}, minkube_workers{phase} and
// minkube_workers_unschedulable.
type clusterCollector struct{ st *store.State }

var (
	tasksDesc = prometheus.NewDesc(metrics.Namespace+"_tasks", "Tasks in the store, by phase (an empty phase counts as Pending).",
		[]string{"phase"}, nil)
	workersDesc = prometheus.NewDesc(metrics.Namespace+"_workers", "Workers registered, by phase.",
		[]string{"phase"}, nil)
	unschedulableDesc = prometheus.NewDesc(metrics.Namespace+"_workers_unschedulable", "Workers cordoned (mkctl cordon or drain).",
		nil, nil)
)

// Describe implements prometheus.Collector.
func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tasksDesc
	ch <- workersDesc
	ch <- unschedulableDesc
}

// Collect implements prometheus.Collector.
func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	if !c.st.HasSynced() {
		return // no figure is better than a wrong one
	}
	tasks := map[v1.Phase]int{}
	for _, t := range c.st.TaskCache.List() {
		phase := t.Status.Phase
		if phase == "" {
			phase = v1.PhasePending
		}
		tasks[phase]++
	}
	for _, p := range taskPhases {
		ch <- prometheus.MustNewConstMetric(tasksDesc, prometheus.GaugeValue, float64(tasks[p]), string(p))
	}
	workers, cordoned := map[v1.WorkerPhase]int{}, 0
	for _, w := range c.st.WorkerCache.List() {
		phase := w.Status.Phase
		if phase == "" {
			phase = v1.WorkerNotReady
		}
		workers[phase]++
		if w.Spec.Unschedulable {
			cordoned++
		}
	}
	for _, p := range workerPhases {
		ch <- prometheus.MustNewConstMetric(workersDesc, prometheus.GaugeValue, float64(workers[p]), string(p))
	}
	ch <- prometheus.MustNewConstMetric(unschedulableDesc, prometheus.GaugeValue, float64(cordoned))
}
