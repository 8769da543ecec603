package scheduler

import (
	"maps"
	"slices"
	"strings"
	"sync"

	v1 "github.com/minkube/minkube/apis/v1"
)

// tracker keeps what each worker carries, for placement: the usage of the
// tasks assigned to it, updated from the task cache change by change
// rather than summed again for every placement, and the reservations of
// placements decided but not yet seen in the cache (kube-scheduler's
// assume and forget). It also keeps the round-robin cursor and the tasks
// waiting for a worker, so that a change that could make one of them fit
// names it, and only it. Its methods are safe for concurrent use; the
// caches' handlers call them one change at a time.
//
// A task waits only once a placement found no worker for it: a task the
// scheduler has not looked at yet is in its queue already, and needs no
// naming. So a worker change (a heartbeat of each of 1,000 workers every
// few seconds) costs the tasks that wait for a worker, not the tens of
// thousands that may be queued behind a burst of creates.
type tracker struct {
	mu       sync.Mutex
	cands    []Candidate            // one per known worker, ordered by name
	index    map[string]int         // worker name -> position in cands
	counted  map[string]claim       // task name -> what it adds to its worker's Used
	reserved map[string]claim       // task name -> what it adds to a worker's Reserved
	waiting  map[string]waitingTask // tasks that wait for a worker
	// unassigned holds the tasks the cache shows with no worker and
	// placeable, as it last showed them: those a failed placement makes
	// wait.
	unassigned map[string]*v1.Task
	last       string // the worker of the last placement
}

// claim is what one task takes on one worker.
type claim struct {
	worker     string
	generation int64 // of the spec req was computed from
	req        Request
}

// waitingTask is a task that waits for a worker: it has none, or its new
// spec does not fit the one it has and no other fits it either (moving).
type waitingTask struct {
	task   *v1.Task
	demand demand
	moving bool
	// named is set once the task was named for a look, until it is
	// placed again: a burst of changes names it once.
	named bool
}

func newTracker() *tracker {
	return &tracker{
		index:      map[string]int{},
		counted:    map[string]claim{},
		reserved:   map[string]claim{},
		waiting:    map[string]waitingTask{},
		unassigned: map[string]*v1.Task{},
	}
}

// candidate returns the entry of the named worker, nil when unknown.
func (tr *tracker) candidate(worker string) *Candidate {
	i, ok := tr.index[worker]
	if !ok {
		return nil
	}
	return &tr.cands[i]
}

// taskChanged accounts for a change of the named task to t (nil when it
// is gone). It returns the waiting tasks that could fit on a worker whose
// usage went down.
func (tr *tracker) taskChanged(name string, t *v1.Task) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	old, had := tr.counted[name]
	var now claim
	counts := t != nil && t.Status.Worker != "" && !t.Status.Phase.Terminal()
	if counts {
		now = claim{worker: t.Status.Worker, generation: t.Metadata.Generation}
		if had && old.generation == now.generation {
			now.req = old.req // the spec is the same: no need to parse it again
		} else {
			now.req = RequestOf(t)
		}
	}
	unchanged := had && counts && old.worker == now.worker && old.generation == now.generation
	if !unchanged {
		if had {
			tr.addClaim(old, -1, false)
			delete(tr.counted, name)
		}
		if counts {
			tr.counted[name] = now
			tr.addClaim(now, 1, false)
		}
	}
	// A reservation ends once the cache shows the placement it was made
	// for, or the task is past placing.
	if r, ok := tr.reserved[name]; ok && (t == nil || t.Status.Worker == r.worker || !placeable(t)) {
		tr.addClaim(r, -1, true)
		delete(tr.reserved, name)
	}
	w, wasWaiting := tr.waiting[name]
	if t != nil && placeable(t) && t.Status.Worker == "" {
		tr.unassigned[name] = t
	} else {
		delete(tr.unassigned, name)
	}
	switch {
	case t == nil || !placeable(t):
		delete(tr.waiting, name)
	case t.Status.Worker == "":
		// It waits on if it waited (its own Unschedulable status, or a
		// task moved off its worker); otherwise its change queued it,
		// and the look places it or makes it wait.
		if wasWaiting {
			tr.waiting[name] = waitingTask{task: t, demand: demandOf(t)}
		}
	case wasWaiting && w.moving && t.Metadata.Generation > t.Status.AssignedGeneration():
		tr.waiting[name] = waitingTask{task: t, demand: demandOf(t), moving: true}
	default:
		delete(tr.waiting, name)
	}
	if had && !unchanged {
		return tr.fitNowLocked(old.worker)
	}
	return nil
}

