package workerd

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minkube/minkube/metrics"
	"github.com/minkube/minkube/workerd/runtime"
)

// runtimeOp is a runtime operation; opNames is its operation label in the
// runtime families.
type runtimeOp int

const (
	opEnsureImage runtimeOp = iota
	opCreate
	opStart
	opStop
	opRemove
	opInspect
	opList
	opEvents
	opLogs
	opStats
	opExec
	numRuntimeOps
)

var opNames = [numRuntimeOps]string{
	opEnsureImage: "ensure_image",
	opCreate:      "create",
	opStart:       "start",
	opStop:        "stop",
	opRemove:      "remove",
	opInspect:     "inspect",
	opList:        "list",
	opEvents:      "events",
	opLogs:        "logs",
	opStats:       "stats",
	opExec:        "exec",
}

// Why a container was stopped, as the reason label of
// minkube_worker_container_stops_total.
const (
	stopUnhealthy = "Unhealthy" // its health checks failed
	stopReplaced  = "Replaced"  // a new spec replaced it
	stopDeleted   = "Deleted"   // its task was deleted or moved away
	stopStray     = "Stray"     // no task of this worker claims it
)

// How the last run of a restarted container ended, as the reason label
// of minkube_worker_container_restarts_total (Kubernetes' words).
const (
	restartError     = "Error"
	restartCompleted = "Completed"
	restartOOMKilled = "OOMKilled"
)

// workerMetrics are the worker's families: the API's requests, container
// starts, stops and restarts, pulls, runtime calls and the tasks' CPU and
// memory.
type workerMetrics struct {
	http     *metrics.HTTP
	starts   prometheus.Counter
	stops    *prometheus.CounterVec
	restarts *prometheus.CounterVec
	pulls    pullMetrics
	// calls and duration are each operation's children, resolved once:
	// every runtime call goes through them.
	calls    [numRuntimeOps]prometheus.Counter
	errors   *prometheus.CounterVec
	duration [numRuntimeOps]prometheus.Observer
}

func newWorkerMetrics(reg prometheus.Registerer) *workerMetrics {
	ns, sub := metrics.Namespace, "worker"
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "runtime_operations_total",
		Help: "Calls to the container runtime (Docker), by operation."}, []string{"operation"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "runtime_operation_duration_seconds",
		Help:    "Time of a call to the container runtime, by operation; event streams and log reads are not timed.",
		Buckets: metrics.DurationBuckets}, []string{"operation"})
	pulls := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "image_pull_duration_seconds",
		Help:    "Time to make a task's image present (a single inspect when it already is), by result (ok, error).",
		Buckets: metrics.LongDurationBuckets}, []string{"result"})
	m := &workerMetrics{
		http: metrics.NewHTTP(reg, "worker_api"),
		starts: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "container_starts_total",
			Help: "Task containers started, restarts included."}),
		stops: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "container_stops_total",
			Help: "Task containers stopped by the worker, by reason (Unhealthy, Replaced, Deleted, Stray)."}, []string{"reason"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "container_restarts_total",
			Help: "Task containers started again after they exited, by how the last run ended (Error, Completed, OOMKilled)."}, []string{"reason"}),
		pulls: pullMetrics{ok: pulls.WithLabelValues("ok"), failed: pulls.WithLabelValues("error")},
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "runtime_errors_total",
			Help: "Calls to the container runtime that failed, by operation and error (not_found, image_pull, canceled, error)."}, []string{"operation", "error"}),
	}
	reg.MustRegister(m.starts, m.stops, m.restarts, pulls, calls, m.errors, duration)
	for op, name := range opNames {
		m.calls[op] = calls.WithLabelValues(name)
		m.duration[op] = duration.WithLabelValues(name)
	}
	// Every reason is exported from the start, at 0, so that rate() sees
	// the first one (and every runtime operation, above).
	for _, r := range []string{stopUnhealthy, stopReplaced, stopDeleted, stopStray} {
		m.stops.WithLabelValues(r)
	}
	for _, r := range []string{restartError, restartCompleted, restartOOMKilled} {
		m.restarts.WithLabelValues(r)
	}
	return m
}

// pullMetrics are the image pull histogram's children, by result.
type pullMetrics struct{ ok, failed prometheus.Observer }

// restartReason names how the last run of a container that is started
// again ended.
func restartReason(s runtime.State) string {
	switch {
	case s.OOMKilled:
		return restartOOMKilled
	case s.ExitCode == 0:
		return restartCompleted
	}
	return restartError
}

// runtimeErrorKind is the bounded error label of a failed runtime call.
func runtimeErrorKind(err error) string {
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		return "not_found"
	case errors.Is(err, runtime.ErrImagePull):
		return "image_pull"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}

