package workerd

import (
	"maps"
	"slices"
	"testing"

	"github.com/minkube/minkube/workerd/runtime"
)

func summary(id, uid, status string) runtime.Summary {
	return runtime.Summary{ID: id, Labels: map[string]string{runtime.LabelTaskUID: uid}, Status: status}
}

func all(map[string]string) bool { return true }

func staleOf(cc *containerCache, uid string) []string {
	_, stale := cc.ofTask(uid, all)
	return stale
}

// TestContainerCache_Relist: a relist wakes only the tasks whose
// containers changed, and marks only those containers for an inspect.
func TestContainerCache_Relist(t *testing.T) {
	cc := newContainerCache()
	if down, _ := cc.runtimeDown(); down == "" {
		t.Fatal("a cache never listed says the runtime answers")
	}
	changed, back := cc.relisted(cc.beginList(), []runtime.Summary{summary("a", "u1", "running"), summary("b", "u2", "running")})
	if !back || !maps.Equal(changed, map[string]bool{"u1": true, "u2": true}) {
		t.Fatalf("first relist: changed %v, came back %t; want both tasks, true", changed, back)
	}
	for _, id := range []string{"a", "b"} {
		cc.inspected(observed{Container: runtime.Container{ID: id, Labels: map[string]string{runtime.LabelTaskUID: map[string]string{"a": "u1", "b": "u2"}[id]},
			State: runtime.State{Status: "running", Running: true}}})
	}

	// Nothing changed: nothing to wake, nothing to inspect.
	changed, back = cc.relisted(cc.beginList(), []runtime.Summary{summary("a", "u1", "running"), summary("b", "u2", "running")})
	if back || len(changed) != 0 || len(staleOf(cc, "u1"))+len(staleOf(cc, "u2")) != 0 {
		t.Fatalf("unchanged relist: changed %v, came back %t; want nothing", changed, back)
	}

	// b exited, a is gone, c is new.
	changed, _ = cc.relisted(cc.beginList(), []runtime.Summary{summary("b", "u2", "exited"), summary("c", "u3", "created")})
	if !maps.Equal(changed, map[string]bool{"u1": true, "u2": true, "u3": true}) {
		t.Errorf("relist after changes: changed %v; want u1 (gone), u2 (exited), u3 (new)", changed)
	}
	if got := staleOf(cc, "u2"); !slices.Equal(got, []string{"b"}) {
		t.Errorf("stale of u2 = %v; want [b]", got)
	}
	if fresh, stale := cc.ofTask("u1", all); len(fresh)+len(stale) != 0 {
		t.Errorf("u1 still has containers after a is gone: %v %v", fresh, stale)
	}
}

// TestContainerCache_TouchedDuringAListIsKept: a container made, reported
// by an event or inspected while a list was under way is not dropped for
// missing from that list.
func TestContainerCache_TouchedDuringAListIsKept(t *testing.T) {
	cc := newContainerCache()
	cc.relisted(cc.beginList(), nil)
	u1 := map[string]string{runtime.LabelTaskUID: "u1"}
	cc.changed("before", u1)
	n := cc.beginList()
	cc.changed("made", u1)
	cc.changed("inspected", u1)
	cc.inspected(observed{Container: runtime.Container{ID: "inspected", Labels: u1, State: runtime.State{Status: "running"}}})
	cc.relisted(n, nil)
	fresh, stale := cc.ofTask("u1", all)
	if !slices.Equal(stale, []string{"made"}) || len(fresh) != 1 || fresh[0].ID != "inspected" {
		t.Errorf("after a list that missed them all: fresh %v, stale %v; want inspected and made kept, before dropped", fresh, stale)
	}
	cc.relisted(cc.beginList(), nil)
	if fresh, stale := cc.ofTask("u1", all); len(fresh)+len(stale) != 0 {
		t.Errorf("after a later list that misses them: %v %v; want them gone", fresh, stale)
	}
}

// TestContainerCache_Outage: an unreachable runtime is said so; when it is
// back every container is inspected again.
func TestContainerCache_Outage(t *testing.T) {
	cc := newContainerCache()
	cc.relisted(cc.beginList(), []runtime.Summary{summary("a", "u1", "running")})
	cc.inspected(observed{Container: runtime.Container{ID: "a", Labels: map[string]string{runtime.LabelTaskUID: "u1"}, State: runtime.State{Status: "running"}}})
	if !cc.failed("connection refused", t0) {
		t.Error("first failure: not reported as a change")
	}
	if cc.failed("connection refused", t0.Add(1)) {
		t.Error("second failure: reported as a change")
	}
	if down, since := cc.runtimeDown(); down != "connection refused" || !since.Equal(t0) {
		t.Errorf("runtimeDown = %q since %s; want connection refused since the first failure", down, since)
	}
	changed, back := cc.relisted(cc.beginList(), []runtime.Summary{summary("a", "u1", "running")})
	if !back || !changed["u1"] || !slices.Equal(staleOf(cc, "u1"), []string{"a"}) {
		t.Errorf("after the outage: changed %v, came back %t, stale %v; want a inspected again", changed, back, staleOf(cc, "u1"))
	}
}

