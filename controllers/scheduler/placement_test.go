package scheduler_test

import (
	"maps"
	"slices"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/controllers/scheduler"
)

const (
	gi = int64(1) << 30
	mi = int64(1) << 20
)

// readyWorker is a Ready, schedulable worker with 2 CPUs, 4Gi of memory
// and 10Gi of free disk; opts change it.
func readyWorker(name string, opts ...func(*v1.Worker)) *v1.Worker {
	w := &v1.Worker{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorker},
		Metadata: v1.ObjectMeta{Name: name, Labels: map[string]string{"disk": "ssd", "zone": "a"}},
		Spec:     v1.WorkerSpec{Address: "127.0.0.1:7071"},
		Status: v1.WorkerStatus{
			Phase: v1.WorkerReady,
			Stats: v1.WorkerStats{CPUs: 2, MemoryTotal: 4 * gi, DiskFree: 10 * gi},
		},
	}
	for _, o := range opts {
		o(w)
	}
	return w
}

func notReady(w *v1.Worker) { w.Status.Phase = v1.WorkerNotReady }
func cordoned(w *v1.Worker) { w.Spec.Unschedulable = true }

func withLabels(labels map[string]string) func(*v1.Worker) {
	return func(w *v1.Worker) { w.Metadata.Labels = labels }
}

func withStats(st v1.WorkerStats) func(*v1.Worker) {
	return func(w *v1.Worker) { w.Status.Stats = st }
}

func placeTask(res v1.Resources, selector map[string]string) *v1.Task {
	return &v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: "web"},
		Spec:     v1.TaskSpec{Image: "nginx:1.27", Resources: res, NodeSelector: selector},
	}
}

// withHostPorts adds ports published on the given host ports (TCP unless
// the protocol is given as "udp:PORT").
func withHostPorts(t *v1.Task, ports ...int32) *v1.Task {
	for i, p := range ports {
		t.Spec.Ports = append(t.Spec.Ports, v1.Port{ContainerPort: 8080 + int32(i), HostPort: p, Protocol: v1.ProtocolTCP})
	}
	return t
}

func udp(t *v1.Task) *v1.Task {
	for i := range t.Spec.Ports {
		t.Spec.Ports[i].Protocol = v1.ProtocolUDP
	}
	return t
}

func ports(ps ...scheduler.HostPort) map[scheduler.HostPort]int {
	out := map[scheduler.HostPort]int{}
	for _, p := range ps {
		out[p]++
	}
	return out
}

func tcp(port int32) scheduler.HostPort {
	return scheduler.HostPort{Port: port, Protocol: v1.ProtocolTCP}
}

