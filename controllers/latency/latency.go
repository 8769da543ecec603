package latency

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/metrics"
	"github.com/minkube/minkube/store"
)

// Metrics is the startup histogram.
type Metrics struct {
	startup *prometheus.HistogramVec
}

// NewMetrics registers minkube_task_startup_duration_seconds on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{startup: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "task", Name: "startup_duration_seconds",
		Help:    "Time from a task's creation to its first placement on a worker (phase=Scheduled) and to its first running container (phase=Running).",
		Buckets: metrics.LongDurationBuckets,
	}, []string{"phase"})}
	reg.MustRegister(m.startup)
	return m
}

// Observe adds a handler to st's task cache that observes each first
// placement and first run it sees. Call it before st starts; now is the
// clock (time.Now when nil). A nil Metrics observes nothing.
func (m *Metrics) Observe(st *store.State, now func() time.Time) {
	if m == nil {
		return
	}
	if now == nil {
		now = time.Now
	}
	scheduled, running := m.startup.WithLabelValues(string(v1.PhaseScheduled)), m.startup.WithLabelValues(string(v1.PhaseRunning))
	st.TaskCache.AddHandler(func(ev store.CacheEvent[*v1.Task]) {
		if ev.Type != v1.Modified {
			return // a task listed or created has made no transition yet
		}
		placed, ran := Transitions(ev.Old, ev.New)
		if !placed && !ran {
			return
		}
		created := ev.New.Metadata.CreationTimestamp
		if created == nil {
			return
		}
		d := now().Sub(*created).Seconds()
		if placed {
			scheduled.Observe(d)
		}
		if ran {
			running.Observe(d)
		}
	})
}

// Transitions reports whether the change from old to cur is the task's
// first placement on a worker and its first run. A placement is first
// when the task has never started and was never taken off a worker (its
// Scheduled condition is absent, or False only because no worker fitted);
// a run is first when the task has no Started condition that is True yet.
// A task taken off a worker before it ever started is not told apart from
// one never placed: its second placement counts again.
func Transitions(old, cur *v1.Task) (firstPlacement, firstRun bool) {
	if old == nil || cur == nil || old.Metadata.UID != cur.Metadata.UID {
		return false, false
	}
	startedBefore := conditionTrue(old, v1.TaskStarted)
	if old.Status.Worker == "" && cur.Status.Worker != "" && !startedBefore {
		sc := v1.FindCondition(old.Status.Conditions, v1.TaskScheduled)
		firstPlacement = sc == nil || sc.Reason == v1.ReasonUnschedulable
	}
	firstRun = !startedBefore && old.Status.Phase != v1.PhaseRunning && cur.Status.Phase == v1.PhaseRunning
	return firstPlacement, firstRun
}

func conditionTrue(t *v1.Task, typ string) bool {
	c := v1.FindCondition(t.Status.Conditions, typ)
	return c != nil && c.Status == v1.ConditionTrue
}
