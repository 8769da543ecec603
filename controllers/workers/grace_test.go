package workers_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/controllers/workers"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/statetest"
)

// TestController_GraceAfterStart is a new leader (or one back after etcd
// lost its quorum): the stored heartbeats are older than the timeout only
// because nobody could store newer ones. The controller gives each worker
// a full timeout from its own start before judging it lost.
func TestController_GraceAfterStart(t *testing.T) {
	const timeout = 3 * time.Second
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := statetest.New(t, logger)
	long := time.Now().UTC().Add(-10 * timeout)
	if _, err := st.Workers.Create(t.Context(), &v1.Worker{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorker},
		Metadata: v1.ObjectMeta{Name: "w1", UID: store.NewUID(), CreationTimestamp: &long},
		Spec:     v1.WorkerSpec{Address: "127.0.0.1:7071"},
		Status:   v1.WorkerStatus{Phase: v1.WorkerReady, LastHeartbeatTime: &long},
	}); err != nil {
		t.Fatal(err)
	}
	c := workers.New(workers.Options{State: st, Timeout: timeout, RescheduleAfter: 2 * timeout, Logger: logger})
	statetest.Run(t, st, c)

	time.Sleep(timeout / 10)
	if w, _ := st.WorkerCache.Get("w1"); w.Status.Phase != v1.WorkerReady {
		t.Fatalf("worker %s right after the controller started; want Ready until a timeout has passed under its watch", w.Status.Phase)
	}
	// Still silent a timeout later: now it is lost.
	deadline := time.Now().Add(waitTimeout + timeout)
	for {
		w, _ := st.WorkerCache.Get("w1")
		if w.Status.Phase == v1.WorkerNotReady {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker still %s after a timeout of silence under the controller", w.Status.Phase)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
