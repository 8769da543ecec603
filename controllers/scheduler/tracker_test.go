package scheduler

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

func trackerWorker(name string, edit ...func(*v1.Worker)) *v1.Worker {
	w := &v1.Worker{
		Metadata: v1.ObjectMeta{Name: name},
		Spec:     v1.WorkerSpec{Address: "127.0.0.1:7071"},
		Status: v1.WorkerStatus{
			Phase: v1.WorkerReady,
			Stats: v1.WorkerStats{CPUs: 2, MemoryTotal: 4 << 30, DiskFree: 10 << 30},
		},
	}
	for _, fn := range edit {
		fn(w)
	}
	return w
}

func trackerTask(name, worker, cpu string, hostPort int32) *v1.Task {
	t := &v1.Task{
		Metadata: v1.ObjectMeta{Name: name, UID: "uid-" + name, Generation: 1},
		Spec:     v1.TaskSpec{Image: "app:1", Resources: v1.Resources{CPU: cpu}},
		Status:   v1.TaskStatus{Worker: worker, Phase: v1.PhaseRunning},
	}
	if worker == "" {
		t.Status.Phase = v1.PhasePending
	}
	if hostPort != 0 {
		t.Spec.Ports = []v1.Port{{ContainerPort: 80, HostPort: hostPort, Protocol: v1.ProtocolTCP}}
	}
	return t
}

func (tr *tracker) usage(worker string) (Usage, Usage) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	c := tr.candidate(worker)
	return c.Used, c.Reserved
}

// TestTracker_Usage: usage follows the task cache change by change, and a
// reservation holds until the cache shows the placement it was made for.
func TestTracker_Usage(t *testing.T) {
	tr := newTracker()
	tr.workerChanged(nil, trackerWorker("w1"))
	tr.taskChanged("a", trackerTask("a", "w1", "500m", 18080))
	tr.taskChanged("b", trackerTask("b", "w1", "1", 0))
	if u, _ := tr.usage("w1"); u.MilliCPU != 1500 || u.Ports[HostPort{18080, v1.ProtocolTCP}] != 1 {
		t.Fatalf("used = %+v, want 1500m and port 18080", u)
	}
	// A status change of a counted task changes nothing.
	running := trackerTask("a", "w1", "500m", 18080)
	running.Status.ContainerID = "c1"
	tr.taskChanged("a", running)
	if u, _ := tr.usage("w1"); u.MilliCPU != 1500 {
		t.Fatalf("used after a status change = %+v, want 1500m", u)
	}
	// Finished and deleted tasks free what they took.
	done := trackerTask("a", "w1", "500m", 18080)
	done.Status.Phase = v1.PhaseSucceeded
	tr.taskChanged("a", done)
	tr.taskChanged("b", nil)
	if u, _ := tr.usage("w1"); u.MilliCPU != 0 || len(u.Ports) != 0 {
		t.Fatalf("used after a finish and a delete = %+v, want nothing", u)
	}

	// Reserve, then the cache shows the assignment: the claim moves from
	// Reserved to Used, never counted twice.
	c := trackerTask("c", "", "1", 0)
	tr.taskChanged("c", c)
	if p := tr.place(c, nil); p.Worker == nil || p.Worker.Metadata.Name != "w1" {
		t.Fatalf("place = %+v, want w1", p)
	}
	if u, r := tr.usage("w1"); u.MilliCPU != 0 || r.MilliCPU != 1000 {
		t.Fatalf("after place: used %+v reserved %+v, want 0 and 1000m", u, r)
	}
	tr.taskChanged("c", trackerTask("c", "w1", "1", 0))
	if u, r := tr.usage("w1"); u.MilliCPU != 1000 || r.MilliCPU != 0 {
		t.Fatalf("after the cache shows it: used %+v reserved %+v, want 1000m and 0", u, r)
	}
	// A released reservation frees its room.
	d := trackerTask("d", "", "1", 0)
	tr.taskChanged("d", d)
	tr.place(d, nil)
	tr.release("d")
	if _, r := tr.usage("w1"); r.MilliCPU != 0 {
		t.Fatalf("reserved after release = %+v, want 0", r)
	}
	// Placing a task again drops its own earlier reservation first.
	tr.place(d, nil)
	tr.place(d, nil)
	if _, r := tr.usage("w1"); r.MilliCPU != 1000 {
		t.Fatalf("reserved after placing twice = %+v, want 1000m once", r)
	}
}

