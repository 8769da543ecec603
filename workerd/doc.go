// Package workerd is the worker daemon: it registers with the manager,
// holds its tasks in an in-memory map keyed by uid, runs each as a container
// through a runtime.Runtime, and reports what it sees.
//
// # Loops
//
//   - A reconcile loop per task (one queue keyed by uid) converges Docker to
//     the task: pull when missing, create and start, restart by policy with
//     backoff, replace a container whose spec hash differs, and remove
//     containers that carry this worker's labels but no task it holds.
//   - Docker's event stream queues a task the moment its container changes;
//     a periodic relist queues them all as the safety net.
//   - Status changes are reported at once; a full heartbeat with stats goes
//     at the interval the manager gives in its registration and heartbeat
//     replies (HeartbeatInterval until it does); every ResyncInterval the
//     map is compared with the manager's list of the tasks assigned to
//     this worker.
//
// # Pushes that come late
//
// The manager records an assignment before it pushes the task, and never
// places a task elsewhere because a push timed out. A push can still
// arrive after the manager moved on (the task was deleted, drained, or its
// worker judged lost), so a push of a task the worker does not hold is
// taken at once only when it is newer than everything the manager has
// answered since (its resourceVersion above the revision of the latest
// reply) and the worker has heard from the manager within about its worker
// timeout. Otherwise the worker answers 202 and takes the task only from
// the manager's list of its tasks. That list is admitted like a push: a
// task that asks for more disk than is free is not taken from either.
//
// The worker keeps its tasks running while the manager is away, and after a
// restart rebuilds its map from the labels of the containers it finds
// (adopting them, not restarting them) before the manager answers.
package workerd