// placeable reports whether t can still be placed: not finished, not
// being deleted.
func placeable(t *v1.Task) bool {
	return !t.Status.Phase.Terminal() && t.Metadata.DeletionTimestamp == nil
}

// addClaim adds (sign 1) or removes (sign -1) c from its worker's Used, or
// Reserved. A worker not known yet gets its usage when it appears.
func (tr *tracker) addClaim(c claim, sign int64, reserved bool) {
	cand := tr.candidate(c.worker)
	if cand == nil {
		return
	}
	if reserved {
		cand.Reserved.add(c.req, sign)
	} else {
		cand.Used.add(c.req, sign)
	}
}

// workerChanged installs the worker's new state (old is nil for a new one)
// and returns the waiting tasks the change could make fit: those that fit
// it now and did not before, or fit both ways but could not reach it
// (its address changed).
func (tr *tracker) workerChanged(old, cur *v1.Worker) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	name := cur.Metadata.Name
	c := tr.candidate(name)
	if c == nil {
		i, _ := slices.BinarySearchFunc(tr.cands, name, func(c Candidate, name string) int {
			return strings.Compare(c.Worker.Metadata.Name, name)
		})
		tr.cands = slices.Insert(tr.cands, i, Candidate{Worker: cur})
		tr.reindex()
		c = &tr.cands[i]
		// Tasks counted before the worker was known.
		for _, cl := range tr.counted {
			if cl.worker == name {
				c.Used.add(cl.req, 1)
			}
		}
		for _, cl := range tr.reserved {
			if cl.worker == name {
				c.Reserved.add(cl.req, 1)
			}
		}
		return tr.fitNowLocked(name)
	}
	c.Worker = cur
	if old == nil {
		return tr.fitNowLocked(name)
	}
	if !placementChanged(old, cur) {
		return nil // a heartbeat: no task fits it now that did not before
	}
	before := *c
	before.Worker = old
	var out []string
	for n, w := range tr.waiting {
		if w.named || (w.moving && w.task.Status.Worker == name) {
			continue
		}
		if fit(&w.demand, c) != "" {
			continue
		}
		if fit(&w.demand, &before) != "" || old.Spec.Address != cur.Spec.Address {
			out = append(out, tr.name(n, w))
		}
	}
	return out
}

// placementChanged reports whether a worker changed in what placement
// reads of it (fit) or in where it is reached; when it did not, every task
// fits it as it did before.
func placementChanged(old, cur *v1.Worker) bool {
	o, c := &old.Status.Stats, &cur.Status.Stats
	return old.Status.Phase != cur.Status.Phase || old.Spec.Unschedulable != cur.Spec.Unschedulable ||
		old.Spec.Address != cur.Spec.Address || !maps.Equal(old.Metadata.Labels, cur.Metadata.Labels) ||
		o.CPUs != c.CPUs || o.MemoryTotal != c.MemoryTotal || o.DiskFree != c.DiskFree
}

// name marks a waiting task named for a look and returns its name.
func (tr *tracker) name(n string, w waitingTask) string {
	w.named = true
	tr.waiting[n] = w
	return n
}

// workerDeleted forgets the worker; the tasks still assigned to it keep
// their claims, which count again if it comes back.
func (tr *tracker) workerDeleted(name string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if i, ok := tr.index[name]; ok {
		tr.cands = slices.Delete(tr.cands, i, i+1)
		tr.reindex()
	}
}

func (tr *tracker) reindex() {
	clear(tr.index)
	for i := range tr.cands {
		tr.index[tr.cands[i].Worker.Metadata.Name] = i
	}
}

// fitNow returns the waiting tasks the named worker can take now.
func (tr *tracker) fitNow(worker string) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.fitNowLocked(worker)
}

func (tr *tracker) fitNowLocked(worker string) []string {
	c := tr.candidate(worker)
	if c == nil {
		return nil
	}
	var out []string
	for n, w := range tr.waiting {
		if w.named || (w.moving && w.task.Status.Worker == worker) {
			continue
		}
		if fit(&w.demand, c) == "" {
			out = append(out, tr.name(n, w))
		}
	}
	return out
}