// TestTracker_WhatToLookAtAgain: a waiting task is named only when a
// change could make it fit.
func TestTracker_WhatToLookAtAgain(t *testing.T) {
	tr := newTracker()
	w1 := trackerWorker("w1")
	tr.workerChanged(nil, w1)
	tr.taskChanged("big", trackerTask("big", "w1", "2", 18080))
	disk := trackerTask("disk", "", "", 0)
	disk.Spec.Resources.Disk = "20Gi"
	for _, task := range []*v1.Task{trackerTask("cpu", "", "1", 0), trackerTask("port", "", "", 18080), disk} {
		tr.taskChanged(task.Metadata.Name, task)
		if p := tr.place(task, nil); p.Worker != nil {
			t.Fatalf("%s placed on %s, want no worker to fit", task.Metadata.Name, p.Worker.Metadata.Name)
		}
	}

	tests := []struct {
		name   string
		change func() []string
		want   []string
	}{
		{"a heartbeat with a little less free disk", func() []string {
			old := w1
			w1 = trackerWorker("w1", func(w *v1.Worker) { w.Status.Stats.DiskFree = 9 << 30 })
			return tr.workerChanged(old, w1)
		}, nil},
		{"a heartbeat with more free disk, still not enough", func() []string {
			old := w1
			w1 = trackerWorker("w1", func(w *v1.Worker) { w.Status.Stats.DiskFree = 15 << 30 })
			return tr.workerChanged(old, w1)
		}, nil},
		{"enough free disk", func() []string {
			old := w1
			w1 = trackerWorker("w1", func(w *v1.Worker) { w.Status.Stats.DiskFree = 30 << 30 })
			return tr.workerChanged(old, w1)
		}, []string{"disk"}},
		{"a status change of a task on it", func() []string {
			running := trackerTask("big", "w1", "2", 18080)
			running.Status.ContainerID = "c1"
			return tr.taskChanged("big", running)
		}, nil},
		{"the big task ends: its cpu and port are free", func() []string {
			return tr.taskChanged("big", nil)
		}, []string{"cpu", "disk", "port"}},
		{"cordoned: nothing fits", func() []string {
			old := w1
			w1 = trackerWorker("w1", func(w *v1.Worker) { w.Spec.Unschedulable = true; w.Status.Stats.DiskFree = 30 << 30 })
			return tr.workerChanged(old, w1)
		}, nil},
		{"uncordoned: everything that fits", func() []string {
			old := w1
			w1 = trackerWorker("w1", func(w *v1.Worker) { w.Status.Stats.DiskFree = 30 << 30 })
			return tr.workerChanged(old, w1)
		}, []string{"cpu", "disk", "port"}},
		{"same, at a new address: tried again", func() []string {
			old := w1
			w1 = trackerWorker("w1", func(w *v1.Worker) { w.Status.Stats.DiskFree = 30 << 30; w.Spec.Address = "127.0.0.1:7072" })
			return tr.workerChanged(old, w1)
		}, []string{"cpu", "disk", "port"}},
		{"a new worker", func() []string {
			return tr.workerChanged(nil, trackerWorker("w2", func(w *v1.Worker) { w.Status.Stats.CPUs = 1 }))
		}, []string{"cpu", "port"}},
		{"credentials of a worker", func() []string { return tr.fitNow("w2") }, []string{"cpu", "port"}},
	}
	for _, tt := range tests {
		got := tt.change()
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: looked again at %v, want %v", tt.name, got, tt.want)
		}
		lookAtAll(tr) // the scheduler looks at each task it was given
	}

	// A task named once is not named again before it is looked at: a
	// burst of changes costs one look.
	old := w1
	w1 = trackerWorker("w1", func(w *v1.Worker) { w.Spec.Unschedulable = true })
	tr.workerChanged(old, w1)
	old = w1
	w1 = trackerWorker("w1", func(w *v1.Worker) { w.Status.Stats.DiskFree = 30 << 30 })
	if got := tr.workerChanged(old, w1); len(got) != 3 {
		t.Fatalf("uncordoned: looked again at %v, want 3 tasks", got)
	}
	if got := tr.fitNow("w1"); len(got) != 0 {
		t.Errorf("named again before a look: %v", got)
	}
	tr.place(trackerTask("cpu", "", "1", 0), nil) // the look; its placement fails
	if got := tr.release("cpu"); !slices.Equal(got, []string{"cpu"}) {
		t.Errorf("after a look at cpu: %v, want [cpu] named again", got)
	}
}

