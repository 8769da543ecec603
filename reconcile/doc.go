// Package reconcile is Minkube's reconcile-loop machinery: the Reconciler
// contract, a keyed work Queue, and the Controller that runs one over the
// other. It is modelled on controller-runtime's pkg/reconcile and client-go's
// workqueue, uses only the standard library, and imports nothing of the
// project.
//
// # Level-based, not edge-based
//
// A Reconciler is handed a Request that carries a key and nothing else: not
// the object, not the event, not what changed. It reads the current desired
// and actual state fresh, and acts to make the actual match the desired.
// Events (a store watch, a Docker event, a heartbeat, a timer) only say
// "look again at this key". Because a pass works from the state as it is
// and not from the history of how it got there:
//
//   - Events may be lost, duplicated, merged or reordered without harm; ten
//     changes to one object while its key waits make one pass.
//   - Reconcile must be idempotent, and must handle a key whose object is
//     gone (that is how deletion is seen).
//   - A periodic full relist is a complete safety net: enqueueing every key
//     repairs whatever a missed event left behind.
//
// # The queue discipline
//
// Every Controller keeps the same rules, enforced by its Queue:
//
//   - De-duplication: a key waiting is held once, however often it is added.
//   - One at a time: a key is never reconciled by two workers at once. A key
//     enqueued while it is being reconciled is marked dirty and reconciled
//     once more after the current pass, so the newest state is always seen.
//   - Errors are retried with per-key exponential backoff: BaseDelay, then
//     twice that, and so on up to MaxDelay. Success resets the backoff
//     (Queue.Forget).
//   - An error wrapped with TerminalError says retrying cannot help: the key
//     is logged and dropped until something enqueues it again.
//   - A panic in Reconcile is recovered, logged with its key and stack, and
//     retried like an error, so one bad object cannot stop the process.
//   - Result.RequeueAfter is the only way to poll: "all is well, but look
//     again in 30s" (a health check, a backoff the reconciler manages
//     itself). A key held back keeps the earlier of its deadlines.
//
// In short, each worker runs:
//
//	key := queue.Get()
//	result, err := Reconcile(ctx, Request{key})   // panic -> error
//	switch {
//	case IsTerminal(err): queue.Forget(key); log
//	case err != nil:      queue.AddRateLimited(key); log
//	default:              queue.Forget(key); if result.RequeueAfter > 0 { queue.AddAfter(key, result.RequeueAfter) }
//	}
//	queue.Done(key)
//
// # Goroutines and shutdown
//
// Controller.Start runs Options.Workers goroutines (or, with PerKey, one
// per key being reconciled, kept a second after its key for the next) and
// blocks until its context ends. It then shuts the Queue down (which wakes blocked workers
// and stops the Queue's single timer goroutine) and returns only after
// every worker, every in-flight Reconcile call and the timer goroutine have
// returned. The context passed to Reconcile is Start's, so a long pass sees
// the shutdown and should return promptly. Keys still waiting are dropped:
// the next start lists everything again.
//
// # Time
//
// Delays run on a Clock, the wall clock unless Options.Clock injects
// another, so that tests can drive backoff and RequeueAfter without
// sleeping.
package reconcile