func TestFit(t *testing.T) {
	tests := []struct {
		name     string
		task     *v1.Task
		worker   *v1.Worker
		used     scheduler.Usage
		want     string
		reserved scheduler.Usage
	}{
		{"ready worker, no requests", placeTask(v1.Resources{}, nil), readyWorker("w1"), scheduler.Usage{}, "", scheduler.Usage{}},
		{"not ready", placeTask(v1.Resources{}, nil), readyWorker("w1", notReady), scheduler.Usage{}, "not ready", scheduler.Usage{}},
		{"no phase yet", placeTask(v1.Resources{}, nil), readyWorker("w1", func(w *v1.Worker) { w.Status.Phase = "" }), scheduler.Usage{}, "not ready", scheduler.Usage{}},
		{"not ready wins over cordoned", placeTask(v1.Resources{}, nil), readyWorker("w1", notReady, cordoned), scheduler.Usage{}, "not ready", scheduler.Usage{}},
		{"cordoned", placeTask(v1.Resources{}, nil), readyWorker("w1", cordoned), scheduler.Usage{}, "cordoned", scheduler.Usage{}},
		{"nodeSelector matches", placeTask(v1.Resources{}, map[string]string{"disk": "ssd", "zone": "a"}), readyWorker("w1"), scheduler.Usage{}, "", scheduler.Usage{}},
		{"nodeSelector value differs", placeTask(v1.Resources{}, map[string]string{"disk": "hdd"}), readyWorker("w1"), scheduler.Usage{}, "does not match nodeSelector", scheduler.Usage{}},
		{"nodeSelector key missing", placeTask(v1.Resources{}, map[string]string{"gpu": "yes"}), readyWorker("w1"), scheduler.Usage{}, "does not match nodeSelector", scheduler.Usage{}},
		{"nodeSelector on a worker without labels", placeTask(v1.Resources{}, map[string]string{"disk": "ssd"}), readyWorker("w1", withLabels(nil)), scheduler.Usage{}, "does not match nodeSelector", scheduler.Usage{}},
		{"nodeSelector with empty value needs the key", placeTask(v1.Resources{}, map[string]string{"gpu": ""}), readyWorker("w1"), scheduler.Usage{}, "does not match nodeSelector", scheduler.Usage{}},
		{"cpu fits exactly", placeTask(v1.Resources{CPU: "500m"}, nil), readyWorker("w1"), scheduler.Usage{MilliCPU: 1500}, "", scheduler.Usage{}},
		{"cpu over", placeTask(v1.Resources{CPU: "600m"}, nil), readyWorker("w1"), scheduler.Usage{MilliCPU: 1500}, "insufficient cpu", scheduler.Usage{}},
		{"cpu over on an empty worker", placeTask(v1.Resources{CPU: "3"}, nil), readyWorker("w1"), scheduler.Usage{}, "insufficient cpu", scheduler.Usage{}},
		{"cpu count unknown", placeTask(v1.Resources{CPU: "64"}, nil), readyWorker("w1", withStats(v1.WorkerStats{MemoryTotal: 4 * gi, DiskFree: 10 * gi})), scheduler.Usage{}, "", scheduler.Usage{}},
		{"memory fits exactly", placeTask(v1.Resources{Memory: "1Gi"}, nil), readyWorker("w1"), scheduler.Usage{Memory: 3 * gi}, "", scheduler.Usage{}},
		{"memory over", placeTask(v1.Resources{Memory: "1Gi"}, nil), readyWorker("w1"), scheduler.Usage{Memory: 3*gi + 1}, "insufficient memory", scheduler.Usage{}},
		{"memory total unknown", placeTask(v1.Resources{Memory: "512Gi"}, nil), readyWorker("w1", withStats(v1.WorkerStats{CPUs: 2, DiskFree: 10 * gi})), scheduler.Usage{}, "", scheduler.Usage{}},
		{"disk fits exactly", placeTask(v1.Resources{Disk: "1Gi"}, nil), readyWorker("w1"), scheduler.Usage{Disk: 9 * gi}, "", scheduler.Usage{}},
		{"disk over", placeTask(v1.Resources{Disk: "600Mi"}, nil), readyWorker("w1", withStats(v1.WorkerStats{CPUs: 2, MemoryTotal: 4 * gi, DiskFree: gi})), scheduler.Usage{Disk: 512 * mi}, "insufficient disk", scheduler.Usage{}},
		{"disk asked, none free", placeTask(v1.Resources{Disk: "1Mi"}, nil), readyWorker("w1", withStats(v1.WorkerStats{CPUs: 2, MemoryTotal: 4 * gi})), scheduler.Usage{}, "insufficient disk", scheduler.Usage{}},
		{"no disk asked, none free", placeTask(v1.Resources{}, nil), readyWorker("w1", withStats(v1.WorkerStats{})), scheduler.Usage{}, "", scheduler.Usage{}},
		{"cpu checked before disk", placeTask(v1.Resources{CPU: "4", Disk: "100Gi"}, nil), readyWorker("w1"), scheduler.Usage{}, "insufficient cpu", scheduler.Usage{}},
		{"nodeSelector checked before resources", placeTask(v1.Resources{CPU: "4"}, map[string]string{"disk": "hdd"}), readyWorker("w1"), scheduler.Usage{}, "does not match nodeSelector", scheduler.Usage{}},

		// Reservations: placements decided but not recorded yet count.
		{"cpu reserved", placeTask(v1.Resources{CPU: "1"}, nil), readyWorker("w1"), scheduler.Usage{MilliCPU: 1000}, "insufficient cpu", scheduler.Usage{MilliCPU: 1000}},
		{"cpu reserved, room left", placeTask(v1.Resources{CPU: "500m"}, nil), readyWorker("w1"), scheduler.Usage{MilliCPU: 500}, "", scheduler.Usage{MilliCPU: 1000}},
		{"memory reserved", placeTask(v1.Resources{Memory: "2Gi"}, nil), readyWorker("w1"), scheduler.Usage{Memory: gi}, "insufficient memory", scheduler.Usage{Memory: 2 * gi}},
		{"disk reserved", placeTask(v1.Resources{Disk: "5Gi"}, nil), readyWorker("w1"), scheduler.Usage{}, "insufficient disk", scheduler.Usage{Disk: 6 * gi}},

		// Host ports.
		{"host port free", withHostPorts(placeTask(v1.Resources{}, nil), 18080), readyWorker("w1"), scheduler.Usage{Ports: ports(tcp(18081))}, "", scheduler.Usage{}},
		{"host port in use", withHostPorts(placeTask(v1.Resources{}, nil), 18080), readyWorker("w1"), scheduler.Usage{Ports: ports(tcp(18080))}, "host port 18080/TCP in use", scheduler.Usage{}},
		{"host port reserved", withHostPorts(placeTask(v1.Resources{}, nil), 18080), readyWorker("w1"), scheduler.Usage{}, "host port 18080/TCP in use", scheduler.Usage{Ports: ports(tcp(18080))}},
		{"second host port in use", withHostPorts(placeTask(v1.Resources{}, nil), 18080, 18443), readyWorker("w1"), scheduler.Usage{Ports: ports(tcp(18443))}, "host port 18443/TCP in use", scheduler.Usage{}},
		{"same port, other protocol", udp(withHostPorts(placeTask(v1.Resources{}, nil), 5353)), readyWorker("w1"), scheduler.Usage{Ports: ports(tcp(5353))}, "", scheduler.Usage{}},
		{"ports without a host port take none", func() *v1.Task {
			t := placeTask(v1.Resources{}, nil)
			t.Spec.Ports = []v1.Port{{ContainerPort: 8080}}
			return t
		}(), readyWorker("w1"), scheduler.Usage{Ports: ports(tcp(8080))}, "", scheduler.Usage{}},
		{"resources checked before ports", withHostPorts(placeTask(v1.Resources{CPU: "3"}, nil), 18080), readyWorker("w1"), scheduler.Usage{Ports: ports(tcp(18080))}, "insufficient cpu", scheduler.Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scheduler.Fit(tt.task, scheduler.Candidate{Worker: tt.worker, Used: tt.used, Reserved: tt.reserved})
			if got != tt.want {
				t.Errorf("Fit = %q, want %q", got, tt.want)
			}
		})
	}
}

