package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/discovery"
)

// fakeSource is the fake manager's tasks as the DNS zone sees them.
type fakeSource struct{ f *fakeManager }

func (s fakeSource) Task(name string) (*v1.Task, bool) { t, ok := s.f.tasks[name]; return t, ok }
func (s fakeSource) Tasks() []*v1.Task {
	var out []*v1.Task
	for _, t := range s.f.tasks {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *v1.Task) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	return out
}
func (s fakeSource) ServiceTasks(v string) []*v1.Task {
	return slices.DeleteFunc(s.Tasks(), func(t *v1.Task) bool { return t.Metadata.Labels[discovery.ServiceLabel] != v })
}
func (s fakeSource) Worker(string) (*v1.Worker, bool) { return nil, false }
func (s fakeSource) Managers() []discovery.Manager    { return nil }
func (s fakeSource) Serial() uint32                   { return 1 }

// listEndpoints serves GET /api/v1/endpoints with the manager's own rule.
func (f *fakeManager) listEndpoints(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list := discovery.Zone{Domain: "minkube."}.Endpoints(fakeSource{f}, r.URL.Query().Get("service"), r.URL.Query().Get("task"))
	writeJSON(w, http.StatusOK, list)
}

// mustServices adds a service "shop" of two Ready tasks and one Pending,
// and a task with no service.
func mustServices(t *testing.T, m *fakeManager) {
	t.Helper()
	created := time.Now().Add(-time.Hour)
	ready := []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionTrue}}
	for i, name := range []string{"shop-1", "shop-2", "shop-3"} {
		task := v1.Task{
			TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
			Metadata: v1.ObjectMeta{Name: name, Labels: map[string]string{"service": "shop"}, CreationTimestamp: &created},
			Spec:     v1.TaskSpec{Image: "shop:1", Ports: []v1.Port{{Name: "http", ContainerPort: 8080, Protocol: v1.ProtocolTCP}}},
			Status: v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-1", HostIP: "10.0.0.1", Conditions: ready,
				Ports: []v1.PortStatus{{Name: "http", ContainerPort: 8080, HostPort: int32(18081 + i), Protocol: v1.ProtocolTCP}}},
		}
		if i == 2 {
			task.Status = v1.TaskStatus{Phase: v1.PhasePending}
		}
		m.addTask(task)
	}
	m.addTask(v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: "alone", CreationTimestamp: &created},
		Spec:     v1.TaskSpec{Image: "alone:1"},
		Status:   v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-1", HostIP: "10.0.0.1", Conditions: ready},
	})
}

func TestGetEndpoints(t *testing.T) {
	m := mustManager(t)
	mustServices(t, m)
	tests := []struct {
		name string
		args []string
		want [][]string
	}{
		{"table", []string{"get", "endpoints"}, [][]string{
			{"NAME", "DNS", "READY", "ENDPOINTS"},
			{"shop", "shop.svc.minkube.", "2/3", "10.0.0.1:18081,10.0.0.1:18082"},
		}},
		{"wide", []string{"get", "endpoints", "shop", "-o", "wide"}, [][]string{
			{"NAME", "DNS", "READY", "ENDPOINTS", "MEMBERS"},
			{"shop", "shop.svc.minkube.", "2/3", "10.0.0.1:18081,10.0.0.1:18082", "shop-1,shop-2,shop-3"},
		}},
		{"name", []string{"get", "endpoints", "-o", "name"}, [][]string{{"endpoints/shop"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustEnv(t).mustRun(t, args(m, tt.args...)...)
			if got := fields(res.stdout); !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("got %q, want %q (stderr %q)", got, tt.want, res.stderr)
			}
		})
	}

	res := mustEnv(t).mustRun(t, args(m, "get", "endpoints", "shop", "-o", "json")...)
	var ep v1.Endpoints
	if err := json.Unmarshal([]byte(res.stdout), &ep); err != nil || ep.Kind != v1.KindEndpoints || ep.Metadata.Name != "shop" || len(ep.Members) != 3 || !ep.Members[0].Ready || ep.Members[2].Ready {
		t.Errorf("-o json = %s (%v); want the shop Endpoints with members 1, 2 ready and 3 not", res.stdout, err)
	}

	fail := mustEnv(t).mustFail(t, args(m, "get", "endpoints", "cart")...)
	if want := "error: endpoint \"cart\" not found\n"; fail.stderr != want {
		t.Errorf("unknown service: stderr %q, want %q", fail.stderr, want)
	}
	fail = mustEnv(t).mustFail(t, args(m, "get", "endpoints", "-l", "a=b")...)
	if !strings.Contains(fail.stderr, "-l and -w do not apply") {
		t.Errorf("endpoints with -l: stderr %q", fail.stderr)
	}
}

func TestDescribeTask_DNSNames(t *testing.T) {
	m := mustManager(t)
	mustServices(t, m)
	// cellLines is the output with each line's cells joined by one space.
	cellLines := func(out string) string {
		var lines []string
		for _, l := range strings.Split(out, "\n") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		return strings.Join(lines, "\n")
	}
	out := cellLines(mustEnv(t).mustRun(t, args(m, "describe", "task", "shop-1")...).stdout)
	if want := strings.Join([]string{
		"DNS Names: shop-1.task.minkube. -> 10.0.0.1",
		"_http._tcp.shop-1.task.minkube. -> 10.0.0.1:18081",
		"shop.svc.minkube. (service shop: 2 of 3 members ready)",
		"_http._tcp.shop.svc.minkube.",
	}, "\n"); !strings.Contains(out, want) {
		t.Errorf("describe task shop-1 lacks\n%s\nin:\n%s", want, out)
	}
	out = cellLines(mustEnv(t).mustRun(t, args(m, "describe", "task", "shop-3")...).stdout)
	if !strings.Contains(out, "DNS Names: shop-3.task.minkube. (not answering: the task is not Running and Ready)") {
		t.Errorf("describe of a Pending task:\n%s", out)
	}
	out = cellLines(mustEnv(t).mustRun(t, args(m, "describe", "tasks")...).stdout)
	if strings.Count(out, "DNS Names:") != 4 || !strings.Contains(out, "DNS Names: alone.task.minkube. -> 10.0.0.1\n") {
		t.Errorf("describe of every task: want a DNS Names block each:\n%s", out)
	}
}