// place picks a worker for t (placeInTurn: the known workers in turn
// after the last placement), moves the cursor to it and reserves what t
// takes there until the cache shows the assignment or release is called.
// An earlier reservation of t (a placement whose write failed) is dropped
// first, so t never competes with itself. An unassigned task no worker
// fits waits from then on, as the cache last showed it, to be named when
// a change could make it fit.
func (tr *tracker) place(t *v1.Task, refused map[string]string) Placement {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	name := t.Metadata.Name
	if r, ok := tr.reserved[name]; ok {
		tr.addClaim(r, -1, true)
		delete(tr.reserved, name)
	}
	if w, ok := tr.waiting[name]; ok && w.named {
		w.named = false // looked at: the next change may name it again
		tr.waiting[name] = w
	}
	p := placeInTurn(t, tr.cands, tr.last, refused)
	if p.Worker == nil {
		if cur, ok := tr.unassigned[name]; ok {
			tr.waiting[name] = waitingTask{task: cur, demand: demandOf(cur)}
		}
		return p
	}
	tr.last = p.Worker.Metadata.Name
	r := claim{worker: p.Worker.Metadata.Name, generation: t.Metadata.Generation, req: RequestOf(t)}
	tr.reserved[name] = r
	tr.addClaim(r, 1, true)
	return p
}

// placeInTurn is Place over cands ordered by name: it looks at the
// workers in turn, from the first named after last, and stops at the first
// that fits, rather than filter all of them for every task (a thousand fit
// calls a placement on 1,000 workers). It picks what Place picks. When a
// worker is picked, Rejected counts only the workers passed over before
// it; when none fits, it is Place's: every worker, by reason.
func placeInTurn(t *v1.Task, cands []Candidate, last string, refused map[string]string) Placement {
	d := demandOf(t)
	start, _ := slices.BinarySearchFunc(cands, last, func(c Candidate, last string) int {
		if c.Worker.Metadata.Name <= last {
			return -1
		}
		return 1
	})
	p := Placement{Total: len(cands), Rejected: map[string]int{}}
	for k := range cands {
		c := &cands[(start+k)%len(cands)]
		why := fitUnrefused(&d, c, refused)
		if why == "" {
			p.Worker = c.Worker
			return p
		}
		p.Rejected[why]++
	}
	return p
}

// release drops the task's reservation: its placement was not recorded.
// It returns the waiting tasks that could fit where it was.
func (tr *tracker) release(name string) []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	r, ok := tr.reserved[name]
	if !ok {
		return nil
	}
	tr.addClaim(r, -1, true)
	delete(tr.reserved, name)
	return tr.fitNowLocked(r.worker)
}

// fitsOwnWorker says why the worker t is assigned to cannot take t's
// current spec, counting what t itself takes there as free, or "" when it
// can (or the worker is unknown: that is the lifecycle's business).
func (tr *tracker) fitsOwnWorker(t *v1.Task) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	c := tr.candidate(t.Status.Worker)
	if c == nil {
		return ""
	}
	own := *c
	if cl, ok := tr.counted[t.Metadata.Name]; ok && cl.worker == t.Status.Worker {
		own.Used.MilliCPU -= cl.req.MilliCPU
		own.Used.Memory -= cl.req.Memory
		own.Used.Disk -= cl.req.Disk
		if len(cl.req.Ports) > 0 {
			own.Used.Ports = make(map[HostPort]int, len(c.Used.Ports))
			for p, n := range c.Used.Ports {
				own.Used.Ports[p] = n
			}
			for _, p := range cl.req.Ports {
				own.Used.Ports[p]--
			}
		}
	}
	d := demandOf(t)
	return fitSpec(&d, &own)
}

// setMoving records whether t waits to move off its worker because its
// new spec does not fit there and no other worker fits it.
func (tr *tracker) setMoving(t *v1.Task, moving bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	name := t.Metadata.Name
	if !moving {
		if w, ok := tr.waiting[name]; ok && w.moving {
			delete(tr.waiting, name)
		}
		return
	}
	tr.waiting[name] = waitingTask{task: t, demand: demandOf(t), moving: true}
}