// TestTracker_OnlyTasksLookedAtWait: a task the scheduler has not looked
// at yet (it is queued) does not wait, so no change names it; once a look
// finds no worker for it, it waits until it is placed or gone.
func TestTracker_OnlyTasksLookedAtWait(t *testing.T) {
	tr := newTracker()
	w1 := trackerWorker("w1", func(w *v1.Worker) { w.Spec.Unschedulable = true })
	tr.workerChanged(nil, w1)
	uncordon := func() []string {
		old := w1
		w1 = trackerWorker("w1", func(w *v1.Worker) { w.Spec.Unschedulable = !old.Spec.Unschedulable })
		return tr.workerChanged(old, w1)
	}
	queued := trackerTask("queued", "", "", 0)
	tr.taskChanged("queued", queued)
	if got := uncordon(); len(got) != 0 {
		t.Fatalf("a change named %v, a task not looked at yet", got)
	}
	uncordon() // cordoned again
	if p := tr.place(queued, nil); p.Worker != nil {
		t.Fatalf("placed on a cordoned worker")
	}
	// Its own Unschedulable status write keeps it waiting.
	unschedulable := trackerTask("queued", "", "", 0)
	unschedulable.Status.Reason = v1.ReasonUnschedulable
	tr.taskChanged("queued", unschedulable)
	if got := uncordon(); !slices.Equal(got, []string{"queued"}) {
		t.Fatalf("uncordoned: named %v, want [queued]", got)
	}
	// Placed: it waits no more.
	tr.place(unschedulable, nil)
	tr.taskChanged("queued", trackerTask("queued", "w1", "", 0))
	if len(tr.waiting) != 0 {
		t.Fatalf("after placement: waiting %v", tr.waiting)
	}
	// A look that raced with the task's deletion leaves nothing behind.
	gone := trackerTask("gone", "", "", 0)
	tr.taskChanged("gone", gone)
	tr.taskChanged("gone", nil)
	uncordon() // cordoned
	tr.place(gone, nil)
	if len(tr.waiting) != 0 {
		t.Fatalf("a deleted task waits: %v", tr.waiting)
	}
}

// TestTracker_WaitsAsTheCacheShowsIt: a look that read an older version
// of the task (its newer spec arrived meanwhile) makes it wait with what
// the newer spec asks, not the older.
func TestTracker_WaitsAsTheCacheShowsIt(t *testing.T) {
	tr := newTracker()
	w1 := trackerWorker("w1", func(w *v1.Worker) { w.Spec.Unschedulable = true })
	tr.workerChanged(nil, w1)
	older := trackerTask("web", "", "1", 0)
	newer := trackerTask("web", "", "1", 0)
	newer.Metadata.Generation = 2
	newer.Spec.Resources.Disk = "20Gi"
	tr.taskChanged("web", older)
	tr.taskChanged("web", newer)
	if p := tr.place(older, nil); p.Worker != nil {
		t.Fatal("placed on a cordoned worker")
	}
	change := func(diskFree int64) []string {
		old := w1
		w1 = trackerWorker("w1", func(w *v1.Worker) { w.Status.Stats.DiskFree = diskFree })
		return tr.workerChanged(old, w1)
	}
	if got := change(10 << 30); len(got) != 0 {
		t.Errorf("uncordoned with 10Gi free: named %v, though the newer spec asks 20Gi", got)
	}
	if got := change(30 << 30); !slices.Equal(got, []string{"web"}) {
		t.Errorf("30Gi free: named %v, want [web]", got)
	}
}

