// Package metrics is the Prometheus plumbing that the manager and the
// worker share (docs/observability.md): a registry with the Go and process
// collectors, the /metrics handler, the instrumentation of an HTTP API by
// route, and the instruments behind the reconcile loops' and the store's
// observer interfaces (reconcile.Metrics, store.Observer), which those
// packages define so that they import no metrics library.
//
// Every family is named minkube_<subsystem>_<name>_<unit>, in base units
// (seconds, bytes), counters ending in _total, and carries bounded labels
// only: a route pattern, never a path; an operation or a controller name,
// never a task's name or uid on a histogram.
//
// The package imports nothing of the project but reconcile, whose
// Metrics interface it implements.
package metrics
