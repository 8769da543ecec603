// Package workers runs the worker lifecycle controller: a worker whose
// heartbeats stop for longer than the worker timeout is marked NotReady, so
// the scheduler passes it over. A heartbeat marks it Ready again.
package workers
