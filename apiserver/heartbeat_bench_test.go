package apiserver_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/statetest"
)

// BenchmarkHeartbeat_10000Tasks measures the manager's side of one
// periodic heartbeat of a worker holding 10,000 Running tasks, none of
// them changed: the worker object's refresh and the digest comparison.
func BenchmarkHeartbeat_10000Tasks(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := statetest.New(b, logger)
	// No window for heartbeats to write together: one worker's, one
	// after another, have none to meet, and the figure is the handler's
	// own cost.
	srv, err := apiserver.New(apiserver.Options{State: st, AdminToken: apiAdminToken, JoinToken: apiJoinToken, Signer: pkitest.CA(), Logger: logger, HeartbeatWindow: -1})
	if err != nil {
		b.Fatal(err)
	}
	statetest.Run(b, st)
	ctx := b.Context()
	now := time.Now().UTC()
	const token = "token-of-w1"
	sum := sha256.Sum256([]byte(token))
	if _, err := st.Credentials.Create(ctx, &v1.Credential{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindCredential},
		Metadata: v1.ObjectMeta{Name: "w1"}, TokenHash: hex.EncodeToString(sum[:]), ManagerToken: "m",
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Workers.Create(ctx, &v1.Worker{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorker},
		Metadata: v1.ObjectMeta{Name: "w1", UID: store.NewUID(), CreationTimestamp: &now},
		Spec:     v1.WorkerSpec{Address: "127.0.0.1:7071"},
		Status:   v1.WorkerStatus{Phase: v1.WorkerReady},
	}); err != nil {
		b.Fatal(err)
	}
	var (
		last   *v1.Task
		digest v1.TaskDigest
	)
	for i := range 10000 {
		task := store.NewTask(&v1.Task{
			Metadata: v1.ObjectMeta{Name: fmt.Sprintf("task-%05d", i)},
			Spec:     v1.TaskSpec{Image: "minkube/testapp:dev", RestartPolicy: v1.RestartAlways, Resources: v1.Resources{CPU: "10m", Memory: "1Mi"}},
		}, now)
		task.Status = v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"}
		if last, err = st.Tasks.Create(ctx, task); err != nil {
			b.Fatal(err)
		}
		digest.Add(last.Metadata.UID)
	}
	rev, _ := store.ParseResourceVersion(last.Metadata.ResourceVersion)
	if err := st.TaskCache.WaitForRevision(ctx, rev); err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(v1.StatusReport{Heartbeat: true, Digest: digest.String(), Stats: v1.WorkerStats{CPUs: 2}})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPut, "/api/v1/workers/w1/status", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("heartbeat = %d %s", rec.Code, rec.Body)
		}
		var reply v1.StatusReply
		if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil || reply.SendFull {
			b.Fatalf("reply %+v, %v: the digest should match", reply, err)
		}
	}
}
