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
//     every HeartbeatInterval; every ResyncInterval the map is compared with
//     the manager's list of the tasks assigned to this worker.
//
// The worker keeps its tasks running while the manager is away, and after a
// restart rebuilds its map from the labels of the containers it finds
// (adopting them, not restarting them) before the manager answers.
package workerd
