package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minkube/minkube/reconcile"
)

// Controllers holds the reconcile-loop families of a process, by
// controller name: minkube_reconcile_queue_depth,
// minkube_reconcile_queue_adds_total, minkube_reconcile_retries_total,
// minkube_reconcile_total (by outcome) and
// minkube_reconcile_duration_seconds.
type Controllers struct {
	depth    *prometheus.GaugeVec
	adds     *prometheus.CounterVec
	retries  *prometheus.CounterVec
	total    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewControllers registers the reconcile families on reg.
func NewControllers(reg prometheus.Registerer) *Controllers {
	c := &Controllers{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: "reconcile", Name: "queue_depth",
			Help: "Keys ready to be reconciled, by controller.",
		}, []string{"controller"}),
		adds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "reconcile", Name: "queue_adds_total",
			Help: "Keys queued that were not already waiting, by controller.",
		}, []string{"controller"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "reconcile", Name: "retries_total",
			Help: "Keys requeued with backoff after an error, by controller.",
		}, []string{"controller"}),
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Subsystem: "reconcile", Name: "total",
			Help: "Reconcile passes, by controller and outcome (success, requeue, error, terminal).",
		}, []string{"controller", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Subsystem: "reconcile", Name: "duration_seconds",
			Help:    "Time of one reconcile pass, by controller.",
			Buckets: DurationBuckets,
		}, []string{"controller"}),
	}
	reg.MustRegister(c.depth, c.adds, c.retries, c.total, c.duration)
	return c
}

// For returns the instruments of the named controller, to pass as
// reconcile.Options.Metrics. A nil Controllers returns nil (no metrics).
func (c *Controllers) For(controller string) reconcile.Metrics {
	if c == nil {
		return nil
	}
	return &Controller{
		depth:    c.depth.WithLabelValues(controller),
		adds:     c.adds.WithLabelValues(controller),
		retries:  c.retries.WithLabelValues(controller),
		duration: c.duration.WithLabelValues(controller),
		total: newMemo(func(outcome string) prometheus.Counter {
			return c.total.WithLabelValues(controller, outcome)
		}),
	}
}

// Controller is one controller's instruments.
type Controller struct {
	depth    prometheus.Gauge
	adds     prometheus.Counter
	retries  prometheus.Counter
	duration prometheus.Observer
	total    *memo[string, prometheus.Counter] // by outcome
}

var _ reconcile.Metrics = (*Controller)(nil)

// Added implements reconcile.Metrics.
func (c *Controller) Added() { c.adds.Inc() }

// Depth implements reconcile.Metrics.
func (c *Controller) Depth(n int) { c.depth.Set(float64(n)) }

// Retried implements reconcile.Metrics.
func (c *Controller) Retried() { c.retries.Inc() }

// Reconciled implements reconcile.Metrics.
func (c *Controller) Reconciled(d time.Duration, outcome string) {
	c.duration.Observe(d.Seconds())
	c.total.get(outcome).Inc()
}
