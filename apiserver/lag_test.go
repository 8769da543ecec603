package apiserver_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
	"github.com/minkube/minkube/store/statetest"
)

// laggingStore delays the task changes its watches deliver, as the cache
// of one manager lags behind a write another manager made.
type laggingStore struct {
	store.Store
	lag time.Duration
	// on, when set, makes the lag start when it turns true; nil lags
	// from the start.
	on *atomic.Bool
}

func (s laggingStore) Watch(ctx context.Context, prefix string, rev int64) (<-chan store.Event, error) {
	in, err := s.Store.Watch(ctx, prefix, rev)
	if err != nil || !strings.HasPrefix(prefix, store.TasksPrefix) {
		return in, err
	}
	out := make(chan store.Event, 64)
	go func() {
		defer close(out)
		for ev := range in {
			if s.on == nil || s.on.Load() {
				select {
				case <-time.After(s.lag):
				case <-ctx.Done():
					return
				}
			}
			out <- ev
		}
	}()
	return out, nil
}

// mustLaggingAPIEnv is an API server over a bolt store whose task changes
// reach the caches an hour late (from when on turns true; nil: from the
// start), as one manager's cache lags behind another's writes; db is the
// store itself, for writes the lagging caches do not see.
func mustLaggingAPIEnv(t *testing.T, on *atomic.Bool) (e *apiEnv, db *bolt.Store) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	st := store.NewState(laggingStore{Store: db, lag: time.Hour, on: on}, logger)
	srv, err := apiserver.New(apiserver.Options{State: st, AdminToken: apiAdminToken, JoinToken: apiJoinToken, Signer: pkitest.CA(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	statetest.Run(t, st)
	return &apiEnv{st: st, url: hs.URL}, db
}

// TestWorkers_ReportAheadOfTheCache is a heartbeat that reaches a manager
// whose cache has not yet seen the task the worker holds (another manager
// created and assigned it): the manager asks the store instead of telling
// the worker to stop a task that is its own.
func TestWorkers_ReportAheadOfTheCache(t *testing.T) {
	e, db := mustLaggingAPIEnv(t, nil)
	st, logger := e.st, slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)

	// Another manager's writes: the task is created, then assigned to w1.
	other := store.NewState(db, logger)
	task := store.NewTask(&v1.Task{Metadata: v1.ObjectMeta{Name: "web"}, Spec: v1.TaskSpec{Image: "minkube/testapp:dev"}}, time.Now().UTC())
	task.Status = v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "w1"}
	if _, err := other.Tasks.Create(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.TaskCache.Get("web"); ok {
		t.Fatal("the lagging cache has the task already; the test shows nothing")
	}
	report := v1.StatusReport{Full: true, Tasks: []v1.TaskReport{{UID: task.Metadata.UID, Name: "web", Generation: 1,
		Status: v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1", ContainerID: "c1"}}}}
	var reply v1.StatusReply
	mustDecode(t, e.do(t, http.MethodPut, "/api/v1/workers/w1/status", reg.Token, report), &reply)
	if len(reply.Stop) != 0 {
		t.Errorf("stop = %v: the worker was told to stop its own task because the cache was behind", reply.Stop)
	}
	// A task that is really gone is still stopped.
	report.Tasks[0].UID, report.Tasks[0].Name = "uid-gone", "gone"
	reply = v1.StatusReply{}
	mustDecode(t, e.do(t, http.MethodPut, "/api/v1/workers/w1/status", reg.Token, report), &reply)
	if len(reply.Stop) != 1 || reply.Stop[0] != "uid-gone" {
		t.Errorf("stop = %v, want [uid-gone]", reply.Stop)
	}
}

// TestWorkers_ReportOfAnAssignmentAheadOfTheCache is the first report of a
// task the scheduler has just assigned and pushed, reaching the manager
// before its cache shows the assignment (the cache still has the task
// waiting for a worker). The worker was answered 200 and cleared the
// report: the manager must record it from the store, not ignore it until
// the next full heartbeat.
func TestWorkers_ReportOfAnAssignmentAheadOfTheCache(t *testing.T) {
	var lagging atomic.Bool
	e, _ := mustLaggingAPIEnv(t, &lagging)
	st := e.st
	reg := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)

	created, err := st.Tasks.Create(t.Context(), store.NewTask(&v1.Task{Metadata: v1.ObjectMeta{Name: "web"}, Spec: v1.TaskSpec{Image: "minkube/testapp:dev"}}, time.Now().UTC()))
	if err != nil {
		t.Fatal(err)
	}
	mustCacheRevision(t, st.TaskCache.WaitForRevision, created.Metadata.ResourceVersion)
	lagging.Store(true)
	// The scheduler's write: assigned to w1, Pending until it reports.
	if _, err := st.Tasks.GuaranteedUpdate(t.Context(), "web", func(task *v1.Task) (*v1.Task, error) {
		task.Status = v1.TaskStatus{Phase: v1.PhasePending, Worker: "w1", Conditions: []v1.Condition{{
			Type: v1.TaskScheduled, Status: v1.ConditionTrue, Reason: "Assigned", ObservedGeneration: 1}}}
		return task, nil
	}); err != nil {
		t.Fatal(err)
	}
	if c, _ := st.TaskCache.Get("web"); c.Status.Worker != "" {
		t.Fatal("the lagging cache has the assignment already; the test shows nothing")
	}
	now := time.Now().UTC().Truncate(time.Second)
	report := v1.StatusReport{Tasks: []v1.TaskReport{{UID: created.Metadata.UID, Name: "web", Generation: 1,
		Status: v1.TaskStatus{Phase: v1.PhaseRunning, ContainerID: "c1", StartedAt: &now, ObservedGeneration: 1}}}}
	var reply v1.StatusReply
	mustDecode(t, e.do(t, http.MethodPut, "/api/v1/workers/w1/status", reg.Token, report), &reply)
	if len(reply.Stop) != 0 {
		t.Errorf("stop = %v: the worker was told to stop the task just assigned to it", reply.Stop)
	}
	stored, err := st.Tasks.Get(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status.Phase != v1.PhaseRunning || stored.Status.ContainerID != "c1" || stored.Status.Worker != "w1" {
		t.Errorf("stored status = %+v; want the report recorded (Running c1 on w1), not dropped because the cache was behind", stored.Status)
	}
}