func cands(ws ...*v1.Worker) []scheduler.Candidate {
	out := make([]scheduler.Candidate, 0, len(ws))
	for _, w := range ws {
		out = append(out, scheduler.Candidate{Worker: w})
	}
	return out
}

// used sets what the named candidate's tasks take and what is reserved on
// it.
func used(cs []scheduler.Candidate, name string, u, reserved scheduler.Usage) []scheduler.Candidate {
	for i := range cs {
		if cs[i].Worker.Metadata.Name == name {
			cs[i].Used, cs[i].Reserved = u, reserved
		}
	}
	return cs
}

func pickName(p scheduler.Placement) string {
	if p.Worker == nil {
		return ""
	}
	return p.Worker.Metadata.Name
}

// TestPlace is placement as a table: filter the workers that fit (with
// what is used and reserved on each, and those that refused the task a
// moment ago), rank them round-robin after the last placement, pick the
// first.
func TestPlace(t *testing.T) {
	// Given out of name order on purpose: Place ranks by name.
	abc := func() []scheduler.Candidate { return cands(readyWorker("w-c"), readyWorker("w-a"), readyWorker("w-b")) }
	cpu1 := placeTask(v1.Resources{CPU: "1"}, nil)
	tests := []struct {
		name         string
		task         *v1.Task
		cands        []scheduler.Candidate
		last         string
		refused      map[string]string
		want         string
		wantRejected map[string]int
	}{
		{"no last starts at the first name", placeTask(v1.Resources{}, nil), abc(), "", nil, "w-a", map[string]int{}},
		{"after the first", placeTask(v1.Resources{}, nil), abc(), "w-a", nil, "w-b", map[string]int{}},
		{"after the middle", placeTask(v1.Resources{}, nil), abc(), "w-b", nil, "w-c", map[string]int{}},
		{"after the last wraps", placeTask(v1.Resources{}, nil), abc(), "w-c", nil, "w-a", map[string]int{}},
		{"unknown last starts at the next name", placeTask(v1.Resources{}, nil), abc(), "w-bb", nil, "w-c", map[string]int{}},
		{"unknown last after every name wraps", placeTask(v1.Resources{}, nil), abc(), "zzz", nil, "w-a", map[string]int{}},
		{
			"last that no longer fits",
			placeTask(v1.Resources{}, nil),
			cands(readyWorker("w-a"), readyWorker("w-b", cordoned), readyWorker("w-c")),
			"w-b", nil, "w-c",
			map[string]int{"cordoned": 1},
		},
		{
			"the next in turn is full: the one after it",
			cpu1,
			used(abc(), "w-b", scheduler.Usage{MilliCPU: 1500}, scheduler.Usage{}),
			"w-a", nil, "w-c",
			map[string]int{"insufficient cpu": 1},
		},
		{
			"reserved by a placement not recorded yet",
			cpu1,
			used(abc(), "w-b", scheduler.Usage{MilliCPU: 1000}, scheduler.Usage{MilliCPU: 1000}),
			"w-a", nil, "w-c",
			map[string]int{"insufficient cpu": 1},
		},
		{
			"everything used or reserved",
			cpu1,
			used(used(used(abc(), "w-a", scheduler.Usage{MilliCPU: 2000}, scheduler.Usage{}),
				"w-b", scheduler.Usage{}, scheduler.Usage{MilliCPU: 2000}),
				"w-c", scheduler.Usage{MilliCPU: 1000}, scheduler.Usage{MilliCPU: 500}),
			"", nil, "",
			map[string]int{"insufficient cpu": 3},
		},
		{
			"host port taken on one worker",
			withHostPorts(placeTask(v1.Resources{}, nil), 18080),
			used(cands(readyWorker("w-a"), readyWorker("w-b")), "w-a", scheduler.Usage{Ports: ports(tcp(18080))}, scheduler.Usage{}),
			"", nil, "w-b",
			map[string]int{"host port 18080/TCP in use": 1},
		},
		{
			"host port taken everywhere",
			withHostPorts(placeTask(v1.Resources{}, nil), 18080),
			used(used(cands(readyWorker("w-a"), readyWorker("w-b")),
				"w-a", scheduler.Usage{Ports: ports(tcp(18080))}, scheduler.Usage{}),
				"w-b", scheduler.Usage{}, scheduler.Usage{Ports: ports(tcp(18080))}),
			"", nil, "",
			map[string]int{"host port 18080/TCP in use": 2},
		},
		{
			"a worker that refused is passed over; the cursor stays",
			placeTask(v1.Resources{}, nil), abc(), "w-a",
			map[string]string{"w-b": "insufficient disk"},
			"w-c",
			map[string]int{"refused: insufficient disk": 1},
		},
		{
			"every worker refused",
			placeTask(v1.Resources{}, nil), abc(), "",
			map[string]string{"w-a": "unreachable", "w-b": "unreachable", "w-c": "not ready"},
			"",
			map[string]int{"refused: unreachable": 2, "refused: not ready": 1},
		},
		{
			"a refusing worker that does not fit counts as not fitting",
			placeTask(v1.Resources{}, nil), cands(readyWorker("w-a", notReady), readyWorker("w-b")), "",
			map[string]string{"w-a": "unreachable"},
			"w-b",
			map[string]int{"not ready": 1},
		},
		{
			"filters and counts every reason",
			placeTask(v1.Resources{Disk: "5Gi"}, map[string]string{"disk": "ssd"}),
			cands(
				readyWorker("w-1", withStats(v1.WorkerStats{DiskFree: gi})),
				readyWorker("w-2", withLabels(map[string]string{"disk": "hdd"})),
				readyWorker("w-3"),
				readyWorker("w-4", notReady),
				readyWorker("w-5", withStats(v1.WorkerStats{DiskFree: 2 * gi})),
				readyWorker("w-6"),
			),
			"w-3", nil, "w-6",
			map[string]int{"insufficient disk": 2, "does not match nodeSelector": 1, "not ready": 1},
		},
		{"none fit", placeTask(v1.Resources{}, nil), cands(readyWorker("w-a", notReady), readyWorker("w-b", cordoned)), "", nil, "", map[string]int{"not ready": 1, "cordoned": 1}},
		{"no workers", placeTask(v1.Resources{}, nil), nil, "w-a", nil, "", map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := scheduler.Place(tt.task, tt.cands, tt.last, tt.refused)
			if got := pickName(p); got != tt.want {
				t.Errorf("picked %q, want %q", got, tt.want)
			}
			if !maps.Equal(p.Rejected, tt.wantRejected) {
				t.Errorf("Rejected = %v, want %v", p.Rejected, tt.wantRejected)
			}
			if p.Total != len(tt.cands) {
				t.Errorf("Total = %d, want %d", p.Total, len(tt.cands))
			}
		})
	}
}

