package scheduler_test

import (
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

func TestFit(t *testing.T) {
	tests := []struct {
		name   string
		task   *v1.Task
		worker *v1.Worker
		used   scheduler.Usage
		want   string
	}{
		{"ready worker, no requests", placeTask(v1.Resources{}, nil), readyWorker("w1"), scheduler.Usage{}, ""},
		{"not ready", placeTask(v1.Resources{}, nil), readyWorker("w1", notReady), scheduler.Usage{}, "not ready"},
		{"no phase yet", placeTask(v1.Resources{}, nil), readyWorker("w1", func(w *v1.Worker) { w.Status.Phase = "" }), scheduler.Usage{}, "not ready"},
		{"not ready wins over cordoned", placeTask(v1.Resources{}, nil), readyWorker("w1", notReady, cordoned), scheduler.Usage{}, "not ready"},
		{"cordoned", placeTask(v1.Resources{}, nil), readyWorker("w1", cordoned), scheduler.Usage{}, "cordoned"},
		{"nodeSelector matches", placeTask(v1.Resources{}, map[string]string{"disk": "ssd", "zone": "a"}), readyWorker("w1"), scheduler.Usage{}, ""},
		{"nodeSelector value differs", placeTask(v1.Resources{}, map[string]string{"disk": "hdd"}), readyWorker("w1"), scheduler.Usage{}, "does not match nodeSelector"},
		{"nodeSelector key missing", placeTask(v1.Resources{}, map[string]string{"gpu": "yes"}), readyWorker("w1"), scheduler.Usage{}, "does not match nodeSelector"},
		{"nodeSelector on a worker without labels", placeTask(v1.Resources{}, map[string]string{"disk": "ssd"}), readyWorker("w1", withLabels(nil)), scheduler.Usage{}, "does not match nodeSelector"},
		{"nodeSelector with empty value needs the key", placeTask(v1.Resources{}, map[string]string{"gpu": ""}), readyWorker("w1"), scheduler.Usage{}, "does not match nodeSelector"},
		{"cpu fits exactly", placeTask(v1.Resources{CPU: "500m"}, nil), readyWorker("w1"), scheduler.Usage{MilliCPU: 1500}, ""},
		{"cpu over", placeTask(v1.Resources{CPU: "600m"}, nil), readyWorker("w1"), scheduler.Usage{MilliCPU: 1500}, "insufficient cpu"},
		{"cpu over on an empty worker", placeTask(v1.Resources{CPU: "3"}, nil), readyWorker("w1"), scheduler.Usage{}, "insufficient cpu"},
		{"cpu count unknown", placeTask(v1.Resources{CPU: "64"}, nil), readyWorker("w1", withStats(v1.WorkerStats{MemoryTotal: 4 * gi, DiskFree: 10 * gi})), scheduler.Usage{}, ""},
		{"memory fits exactly", placeTask(v1.Resources{Memory: "1Gi"}, nil), readyWorker("w1"), scheduler.Usage{Memory: 3 * gi}, ""},
		{"memory over", placeTask(v1.Resources{Memory: "1Gi"}, nil), readyWorker("w1"), scheduler.Usage{Memory: 3*gi + 1}, "insufficient memory"},
		{"memory total unknown", placeTask(v1.Resources{Memory: "512Gi"}, nil), readyWorker("w1", withStats(v1.WorkerStats{CPUs: 2, DiskFree: 10 * gi})), scheduler.Usage{}, ""},
		{"disk fits exactly", placeTask(v1.Resources{Disk: "1Gi"}, nil), readyWorker("w1"), scheduler.Usage{Disk: 9 * gi}, ""},
		{"disk over", placeTask(v1.Resources{Disk: "600Mi"}, nil), readyWorker("w1", withStats(v1.WorkerStats{CPUs: 2, MemoryTotal: 4 * gi, DiskFree: gi})), scheduler.Usage{Disk: 512 * mi}, "insufficient disk"},
		{"disk asked, none free", placeTask(v1.Resources{Disk: "1Mi"}, nil), readyWorker("w1", withStats(v1.WorkerStats{CPUs: 2, MemoryTotal: 4 * gi})), scheduler.Usage{}, "insufficient disk"},
		{"no disk asked, none free", placeTask(v1.Resources{}, nil), readyWorker("w1", withStats(v1.WorkerStats{})), scheduler.Usage{}, ""},
		{"cpu checked before disk", placeTask(v1.Resources{CPU: "4", Disk: "100Gi"}, nil), readyWorker("w1"), scheduler.Usage{}, "insufficient cpu"},
		{"nodeSelector checked before resources", placeTask(v1.Resources{CPU: "4"}, map[string]string{"disk": "hdd"}), readyWorker("w1"), scheduler.Usage{}, "does not match nodeSelector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scheduler.Fit(tt.task, scheduler.Candidate{Worker: tt.worker, Used: tt.used})
			if got != tt.want {
				t.Errorf("Fit = %q, want %q", got, tt.want)
			}
		})
	}
}

