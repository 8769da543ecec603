package apiserver_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

const (
	placementAdminToken = "admin-token"
	placementJoinToken  = "join-token"
)

// placementEnv is an API server over a real bolt store, with its caches
// running, and no controllers: what the handlers write stays as written.
type placementEnv struct {
	state *store.State
	url   string
}

func mustPlacementEnv(t *testing.T) *placementEnv {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := bolt.Open(filepath.Join(t.TempDir(), "minkube.db"), bolt.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	state := store.NewState(db, logger)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = state.Start(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		_ = db.Close()
	})
	if err := state.WaitForSync(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv, err := apiserver.New(apiserver.Options{State: state, AdminToken: placementAdminToken, JoinToken: placementJoinToken, Signer: pkitest.CA(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &placementEnv{state: state, url: hs.URL}
}

func (e *placementEnv) mustWorker(t *testing.T, name string, unschedulable bool) {
	t.Helper()
	now := time.Now().UTC()
	_, err := e.state.Workers.Create(t.Context(), &v1.Worker{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorker},
		Metadata: v1.ObjectMeta{Name: name, UID: store.NewUID(), CreationTimestamp: &now},
		Spec:     v1.WorkerSpec{Address: "127.0.0.1:7071", Unschedulable: unschedulable},
		Status:   v1.WorkerStatus{Phase: v1.WorkerReady, LastHeartbeatTime: &now},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// mustTask stores a task with the given status and waits until the task
// cache has it, as the handlers read the cache.
func (e *placementEnv) mustTask(t *testing.T, name string, status v1.TaskStatus, deleting bool) *v1.Task {
	t.Helper()
	now := time.Now().UTC()
	task := store.NewTask(&v1.Task{Metadata: v1.ObjectMeta{Name: name}, Spec: v1.TaskSpec{Image: "minkube/testapp:dev"}}, now)
	task.Status = status
	if deleting {
		task.Metadata.DeletionTimestamp = &now
	}
	out, err := e.state.Tasks.Create(t.Context(), task)
	if err != nil {
		t.Fatal(err)
	}
	rev, _ := store.ParseResourceVersion(out.Metadata.ResourceVersion)
	if err := e.state.TaskCache.WaitForRevision(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
	return out
}

// post sends POST path with token and decodes the answer into out.
func (e *placementEnv) post(t *testing.T, path, token string, out any) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("POST %s: decode the answer: %v", path, err)
	}
	return resp.StatusCode
}

func (e *placementEnv) storedWorker(t *testing.T, name string) *v1.Worker {
	t.Helper()
	w, err := e.state.Workers.Get(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (e *placementEnv) storedTask(t *testing.T, name string) *v1.Task {
	t.Helper()
	task, err := e.state.Tasks.Get(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// eventReasons lists the reasons of the events about kind/name, as
// stored once the events recorded so far are written.
func (e *placementEnv) eventReasons(t *testing.T, kind, name string) []string {
	t.Helper()
	if err := e.state.FlushEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
	events, _, err := e.state.Events.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, ev := range events {
		if ev.InvolvedObject.Kind == kind && ev.InvolvedObject.Name == name {
			reasons = append(reasons, ev.Type+"/"+ev.Reason)
		}
	}
	return reasons
}

func TestCordonUncordon(t *testing.T) {
	tests := []struct {
		name       string
		action     string
		startsOff  bool // the worker starts cordoned
		want       bool // spec.unschedulable afterwards
		wantEvents []string
	}{
		{name: "cordon", action: "cordon", want: true, wantEvents: []string{"Normal/Cordoned"}},
		{name: "cordon again", action: "cordon", startsOff: true, want: true},
		{name: "uncordon", action: "uncordon", startsOff: true, want: false, wantEvents: []string{"Normal/Uncordoned"}},
		{name: "uncordon a schedulable worker", action: "uncordon", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustPlacementEnv(t)
			e.mustWorker(t, "w1", tt.startsOff)
			var got v1.Worker
			if code := e.post(t, "/api/v1/workers/w1/"+tt.action, placementAdminToken, &got); code != http.StatusOK {
				t.Fatalf("POST %s: status %d, want 200", tt.action, code)
			}
			if got.Metadata.Name != "w1" || got.Spec.Unschedulable != tt.want {
				t.Errorf("answer: worker %q unschedulable %v, want w1 %v", got.Metadata.Name, got.Spec.Unschedulable, tt.want)
			}
			if stored := e.storedWorker(t, "w1"); stored.Spec.Unschedulable != tt.want {
				t.Errorf("stored unschedulable = %v, want %v", stored.Spec.Unschedulable, tt.want)
			}
			if got := e.eventReasons(t, v1.KindWorker, "w1"); strings.Join(got, ",") != strings.Join(tt.wantEvents, ",") {
				t.Errorf("worker events = %v, want %v", got, tt.wantEvents)
			}
		})
	}
}

func TestDrain(t *testing.T) {
	e := mustPlacementEnv(t)
	e.mustWorker(t, "w1", false)
	e.mustWorker(t, "w2", false)
	running := v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1", HostIP: "127.0.0.1", ContainerID: "abc", ObservedGeneration: 1,
		Conditions: []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionTrue}}}
	tasks := map[string]*v1.Task{
		"run":       e.mustTask(t, "run", running, false),
		"scheduled": e.mustTask(t, "scheduled", v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "w1"}, false),
		"unknown":   e.mustTask(t, "unknown", v1.TaskStatus{Phase: v1.PhaseUnknown, Worker: "w1", Reason: v1.ReasonWorkerLost}, false),
		"done":      e.mustTask(t, "done", v1.TaskStatus{Phase: v1.PhaseSucceeded, Worker: "w1"}, false),
		"failed":    e.mustTask(t, "failed", v1.TaskStatus{Phase: v1.PhaseFailed, Worker: "w1"}, false),
		"deleting":  e.mustTask(t, "deleting", running, true),
		"elsewhere": e.mustTask(t, "elsewhere", v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w2"}, false),
	}

	var got v1.Worker
	if code := e.post(t, "/api/v1/workers/w1/drain", placementAdminToken, &got); code != http.StatusOK {
		t.Fatalf("POST drain: status %d, want 200", code)
	}
	if !got.Spec.Unschedulable || !e.storedWorker(t, "w1").Spec.Unschedulable {
		t.Errorf("drain left w1 schedulable")
	}
	if e.storedWorker(t, "w2").Spec.Unschedulable {
		t.Errorf("drain of w1 cordoned w2")
	}

	tests := []struct {
		task      string
		moved     bool
		wantPhase v1.Phase
	}{
		{task: "run", moved: true},
		{task: "scheduled", moved: true},
		{task: "unknown", moved: true},
		{task: "done", wantPhase: v1.PhaseSucceeded},
		{task: "failed", wantPhase: v1.PhaseFailed},
		{task: "deleting", wantPhase: v1.PhaseRunning},
		{task: "elsewhere", wantPhase: v1.PhaseRunning},
	}
	for _, tt := range tests {
		t.Run(tt.task, func(t *testing.T) {
			cur := e.storedTask(t, tt.task)
			events := e.eventReasons(t, v1.KindTask, tt.task)
			if !tt.moved {
				if cur.Metadata.ResourceVersion != tasks[tt.task].Metadata.ResourceVersion || cur.Status.Phase != tt.wantPhase {
					t.Errorf("drain changed it: status %+v", cur.Status)
				}
				if len(events) != 0 {
					t.Errorf("events %v, want none", events)
				}
				return
			}
			st := cur.Status
			if st.Worker != "" || st.Phase != v1.PhasePending || st.Reason != apiserver.ReasonDrained ||
				st.Message != "moved off worker w1 by drain" || st.ContainerID != "" || st.HostIP != "" {
				t.Errorf("status = %+v, want Pending with no worker, reason Drained", st)
			}
			if c := v1.FindCondition(st.Conditions, v1.TaskScheduled); c == nil || c.Status != v1.ConditionFalse || c.Reason != apiserver.ReasonDrained {
				t.Errorf("Scheduled condition = %+v, want False/Drained", c)
			}
			if c := v1.FindCondition(st.Conditions, v1.TaskReady); c == nil || c.Status != v1.ConditionFalse {
				t.Errorf("Ready condition = %+v, want False", c)
			}
			if strings.Join(events, ",") != "Normal/Drained" {
				t.Errorf("events = %v, want one Normal/Drained", events)
			}
		})
	}

	// A second drain finds nothing left to move and records nothing more.
	if code := e.post(t, "/api/v1/workers/w1/drain", placementAdminToken, &got); code != http.StatusOK {
		t.Fatalf("second drain: status %d", code)
	}
	if events := e.eventReasons(t, v1.KindTask, "run"); len(events) != 1 {
		t.Errorf("after a second drain, events about run = %v, want still one", events)
	}
	if events := e.eventReasons(t, v1.KindWorker, "w1"); strings.Join(events, ",") != "Normal/Cordoned" {
		t.Errorf("worker events = %v, want one Normal/Cordoned", events)
	}
}

func TestPlacement_Errors(t *testing.T) {
	e := mustPlacementEnv(t)
	e.mustWorker(t, "w1", false)
	tests := []struct {
		name       string
		path       string
		token      string
		wantCode   int
		wantReason v1.StatusReason
	}{
		{name: "unknown worker, cordon", path: "/api/v1/workers/nope/cordon", token: placementAdminToken, wantCode: http.StatusNotFound, wantReason: v1.StatusReasonNotFound},
		{name: "unknown worker, uncordon", path: "/api/v1/workers/nope/uncordon", token: placementAdminToken, wantCode: http.StatusNotFound, wantReason: v1.StatusReasonNotFound},
		{name: "unknown worker, drain", path: "/api/v1/workers/nope/drain", token: placementAdminToken, wantCode: http.StatusNotFound, wantReason: v1.StatusReasonNotFound},
		{name: "bad token", path: "/api/v1/workers/w1/drain", token: "wrong", wantCode: http.StatusUnauthorized, wantReason: v1.StatusReasonUnauthorized},
		{name: "join token", path: "/api/v1/workers/w1/cordon", token: placementJoinToken, wantCode: http.StatusForbidden, wantReason: v1.StatusReasonForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st v1.Status
			code := e.post(t, tt.path, tt.token, &st)
			if code != tt.wantCode || st.Reason != tt.wantReason || st.Message == "" {
				t.Errorf("status %d %+v, want %d %s with a message", code, st, tt.wantCode, tt.wantReason)
			}
		})
	}
	if e.storedWorker(t, "w1").Spec.Unschedulable {
		t.Errorf("a refused request cordoned w1")
	}
}