// lookAtAll clears the marks of named tasks, as the scheduler's look at
// each of them (a placement) does.
func lookAtAll(tr *tracker) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for n, w := range tr.waiting {
		w.named = false
		tr.waiting[n] = w
	}
}

// TestTracker_FitsOwnWorker: a worker that runs a task still fits its new
// spec when the task's own old request is counted as free.
func TestTracker_FitsOwnWorker(t *testing.T) {
	tr := newTracker()
	tr.workerChanged(nil, trackerWorker("w1", func(w *v1.Worker) {
		w.Metadata.Labels = map[string]string{"zone": "a"}
		w.Spec.Unschedulable = true // cordoned is no reason to move
	}))
	tr.taskChanged("web", trackerTask("web", "w1", "1500m", 18080))
	tr.taskChanged("other", trackerTask("other", "w1", "", 9090))

	more := trackerTask("web", "w1", "2", 18080)
	more.Metadata.Generation = 2
	if why := tr.fitsOwnWorker(more); why != "" {
		t.Errorf("2 CPUs and its own port on a 2-CPU worker: %q, want it to fit", why)
	}
	tooMuch := trackerTask("web", "w1", "3", 18080)
	tooMuch.Metadata.Generation = 2
	if why := tr.fitsOwnWorker(tooMuch); why != reasonCPU {
		t.Errorf("3 CPUs: %q, want %q", why, reasonCPU)
	}
	clash := trackerTask("web", "w1", "1", 9090)
	clash.Metadata.Generation = 2
	if why := tr.fitsOwnWorker(clash); why != "host port 9090/TCP in use" {
		t.Errorf("another task's port: %q", why)
	}
	elsewhere := trackerTask("web", "w1", "1", 18080)
	elsewhere.Spec.NodeSelector = map[string]string{"zone": "b"}
	if why := tr.fitsOwnWorker(elsewhere); why != reasonNodeSelector {
		t.Errorf("zone b on a zone a worker: %q, want %q", why, reasonNodeSelector)
	}
}

// BenchmarkTracker_PlaceAndRecord measures the scheduler's in-memory work
// for one placement among 100 workers carrying 10,000 tasks: the placement
// with its reservation, then the cache's news of the assignment turning
// the reservation into usage.
func BenchmarkTracker_PlaceAndRecord(b *testing.B) {
	tr := newTracker()
	for i := range 100 {
		tr.workerChanged(nil, trackerWorker(fmt.Sprintf("w-%03d", i), func(w *v1.Worker) { w.Status.Stats.CPUs = 64 }))
	}
	for i := range 10_000 {
		name := fmt.Sprintf("t-%05d", i)
		tr.taskChanged(name, trackerTask(name, fmt.Sprintf("w-%03d", i%100), "10m", 0))
	}
	benchPlaceAndRecord(b, tr)
}

// benchPlaceAndRecord places 1,000 new tasks in turn on tr's workers, each
// followed by the cache's news of it placed and then gone.
func benchPlaceAndRecord(b *testing.B, tr *tracker) {
	tasks := make([]*v1.Task, 1000)
	for i := range tasks {
		tasks[i] = trackerTask(fmt.Sprintf("new-%04d", i), "", "10m", 0)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		t := tasks[i%len(tasks)]
		i++
		p := tr.place(t, nil)
		if p.Worker == nil {
			b.Fatal("nothing fits")
		}
		placed := *t
		placed.Status.Worker = p.Worker.Metadata.Name
		placed.Status.Phase = v1.PhaseRunning
		tr.taskChanged(t.Metadata.Name, &placed)
		tr.taskChanged(t.Metadata.Name, nil)
	}
}

