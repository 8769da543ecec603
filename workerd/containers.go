package workerd

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/minkube/minkube/workerd/runtime"
)

// containerCache is the worker's view of the containers that carry its
// name, after kubelet's PLEG: one list of the engine per period for the
// whole worker is compared with the last, and the event stream marks a
// container the moment it changes. A changed container is marked stale;
// its task's sync inspects it (the only per-container call) before it
// decides. It also holds whether the runtime answers, from the last list.
type containerCache struct {
	mu   sync.Mutex
	byID map[string]*cachedContainer
	// byTask indexes byID by the task uid label, so that a task's sync
	// looks at its own containers, not at every container of the worker.
	byTask map[string]map[string]*cachedContainer
	// lists counts the lists begun; a container marked since the list
	// in hand began may be missing from it and is kept.
	lists uint64
	// synced is true once a list has succeeded since start or since the
	// runtime came back; decisions wait for it.
	synced bool
	// down is why the last list failed; "" when it succeeded.
	down      string
	downSince time.Time
}

// cachedContainer is one container: its labels from the list or an
// event, and what its last inspect said.
type cachedContainer struct {
	labels map[string]string
	status string // the engine's word at the last list
	c      observed
	stale  bool // changed since the last inspect, or never inspected
	// touched is the number of lists begun when an event, an action or
	// an inspect last spoke of it: a list begun before that may miss it.
	touched uint64
}

func newContainerCache() *containerCache {
	return &containerCache{byID: map[string]*cachedContainer{}, byTask: map[string]map[string]*cachedContainer{},
		down: "the container runtime has not been listed yet"}
}

// add holds a new container, with its labels (nil: none known yet).
func (cc *containerCache) add(id string, labels map[string]string) *cachedContainer {
	e := &cachedContainer{}
	cc.byID[id] = e
	cc.setLabels(id, e, labels)
	return e
}

// setLabels gives e (of id) labels, keeping the index by task.
func (cc *containerCache) setLabels(id string, e *cachedContainer, labels map[string]string) {
	if old, cur := e.labels[runtime.LabelTaskUID], labels[runtime.LabelTaskUID]; old != cur {
		cc.unindex(id, e)
		if cur != "" {
			set := cc.byTask[cur]
			if set == nil {
				set = map[string]*cachedContainer{}
				cc.byTask[cur] = set
			}
			set[id] = e
		}
	}
	e.labels = labels
}

func (cc *containerCache) unindex(id string, e *cachedContainer) {
	if uid := e.labels[runtime.LabelTaskUID]; uid != "" {
		delete(cc.byTask[uid], id)
		if len(cc.byTask[uid]) == 0 {
			delete(cc.byTask, uid)
		}
	}
}

// drop forgets the container id.
func (cc *containerCache) drop(id string) {
	if e, ok := cc.byID[id]; ok {
		cc.unindex(id, e)
		delete(cc.byID, id)
	}
}

// beginList says a list of the runtime begins, and returns its number for
// relisted.
func (cc *containerCache) beginList() uint64 {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.lists++
	return cc.lists
}

// relisted records a successful list, number n: new containers and those
// whose state word changed are marked stale, those gone are dropped (but
// not one touched since the list began: it may have been made meanwhile).
// After an outage every container is marked stale: nothing seen before it
// is trusted. It returns the task uids whose containers changed, and
// whether the runtime was unreachable until now.
func (cc *containerCache) relisted(n uint64, list []runtime.Summary) (changed map[string]bool, cameBack bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	changed = map[string]bool{}
	cameBack = cc.down != ""
	fresh := !cc.synced
	seen := make(map[string]bool, len(list))
	for _, s := range list {
		seen[s.ID] = true
		e, ok := cc.byID[s.ID]
		if !ok {
			e = cc.add(s.ID, s.Labels)
		}
		if !ok || fresh || e.status != s.Status {
			e.stale, e.touched = true, n
			changed[s.Labels[runtime.LabelTaskUID]] = true
		}
		cc.setLabels(s.ID, e, s.Labels)
		e.status = s.Status
	}
	for id, e := range cc.byID {
		if !seen[id] && e.touched < n {
			changed[e.labels[runtime.LabelTaskUID]] = true
			cc.drop(id)
		}
	}
	cc.synced, cc.down, cc.downSince = true, "", time.Time{}
	delete(changed, "")
	return changed, cameBack
}

// failed records a failed list: the runtime is unreachable. It reports
// whether it was reachable until now.
func (cc *containerCache) failed(why string, now time.Time) (wasUp bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	wasUp = cc.down == ""
	if wasUp || cc.downSince.IsZero() {
		cc.downSince = now
	}
	cc.synced, cc.down = false, why
	return wasUp
}

// runtimeDown returns why the runtime is unreachable and since when; ""
// when the last list succeeded.
func (cc *containerCache) runtimeDown() (string, time.Time) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.down, cc.downSince
}

// changed marks a container stale, as an event or an action reports, with
// the labels it carries (nil keeps those known).
func (cc *containerCache) changed(id string, labels map[string]string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.byID[id]
	if !ok {
		e = cc.add(id, nil)
	}
	if labels != nil {
		cc.setLabels(id, e, labels)
	}
	e.stale, e.touched = true, cc.lists
}

// inspected records what an inspect of a stale container said.
func (cc *containerCache) inspected(c observed) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.byID[c.ID]
	if !ok {
		e = cc.add(c.ID, nil)
	}
	cc.setLabels(c.ID, e, c.Labels)
	e.status, e.c, e.stale, e.touched = c.State.Status, c, false, cc.lists
}

// gone drops a container that no longer exists.
func (cc *containerCache) gone(id string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.drop(id)
}

// ofTask returns the containers of uid that own accepts: those inspected
// (oldest start first), and the IDs of those stale.
func (cc *containerCache) ofTask(uid string, own func(labels map[string]string) bool) (fresh []observed, stale []string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for id, e := range cc.byTask[uid] {
		if !own(e.labels) {
			continue
		}
		if e.stale {
			stale = append(stale, id)
		} else {
			fresh = append(fresh, e.c)
		}
	}
	slices.SortFunc(fresh, func(a, b observed) int { return a.State.StartedAt.Compare(b.State.StartedAt) })
	slices.Sort(stale)
	return fresh, stale
}

// uids returns the task uids of every container own accepts.
func (cc *containerCache) uids(own func(labels map[string]string) bool) map[string]map[string]string {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	out := map[string]map[string]string{}
	for _, e := range cc.byID {
		if uid := e.labels[runtime.LabelTaskUID]; uid != "" && own(e.labels) {
			out[uid] = maps.Clone(e.labels)
		}
	}
	return out
}

// reset forgets every container: the cluster changed, and what was ours
// is not.
func (cc *containerCache) reset() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	clear(cc.byID)
	cc.synced = false
	if cc.down == "" {
		cc.down, cc.downSince = "the container runtime has not been listed yet", time.Time{}
	}
}
