package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Store holds the store families: minkube_store_operations_total (by
// operation and result), minkube_store_operation_duration_seconds and
// minkube_events_dropped_total. It implements store.Observer.
type Store struct {
	ops      *memo[[2]string, prometheus.Counter] // by operation and result
	duration *memo[string, prometheus.Observer]
	dropped  prometheus.Counter
}

// NewStore registers the store families on reg.
func NewStore(reg prometheus.Registerer) *Store {
	ops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: "store", Name: "operations_total",
		Help: "Store calls, by operation (get, list, create, update, delete, watch, revision) and result (ok or the kind of error).",
	}, []string{"operation", "result"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: "store", Name: "operation_duration_seconds",
		Help:    "Time of a store call, by operation; a watch is timed until its stream is set up.",
		Buckets: DurationBuckets,
	}, []string{"operation"})
	s := &Store{
		ops:      newMemo(func(k [2]string) prometheus.Counter { return ops.WithLabelValues(k[0], k[1]) }),
		duration: newMemo(func(op string) prometheus.Observer { return duration.WithLabelValues(op) }),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "events_dropped_total",
			Help: "Events (mkctl get events) that could not be recorded: the store refused the write, or the queue of events to write was full.",
		}),
	}
	reg.MustRegister(ops, duration, s.dropped)
	return s
}

// StoreOp implements store.Observer.
func (s *Store) StoreOp(op, result string, d time.Duration) {
	s.ops.get([2]string{op, result}).Inc()
	s.duration.get(op).Observe(d.Seconds())
}

// EventDropped implements store.Observer.
func (s *Store) EventDropped() { s.dropped.Inc() }