// BenchmarkTracker_Heartbeat measures what a worker's heartbeat costs the
// tracker while 10,000 or 100,000 tasks are queued and not yet placed: one
// that changes nothing placement reads (a hollow worker's), and one whose
// free disk moved (a real worker's). Neither may grow with the tasks
// queued.
func BenchmarkTracker_Heartbeat(b *testing.B) {
	for _, disk := range []bool{false, true} {
		for _, n := range []int{10_000, 100_000} {
			b.Run(fmt.Sprintf("diskMoves=%t/queued=%d", disk, n), func(b *testing.B) {
				tr := newTracker()
				w := trackerWorker("w-000")
				tr.workerChanged(nil, w)
				for i := range n {
					name := fmt.Sprintf("t-%06d", i)
					tr.taskChanged(name, trackerTask(name, "", "", 0))
				}
				b.ReportAllocs()
				i := int64(0)
				for b.Loop() {
					i++
					next := trackerWorker("w-000", func(w *v1.Worker) {
						if disk {
							w.Status.Stats.DiskFree += i % 2 << 20
						}
					})
					if got := tr.workerChanged(w, next); len(got) != 0 {
						b.Fatalf("a heartbeat named %d tasks", len(got))
					}
					w = next
				}
			})
		}
	}
}

// TestPlaceInTurn: looking at the workers in turn picks what Place picks,
// over random workers (ready or not, cordoned, full, refusing) and
// cursors, and says why none fits as Place does.
func TestPlaceInTurn(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 2000 {
		n := rng.IntN(8)
		var cands []Candidate
		refused := map[string]string{}
		for i := range n {
			name := fmt.Sprintf("w-%02d", i*2) // in name order, as the tracker keeps them
			w := trackerWorker(name, func(w *v1.Worker) {
				switch rng.IntN(5) {
				case 0:
					w.Status.Phase = v1.WorkerNotReady
				case 1:
					w.Spec.Unschedulable = true
				}
			})
			c := Candidate{Worker: w}
			if rng.IntN(4) == 0 {
				c.Used.MilliCPU = 2000
			}
			if rng.IntN(5) == 0 {
				refused[name] = "unreachable"
			}
			cands = append(cands, c)
		}
		last := ""
		if rng.IntN(4) > 0 {
			last = fmt.Sprintf("w-%02d", rng.IntN(2*n+2))
		}
		task := trackerTask("t", "", "500m", 0)
		want, got := Place(task, cands, last, refused), placeInTurn(task, cands, last, refused)
		if want.Worker != got.Worker {
			t.Fatalf("round %d, last %q: placeInTurn picked %v, Place %v", round, last, pickedName(got), pickedName(want))
		}
		if got.Total != want.Total || (want.Worker == nil && !maps.Equal(got.Rejected, want.Rejected)) {
			t.Fatalf("round %d: placeInTurn %d %v, Place %d %v", round, got.Total, got.Rejected, want.Total, want.Rejected)
		}
	}
}

func pickedName(p Placement) string {
	if p.Worker == nil {
		return "none"
	}
	return p.Worker.Metadata.Name
}

// BenchmarkTracker_Place measures one placement, its reservation and the
// cache's news of it among 100 and 1,000 workers: the cost of picking the
// next worker in turn must not grow with the workers.
func BenchmarkTracker_Place(b *testing.B) {
	for _, workers := range []int{100, 1000} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			tr := newTracker()
			for i := range workers {
				tr.workerChanged(nil, trackerWorker(fmt.Sprintf("w-%04d", i), func(w *v1.Worker) { w.Status.Stats.CPUs = 64 }))
			}
			benchPlaceAndRecord(b, tr)
		})
	}
}
