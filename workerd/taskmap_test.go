package workerd

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd/runtime"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func mapTask(name, uid string, gen int64, image string) *v1.Task {
	return &v1.Task{
		Metadata: v1.ObjectMeta{Name: name, UID: uid, Generation: gen},
		Spec:     v1.TaskSpec{Image: image},
	}
}

func mustGet(t *testing.T, m *taskMap, uid string) (*v1.Task, v1.TaskStatus) {
	t.Helper()
	task, st, ok := m.get(uid)
	if !ok {
		t.Fatalf("get(%s): not held", uid)
	}
	return task, st
}

func TestTaskMap_Put(t *testing.T) {
	tests := []struct {
		name string
		// first is put before, then next; want is what get returns after.
		first, next *v1.Task
		created     bool
		wantImage   string
		wantGen     int64
		wantStatus  v1.TaskStatus
	}{
		{
			name: "new task", next: mapTask("web", "u1", 1, "a:1"), created: true, wantImage: "a:1", wantGen: 1,
			wantStatus: v1.TaskStatus{Phase: v1.PhaseScheduled, Reason: v1.ReasonContainerCreate, ObservedGeneration: 1},
		},
		{
			name: "new task keeps the manager's restart count",
			next: func() *v1.Task {
				t := mapTask("web", "u1", 4, "a:1")
				t.Status = v1.TaskStatus{Phase: v1.PhaseRunning, RestartCount: 7, Reason: "Whatever"}
				return t
			}(),
			created: true, wantImage: "a:1", wantGen: 4,
			wantStatus: v1.TaskStatus{Phase: v1.PhaseScheduled, Reason: v1.ReasonContainerCreate, ObservedGeneration: 4, RestartCount: 7},
		},
		{
			name: "new finished task keeps its status",
			next: func() *v1.Task {
				t := mapTask("job", "u1", 1, "a:1")
				t.Status = v1.TaskStatus{Phase: v1.PhaseSucceeded, Reason: v1.ReasonCompleted, ObservedGeneration: 1}
				return t
			}(),
			created: true, wantImage: "a:1", wantGen: 1,
			wantStatus: v1.TaskStatus{Phase: v1.PhaseSucceeded, Reason: v1.ReasonCompleted, ObservedGeneration: 1},
		},
		{
			name: "same generation is ignored", first: mapTask("web", "u1", 2, "a:1"), next: mapTask("web", "u1", 2, "b:1"),
			wantImage: "a:1", wantGen: 2,
			wantStatus: v1.TaskStatus{Phase: v1.PhaseScheduled, Reason: v1.ReasonContainerCreate, ObservedGeneration: 2},
		},
		{
			name: "older generation is ignored", first: mapTask("web", "u1", 2, "a:1"), next: mapTask("web", "u1", 1, "b:1"),
			wantImage: "a:1", wantGen: 2,
			wantStatus: v1.TaskStatus{Phase: v1.PhaseScheduled, Reason: v1.ReasonContainerCreate, ObservedGeneration: 2},
		},
		{
			// The status speaks of generation 1 until the sync observes
			// a container of generation 3.
			name: "newer generation replaces the spec", first: mapTask("web", "u1", 1, "a:1"), next: mapTask("web", "u1", 3, "b:1"),
			wantImage: "b:1", wantGen: 3,
			wantStatus: v1.TaskStatus{Phase: v1.PhaseScheduled, Reason: v1.ReasonContainerCreate, ObservedGeneration: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTaskMap()
			if tt.first != nil && !m.put(tt.first, t0, false) {
				t.Fatal("first put: not created")
			}
			if got := m.put(tt.next, t0.Add(time.Second), false); got != tt.created {
				t.Errorf("put created = %t; want %t", got, tt.created)
			}
			task, st := mustGet(t, m, "u1")
			if task.Spec.Image != tt.wantImage || task.Metadata.Generation != tt.wantGen {
				t.Errorf("held %s generation %d; want %s generation %d", task.Spec.Image, task.Metadata.Generation, tt.wantImage, tt.wantGen)
			}
			if !statusEqual(&st, &tt.wantStatus) {
				t.Errorf("status = %+v; want %+v", st, tt.wantStatus)
			}
			if m.len() != 1 {
				t.Errorf("len = %d; want 1", m.len())
			}
		})
	}
}

