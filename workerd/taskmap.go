package workerd

import (
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// entry is one task the worker holds. Fields are guarded by taskMap.mu.
type entry struct {
	task *v1.Task // the spec it runs; owned by the map
	// specHash is task.Spec.Hash(), which every pass of the sync reads.
	specHash string
	// accepted is when the worker took the task; a task the manager does
	// not list is dropped only once it is older than the resync grace.
	accepted time.Time
	// stopping means stop the container and forget the task.
	stopping bool
	// gone is closed once the task has been stopped and forgotten.
	gone chan struct{}

	// Written by the task's sync only: what decide remembers (the status
	// it reports included), and the pull the task waits for. hist.Status
	// is replaced whole, never changed in place: a reader that copied
	// hist under the map's lock may keep the status' slices and times.
	hist history
	pull *pull
	// Written by others, read by the sync: the last health check result
	// (the prober) and the restart count the manager has recorded.
	health        health
	knownRestarts int32

	// dirty means the status changed since it was last reported; events
	// wait for the next report.
	dirty  bool
	events []v1.ReportedEvent
	// reported is the phase last put into a report: what the manager
	// records of the task once that report is answered, and what the
	// heartbeat's digest sums.
	reported v1.Phase
	// answering means the push that brought the task waits to answer
	// with its first status: reports of changes leave it to the push.
	answering bool
	// settled, for an answering push, is closed once the task's status is
	// past the steps on its way to Running, or the task stops: what the
	// push waits for. Nil for a task no push waits on.
	settled chan struct{}
}

// told reports whether a report or a push's answer has taken a status of
// the task (every status the worker makes has a phase): a push answers
// only with its first.
func (e *entry) told() bool { return e.reported != "" }

// settle closes e.settled, once.
func (e *entry) settle() {
	if e.settled == nil {
		return
	}
	select {
	case <-e.settled:
	default:
		close(e.settled)
	}
}

// taskMap is the worker's in-memory map of tasks, keyed by uid. It keeps
// the uids of the dirty entries and the digest of what was reported beside
// the entries, so that a report costs what changed, not a walk over every
// task.
type taskMap struct {
	mu      sync.Mutex
	entries map[string]*entry
	dirty   map[string]struct{}
	// confirm holds the uids whose status a push's answer took: the worker
	// cannot know that the manager recorded it, so the next heartbeat
	// names them with the phase last reported (v1.AnsweredTask), and the
	// manager asks again for the status of those it does not record so
	// (StatusReply.Resend).
	confirm map[string]struct{}
	digest  v1.TaskDigest // of the uids whose reported phase is Scheduled or Running
}

func newTaskMap() *taskMap {
	return &taskMap{entries: map[string]*entry{}, dirty: map[string]struct{}{}, confirm: map[string]struct{}{}}
}

// noted records what a change of e (of uid) made under the lock calls for:
// a dirty entry joins the dirty set.
func (m *taskMap) noted(uid string, e *entry) {
	if e.dirty {
		m.dirty[uid] = struct{}{}
	}
}

// setReported records that e (of uid) was reported in phase p, keeping the
// digest.
func (m *taskMap) setReported(uid string, e *entry, p v1.Phase) {
	if v1.Digested(e.reported) != v1.Digested(p) {
		m.digest.Toggle(uid, v1.Digested(p))
	}
	e.reported = p
}

// put adds a task or takes a newer generation of one it holds. It reports
// whether the task was new. answering says that the caller, a push, will
// answer with the new task's first status (answer).
func (m *taskMap) put(t *v1.Task, now time.Time, answering bool) (created bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	uid := t.Metadata.UID
	if e, ok := m.entries[uid]; ok {
		if t.Metadata.Generation > e.task.Metadata.Generation {
			e.task, e.specHash = t, t.Spec.Hash() // the sync sees it; decide starts its backoffs afresh
		}
		return false
	}
	e := &entry{task: t, specHash: t.Spec.Hash(), accepted: now, gone: make(chan struct{}), dirty: true, knownRestarts: t.Status.RestartCount,
		answering: answering}
	if answering {
		e.settled = make(chan struct{})
	}
	e.hist.Status = v1.TaskStatus{
		Phase:              v1.PhaseScheduled,
		Reason:             v1.ReasonContainerCreate,
		ObservedGeneration: t.Metadata.Generation,
		RestartCount:       t.Status.RestartCount,
	}
	if t.Status.Phase.Terminal() {
		// The manager saw it finish; do not run it again.
		e.hist.Status = *t.Status.DeepCopy()
	}
	m.entries[uid] = e
	m.noted(uid, e)
	return true
}

// get returns a copy of the task and status of uid.
func (m *taskMap) get(uid string) (task *v1.Task, status v1.TaskStatus, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[uid]
	if !ok {
		return nil, v1.TaskStatus{}, false
	}
	return e.task, *e.hist.Status.DeepCopy(), true
}

// with runs fn on the entry of uid under the lock.
func (m *taskMap) with(uid string, fn func(e *entry)) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[uid]
	if ok {
		fn(e)
		m.noted(uid, e)
	}
	return ok
}

