package discovery

import (
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	v1 "github.com/minkube/minkube/apis/v1"
)

// fakeSource is a Source over plain maps.
type fakeSource struct {
	tasks   map[string]*v1.Task
	workers map[string]*v1.Worker
	serial  uint32

	mu       sync.Mutex
	managers []Manager
}

func newFakeSource(tasks ...*v1.Task) *fakeSource {
	s := &fakeSource{tasks: map[string]*v1.Task{}, workers: map[string]*v1.Worker{}, serial: 7}
	for _, t := range tasks {
		s.tasks[t.Metadata.Name] = t
	}
	return s
}

func (s *fakeSource) Task(name string) (*v1.Task, bool) { t, ok := s.tasks[name]; return t, ok }
func (s *fakeSource) Tasks() []*v1.Task {
	var out []*v1.Task
	for _, t := range s.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Metadata.Name < out[j].Metadata.Name })
	return out
}
func (s *fakeSource) ServiceTasks(value string) []*v1.Task {
	var out []*v1.Task
	for _, t := range s.Tasks() {
		if t.Metadata.Labels[ServiceLabel] == value {
			out = append(out, t)
		}
	}
	return out
}
func (s *fakeSource) Worker(name string) (*v1.Worker, bool) { w, ok := s.workers[name]; return w, ok }
func (s *fakeSource) Managers() []Manager {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.managers
}

// setManagers changes the managers while a server may be reading them.
func (s *fakeSource) setManagers(ms ...Manager) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.managers = ms
}
func (s *fakeSource) Serial() uint32 { return s.serial }

// taskOpt changes a task built by mustTask.
type taskOpt func(*v1.Task)

// mustTask returns a Running, Ready task on host with the given options.
func mustTask(name, host string, opts ...taskOpt) *v1.Task {
	t := &v1.Task{Metadata: v1.ObjectMeta{Name: name, UID: "uid-" + name}}
	t.Status.Phase = v1.PhaseRunning
	t.Status.HostIP = host
	t.Status.Worker = "w-" + host
	t.Status.Conditions = []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionTrue}}
	for _, o := range opts {
		o(t)
	}
	return t
}

func withService(v string) taskOpt {
	return func(t *v1.Task) {
		if t.Metadata.Labels == nil {
			t.Metadata.Labels = map[string]string{}
		}
		t.Metadata.Labels[ServiceLabel] = v
	}
}

func withPort(name string, proto v1.Protocol, containerPort, hostPort int32) taskOpt {
	return func(t *v1.Task) {
		t.Spec.Ports = append(t.Spec.Ports, v1.Port{Name: name, ContainerPort: containerPort, HostPort: hostPort, Protocol: proto})
		t.Status.Ports = append(t.Status.Ports, v1.PortStatus{Name: name, ContainerPort: containerPort, HostPort: hostPort, Protocol: proto})
	}
}

func withPhase(p v1.Phase) taskOpt { return func(t *v1.Task) { t.Status.Phase = p } }

func notReady(t *v1.Task) {
	t.Status.Conditions = []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionFalse}}
}

func deleting(t *v1.Task) {
	now := time.Now()
	t.Metadata.DeletionTimestamp = &now
}

func mustZone(t testing.TB) Zone {
	t.Helper()
	z, err := NewZone("minkube.", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// rrStrings renders records without TTL-independent noise, sorted.
func rrStrings(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	slices.Sort(out)
	return out
}

func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