func TestTaskMap_NewerGenerationIsTakenForTheSyncToSee(t *testing.T) {
	m := newTaskMap()
	m.put(mapTask("web", "u1", 1, "bad:1"), t0, false)
	m.with("u1", func(e *entry) { e.hist.Failures, e.hist.Generation = 5, 1 })
	_, _, _ = m.reports(reportFull, true) // clears dirty
	m.put(mapTask("web", "u1", 2, "good:1"), t0, false)
	m.with("u1", func(e *entry) {
		if e.task.Metadata.Generation != 2 || e.hist.Failures != 5 {
			t.Errorf("after a newer generation: task generation %d, failures %d; want 2, and the history left to decide", e.task.Metadata.Generation, e.hist.Failures)
		}
		if !e.accepted.Equal(t0) {
			t.Errorf("accepted = %s; want it kept at %s", e.accepted, t0)
		}
	})
	if reps, _, _ := m.reports(reportChanges, true); len(reps) != 0 {
		t.Errorf("partial reports after a newer generation = %+v; want none until the sync has observed it", reps)
	}
}

func TestTaskMap_StopAndForget(t *testing.T) {
	m := newTaskMap()
	m.put(mapTask("web", "u1", 1, "a:1"), t0, false)
	if _, ok := m.stop("nope"); ok {
		t.Error("stop of a uid not held: ok")
	}
	gone, ok := m.stop("u1")
	if !ok {
		t.Fatal("stop: not held")
	}
	var stopping bool
	m.with("u1", func(e *entry) { stopping = e.stopping })
	if !stopping || !m.has("u1") {
		t.Fatalf("after stop: stopping %t, held %t; want both (forgotten only once stopped)", stopping, m.has("u1"))
	}
	select {
	case <-gone:
		t.Fatal("gone closed before forget")
	default:
	}
	again, _ := m.stop("u1")
	m.forget("u1")
	m.forget("u1") // a second forget is harmless
	for _, ch := range []<-chan struct{}{gone, again} {
		select {
		case <-ch:
		default:
			t.Fatal("gone not closed by forget")
		}
	}
	if m.has("u1") || m.len() != 0 || m.with("u1", func(*entry) {}) {
		t.Error("the task is still held after forget")
	}
	if _, _, ok := m.get("u1"); ok {
		t.Error("get after forget: ok")
	}
}

func TestTaskMap_ReportsAndList(t *testing.T) {
	m := newTaskMap()
	for _, task := range []*v1.Task{mapTask("c", "u3", 1, "a:1"), mapTask("a", "u9", 1, "a:1"), mapTask("b", "u1", 1, "a:1")} {
		m.put(task, t0, false)
	}
	if got := reportNames(first(m.reports(reportChanges, true))); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("first partial reports = %q; want every new task, by name", got)
	}
	if got, _, _ := m.reports(reportChanges, true); len(got) != 0 {
		t.Errorf("second partial reports = %+v; want none (nothing changed)", got)
	}
	m.with("u1", func(e *entry) {
		e.hist.Status.Phase, e.dirty = v1.PhaseRunning, true
		e.events = []v1.ReportedEvent{{Type: v1.EventNormal, Reason: "R", Message: "m"}}
	})
	reps, _, _ := m.reports(reportChanges, true)
	if got := reportNames(reps); !slices.Equal(got, []string{"b"}) || reps[0].Status.Phase != v1.PhaseRunning || len(reps[0].Events) != 1 {
		t.Errorf("partial reports after a change = %+v; want b Running with its event", reps)
	}
	if again, _, _ := m.reports(reportFull, true); len(again[1].Events) != 0 {
		t.Errorf("an event was reported twice: %+v", again[1])
	}
	// A failed report is marked to go again, events included.
	m.markDirty(append(reps, v1.TaskReport{UID: "not-held"}))
	again, _, _ := m.reports(reportChanges, true)
	if got := reportNames(again); !slices.Equal(got, []string{"b"}) || len(again[0].Events) != 1 {
		t.Errorf("partial reports after markDirty = %+v; want b with its event", again)
	}
	if got := reportNames(first(m.reports(reportFull, true))); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("full reports = %q; want every task", got)
	}
	if got := m.uids(); !slices.Equal(got, []string{"u1", "u3", "u9"}) {
		t.Errorf("uids = %q; want sorted", got)
	}
	list := m.list()
	if len(list) != 3 || list[0].Metadata.Name != "a" || list[1].Status.Phase != v1.PhaseRunning {
		t.Fatalf("list = %+v; want a, b (Running), c", list)
	}
	// The list is a copy: changing it leaves the map alone.
	list[1].Spec.Image = "changed"
	list[1].Status.Phase = v1.PhaseFailed
	if task, st := mustGet(t, m, "u1"); task.Spec.Image != "a:1" || st.Phase != v1.PhaseRunning {
		t.Errorf("the map changed through list: %s %s", task.Spec.Image, st.Phase)
	}
}

