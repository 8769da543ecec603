package discovery

import (
	"net"
	"strconv"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Source is what the zone is built from: the manager's view of the
// cluster. Objects it returns are shared and read-only.
type Source interface {
	// Task returns the Task called name.
	Task(name string) (*v1.Task, bool)
	// ServiceTasks returns the Tasks labelled service: value, ordered by
	// name.
	ServiceTasks(value string) []*v1.Task
	// Tasks returns every Task, ordered by name.
	Tasks() []*v1.Task
	// Worker returns the worker called name.
	Worker(name string) (*v1.Worker, bool)
	// Managers returns the managers that are up.
	Managers() []Manager
	// Serial is the zone's SOA serial: it grows with the store.
	Serial() uint32
}

// Manager is a manager that is up, as the zone lists it.
type Manager struct {
	// Name is the manager's name; NAME.manager.DOMAIN is made from it.
	Name string
	// Address is host:port of its API.
	Address string
}

// Managers lists the managers that are up. With one manager it is a
// StaticManagers; with several sharing etcd, their registry.
type Managers interface {
	Managers() []Manager
}

// StaticManagers is a fixed list of managers.
type StaticManagers []Manager

// Managers implements Managers.
func (s StaticManagers) Managers() []Manager { return s }

// TaskCache is what CacheSource needs of the manager's task cache;
// *store.Cache[v1.Task, *v1.Task] implements it.
type TaskCache interface {
	Get(name string) (*v1.Task, bool)
	List() []*v1.Task
	ByIndex(index, value string) []*v1.Task
	AddIndex(name string, fn func(*v1.Task) []string)
	Revision() int64
}

// WorkerCache is what CacheSource needs of the manager's worker cache;
// *store.Cache[v1.Worker, *v1.Worker] implements it.
type WorkerCache interface {
	Get(name string) (*v1.Worker, bool)
	Revision() int64
}

// IndexService is the task cache index CacheSource adds: tasks by the value
// of their service label.
const IndexService = "discovery.service"

// CacheSource is a Source over the manager's caches: every lookup is a map
// read, so answers follow the caches as changes arrive.
type CacheSource struct {
	tasks    TaskCache
	workers  WorkerCache
	managers Managers
}

var _ Source = (*CacheSource)(nil)

// NewCacheSource returns a Source over the caches and adds IndexService to
// the task cache; call it before the caches start.
func NewCacheSource(tasks TaskCache, workers WorkerCache, managers Managers) *CacheSource {
	tasks.AddIndex(IndexService, func(t *v1.Task) []string {
		if v := t.Metadata.Labels[ServiceLabel]; v != "" {
			return []string{v}
		}
		return nil
	})
	if managers == nil {
		managers = StaticManagers(nil)
	}
	return &CacheSource{tasks: tasks, workers: workers, managers: managers}
}

// Task implements Source.
func (s *CacheSource) Task(name string) (*v1.Task, bool) { return s.tasks.Get(name) }

// ServiceTasks implements Source.
func (s *CacheSource) ServiceTasks(value string) []*v1.Task {
	return s.tasks.ByIndex(IndexService, value)
}

// Tasks implements Source.
func (s *CacheSource) Tasks() []*v1.Task { return s.tasks.List() }

// Worker implements Source.
func (s *CacheSource) Worker(name string) (*v1.Worker, bool) { return s.workers.Get(name) }

// Managers implements Source.
func (s *CacheSource) Managers() []Manager { return s.managers.Managers() }

// Serial implements Source: the sum of the caches' revisions, which grows
// with every change either sees.
func (s *CacheSource) Serial() uint32 {
	return uint32(s.tasks.Revision() + s.workers.Revision())
}

// TaskAddress returns the address DNS gives for t, and whether t answers at
// all: it must be Running and Ready, not being deleted, and its host an IP
// address. It is the one rule of who is in DNS.
func TaskAddress(t *v1.Task) (net.IP, bool) {
	if t == nil || t.Metadata.DeletionTimestamp != nil || t.Status.Phase != v1.PhaseRunning {
		return nil, false
	}
	if c := v1.FindCondition(t.Status.Conditions, v1.TaskReady); c == nil || c.Status != v1.ConditionTrue {
		return nil, false
	}
	ip := net.ParseIP(t.Status.HostIP)
	return ip, ip != nil
}

// hostIP returns the host of a host:port address when it is an IP address
// other than the unspecified one.
func hostIP(addr string) net.IP {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	return ip
}

// hostPort returns the port of a host:port address, 0 when it has none.
func hostPort(addr string) uint16 {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return 0
	}
	return uint16(n)
}
