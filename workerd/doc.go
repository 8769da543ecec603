// Package workerd is the worker daemon: it registers with the manager,
// holds its tasks in an in-memory map keyed by uid, runs each as a container
// through a runtime.Runtime, and reports what it sees.
//
// # Decide, then act
//
// decide (decide.go) is the worker's one place of policy: a pure function
// of a task, its containers as last inspected, whether the runtime
// answers, its image, its health checks and the history of its restarts
// and failures. It returns the one next step (pull, create, start, stop,
// remove, forget, or wait) and the status to report, derived from what was
// observed only. Reconcile (task_sync.go) gathers that input, records the
// decision and carries the step out, until decide asks for none. Updates
// are make-before-break unless a host port forces the old container to go
// first.
//
// # Loops
//
//   - Each task syncs in a goroutine of its own (reconcile.PerKey), so a
//     slow stop or start never holds up another task.
//   - Pulls run apart (puller.go), one per image at a time, shared by the
//     tasks that wait for it; each is woken when the pull ends.
//   - One list of the runtime per RelistInterval for the whole worker is
//     compared with the last, and the event stream marks a container the
//     moment it changes (containers.go, relist.go, after kubelet's PLEG);
//     only changed containers are inspected, by their task's sync, and
//     only their tasks are woken. A failed list makes the runtime
//     unreachable: the worker reports RuntimeReady=False (NotReady), takes
//     no new task, marks each task's status as the last seen, and tries
//     again with backoff.
//   - Status changes are reported at once, except the steps a new task
//     takes on its way to Running (taken, pulling, being created): those
//     wait PendingReportDelay, so a task that starts meanwhile is reported
//     once, Running (as Nomad's client batches its allocation updates).
//     A new task's push that asks for it (answer=status) is answered
//     with that first status instead (answerFirstStatus), and the reports
//     leave the task out until then; the next heartbeat carries it again
//     for the manager to acknowledge (taskMap.confirm);
//     a full heartbeat with stats goes
//     at the interval the manager gives in its registration and heartbeat
//     replies (HeartbeatInterval until it does); every ResyncInterval the
//     map is compared with the manager's list of the tasks assigned to
//     this worker.
//
// # Metrics and usage
//
// Every runtime call goes through instrumentedRuntime, which counts and
// times it (metrics.go); the syncs count container starts, stops and
// restarts by reason, and the puller times pulls. A usage sampler
// (usage.go) reads the CPU time and working set of every running task
// container each UsageInterval, for GET /api/v1/stats/tasks (mkctl top
// through the manager) and /metrics; a container it cannot read is left
// out, never shown with old figures.
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
// # Identity and TLS
//
// The worker serves its API over TLS with a certificate the cluster CA
// issues it at registration, for a key that never leaves it, and proves
// it is itself when it registers again with the token it was issued
// (identity.go). A worker the manager deleted stops its tasks and stays
// out. The API answers only the manager's token, before it reads a body.
//
// # Clusters
//
// Containers carry the cluster's id (given by the manager at
// registration); the worker touches only those of its own cluster
// (cluster.go). It keeps its tasks running while the manager is away, and
// after a restart rebuilds its map from the labels of its cluster's
// containers (adopting them, not restarting them) before the manager
// answers, from the cluster id it noted in Options.ClusterFile.
package workerd