// stop marks uid to be stopped and forgotten and returns the channel that
// closes when it is. ok is false when the worker does not hold uid.
func (m *taskMap) stop(uid string) (gone <-chan struct{}, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[uid]
	if !ok {
		return nil, false
	}
	e.stopping = true
	return e.gone, true
}

// forget removes uid after its container is gone.
func (m *taskMap) forget(uid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[uid]; ok {
		close(e.gone)
		e.settle()
		m.setReported(uid, e, "")
		delete(m.entries, uid)
		delete(m.dirty, uid)
		delete(m.confirm, uid)
	}
}

// uids returns every uid held, sorted.
func (m *taskMap) uids() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.entries))
	for uid := range m.entries {
		out = append(out, uid)
	}
	slices.Sort(out)
	return out
}

// has reports whether uid is held.
func (m *taskMap) has(uid string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.entries[uid]
	return ok
}

// len returns the number of tasks held.
func (m *taskMap) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// reports returns what a report of kind carries: the status of every task
// (reportFull), or of those changed since the last report, with the
// events waiting, clearing their marks; for a heartbeat, the tasks a
// push's answer took since the last one and unchanged since, with the
// phase last reported, for the manager to check (v1.AnsweredTask), or,
// unless byName (the manager does not check them), their statuses again;
// and the digest of the tasks reported Scheduled or Running once these
// reports are taken (v1.TaskDigest).
func (m *taskMap) reports(kind reportKind, byName bool) ([]v1.TaskReport, []v1.AnsweredTask, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]v1.TaskReport, 0)
	var answered []v1.AnsweredTask
	take := func(uid string, e *entry) { out = append(out, m.take(uid, e)) }
	if kind == reportFull {
		for uid, e := range m.entries {
			take(uid, e)
		}
		clear(m.dirty)
		clear(m.confirm)
	} else {
		if kind == reportHeartbeat {
			for uid := range m.confirm {
				e, ok := m.entries[uid]
				switch {
				case !ok, e.dirty: // a changed one goes whole with the dirty ones below
				case byName:
					answered = append(answered, v1.AnsweredTask{UID: uid, Name: e.task.Metadata.Name, Phase: e.reported})
				default:
					take(uid, e)
				}
			}
			clear(m.confirm)
			slices.SortFunc(answered, func(a, b v1.AnsweredTask) int { return strings.Compare(a.Name, b.Name) })
		}
		for uid := range m.dirty {
			e, ok := m.entries[uid]
			if ok && e.answering && !e.told() {
				continue // the push answers with it; it stays dirty
			}
			if ok && e.dirty {
				take(uid, e)
			}
			delete(m.dirty, uid)
		}
	}
	slices.SortFunc(out, func(a, b v1.TaskReport) int { return strings.Compare(a.Name, b.Name) })
	return out, answered, m.digest.String()
}

