package reconcile

import "time"

// Outcomes of one Reconcile call, as given to Metrics.Reconciled.
const (
	OutcomeSuccess  = "success"  // no error, no requeue
	OutcomeRequeue  = "requeue"  // no error, RequeueAfter set
	OutcomeError    = "error"    // retried with backoff
	OutcomeTerminal = "terminal" // dropped until enqueued again
)

// Metrics is told what a Controller and its Queue do, for instruments
// such as Prometheus counters (the metrics package implements it over
// client_golang). Every method is called on the hot path, some under the
// queue's lock: it must be cheap, must not block and must not call back
// into the Queue. The package itself imports no metrics library.
type Metrics interface {
	// Added is called when a key is queued that was not waiting already.
	Added()
	// Depth is called with the number of keys ready to be handed out
	// whenever it changes.
	Depth(n int)
	// Retried is called when a key is requeued with backoff after an
	// error.
	Retried()
	// Reconciled is called after each Reconcile call with its duration and
	// its outcome (OutcomeSuccess, OutcomeRequeue, OutcomeError or
	// OutcomeTerminal).
	Reconciled(d time.Duration, outcome string)
}

// noMetrics is the Metrics of a Controller or Queue given none.
type noMetrics struct{}

func (noMetrics) Added()                           {}
func (noMetrics) Depth(int)                        {}
func (noMetrics) Retried()                         {}
func (noMetrics) Reconciled(time.Duration, string) {}