func TestBackoffFor(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, 10 * time.Second},
		{2, 20 * time.Second},
		{3, 40 * time.Second},
		{6, 5 * time.Minute}, // 320s capped
		{100, 5 * time.Minute},
		{0, 10 * time.Second},
	}
	for _, tt := range tests {
		if got := backoffFor(tt.failures, 10*time.Second, 5*time.Minute); got != tt.want {
			t.Errorf("backoffFor(%d) = %s; want %s", tt.failures, got, tt.want)
		}
	}
}

func TestNextBackoff(t *testing.T) {
	p := policy{BackoffInitial: time.Second, BackoffMax: 4 * time.Second, BackoffReset: time.Minute}
	h := &history{}
	short := func() time.Duration { return nextBackoff(h, t0, t0.Add(time.Second), p) }
	var got []time.Duration
	for range 5 {
		got = append(got, short())
	}
	want := []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}
	if !slices.Equal(got, want) {
		t.Errorf("waits after short runs = %v; want %v", got, want)
	}
	if d := nextBackoff(h, t0, t0.Add(time.Minute), p); d != 0 {
		t.Errorf("wait after a run of BackoffReset = %s; want 0", d)
	}
	if d := short(); d != time.Second {
		t.Errorf("wait after the reset and a short run = %s; want 1s", d)
	}
}

func TestTaskFromLabels(t *testing.T) {
	tests := []struct {
		name   string
		labels map[string]string
		ok     bool
	}{
		{"good", map[string]string{LabelTask: `{"metadata":{"name":"web","uid":"u1","generation":2},"spec":{"image":"a:1"}}`}, true},
		{"no label", map[string]string{}, false},
		{"not JSON", map[string]string{LabelTask: "{"}, false},
		{"no uid", map[string]string{LabelTask: `{"metadata":{"name":"web"},"spec":{"image":"a:1"}}`}, false},
		{"no name", map[string]string{LabelTask: `{"metadata":{"uid":"u1"},"spec":{"image":"a:1"}}`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task, err := taskFromLabels(tt.labels)
			if (err == nil) != tt.ok {
				t.Fatalf("taskFromLabels = %+v, %v; want ok %t", task, err, tt.ok)
			}
			if tt.ok && (task.Metadata.UID != "u1" || task.Metadata.Generation != 2 || task.Spec.Image != "a:1" || task.Kind != v1.KindTask) {
				t.Errorf("task = %+v; want u1 generation 2 of a:1", task)
			}
		})
	}
}

