package apiserver_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// eventKey is what a test compares of an event.
type eventKey struct {
	Type, Reason, Message string
	Count                 int32
}

// mustEvents waits until GET /api/v1/events?task=NAME lists exactly want
// (in order), and fails with what it lists otherwise. The event list is
// read from a cache, so it may trail the writes by a moment.
func (e *apiEnv) mustEvents(t *testing.T, task string, want []eventKey) []v1.Event {
	t.Helper()
	deadline := time.Now().Add(apiWaitTimeout)
	for {
		r := e.do(t, http.MethodGet, "/api/v1/events?task="+task, apiAdminToken, nil)
		if r.Code != http.StatusOK {
			t.Fatalf("GET events = %d %s", r.Code, r.Body)
		}
		var list v1.EventList
		mustDecode(t, r, &list)
		if list.Kind != v1.KindEventList {
			t.Errorf("kind = %q, want %s", list.Kind, v1.KindEventList)
		}
		got := make([]eventKey, 0, len(list.Items))
		for _, ev := range list.Items {
			got = append(got, eventKey{ev.Type, ev.Reason, ev.Message, ev.Count})
		}
		if slices.Equal(got, want) {
			for _, ev := range list.Items {
				if ev.InvolvedObject.Kind != v1.KindTask || ev.InvolvedObject.Name != task {
					t.Errorf("event %s is about %+v, want task %s", ev.Reason, ev.InvolvedObject, task)
				}
			}
			return list.Items
		}
		if time.Now().After(deadline) {
			t.Fatalf("events of task %s = %+v, want %+v", task, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEvents_StatusTransitions(t *testing.T) {
	e := mustAPIEnv(t)
	token := e.mustAPIWorker(t, "w1")
	scheduled := v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "w1", HostIP: "127.0.0.1", ObservedGeneration: 1}
	web := e.mustStoredTask(t, "web", nil, scheduled)
	other := e.mustStoredTask(t, "other", nil, scheduled)

	report := func(name, uid string, st v1.TaskStatus) {
		t.Helper()
		st.ObservedGeneration = 1
		reply := e.mustHeartbeat(t, "w1", token, v1.StatusReport{Tasks: []v1.TaskReport{{UID: uid, Name: name, Generation: 1, Status: st}}})
		if len(reply.Stop) != 0 {
			t.Fatalf("stop = %v, want none", reply.Stop)
		}
		// The next report is judged against this one: wait until the
		// cache the handler reads has it.
		stored := e.mustStoreTask(t, name)
		mustCacheRevision(t, e.st.TaskCache.WaitForRevision, stored.Metadata.ResourceVersion)
	}
	exit := func(code int32) *int32 { return &code }

	report("web", web.Metadata.UID, v1.TaskStatus{Phase: v1.PhaseScheduled, Reason: v1.ReasonErrImagePull, Message: "pull minkube/testapp:dev: not found"})
	report("web", web.Metadata.UID, v1.TaskStatus{Phase: v1.PhaseScheduled, Reason: v1.ReasonImagePullBackOff, Message: "back off pulling minkube/testapp:dev"})
	report("web", web.Metadata.UID, v1.TaskStatus{Phase: v1.PhaseRunning, ContainerID: "0123456789abcdef0123"})
	// The same status again records nothing more.
	report("web", web.Metadata.UID, v1.TaskStatus{Phase: v1.PhaseRunning, ContainerID: "0123456789abcdef0123"})
	report("web", web.Metadata.UID, v1.TaskStatus{
		Phase: v1.PhaseRunning, Reason: v1.ReasonCrashLoopBackOff, Message: "back off 10s restarting the container",
		ContainerID: "0123456789abcdef0123", RestartCount: 1, ExitCode: exit(3),
	})
	report("web", web.Metadata.UID, v1.TaskStatus{
		Phase: v1.PhaseFailed, Reason: v1.ReasonError, Message: "exited with code 3",
		ContainerID: "0123456789abcdef0123", RestartCount: 1, ExitCode: exit(3),
	})
	report("other", other.Metadata.UID, v1.TaskStatus{Phase: v1.PhaseSucceeded, Reason: v1.ReasonCompleted, Message: "exited with code 0", ExitCode: exit(0)})

	e.mustEvents(t, "web", []eventKey{
		{v1.EventWarning, v1.ReasonErrImagePull, "pull minkube/testapp:dev: not found", 1},
		{v1.EventWarning, v1.ReasonImagePullBackOff, "back off pulling minkube/testapp:dev", 1},
		{v1.EventNormal, "Started", "started container 0123456789ab on worker w1", 1},
		{v1.EventWarning, v1.ReasonCrashLoopBackOff, "back off 10s restarting the container", 1},
		{v1.EventNormal, "Restarted", "restarted the container (restart 1); it had exited with code 3", 1},
		{v1.EventWarning, "Failed", "exited with code 3", 1},
	})
	e.mustEvents(t, "other", []eventKey{
		{v1.EventNormal, v1.ReasonCompleted, "exited with code 0", 1},
	})
	e.mustEvents(t, "nobody", []eventKey{})

	// Without a task, every event is listed.
	r := e.do(t, http.MethodGet, "/api/v1/events", apiAdminToken, nil)
	var all v1.EventList
	mustDecode(t, r, &all)
	if len(all.Items) != 7 {
		t.Errorf("all events = %d, want 7", len(all.Items))
	}
}

func TestEvents_RepeatCounts(t *testing.T) {
	e := mustAPIEnv(t)
	token := e.mustAPIWorker(t, "w1")
	web := e.mustStoredTask(t, "web", nil, v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "w1", ObservedGeneration: 1})

	// The pull fails, backs off, fails again: the same ErrImagePull event
	// counts twice rather than being recorded twice.
	for i, reason := range []string{v1.ReasonErrImagePull, v1.ReasonImagePullBackOff, v1.ReasonErrImagePull} {
		msg := "pull minkube/testapp:dev: not found"
		if reason == v1.ReasonImagePullBackOff {
			msg = "back off pulling minkube/testapp:dev"
		}
		e.mustHeartbeat(t, "w1", token, v1.StatusReport{Tasks: []v1.TaskReport{{
			UID: web.Metadata.UID, Name: "web", Generation: 1,
			Status: v1.TaskStatus{Phase: v1.PhaseScheduled, Reason: reason, Message: msg, ObservedGeneration: 1},
		}}})
		stored := e.mustStoreTask(t, "web")
		if stored.Status.Reason != reason {
			t.Fatalf("report %d: reason = %q, want %q", i, stored.Status.Reason, reason)
		}
		mustCacheRevision(t, e.st.TaskCache.WaitForRevision, stored.Metadata.ResourceVersion)
	}
	events := e.mustEvents(t, "web", []eventKey{
		{v1.EventWarning, v1.ReasonImagePullBackOff, "back off pulling minkube/testapp:dev", 1},
		{v1.EventWarning, v1.ReasonErrImagePull, "pull minkube/testapp:dev: not found", 2},
	})
	if ev := events[1]; !ev.LastTimestamp.After(ev.FirstTimestamp) {
		t.Errorf("repeated event: first %s last %s, want last after first", ev.FirstTimestamp, ev.LastTimestamp)
	}
}
