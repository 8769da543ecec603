package apiserver_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/statetest"
)

// countingObserver counts the store operations by name.
type countingObserver struct {
	mu  sync.Mutex
	ops map[string]int
}

func (o *countingObserver) StoreOp(op, _ string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ops[op]++
}

func (o *countingObserver) EventDropped() {}

func (o *countingObserver) count(op string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ops[op]
}

// TestHeartbeat_writesFromTheCache: a heartbeat refreshes the worker
// object from the cache's copy, a compare-and-swap on its version, without
// reading it from the store first: with a thousand workers, that read and
// its decoding came 200 times a second. A heartbeat that loses to another
// write of the worker reads the store and is recorded all the same.
func TestHeartbeat_writesFromTheCache(t *testing.T) {
	obs := &countingObserver{ops: map[string]int{}}
	st := store.NewState(store.Instrument(statetest.New(t, nil).Store, obs), nil)
	srv, err := apiserver.New(apiserver.Options{State: st, AdminToken: apiAdminToken, JoinToken: apiJoinToken, Signer: pkitest.CA()})
	if err != nil {
		t.Fatal(err)
	}
	statetest.Run(t, st)
	ctx := t.Context()
	now := time.Now().UTC()
	const token = "token-of-w1"
	sum := sha256.Sum256([]byte(token))
	cred, err := st.Credentials.Create(ctx, &v1.Credential{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindCredential},
		Metadata: v1.ObjectMeta{Name: "w1"}, TokenHash: hex.EncodeToString(sum[:]), ManagerToken: "m",
	})
	if err != nil {
		t.Fatal(err)
	}
	wk, err := st.Workers.Create(ctx, &v1.Worker{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorker},
		Metadata: v1.ObjectMeta{Name: "w1", UID: store.NewUID(), CreationTimestamp: &now},
		Spec:     v1.WorkerSpec{Address: "127.0.0.1:7071"},
		Status:   v1.WorkerStatus{Phase: v1.WorkerReady},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CredentialCache.WaitFor(ctx, cred); err != nil {
		t.Fatal(err)
	}
	if err := st.WorkerCache.WaitFor(ctx, wk); err != nil {
		t.Fatal(err)
	}
	heartbeat := func(cpus int) {
		t.Helper()
		body, err := json.Marshal(v1.StatusReport{Heartbeat: true, Stats: v1.WorkerStats{CPUs: cpus}})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPut, "/api/v1/workers/w1/status", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("heartbeat = %d %s", rec.Code, rec.Body)
		}
		got, err := st.Workers.Get(ctx, "w1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Stats.CPUs != cpus || got.Status.LastHeartbeatTime == nil {
			t.Fatalf("stored worker after the heartbeat: %+v", got.Status)
		}
		if err := st.WorkerCache.WaitFor(ctx, got); err != nil {
			t.Fatal(err)
		}
	}

	gets := obs.count(store.OpGet)
	heartbeat(2)
	// The check above read the worker once.
	if n := obs.count(store.OpGet) - gets; n != 1 {
		t.Errorf("a heartbeat read the store %d times, want none", n-1)
	}

	// Another write the cache has not seen yet: the heartbeat's
	// compare-and-swap loses, and it goes on from the store.
	if _, err := st.Workers.GuaranteedUpdate(ctx, "w1", func(w *v1.Worker) (*v1.Worker, error) {
		w.Metadata.Labels = map[string]string{"zone": "a"}
		return w, nil
	}); err != nil {
		t.Fatal(err)
	}
	heartbeat(4)
	got, _ := st.WorkerCache.Get("w1")
	if got.Metadata.Labels["zone"] != "a" {
		t.Errorf("the heartbeat lost the other write: labels %v", got.Metadata.Labels)
	}
}