// instrumentedRuntime counts and times the calls to the runtime it
// wraps. A method of runtime.Runtime it does not override passes through
// the embedded runtime uncounted.
type instrumentedRuntime struct {
	runtime.Runtime
	m *workerMetrics
}

var _ runtime.Runtime = instrumentedRuntime{}

// observe records one call that began at began; timed says whether its
// duration is the call's (not a stream's).
func (r instrumentedRuntime) observe(op runtimeOp, began time.Time, err error, timed bool) {
	r.m.calls[op].Inc()
	if timed {
		r.m.duration[op].Observe(time.Since(began).Seconds())
	}
	if err != nil {
		r.m.errors.WithLabelValues(opNames[op], runtimeErrorKind(err)).Inc()
	}
}

func (r instrumentedRuntime) EnsureImage(ctx context.Context, ref string) error {
	began := time.Now()
	err := r.Runtime.EnsureImage(ctx, ref)
	r.observe(opEnsureImage, began, err, true)
	return err
}

func (r instrumentedRuntime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	began := time.Now()
	id, err := r.Runtime.Create(ctx, spec)
	r.observe(opCreate, began, err, true)
	return id, err
}

func (r instrumentedRuntime) Start(ctx context.Context, id string) error {
	began := time.Now()
	err := r.Runtime.Start(ctx, id)
	r.observe(opStart, began, err, true)
	return err
}

func (r instrumentedRuntime) Stop(ctx context.Context, id string, grace time.Duration) error {
	began := time.Now()
	err := r.Runtime.Stop(ctx, id, grace)
	r.observe(opStop, began, err, true)
	return err
}

func (r instrumentedRuntime) Remove(ctx context.Context, id string) error {
	began := time.Now()
	err := r.Runtime.Remove(ctx, id)
	r.observe(opRemove, began, err, true)
	return err
}

func (r instrumentedRuntime) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	began := time.Now()
	c, err := r.Runtime.Inspect(ctx, id)
	r.observe(opInspect, began, err, true)
	return c, err
}

func (r instrumentedRuntime) ListSummaries(ctx context.Context, labels map[string]string) ([]runtime.Summary, error) {
	began := time.Now()
	out, err := r.Runtime.ListSummaries(ctx, labels)
	r.observe(opList, began, err, true)
	return out, err
}

func (r instrumentedRuntime) Events(ctx context.Context, labels map[string]string) (<-chan runtime.Event, <-chan error) {
	r.observe(opEvents, time.Time{}, nil, false)
	return r.Runtime.Events(ctx, labels)
}

func (r instrumentedRuntime) Logs(ctx context.Context, id string, opts runtime.LogOptions) (io.ReadCloser, error) {
	rc, err := r.Runtime.Logs(ctx, id, opts)
	r.observe(opLogs, time.Time{}, err, false)
	return rc, err
}

func (r instrumentedRuntime) Stats(ctx context.Context, id string) (runtime.Usage, error) {
	began := time.Now()
	u, err := r.Runtime.Stats(ctx, id)
	r.observe(opStats, began, err, true)
	return u, err
}

func (r instrumentedRuntime) Exec(ctx context.Context, id string, cmd []string) (int, []byte, error) {
	began := time.Now()
	code, out, err := r.Runtime.Exec(ctx, id, cmd)
	r.observe(opExec, began, err, true)
	return code, out, err
}

// usageCollector exports the last readings of the tasks' containers:
// minkube_worker_task_cpu_seconds_total{task} and
// minkube_worker_task_memory_working_set_bytes{task}. The task label is
// bounded by the tasks the worker runs, and only counters and gauges
// carry it, never a histogram.
type usageCollector struct {
	u *usageSampler
}

var (
	taskCPUDesc = prometheus.NewDesc(metrics.Namespace+"_worker_task_cpu_seconds_total",
		"CPU time a running task's container has used, as the worker last read it.", []string{"task"}, nil)
	taskMemoryDesc = prometheus.NewDesc(metrics.Namespace+"_worker_task_memory_working_set_bytes",
		"Working set of a running task's container, as the worker last read it.", []string{"task"}, nil)
)

// Describe implements prometheus.Collector.
func (c usageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- taskCPUDesc
	ch <- taskMemoryDesc
}

// Collect implements prometheus.Collector. While a task is replaced by
// a new incarnation of the same name, only the first is exported: a
// series is one per task name.
func (c usageCollector) Collect(ch chan<- prometheus.Metric) {
	seen := map[string]bool{}
	for _, tu := range c.u.list("") {
		if seen[tu.Name] {
			continue
		}
		seen[tu.Name] = true
		ch <- prometheus.MustNewConstMetric(taskCPUDesc, prometheus.CounterValue, tu.CPUSeconds, tu.Name)
		ch <- prometheus.MustNewConstMetric(taskMemoryDesc, prometheus.GaugeValue, float64(tu.Memory), tu.Name)
	}
}
