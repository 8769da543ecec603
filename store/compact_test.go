package store

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestCompactor_SharesEqualLabelMaps(t *testing.T) {
	var l compactor
	first := l.share(map[string]string{"app": "web", "tier": "front"})
	second := map[string]string{"tier": "front", "app": "web"}
	if got := l.share(second); !SameMap(got, first) {
		t.Error("an equal map (entries in another order) was not given the shared one")
	}
	if got := l.share(map[string]string{"app": "web"}); SameMap(got, first) {
		t.Error("a map with fewer entries was given the shared one")
	}
	// Keys and values that would run together unseparated stay apart.
	ab := l.share(map[string]string{"a": "b", "c": ""})
	if got := l.share(map[string]string{"a": "bc", "": ""}); SameMap(got, ab) {
		t.Error("{a: bc, '': ''} was given the map of {a: b, c: ''}")
	}
	if got := l.share(nil); got != nil {
		t.Errorf("share(nil) = %v", got)
	}
	big := map[string]string{}
	for i := range maxSharedLabels + 1 {
		big["k"+strconv.Itoa(i)] = "v"
	}
	if got := l.share(big); !SameMap(got, big) || len(l.labels) != 4 {
		t.Errorf("a map of %d entries: shared %v, %d sets kept; want it kept as it is, 4 sets", len(big), !SameMap(got, big), len(l.labels))
	}
}

func TestCompactor_StartsAfreshWhenFull(t *testing.T) {
	var l compactor
	first := l.share(map[string]string{"n": "0"})
	for i := 1; i < maxShared; i++ {
		l.share(map[string]string{"n": strconv.Itoa(i)})
	}
	if got := l.share(map[string]string{"n": "0"}); !SameMap(got, first) {
		t.Fatal("the first set was not shared while the table had room")
	}
	fresh := map[string]string{"n": "new"}
	if got := l.share(fresh); !SameMap(got, fresh) || len(l.labels) != 1 {
		t.Fatalf("past %d sets: %d kept; want the table started afresh with the new one", maxShared, len(l.labels))
	}
	if got := l.share(map[string]string{"n": "0"}); SameMap(got, first) {
		t.Error("a set from before the table started afresh is still shared")
	}

	s0 := strings.Clone("s0")
	l.intern(&s0)
	for i := 1; i < maxShared; i++ {
		s := "s" + strconv.Itoa(i)
		l.intern(&s)
	}
	again := strings.Clone("s0")
	if l.intern(&again); !SameString(again, s0) {
		t.Fatal("the first string was not shared while the table had room")
	}
	l.intern(new(string(strings.Clone("new"))))
	again = strings.Clone("s0")
	if l.intern(&again); SameString(again, s0) || len(l.strings) != 2 {
		t.Errorf("past %d strings: %d kept, the first still shared: %v; want the table started afresh", maxShared, len(l.strings), SameString(again, s0))
	}
}

func TestCompactor_Intern(t *testing.T) {
	var c compactor
	buf := "xxxxxxxxxx and more"
	a, b := buf[:10], strings.Repeat("x", 10)
	c.intern(&a)
	c.intern(&b)
	if SameString(a, buf) {
		t.Error("the shared copy is part of the buffer it came from")
	}
	if !SameString(a, b) || a != strings.Repeat("x", 10) {
		t.Errorf("equal short strings were not given one copy: %q %q", a, b)
	}
	long1, long2 := strings.Repeat("y", maxInterned+1), strings.Repeat("y", maxInterned+1)
	c.intern(&long1)
	c.intern(&long2)
	if SameString(long1, long2) {
		t.Error("a string longer than maxInterned was interned")
	}
	empty := ""
	c.intern(&empty)
	if empty != "" {
		t.Errorf("intern of \"\" = %q", empty)
	}
}

// runningTask is a task as a worker leaves it Running, with strings of
// its own (decoded apart, as the cache gets them).
func runningTask(name, worker string) *v1.Task {
	created := time.Now().UTC()
	started := created.Add(time.Second)
	// at is a time of its own, as a decode gives each.
	at := func(t time.Time) *time.Time { return &t }
	own := func(s string) string { return strings.Clone(s) }
	cond := func(typ, reason, msg string, t time.Time) v1.Condition {
		return v1.Condition{Type: own(typ), Status: v1.ConditionStatus(own("True")), Reason: own(reason), Message: own(msg), ObservedGeneration: 1, LastTransitionTime: at(t)}
	}
	return &v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: own(v1.APIVersion), Kind: own(v1.KindTask)},
		Metadata: v1.ObjectMeta{Name: name, UID: "uid-" + name, ResourceVersion: "7", Labels: map[string]string{own("app"): own("web")}, CreationTimestamp: at(created)},
		Spec:     v1.TaskSpec{Image: own("example.invalid/app:1"), RestartPolicy: v1.RestartPolicy(own("Always"))},
		Status: v1.TaskStatus{
			Phase: v1.Phase(own("Running")), Worker: own(worker), HostIP: own("127.0.0.1"), ContainerID: "c-" + name,
			Reason: own("Started"), Message: own("running"), StartedAt: at(started), ObservedGeneration: 1,
			Conditions: []v1.Condition{
				cond("Scheduled", "Assigned", "assigned to worker "+worker, created),
				cond("Started", "ContainerRunning", "", started),
				cond("Ready", "ContainerRunning", "", started),
			},
		},
	}
}