// TestPlace_RoundRobin places tasks one after another, each after the
// worker of the previous placement, as the controller does, and checks
// that every worker gets its turn.
func TestPlace_RoundRobin(t *testing.T) {
	cs := cands(readyWorker("w3"), readyWorker("w1"), readyWorker("w2"))
	last := ""
	var got []string
	for range 7 {
		p := scheduler.Place(placeTask(v1.Resources{}, nil), cs, last, nil)
		if p.Worker == nil {
			t.Fatal("no worker fits")
		}
		last = p.Worker.Metadata.Name
		got = append(got, last)
	}
	want := []string{"w1", "w2", "w3", "w1", "w2", "w3", "w1"}
	if !slices.Equal(got, want) {
		t.Errorf("placements = %v, want %v", got, want)
	}
}

// TestPlace_KeepsInput checks that Place neither reorders nor changes the
// candidates it is given.
func TestPlace_KeepsInput(t *testing.T) {
	cs := cands(readyWorker("w3"), readyWorker("w1"), readyWorker("w2"))
	cs[0].Used = scheduler.Usage{MilliCPU: 500, Ports: ports(tcp(80))}
	before := make([]string, 0, len(cs))
	for _, c := range cs {
		before = append(before, c.Worker.Metadata.Name)
	}
	scheduler.Place(withHostPorts(placeTask(v1.Resources{CPU: "1"}, nil), 80), cs, "w1", map[string]string{"w2": "unreachable"})
	after := make([]string, 0, len(cs))
	for _, c := range cs {
		after = append(after, c.Worker.Metadata.Name)
	}
	if !slices.Equal(before, after) {
		t.Errorf("candidates = %v after Place, want %v", after, before)
	}
	if cs[0].Used.MilliCPU != 500 || !maps.Equal(cs[0].Used.Ports, ports(tcp(80))) || cs[0].Reserved.MilliCPU != 0 {
		t.Errorf("usage changed by Place: %+v", cs[0])
	}
}

func TestMessage(t *testing.T) {
	tests := []struct {
		name     string
		total    int
		rejected map[string]int
		want     string
	}{
		{"no workers", 0, map[string]int{}, "no workers are registered"},
		{"no workers, nil map", 0, nil, "no workers are registered"},
		{
			"most common reason first",
			3,
			map[string]int{"does not match nodeSelector": 1, "insufficient disk": 2},
			"0/3 workers fit: 2 insufficient disk, 1 does not match nodeSelector",
		},
		{
			"ties in name order",
			4,
			map[string]int{"refused: insufficient disk": 1, "not ready": 1, "cordoned": 1, "insufficient cpu": 1},
			"0/4 workers fit: 1 cordoned, 1 insufficient cpu, 1 not ready, 1 refused: insufficient disk",
		},
		{"one reason", 5, map[string]int{"not ready": 5}, "0/5 workers fit: 5 not ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scheduler.Message(tt.total, tt.rejected); got != tt.want {
				t.Errorf("Message = %q, want %q", got, tt.want)
			}
		})
	}
}
