package apiserver

import (
	"strconv"
	"sync"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// ledger keeps, per worker, what a heartbeat needs of the tasks assigned to
// it: how many, the resources of those that hold a place, and the digest
// of those recorded Scheduled or Running (v1.TaskDigest). It follows the
// task cache change by change, so a heartbeat costs the same at 10 tasks
// on the worker as at 10,000 rather than a walk over them. Its methods are
// safe for concurrent use.
type ledger struct {
	mu      sync.Mutex
	entries map[string]ledgerEntry // task name -> what it adds to its worker
	workers map[string]*workerUsage
}

// ledgerEntry is what one task adds to its worker's usage.
type ledgerEntry struct {
	worker, uid    string
	digested       bool
	cpu, mem, disk int64 // zero for a task that has ended
	generation     int64 // of the spec the resources were read from
}

// workerUsage is what a worker's tasks add up to.
type workerUsage struct {
	tasks          int
	cpu, mem, disk int64
	digest         v1.TaskDigest
}

// allocated is the resources of the tasks that hold a place.
func (u workerUsage) allocated() v1.ResourceList {
	return v1.ResourceList{
		v1.ResourceCPU:    strconv.FormatInt(u.cpu, 10) + "m",
		v1.ResourceMemory: v1.FormatQuantity(u.mem),
		v1.ResourceDisk:   v1.FormatQuantity(u.disk),
	}
}

func newLedger() *ledger {
	return &ledger{entries: map[string]ledgerEntry{}, workers: map[string]*workerUsage{}}
}

// follow registers the ledger on the task cache; call it before the cache
// starts.
func (l *ledger) follow(tasks *store.Cache[v1.Task, *v1.Task]) {
	tasks.AddHandler(func(ev store.CacheEvent[*v1.Task]) {
		if ev.Type == v1.Deleted {
			l.taskChanged(ev.New.Metadata.Name, nil)
			return
		}
		l.taskChanged(ev.New.Metadata.Name, ev.New)
	})
}

// taskChanged accounts for the task called name being t now (nil: gone).
func (l *ledger) taskChanged(name string, t *v1.Task) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old, had := l.entries[name]
	if had {
		l.apply(old, -1)
		delete(l.entries, name)
	}
	if t == nil || t.Status.Worker == "" {
		return
	}
	e := ledgerEntry{worker: t.Status.Worker, uid: t.Metadata.UID, digested: v1.Digested(t.Status.Phase), generation: t.Metadata.Generation}
	if !t.Status.Phase.Terminal() {
		if had && old.generation == e.generation && old.uid == e.uid && (old.cpu|old.mem|old.disk) != 0 {
			e.cpu, e.mem, e.disk = old.cpu, old.mem, old.disk // the same spec: no need to parse it again
		} else {
			e.cpu, e.mem, e.disk = t.Spec.Resources.MilliCPU(), t.Spec.Resources.MemoryBytes(), t.Spec.Resources.DiskBytes()
		}
	}
	l.entries[name] = e
	l.apply(e, 1)
}

// apply adds (sign 1) or takes away (sign -1) e from its worker.
func (l *ledger) apply(e ledgerEntry, sign int64) {
	u := l.workers[e.worker]
	if u == nil {
		u = &workerUsage{}
		l.workers[e.worker] = u
	}
	u.tasks += int(sign)
	u.cpu += sign * e.cpu
	u.mem += sign * e.mem
	u.disk += sign * e.disk
	if e.digested {
		u.digest.Toggle(e.uid, sign > 0)
	}
	if u.tasks == 0 {
		delete(l.workers, e.worker)
	}
}

// usage returns what the tasks on worker add up to.
func (l *ledger) usage(worker string) workerUsage {
	l.mu.Lock()
	defer l.mu.Unlock()
	if u := l.workers[worker]; u != nil {
		return *u
	}
	return workerUsage{}
}

// digest returns the digest of the tasks recorded Scheduled or Running on
// worker, with the tasks of the report being answered (recorded: task
// name -> uid and reported phase) counted as the report records them,
// though the cache may not show them yet.
func (l *ledger) digest(worker string, recorded map[string]reportedTask) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d v1.TaskDigest
	if u := l.workers[worker]; u != nil {
		d = u.digest
	}
	for name, r := range recorded {
		if e, ok := l.entries[name]; ok && e.worker == worker && e.digested {
			d.Toggle(e.uid, false)
		}
		if v1.Digested(r.phase) {
			d.Add(r.uid)
		}
	}
	return d.String()
}

// reportedTask is a task of a report the manager records.
type reportedTask struct {
	uid   string
	phase v1.Phase
}