func TestContainerSpecRoundTrips(t *testing.T) {
	w := &Worker{opts: Options{Name: "worker-1"}}
	id := "cluster-1"
	w.cluster.Store(&id)
	task := mapTask("web", "0123456789abcdef", 3, "a:1")
	task.Metadata.Labels = map[string]string{"app": "web"}
	task.Spec.Env = []v1.EnvVar{{Name: "A", Value: "1"}}
	task.Status.Phase = v1.PhaseRunning
	spec := w.containerSpec(&syncInput{Task: task})
	back, err := taskFromLabels(spec.Labels)
	if err != nil {
		t.Fatalf("taskFromLabels(containerSpec labels): %v", err)
	}
	if back.Metadata.UID != task.Metadata.UID || back.Metadata.Generation != 3 || back.Metadata.Labels["app"] != "web" ||
		back.Spec.Hash() != task.Spec.Hash() || back.Status.Phase != "" {
		t.Errorf("task from its container's labels = %+v; want metadata and spec, no status", back)
	}
	if want := "mk-web-01234567-" + task.Spec.Hash()[:8] + "-worker-1"; spec.Name != want {
		t.Errorf("container name = %q, want %q", spec.Name, want)
	}
	if spec.Labels[runtime.LabelCluster] != id {
		t.Errorf("cluster label = %q, want %q", spec.Labels[runtime.LabelCluster], id)
	}
}

func TestStatusEqualIgnoresTransitionTimes(t *testing.T) {
	a := v1.TaskStatus{Phase: v1.PhaseRunning}
	a.Conditions = v1.SetCondition(nil, v1.Condition{Type: v1.TaskReady, Status: v1.ConditionTrue}, t0)
	b := *a.DeepCopy()
	b.Conditions[0].LastTransitionTime = new(t0.Add(time.Hour))
	if !statusEqual(&a, &b) {
		t.Error("statuses differing in a transition time: not equal")
	}
	b.Conditions[0].Status = v1.ConditionFalse
	if statusEqual(&a, &b) {
		t.Error("statuses differing in a condition: equal")
	}
	if a.Conditions[0].LastTransitionTime == nil {
		t.Error("statusEqual cleared the caller's transition time")
	}
}

// first returns the first of two results.
func first[A, B, C any](a A, _ B, _ C) A { return a }

// TestTaskMap_ReportsOnlyWhatChangedAndKeepsTheDigest: a partial report
// carries the entries marked dirty (by a sync, a put, a failed report),
// and the digest it returns is that of the tasks last reported Scheduled
// or Running, as tasks change phase and are forgotten.
func TestTaskMap_ReportsOnlyWhatChangedAndKeepsTheDigest(t *testing.T) {
	m := newTaskMap()
	for _, n := range []string{"a", "b", "c", "d"} {
		m.put(mapTask(n, "u"+n, 1, "img"), t0, false)
	}
	setPhase := func(uid string, p v1.Phase) {
		m.with(uid, func(e *entry) { e.hist.Status.Phase = p; e.dirty = true })
	}
	want := func(uids ...string) string {
		var d v1.TaskDigest
		for _, uid := range uids {
			d.Add(uid)
		}
		return d.String()
	}
	reps, _, digest := m.reports(reportChanges, true)
	if got := reportNames(reps); !slices.Equal(got, []string{"a", "b", "c", "d"}) || digest != want("ua", "ub", "uc", "ud") {
		t.Fatalf("first report = %v, digest %s; want every new task, all Scheduled", got, digest)
	}
	setPhase("ub", v1.PhaseRunning)
	setPhase("uc", v1.PhaseSucceeded)
	m.with("ua", func(e *entry) {}) // looked at, not changed
	reps, _, digest = m.reports(reportChanges, true)
	if got := reportNames(reps); !slices.Equal(got, []string{"b", "c"}) || digest != want("ua", "ub", "ud") {
		t.Errorf("report = %v, digest %s; want b and c, and c out of the digest", got, digest)
	}
	m.forget("ud")
	m.markDirty([]v1.TaskReport{{UID: "ua"}})
	reps, _, digest = m.reports(reportChanges, true)
	if got := reportNames(reps); !slices.Equal(got, []string{"a"}) || digest != want("ua", "ub") {
		t.Errorf("report = %v, digest %s; want a again, and d out of the digest", got, digest)
	}
	if reps, _, _ := m.reports(reportChanges, true); len(reps) != 0 {
		t.Errorf("a report with nothing changed carries %v", reportNames(reps))
	}
}