func TestTaskCompactor_SharesWhatRepeatsAndChangesNothing(t *testing.T) {
	var c compactor
	a, b := runningTask("a", "w1"), runningTask("b", "w1")
	wantA := a.DeepCopy()
	c.task(a)
	c.task(b)
	if !reflect.DeepEqual(a, wantA) {
		t.Fatalf("compact changed the task:\n got %+v\nwant %+v", a, wantA)
	}
	shared := []struct {
		field string
		x, y  string
	}{
		{"apiVersion", a.APIVersion, b.APIVersion},
		{"kind", a.Kind, b.Kind},
		{"spec.image", a.Spec.Image, b.Spec.Image},
		{"spec.restartPolicy", string(a.Spec.RestartPolicy), string(b.Spec.RestartPolicy)},
		{"status.phase", string(a.Status.Phase), string(b.Status.Phase)},
		{"status.reason", a.Status.Reason, b.Status.Reason},
		{"status.message", a.Status.Message, b.Status.Message},
		{"status.worker", a.Status.Worker, b.Status.Worker},
		{"status.hostIP", a.Status.HostIP, b.Status.HostIP},
		{"conditions[0].type", a.Status.Conditions[0].Type, b.Status.Conditions[0].Type},
		{"conditions[0].status", string(a.Status.Conditions[0].Status), string(b.Status.Conditions[0].Status)},
		{"conditions[0].reason", a.Status.Conditions[0].Reason, b.Status.Conditions[0].Reason},
		{"conditions[0].message", a.Status.Conditions[0].Message, b.Status.Conditions[0].Message},
	}
	for _, s := range shared {
		if !SameString(s.x, s.y) {
			t.Errorf("%s %q is not shared between two tasks", s.field, s.x)
		}
	}
	if !SameMap(a.Metadata.Labels, b.Metadata.Labels) {
		t.Error("equal labels are not one shared map")
	}
	// Equal times within a task are one value; different ones are not.
	st, conds := &a.Status, a.Status.Conditions
	if conds[1].LastTransitionTime != st.StartedAt || conds[2].LastTransitionTime != st.StartedAt {
		t.Error("the Started and Ready conditions' times, equal to startedAt, are not one shared value")
	}
	if conds[0].LastTransitionTime != a.Metadata.CreationTimestamp {
		t.Error("the Scheduled condition's time, equal to creationTimestamp, is not one shared value")
	}
	if st.StartedAt == a.Metadata.CreationTimestamp {
		t.Error("startedAt and creationTimestamp differ but share one value")
	}
	for _, s := range []struct{ field, x, y string }{
		{"metadata.name", a.Metadata.Name, b.Metadata.Name},
		{"metadata.uid", a.Metadata.UID, b.Metadata.UID},
		{"status.containerID", a.Status.ContainerID, b.Status.ContainerID},
	} {
		if s.x == s.y {
			t.Errorf("%s is the same in both tasks: the test's tasks are wrong", s.field)
		}
	}

	// A caller that changes a task copies it first: the copy's labels are
	// its own, and the other task keeps its labels.
	cp := a.DeepCopy()
	cp.Metadata.Labels["app"] = "db"
	if b.Metadata.Labels["app"] != "web" || a.Metadata.Labels["app"] != "web" {
		t.Errorf("changing a copy's labels changed the shared map: a %v, b %v", a.Metadata.Labels, b.Metadata.Labels)
	}
}

// BenchmarkCompactTask is the cost of compacting a task as a cache keeps
// it, its strings shared already (the common case).
func BenchmarkCompactTask(b *testing.B) {
	var c compactor
	c.task(runningTask("warm", "w1"))
	tasks := make([]*v1.Task, b.N)
	for i := range tasks {
		tasks[i] = runningTask("t"+strconv.Itoa(i), "w1")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c.task(tasks[i])
	}
}