func names(ws []*v1.Worker) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.Metadata.Name)
	}
	return out
}

func cands(ws ...*v1.Worker) []scheduler.Candidate {
	out := make([]scheduler.Candidate, 0, len(ws))
	for _, w := range ws {
		out = append(out, scheduler.Candidate{Worker: w})
	}
	return out
}

func TestPlace(t *testing.T) {
	// Given out of name order on purpose: Place orders by name.
	abc := cands(readyWorker("w-c"), readyWorker("w-a"), readyWorker("w-b"))
	tests := []struct {
		name         string
		task         *v1.Task
		cands        []scheduler.Candidate
		last         string
		wantOrder    []string
		wantRejected map[string]int
	}{
		{"no last starts at the first name", placeTask(v1.Resources{}, nil), abc, "", []string{"w-a", "w-b", "w-c"}, map[string]int{}},
		{"after the first", placeTask(v1.Resources{}, nil), abc, "w-a", []string{"w-b", "w-c", "w-a"}, map[string]int{}},
		{"after the middle", placeTask(v1.Resources{}, nil), abc, "w-b", []string{"w-c", "w-a", "w-b"}, map[string]int{}},
		{"after the last wraps", placeTask(v1.Resources{}, nil), abc, "w-c", []string{"w-a", "w-b", "w-c"}, map[string]int{}},
		{"unknown last starts at the next name", placeTask(v1.Resources{}, nil), abc, "w-bb", []string{"w-c", "w-a", "w-b"}, map[string]int{}},
		{"unknown last after every name wraps", placeTask(v1.Resources{}, nil), abc, "zzz", []string{"w-a", "w-b", "w-c"}, map[string]int{}},
		{
			"last that no longer fits",
			placeTask(v1.Resources{}, nil),
			cands(readyWorker("w-a"), readyWorker("w-b", cordoned), readyWorker("w-c")),
			"w-b",
			[]string{"w-c", "w-a"},
			map[string]int{"cordoned": 1},
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
			"w-3",
			[]string{"w-6", "w-3"},
			map[string]int{"insufficient disk": 2, "does not match nodeSelector": 1, "not ready": 1},
		},
		{"none fit", placeTask(v1.Resources{}, nil), cands(readyWorker("w-a", notReady), readyWorker("w-b", cordoned)), "", []string{}, map[string]int{"not ready": 1, "cordoned": 1}},
		{"no workers", placeTask(v1.Resources{}, nil), nil, "w-a", []string{}, map[string]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := scheduler.Place(tt.task, tt.cands, tt.last)
			if got := names(p.Order); !slices.Equal(got, tt.wantOrder) {
				t.Errorf("Order = %v, want %v", got, tt.wantOrder)
			}
			if len(p.Rejected) != len(tt.wantRejected) {
				t.Errorf("Rejected = %v, want %v", p.Rejected, tt.wantRejected)
			}
			for why, n := range tt.wantRejected {
				if p.Rejected[why] != n {
					t.Errorf("Rejected[%q] = %d, want %d (all: %v)", why, p.Rejected[why], n, p.Rejected)
				}
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
		p := scheduler.Place(placeTask(v1.Resources{}, nil), cs, last)
		if len(p.Order) == 0 {
			t.Fatal("no worker fits")
		}
		last = p.Order[0].Metadata.Name
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
	before := make([]string, 0, len(cs))
	for _, c := range cs {
		before = append(before, c.Worker.Metadata.Name)
	}
	p := scheduler.Place(placeTask(v1.Resources{}, nil), cs, "w1")
	p.Order[0] = nil
	after := make([]string, 0, len(cs))
	for _, c := range cs {
		after = append(after, c.Worker.Metadata.Name)
	}
	if !slices.Equal(before, after) {
		t.Errorf("candidates = %v after Place, want %v", after, before)
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