// A pushed task is left to the push's answer: partial reports skip it
// while the push waits, the answer takes its first status and the
// digest counts it, the next heartbeat carries it again for the manager
// to acknowledge, and what changes after goes by reports. A full report
// takes every task, and a push that comes after it answers nothing, so
// that a report and an answer never carry a task's statuses out of order.
func TestTaskMap_PushAnswersWithTheFirstStatus(t *testing.T) {
	m := newTaskMap()
	m.put(mapTask("a", "ua", 1, "img"), t0, true)
	m.put(mapTask("b", "ub", 1, "img"), t0, false)
	settled := m.settledChan("ua")
	if reps, _, _ := m.reports(reportChanges, true); !slices.Equal(reportNames(reps), []string{"b"}) {
		t.Fatalf("partial report while a's push waits = %v; want b alone", reportNames(reps))
	}
	m.with("ua", func(e *entry) {
		e.hist.Status = v1.TaskStatus{Phase: v1.PhaseRunning, ContainerID: "c1"}
		e.dirty = true
		e.events = []v1.ReportedEvent{{Type: v1.EventNormal, Reason: "Pulled", Message: "m"}}
		e.settle()
	})
	select {
	case <-settled:
	default:
		t.Fatal("the settled channel is still open after settle")
	}
	if reps, _, _ := m.reports(reportChanges, true); len(reps) != 0 {
		t.Fatalf("partial report after a's change = %v; want none: the push answers with it", reportNames(reps))
	}
	tr, ok := m.answer("ua")
	if !ok || tr.Name != "a" || tr.Generation != 1 || tr.Status.Phase != v1.PhaseRunning || len(tr.Events) != 1 {
		t.Fatalf("answer = %+v, %v; want a Running with its event", tr, ok)
	}
	reps, _, digest := m.reports(reportChanges, true)
	var want v1.TaskDigest
	want.Add("ua")
	want.Add("ub")
	if len(reps) != 0 || digest != want.String() {
		t.Errorf("report after the answer = %v, digest %s; want none, and a and b in the digest %s", reportNames(reps), digest, want.String())
	}
	if _, again := m.answer("ua"); again {
		t.Error("a second answer took a's status again")
	}
	// A report of changes does not name it; the next heartbeat names it
	// with its phase, for the manager to check, and carries no status of
	// it; the one after does not name it.
	if _, answered, _ := m.reports(reportChanges, true); len(answered) != 0 {
		t.Errorf("report of changes after the answer names %v; want none", answered)
	}
	wantNamed := []v1.AnsweredTask{{UID: "ua", Name: "a", Phase: v1.PhaseRunning}}
	if reps, answered, _ := m.reports(reportHeartbeat, true); len(reps) != 0 || !slices.Equal(answered, wantNamed) {
		t.Errorf("heartbeat after the answer = %v, answered %+v; want no status, a named Running", reportNames(reps), answered)
	}
	if reps, answered, _ := m.reports(reportHeartbeat, true); len(reps) != 0 || len(answered) != 0 {
		t.Errorf("second heartbeat after the answer = %v, answered %+v; want nothing", reportNames(reps), answered)
	}
	// A heartbeat that failed names it again.
	m.confirmAgain(wantNamed)
	if _, answered, _ := m.reports(reportHeartbeat, true); !slices.Equal(answered, wantNamed) {
		t.Errorf("heartbeat after a failed one names %+v; want %+v", answered, wantNamed)
	}
	// To a manager that does not check the names (an older one), the
	// heartbeat carries the status again instead, without the events the
	// answer carried.
	m.confirmAgain(wantNamed)
	if reps, answered, _ := m.reports(reportHeartbeat, false); !slices.Equal(reportNames(reps), []string{"a"}) || reps[0].Status.Phase != v1.PhaseRunning || len(reps[0].Events) != 0 || len(answered) != 0 {
		t.Errorf("heartbeat to an older manager after the answer = %+v, answered %+v; want a Running, none named", reps, answered)
	}
	// The manager asks for its status again (it did not record the
	// answer): the next report carries it whole, without the events the
	// answer carried.
	if n := m.resend([]string{"ua", "not-held"}); n != 1 {
		t.Errorf("resend of a and a task not held = %d, want 1", n)
	}
	if reps, _, _ := m.reports(reportChanges, true); !slices.Equal(reportNames(reps), []string{"a"}) || reps[0].Status.Phase != v1.PhaseRunning || len(reps[0].Events) != 0 {
		t.Errorf("report after the manager asked again = %+v; want a Running, without the events the answer carried", reps)
	}
	// One that changed since the answer goes whole, and is not named.
	m.confirmAgain(wantNamed)
	m.with("ua", func(e *entry) { e.hist.Status = v1.TaskStatus{Phase: v1.PhaseFailed}; e.dirty = true })
	if reps, answered, _ := m.reports(reportHeartbeat, true); !slices.Equal(reportNames(reps), []string{"a"}) || reps[0].Status.Phase != v1.PhaseFailed || len(answered) != 0 {
		t.Errorf("heartbeat after the answered task changed = %+v, answered %+v; want a Failed, none named", reps, answered)
	}

	// A full report while the push waits takes the task: the push then
	// answers nothing, and the task is no longer left to it.
	m.put(mapTask("c", "uc", 1, "img"), t0, true)
	if reps, _, _ := m.reports(reportFull, true); !slices.Contains(reportNames(reps), "c") {
		t.Fatalf("full report = %v; want c in it", reportNames(reps))
	}
	if tr, ok := m.answer("uc"); ok {
		t.Errorf("answer after a full report took c = %+v; want none", tr)
	}
	m.with("uc", func(e *entry) { e.hist.Status = v1.TaskStatus{Phase: v1.PhaseRunning}; e.dirty = true })
	if reps, _, _ := m.reports(reportChanges, true); !slices.Equal(reportNames(reps), []string{"c"}) {
		t.Errorf("report after c changed = %v; want c", reportNames(reps))
	}
	if _, ok := m.answer("not-held"); ok {
		t.Error("answer of a task not held: ok")
	}
	m.forget("ua")
	if m.settledChan("ua") != nil {
		t.Error("settledChan of a forgotten task is not nil")
	}
}

