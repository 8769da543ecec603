package workerd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	json "github.com/goccy/go-json"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// registerBackoffMax caps the wait between registration attempts.
const registerBackoffMax = 5 * time.Second

// managerLoop registers, then sends reports and resyncs until ctx ends.
// When the manager forgets the worker (401, 404) it registers again. Full
// reports follow the heartbeat interval the manager gives.
func (w *Worker) managerLoop(ctx context.Context) error {
	interval := w.contact.heartbeat()
	heartbeat := time.NewTicker(interval)
	defer heartbeat.Stop()
	follow := func() {
		if d := w.contact.heartbeat(); d != interval {
			w.log.Info("following the manager's heartbeat interval", "interval", d, "was", interval)
			interval = d
			heartbeat.Reset(d)
		}
	}
	resync := time.NewTicker(w.opts.ResyncInterval)
	defer resync.Stop()
	for ctx.Err() == nil {
		if err := w.register(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err // the manager client cannot be made: a flag is wrong
		}
		follow()
		w.resync(ctx)
		w.report(ctx, reportFull)
		for w.registered.Load() {
			select {
			case <-ctx.Done():
				return nil
			case <-heartbeat.C:
				w.report(ctx, reportHeartbeat)
			case <-w.wakeFull:
				w.report(ctx, reportHeartbeat)
			case <-w.wake:
				w.report(ctx, reportChanges)
			case <-resync.C:
				w.resync(ctx)
			case <-w.resyncs:
				w.resync(ctx)
			}
			follow()
		}
	}
	return nil
}