func TestOwns(t *testing.T) {
	tests := []struct {
		name    string
		labels  map[string]string
		cluster string
		held    bool
		want    bool
	}{
		{"this cluster", map[string]string{runtime.LabelCluster: "c1"}, "c1", false, true},
		{"another cluster, same worker name", map[string]string{runtime.LabelCluster: "c2"}, "c1", true, false},
		{"no cluster yet", map[string]string{runtime.LabelCluster: "c1"}, "", true, false},
		{"from before cluster ids, task held", map[string]string{}, "c1", true, true},
		{"from before cluster ids, task not held", map[string]string{}, "c1", false, false},
	}
	for _, tt := range tests {
		if got := owns(tt.labels, tt.cluster, tt.held); got != tt.want {
			t.Errorf("%s: owns = %t; want %t", tt.name, got, tt.want)
		}
	}
}

func TestClusterNote(t *testing.T) {
	path := t.TempDir() + "/worker.cluster"
	mine := newClusterNote(path, "join-a")
	if id, err := mine.load(); err != nil || id != "" {
		t.Fatalf("load before any save = %q, %v; want nothing", id, err)
	}
	if err := mine.save("cluster-1"); err != nil {
		t.Fatal(err)
	}
	if id, err := mine.load(); err != nil || id != "cluster-1" {
		t.Errorf("load = %q, %v; want cluster-1", id, err)
	}
	// Another cluster's worker (another join token) finds no note of its own.
	if id, err := newClusterNote(path, "join-b").load(); err != nil || id != "" {
		t.Errorf("load with another join token = %q, %v; want nothing", id, err)
	}
	if id, err := newClusterNote("", "join-a").load(); err != nil || id != "" {
		t.Errorf("load with no file = %q, %v; want nothing", id, err)
	}
}

func TestHostAddresses(t *testing.T) {
	tests := []struct {
		portHostIP, advertise string
		publish, report       string
	}{
		{"", "127.0.0.1:7071", "127.0.0.1", "127.0.0.1"},
		{"", "10.0.0.5:7071", "10.0.0.5", "10.0.0.5"},
		{"", "worker-1.example:7071", "", "worker-1.example"},
		{"", "0.0.0.0:7071", "", "0.0.0.0"},
		{"0.0.0.0", "10.0.0.5:7071", "0.0.0.0", "10.0.0.5"},
		{"192.168.1.2", "10.0.0.5:7071", "192.168.1.2", "192.168.1.2"},
	}
	for _, tt := range tests {
		publish, report := hostAddresses(tt.portHostIP, tt.advertise)
		if publish != tt.publish || report != tt.report {
			t.Errorf("hostAddresses(%q, %q) = %q, %q; want %q, %q", tt.portHostIP, tt.advertise, publish, report, tt.publish, tt.report)
		}
	}
}

// TestContainerCache_ByTask: a task's containers are found by its uid
// whichever way the cache learnt of them, follow a change of labels, and
// leave with the container.
func TestContainerCache_ByTask(t *testing.T) {
	cc := newContainerCache()
	cc.relisted(cc.beginList(), []runtime.Summary{summary("listed", "u1", "running")})
	cc.changed("unlabelled", nil) // an event before its labels are known
	cc.changed("made", map[string]string{runtime.LabelTaskUID: "u1"})
	if got := staleOf(cc, "u1"); !slices.Equal(got, []string{"listed", "made"}) {
		t.Errorf("stale of u1 = %v; want listed and made", got)
	}
	cc.inspected(observed{Container: runtime.Container{ID: "unlabelled", Labels: map[string]string{runtime.LabelTaskUID: "u2"}}})
	cc.inspected(observed{Container: runtime.Container{ID: "made", Labels: map[string]string{runtime.LabelTaskUID: "u2"}}})
	if fresh, _ := cc.ofTask("u2", all); len(fresh) != 2 {
		t.Errorf("u2 has %d inspected containers, want 2 (relabelled made, and unlabelled once inspected)", len(fresh))
	}
	if got := staleOf(cc, "u1"); !slices.Equal(got, []string{"listed"}) {
		t.Errorf("stale of u1 = %v; want only listed after made moved to u2", got)
	}
	cc.gone("made")
	cc.gone("unlabelled")
	if fresh, stale := cc.ofTask("u2", all); len(fresh)+len(stale) != 0 || len(cc.byTask) != 1 {
		t.Errorf("u2 keeps %v %v after its containers are gone; index %v", fresh, stale, cc.byTask)
	}
}