// reportNames returns the task names of reports, in order.
func reportNames(reps []v1.TaskReport) []string {
	var out []string
	for _, r := range reps {
		out = append(out, r.Name)
	}
	return out
}

// statusEqual agrees with comparing the statuses' encodings, transition
// times aside, on statuses that differ in each field in turn, in nil
// against empty lists, and in times at another offset.
func TestStatusEqualAgreesWithTheEncoding(t *testing.T) {
	byEncoding := func(a, b *v1.TaskStatus) bool {
		strip := func(s v1.TaskStatus) v1.TaskStatus {
			s.Conditions = slices.Clone(s.Conditions)
			for i := range s.Conditions {
				s.Conditions[i].LastTransitionTime = nil
			}
			return s
		}
		ja, _ := json.Marshal(strip(*a))
		jb, _ := json.Marshal(strip(*b))
		return string(ja) == string(jb)
	}
	code := func(c int32) *int32 { return &c }
	at := func(d time.Duration) *time.Time { return new(t0.Add(d)) }
	elsewhere := t0.In(time.FixedZone("CET", 3600))
	base := v1.TaskStatus{
		Phase: v1.PhaseRunning, Reason: "r", Message: "m", Worker: "w", ContainerID: "c", HostIP: "10.0.0.1",
		Ports:        []v1.PortStatus{{Name: "http", ContainerPort: 80, HostPort: 8080, Protocol: "TCP"}},
		RestartCount: 1, ExitCode: code(0), StartedAt: at(0), FinishedAt: at(time.Second), ObservedGeneration: 2,
		Conditions: []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionTrue, Reason: "x", Message: "y", ObservedGeneration: 2, LastTransitionTime: at(0)}},
	}
	edits := map[string]func(*v1.TaskStatus){
		"same":        func(*v1.TaskStatus) {},
		"phase":       func(s *v1.TaskStatus) { s.Phase = v1.PhaseFailed },
		"reason":      func(s *v1.TaskStatus) { s.Reason = "" },
		"message":     func(s *v1.TaskStatus) { s.Message = "n" },
		"worker":      func(s *v1.TaskStatus) { s.Worker = "v" },
		"container":   func(s *v1.TaskStatus) { s.ContainerID = "d" },
		"host":        func(s *v1.TaskStatus) { s.HostIP = "" },
		"no ports":    func(s *v1.TaskStatus) { s.Ports = nil },
		"empty ports": func(s *v1.TaskStatus) { s.Ports = []v1.PortStatus{} },
		"host port": func(s *v1.TaskStatus) {
			s.Ports = []v1.PortStatus{{Name: "http", ContainerPort: 80, HostPort: 8081, Protocol: "TCP"}}
		},
		"restarts":           func(s *v1.TaskStatus) { s.RestartCount = 2 },
		"no exit code":       func(s *v1.TaskStatus) { s.ExitCode = nil },
		"exit code":          func(s *v1.TaskStatus) { s.ExitCode = code(1) },
		"no start":           func(s *v1.TaskStatus) { s.StartedAt = nil },
		"start":              func(s *v1.TaskStatus) { s.StartedAt = at(time.Nanosecond) },
		"start elsewhere":    func(s *v1.TaskStatus) { s.StartedAt = &elsewhere },
		"finish":             func(s *v1.TaskStatus) { s.FinishedAt = at(time.Minute) },
		"generation":         func(s *v1.TaskStatus) { s.ObservedGeneration = 3 },
		"no conditions":      func(s *v1.TaskStatus) { s.Conditions = nil },
		"empty conditions":   func(s *v1.TaskStatus) { s.Conditions = []v1.Condition{} },
		"condition time":     func(s *v1.TaskStatus) { s.Conditions[0].LastTransitionTime = at(time.Hour) },
		"condition status":   func(s *v1.TaskStatus) { s.Conditions[0].Status = v1.ConditionFalse },
		"condition type":     func(s *v1.TaskStatus) { s.Conditions[0].Type = v1.TaskStarted },
		"condition reason":   func(s *v1.TaskStatus) { s.Conditions[0].Reason = "z" },
		"condition message":  func(s *v1.TaskStatus) { s.Conditions[0].Message = "" },
		"condition gen":      func(s *v1.TaskStatus) { s.Conditions[0].ObservedGeneration = 1 },
		"another condition":  func(s *v1.TaskStatus) { s.Conditions = append(s.Conditions, v1.Condition{Type: v1.TaskStarted}) },
		"everything cleared": func(s *v1.TaskStatus) { *s = v1.TaskStatus{} },
	}
	statuses := map[string]*v1.TaskStatus{}
	for name, edit := range edits {
		s := base.DeepCopy()
		edit(s)
		statuses[name] = s
	}
	statuses["zero"] = &v1.TaskStatus{}
	statuses["zero, empty lists"] = &v1.TaskStatus{Ports: []v1.PortStatus{}, Conditions: []v1.Condition{}}
	for an, a := range statuses {
		for bn, b := range statuses {
			if got, want := statusEqual(a, b), byEncoding(a, b); got != want {
				t.Errorf("statusEqual(%s, %s) = %v; their encodings say %v", an, bn, got, want)
			}
		}
	}
}

// The spec hash a task's sync reads follows the spec the map holds: a
// stale one would take the new spec's container for an old one.
func TestTaskMap_SpecHashFollowsTheSpec(t *testing.T) {
	m := newTaskMap()
	hashOf := func() string {
		var h string
		m.with("u1", func(e *entry) { h = e.specHash })
		return h
	}
	v1Task, v2Task := mapTask("web", "u1", 1, "web:1"), mapTask("web", "u1", 2, "web:2")
	m.put(v1Task, t0, false)
	if got, want := hashOf(), v1Task.Spec.Hash(); got != want {
		t.Fatalf("spec hash after the first put = %q, want %q", got, want)
	}
	m.put(mapTask("web", "u1", 1, "web:other"), t0, false) // an older generation changes nothing
	if got, want := hashOf(), v1Task.Spec.Hash(); got != want {
		t.Errorf("spec hash after a put of the same generation = %q, want %q", got, want)
	}
	m.put(v2Task, t0, false)
	if got, want := hashOf(), v2Task.Spec.Hash(); got != want || got == v1Task.Spec.Hash() {
		t.Errorf("spec hash after generation 2 = %q, want %q", got, want)
	}
}