// register retries with backoff until the manager accepts the worker. It
// registers with the worker's own token when it has one (it is then the
// worker of that name: see identity.go), else with the join token, and
// sends a certificate request for the key it serves its API with.
func (w *Worker) register(ctx context.Context) error {
	joinClient, err := w.opts.Manager(w.opts.JoinToken)
	if err != nil {
		return err
	}
	csr, err := w.id.request(w.opts.Name)
	if err != nil {
		return err
	}
	wait := 100 * time.Millisecond
	deleted := false
	for attempt := 1; ; attempt++ {
		st, serr := w.opts.Stats.Sample()
		if serr != nil {
			w.log.Warn("sampling host stats failed", "err", serr)
		}
		st.Tasks = w.tasks.len()
		token, own, tokenKind := w.id.token(), true, "its own token"
		if token == "" {
			token, own, tokenKind = w.opts.JoinToken, false, "the join token"
		}
		resp, err := joinClient.RegisterWorker(ctx, token, v1.RegisterRequest{
			Name: w.opts.Name, Address: w.opts.Advertise, Labels: w.opts.Labels, Stats: st,
			Conditions: w.conditions(), CertificateRequest: string(csr),
		})
		if err == nil && resp.ClusterID == "" {
			err = errors.New("the manager gave no cluster id; a worker cannot tell its containers from another cluster's without one")
		}
		if err == nil {
			if err := w.id.issued(resp.Token, resp.Certificate); err != nil {
				return err // the manager's certificate is not for this worker's key: nothing will work
			}
			w.joinCluster(resp.ClusterID)
			mgr, err := w.opts.Manager(resp.Token)
			if err != nil {
				return err
			}
			w.contact.heard(w.now(), resp.HeartbeatInterval.Duration, 0)
			w.mu.Lock()
			w.manager, w.managerToken = mgr, resp.ManagerToken
			w.mu.Unlock()
			w.learnManagers(resp.Managers)
			w.registered.Store(true)
			w.log.Info("registered with the manager", "attempts", attempt, "with", tokenKind)
			return nil
		}
		switch {
		case own && client.IsUnauthorized(err):
			// The manager does not know this worker's token (its store
			// was wiped, or it is another cluster's): join anew.
			w.log.Warn("the manager does not know this worker's token; joining with the join token", "err", err)
			if ferr := w.id.forgetToken(); ferr != nil {
				w.log.Warn("cannot write the credential file", "err", ferr)
			}
			continue
		case workerDeleted(err) && !deleted:
			deleted = true
			w.log.Error("this worker was deleted from the cluster; stopping every task it runs and staying out", "err", err)
			w.stopAll()
		case attempt == 1 || attempt%10 == 0:
			w.log.Warn("registration failed; retrying", "attempt", attempt, "err", err)
		}
		var st2 *v1.Status
		if errors.As(err, &st2) && (st2.Code == 401 || st2.Code == 403 || st2.Code == 422) && (attempt == 1 || attempt%10 == 0) {
			w.log.Error("the manager refuses this worker; check --join-token-file, --name and --advertise", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, registerBackoffMax)
	}
}

// workerDeleted reports whether err is the manager saying this worker was
// deleted for good.
func workerDeleted(err error) bool {
	var st *v1.Status
	if !errors.As(err, &st) || st.Details == nil {
		return false
	}
	for _, c := range st.Details.Causes {
		if c.Reason == v1.CauseWorkerDeleted {
			return true
		}
	}
	return false
}

// stopAll stops every task the worker holds: it is no longer the cluster's.
func (w *Worker) stopAll() {
	for _, uid := range w.tasks.uids() {
		if _, ok := w.tasks.stop(uid); ok {
			w.queue.Enqueue(uid)
		}
	}
}

func (w *Worker) currentManager() Manager {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.manager
}

// reportKind is what a report says.
type reportKind int

const (
	// reportChanges sends the statuses that changed since the last report.
	reportChanges reportKind = iota + 1
	// reportHeartbeat is the periodic report: the changes, the stats and
	// the digest of the tasks held, which the manager compares with its own.
	reportHeartbeat
	// reportFull sends the status of every task held: after registering,
	// and when the manager asks for it.
	reportFull
)

// reportPageBytes bounds the encoded task reports of one request, well
// under the manager's body limit (1 MiB): a worker with more to say sends
// several pages, so its heartbeats never grow past what the manager takes.
const reportPageBytes = 256 << 10

// report sends the stats and the status of the tasks that changed (or of
// every task, full), in pages under the manager's body limit, and stops
// what the manager says is no longer ours. A failed page keeps its
// statuses, and those of the pages after it, for the next report. When
// the manager asks for a full report, it follows at once.
func (w *Worker) report(ctx context.Context, kind reportKind) {
	for w.reportOnce(ctx, kind) {
		kind = reportFull
	}
}

// reportOnce sends one report, in pages; it returns whether the manager
// asked for a full report in answer to a report that was not full.
func (w *Worker) reportOnce(ctx context.Context, kind reportKind) (sendFull bool) {
	mgr := w.currentManager()
	if mgr == nil {
		return false
	}
	reps, answered, digest := w.tasks.reports(kind, w.checksAnswered.Load())
	if kind == reportChanges && len(reps) == 0 {
		return false
	}
	st, err := w.opts.Stats.Sample()
	if err != nil {
		w.log.Warn("sampling host stats failed", "err", err)
	}
	st.Tasks = w.tasks.len()
	pages := statusPages(reps, answered, reportPageBytes)
	// The pages hold reps and answered in turn: reps[sent:] and
	// answered[named:] are what is not sent yet.
	sent, named := 0, 0
	unsent := func() {
		w.tasks.markDirty(reps[sent:])
		w.tasks.confirmAgain(answered[named:])
	}
	for i, page := range pages {
		last := i == len(pages)-1
		rep := &v1.StatusReport{Stats: st, Full: kind == reportFull, More: !last, Tasks: page.tasks, Answered: page.answered, Conditions: w.conditions()}
		if last && kind == reportHeartbeat {
			rep.Heartbeat, rep.Digest = true, digest
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		reply, err := mgr.ReportStatus(rctx, w.opts.Name, rep)
		cancel()
		if err != nil {
			unsent()
			w.reportFailed(ctx, err, len(page.tasks), len(pages))
			return false
		}
		sent += len(page.tasks)
		named += len(page.answered)
		if !w.replied(reply) {
			unsent()
			return false
		}
		sendFull = sendFull || reply.SendFull
	}
	if sendFull && kind != reportFull {
		w.log.Info("the manager asks for a full report: the tasks it records here differ from those this worker holds", "tasks", st.Tasks)
		return true
	}
	return false
}

// statusPage is what one request of a report carries.
type statusPage struct {
	tasks    []v1.TaskReport
	answered []v1.AnsweredTask
}

// statusPages splits a report's task reports and answered tasks into
// pages whose encoding stays under limit bytes each. The last page holds
// the last of the task reports and of the answered tasks, with the
// heartbeat's digest, which the manager judges with both; more answered
// tasks than one page holds go on pages of their own before it. There is
// always at least one page.
func statusPages(reps []v1.TaskReport, answered []v1.AnsweredTask, limit int) []statusPage {
	var pages []statusPage
	for _, t := range splitPages(reps, limit) {
		pages = append(pages, statusPage{tasks: t})
	}
	last := pages[len(pages)-1]
	pages = pages[:len(pages)-1]
	named := splitPages(answered, limit)
	for _, a := range named[:len(named)-1] {
		pages = append(pages, statusPage{tasks: []v1.TaskReport{}, answered: a})
	}
	last.answered = named[len(named)-1]
	return append(pages, last)
}

// splitPages splits items into pages whose encoding stays under limit
// bytes (an item larger than limit goes alone). There is always at least
// one page, empty when there is nothing to say: a heartbeat is sent even
// with no task.
func splitPages[T any](items []T, limit int) [][]T {
	if len(items) <= 1 {
		// One page whatever its size: no need to encode it to measure it
		// (most reports speak of the one task that changed).
		return [][]T{items}
	}
	var pages [][]T
	start, size := 0, 0
	for i := range items {
		b, _ := json.Marshal(&items[i]) // a TaskReport or an AnsweredTask always encodes
		if i > start && size+len(b) > limit {
			pages = append(pages, items[start:i])
			start, size = i, 0
		}
		size += len(b) + 1
	}
	return append(pages, items[start:])
}

// reportFailed says why a report did not go through. A refusal (the
// manager answered, and not that it forgot the worker) is an error worth
// shouting about: heartbeats refused for long make the worker lost.
func (w *Worker) reportFailed(ctx context.Context, err error, tasks, pages int) {
	if client.IsUnauthorized(err) || client.IsNotFound(err) {
		w.log.Warn("the manager no longer knows this worker; registering again", "err", err)
		w.registered.Store(false)
		return
	}
	if ctx.Err() != nil {
		return
	}
	var st *v1.Status
	if errors.As(err, &st) {
		w.log.Error("the manager refused a status report; this worker is lost to it if its heartbeats keep being refused",
			"code", st.Code, "tasks in the report", tasks, "pages", pages, "err", err)
		return
	}
	w.log.Warn("status report failed; keeping it for the next one", "err", err)
}

// replied follows what a report's reply says: the contact with the
// manager, the managers to fail over to, the tasks to stop. It returns
// false when the worker must register again.
func (w *Worker) replied(reply *v1.StatusReply) bool {
	if w.id.renewDue(w.now()) {
		w.log.Info("this worker's certificate is due for renewal; registering again")
		w.registered.Store(false)
	}
	if reply.ClusterID != "" && reply.ClusterID != w.clusterID() {
		w.log.Warn("the manager answers for another cluster than the one this worker joined; registering again",
			"cluster", w.clusterID(), "manager's cluster", reply.ClusterID)
		w.registered.Store(false)
		return false
	}
	w.contact.heard(w.now(), reply.HeartbeatInterval.Duration, reply.Revision)
	w.learnManagers(reply.Managers)
	w.checksAnswered.Store(reply.ChecksAnswered)
	if w.tasks.resend(reply.Resend) > 0 {
		w.log.Debug("the manager does not record the status a push was answered with; reporting it again", "tasks", len(reply.Resend))
		w.wakeReporter()
	}
	for _, uid := range reply.Stop {
		if _, ok := w.tasks.stop(uid); ok {
			w.log.Info("the manager says this task is no longer ours; stopping it", "uid", uid)
			w.queue.Enqueue(uid)
		}
	}
	return w.registered.Load()
}

// resync compares the map with the manager's list of tasks assigned to this
// worker: it takes tasks it lacks (when it can admit them) and newer
// specs, and stops tasks the manager no longer assigns to it (once they
// are older than the grace, so a task pushed a moment ago is not dropped
// before the assignment is recorded).
func (w *Worker) resync(ctx context.Context) {
	mgr := w.currentManager()
	if mgr == nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	list, err := mgr.WorkerTasks(rctx, w.opts.Name)
	cancel()
	if err != nil {
		if client.IsUnauthorized(err) || client.IsNotFound(err) {
			w.registered.Store(false)
		}
		if ctx.Err() == nil {
			w.log.Warn("comparing tasks with the manager failed", "err", err)
		}
		return
	}
	now := w.now()
	rev, _ := strconv.ParseInt(list.Metadata.ResourceVersion, 10, 64)
	w.contact.heard(now, 0, rev)
	assigned := make(map[string]bool, len(list.Items))
	for i := range list.Items {
		t := &list.Items[i]
		uid := t.Metadata.UID
		assigned[uid] = true
		if t.Metadata.DeletionTimestamp != nil {
			if _, ok := w.tasks.stop(uid); ok {
				w.queue.Enqueue(uid)
			}
			continue
		}
		if !w.tasks.has(uid) && !t.Status.Phase.Terminal() {
			if refusal := w.admit(t); refusal != nil {
				w.log.Warn("cannot take a task the manager lists", "task", t.Metadata.Name, "reason", refusal.Message)
				continue
			}
		}
		if w.tasks.put(t, now, false) {
			w.log.Info("took a task from the manager's list", "task", t.Metadata.Name)
		}
		// Keep the restart count across a worker restart.
		w.tasks.with(uid, func(e *entry) { e.knownRestarts = max(e.knownRestarts, t.Status.RestartCount) })
		w.queue.Enqueue(uid)
	}
	grace := w.opts.ResyncInterval / 3
	for _, uid := range w.tasks.uids() {
		if assigned[uid] {
			continue
		}
		var old bool
		w.tasks.with(uid, func(e *entry) { old = now.Sub(e.accepted) > grace })
		if old {
			if _, ok := w.tasks.stop(uid); ok {
				w.log.Info("the manager no longer assigns this task here; stopping it", "uid", uid)
				w.queue.Enqueue(uid)
			}
		}
	}
}

// taskFromLabels rebuilds a task from its container's LabelTask.
func taskFromLabels(labels map[string]string) (*v1.Task, error) {
	raw, ok := labels[LabelTask]
	if !ok {
		return nil, fmt.Errorf("no %s label", LabelTask)
	}
	var t v1.Task
	if err := json.Unmarshal([]byte(raw), &t); err != nil {
		return nil, fmt.Errorf("label %s: %w", LabelTask, err)
	}
	if t.Metadata.UID == "" || t.Metadata.Name == "" {
		return nil, fmt.Errorf("label %s: no name or uid", LabelTask)
	}
	t.TypeMeta = v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask}
	return &t, nil
}
