// Package workers runs the worker lifecycle controller: a worker whose
// heartbeats stop for longer than the worker timeout is marked NotReady, so
// the scheduler passes it over, and its tasks go Unknown (WorkerLost);
// after the reschedule delay they are placed elsewhere (restartPolicy
// Never: Failed). A heartbeat marks it Ready again.
//
// The manager tells workers to heartbeat every HeartbeatInterval(timeout),
// a third of the timeout. Silence counts from a worker's last heartbeat or
// from the controller's start, whichever is later: a manager that was down,
// or that has just become the leader, gives every worker a fresh grace
// period instead of judging it by heartbeats it was not there to receive.
package workers