// confirmAgain puts answered tasks back for the next heartbeat to name
// (the heartbeat that named them failed).
func (m *taskMap) confirmAgain(answered []v1.AnsweredTask) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range answered {
		if _, ok := m.entries[a.UID]; ok {
			m.confirm[a.UID] = struct{}{}
		}
	}
}

// resend marks the given uids to be reported again (the manager does not
// record the status a push's answer carried: StatusReply.Resend); it
// returns how many it holds.
func (m *taskMap) resend(uids []string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, uid := range uids {
		if e, ok := m.entries[uid]; ok {
			e.dirty = true
			m.noted(uid, e)
			n++
		}
	}
	return n
}

// settledChan returns the channel that closes once uid's status is past
// the steps on its way to Running; nil when uid is not held or no push
// waits on it.
func (m *taskMap) settledChan(uid string) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[uid]; ok {
		return e.settled
	}
	return nil
}

// answer takes the first status of uid, with its events, for the answer
// to the push that brought it, as a report would take it; ok is false
// when a report took a status of it first (a full report does not leave
// it to the push), and the reports go on from there. Either way the task
// is no longer left to the push.
func (m *taskMap) answer(uid string) (tr v1.TaskReport, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, held := m.entries[uid]
	if !held {
		return v1.TaskReport{}, false
	}
	e.answering = false
	if e.told() {
		return v1.TaskReport{}, false
	}
	delete(m.dirty, uid)
	m.confirm[uid] = struct{}{}
	return m.take(uid, e), true
}

// take returns the status of e (of uid) with the events waiting, as a
// report or an answer carries them, and records the phase it reports
// (the task is then told).
func (m *taskMap) take(uid string, e *entry) v1.TaskReport {
	tr := v1.TaskReport{
		UID:        uid,
		Name:       e.task.Metadata.Name,
		Generation: e.task.Metadata.Generation,
		Status:     e.hist.Status, // replaced whole, never changed in place (entry)
		Events:     e.events,
	}
	e.dirty, e.events = false, nil
	m.setReported(uid, e, e.hist.Status.Phase)
	return tr
}

// markDirty marks the given uids to be reported again, with their events
// (after a failed report).
func (m *taskMap) markDirty(reps []v1.TaskReport) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range reps {
		if e, ok := m.entries[r.UID]; ok {
			e.dirty = true
			e.events = append(slices.Clip(r.Events), e.events...)
			m.noted(r.UID, e)
		}
	}
}

// clear forgets every task without touching a container: the worker's
// cluster changed, and they belonged to the other one.
func (m *taskMap) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for uid, e := range m.entries {
		close(e.gone)
		delete(m.entries, uid)
	}
	clear(m.dirty)
	clear(m.confirm)
	m.digest = v1.TaskDigest{}
}

// list returns every task with its observed status, sorted by name.
func (m *taskMap) list() []v1.Task {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]v1.Task, 0, len(m.entries))
	for _, e := range m.entries {
		t := *e.task.DeepCopy()
		t.Status = *e.hist.Status.DeepCopy()
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b v1.Task) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	return out
}

// runningContainer is a held task's container that runs, as last
// reported.
type runningContainer struct {
	uid, name, containerID string
}

// running returns the tasks whose reported phase is Running with a
// container, sorted by name.
func (m *taskMap) running() []runningContainer {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []runningContainer
	for uid, e := range m.entries {
		if st := &e.hist.Status; st.Phase == v1.PhaseRunning && st.ContainerID != "" {
			out = append(out, runningContainer{uid: uid, name: e.task.Metadata.Name, containerID: st.ContainerID})
		}
	}
	slices.SortFunc(out, func(a, b runningContainer) int { return strings.Compare(a.name, b.name) })
	return out
}
