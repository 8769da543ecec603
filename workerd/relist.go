package workerd

import (
	"context"
	"time"

	"github.com/minkube/minkube/workerd/runtime"
)

// relistTimeout bounds one list of the runtime: an engine that does not
// answer within it counts as unreachable.
const relistTimeout = 10 * time.Second

// firstRetry is the first wait before trying an unreachable runtime again;
// it doubles up to RelistInterval.
const firstRetry = 250 * time.Millisecond

// relistLoop lists the runtime every RelistInterval, at once when asked
// (kickRelist), and while the runtime is unreachable with a backoff from
// firstRetry doubling to RelistInterval.
func (w *Worker) relistLoop(ctx context.Context) error {
	retry := firstRetry
	t := time.NewTimer(w.opts.RelistInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.relistC:
			t.Stop()
		}
		next := w.opts.RelistInterval
		if w.relist(ctx) {
			retry = firstRetry
		} else {
			next, retry = min(retry, w.opts.RelistInterval), min(2*retry, w.opts.RelistInterval)
		}
		t.Reset(next)
	}
}

// kickRelist asks for a relist now.
func (w *Worker) kickRelist() {
	select {
	case w.relistC <- struct{}{}:
	default:
	}
}

// relist lists the containers carrying the worker's name in one call and
// wakes the tasks whose containers changed since the last list. A failed
// list makes the runtime unreachable: the worker reports it (NotReady) and
// every task says its status is the last one seen. When the runtime comes
// back every container is inspected again and every task looks again;
// containers that kept running are adopted as they are. It reports whether
// the list succeeded.
func (w *Worker) relist(ctx context.Context) bool {
	n := w.containers.beginList()
	lctx, cancel := context.WithTimeout(ctx, relistTimeout)
	list, err := w.rt.ListSummaries(lctx, map[string]string{runtime.LabelWorker: w.opts.Name})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		if w.containers.failed(err.Error(), w.now()) {
			w.log.Error("the container runtime is unreachable; reporting NotReady and retrying", "err", err)
			w.wakeReporterFull()
			w.enqueueAll()
		}
		return false
	}
	changed, cameBack := w.containers.relisted(n, list)
	if cameBack {
		w.log.Info("the container runtime answers", "containers", len(list))
		w.wakeReporterFull()
		w.enqueueAll()
	}
	w.adopt()
	for uid := range changed {
		w.queue.Enqueue(uid) // the sync checks that the containers are ours
	}
	return true
}

// adopt rebuilds the map from the labels of the cluster's containers once
// the worker knows its cluster, so running tasks are adopted rather than
// restarted, even before the manager answers.
func (w *Worker) adopt() {
	cluster := w.clusterID()
	if cluster == "" || w.adopted.Load() {
		return
	}
	now := w.now()
	labelled := func(labels map[string]string) bool { return owns(labels, cluster, false) }
	found := w.containers.uids(labelled)
	for uid, labels := range found {
		t, err := taskFromLabels(labels)
		if err != nil {
			w.log.Warn("container with an unreadable task label; removing it", "uid", uid, "err", err)
		} else if w.tasks.put(t, now, false) {
			w.log.Info("adopted a task from its container", "task", t.Metadata.Name, "uid", uid)
		}
	}
	w.adopted.Store(true)
	for uid := range found {
		w.queue.Enqueue(uid) // one not held (unreadable): its sync removes it
	}
}

// enqueueAll asks every task to look again.
func (w *Worker) enqueueAll() {
	for _, uid := range w.tasks.uids() {
		w.queue.Enqueue(uid)
	}
}

// watchEvents marks a container stale and wakes its task the moment the
// runtime reports a change, reconnecting when the stream breaks (with a
// relist, since events may have been missed).
func (w *Worker) watchEvents(ctx context.Context) error {
	wait := time.Second
	for ctx.Err() == nil {
		began := w.now()
		events, errs := w.rt.Events(ctx, map[string]string{runtime.LabelWorker: w.opts.Name})
	stream:
		for {
			select {
			case <-ctx.Done():
				return nil
			case ev, ok := <-events:
				if !ok {
					break stream
				}
				w.containers.changed(ev.ContainerID, ev.Labels)
				if uid := ev.Labels[runtime.LabelTaskUID]; uid != "" {
					w.queue.Enqueue(uid)
				}
			case err, ok := <-errs:
				if ok && err != nil && ctx.Err() == nil {
					w.log.Debug("runtime event stream broke; relisting and reconnecting", "err", err)
				}
				break stream
			}
		}
		w.kickRelist()
		if w.now().Sub(began) > time.Minute {
			wait = time.Second // it had worked for a while
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, w.opts.RelistInterval)
	}
	return nil
}
