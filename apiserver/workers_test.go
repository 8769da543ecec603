package apiserver_test

import (
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/store/statetest"
)

func registerRequest(name string) v1.RegisterRequest {
	return v1.RegisterRequest{
		Name:    name,
		Address: "127.0.0.1:7071",
		Labels:  map[string]string{"disk": "ssd"},
		Stats:   v1.WorkerStats{CPUs: 4, MemoryTotal: 8 << 30, MemoryAvailable: 6 << 30, DiskTotal: 100 << 30, DiskFree: 80 << 30},

		CertificateRequest: pkitest.CSR(name),
	}
}

// mustRegister registers a worker with the join token and checks the code.
func (e *apiEnv) mustRegister(t *testing.T, req v1.RegisterRequest, code int) v1.RegisterResponse {
	t.Helper()
	return e.mustRegisterWith(t, apiJoinToken, req, code)
}

// mustRegisterWith registers a worker with token and checks the code.
func (e *apiEnv) mustRegisterWith(t *testing.T, token string, req v1.RegisterRequest, code int) v1.RegisterResponse {
	t.Helper()
	r := e.do(t, http.MethodPost, "/api/v1/workers", token, req)
	if r.Code != code {
		t.Fatalf("register %s = %d, want %d; body %s", req.Name, r.Code, code, r.Body)
	}
	var out v1.RegisterResponse
	mustDecode(t, r, &out)
	return out
}

func TestWorkers_Register(t *testing.T) {
	e := mustAPIEnv(t)
	reg := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)
	if reg.Token == "" || reg.ManagerToken == "" || reg.Token == reg.ManagerToken {
		t.Errorf("tokens %q / %q, want two different non-empty tokens", reg.Token, reg.ManagerToken)
	}
	w := reg.Worker
	if w.Metadata.Name != "w1" || w.Metadata.UID == "" || w.Spec.Address != "127.0.0.1:7071" || w.Metadata.Labels["disk"] != "ssd" {
		t.Errorf("worker = %+v, want w1 at 127.0.0.1:7071 labelled disk=ssd", w)
	}
	if w.Status.Phase != v1.WorkerReady || w.Status.LastHeartbeatTime == nil {
		t.Errorf("worker status = %+v, want Ready with a heartbeat time", w.Status)
	}
	if w.Status.Capacity[v1.ResourceCPU] != "4" || w.Status.Capacity[v1.ResourceMemory] != "8Gi" || w.Status.Capacity[v1.ResourceDisk] != "100Gi" {
		t.Errorf("capacity = %v, want cpu 4, memory 8Gi, disk 100Gi", w.Status.Capacity)
	}
	cred, err := e.st.Credentials.Get(t.Context(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	if cred.TokenHash == reg.Token || cred.ManagerToken != reg.ManagerToken {
		t.Errorf("credential = %+v: the worker token must be kept hashed and the manager token as issued", cred)
	}

	// The credentials work at once for the worker's own routes.
	report := v1.StatusReport{Full: true, Stats: registerRequest("w1").Stats}
	if r := e.do(t, http.MethodPut, "/api/v1/workers/w1/status", reg.Token, report); r.Code != http.StatusOK {
		t.Fatalf("heartbeat with the issued token = %d %s, want 200", r.Code, r.Body)
	}
	if r := e.do(t, http.MethodGet, "/api/v1/workers/w1/tasks", reg.Token, nil); r.Code != http.StatusOK {
		t.Fatalf("GET own tasks with the issued token = %d %s, want 200", r.Code, r.Body)
	}
	// ... and for nothing else.
	mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/tasks", reg.Token, nil), http.StatusForbidden, v1.StatusReasonForbidden)

	// The certificate is the cluster CA's, for the worker's name.
	cert := mustParseCert(t, reg.Certificate)
	if err := cert.VerifyHostname("w1"); err != nil || cert.CheckSignatureFrom(pkitest.CA().Cert) != nil {
		t.Errorf("certificate for %v signed by the cluster CA: %v", cert.DNSNames, err)
	}

	// Registering again (a restarted worker) with its own token issues new
	// credentials; the old token stops working.
	again := registerRequest("w1")
	again.Address = "127.0.0.1:7072"
	second := e.mustRegisterWith(t, reg.Token, again, http.StatusOK)
	if second.Token == reg.Token || second.Worker.Metadata.UID != w.Metadata.UID || second.Worker.Spec.Address != "127.0.0.1:7072" {
		t.Errorf("re-registration = %+v (token reused: %v), want new token, same uid, new address", second.Worker, second.Token == reg.Token)
	}
	if r := e.do(t, http.MethodPut, "/api/v1/workers/w1/status", second.Token, report); r.Code != http.StatusOK {
		t.Fatalf("heartbeat with the new token = %d %s, want 200", r.Code, r.Body)
	}
	mustStatusError(t, e.do(t, http.MethodPut, "/api/v1/workers/w1/status", reg.Token, report), http.StatusUnauthorized, v1.StatusReasonUnauthorized)

	// The worker is listed.
	r := e.do(t, http.MethodGet, "/api/v1/workers", apiAdminToken, nil)
	var list v1.WorkerList
	mustDecode(t, r, &list)
	if list.Kind != v1.KindWorkerList || len(list.Items) != 1 || list.Items[0].Metadata.Name != "w1" {
		t.Errorf("worker list = %+v, want w1", list)
	}
	r = e.do(t, http.MethodGet, "/api/v1/workers/w1", apiAdminToken, nil)
	var got v1.Worker
	mustDecode(t, r, &got)
	if got.Spec.Address != "127.0.0.1:7072" {
		t.Errorf("GET worker address = %q, want 127.0.0.1:7072", got.Spec.Address)
	}
}

func TestWorkers_RegisterInvalid(t *testing.T) {
	e := mustAPIEnv(t)
	tests := []struct {
		name   string
		req    v1.RegisterRequest
		fields []string
	}{
		{"everything", v1.RegisterRequest{Name: "Bad_Name", Address: "nowhere", Labels: map[string]string{"ok": "not ok"}}, []string{"name", "address", "labels[ok]", "certificateRequest"}},
		{"no name", v1.RegisterRequest{Address: "127.0.0.1:7071", CertificateRequest: pkitest.CSR("w1")}, []string{"name"}},
		{"port 0", v1.RegisterRequest{Name: "w1", Address: "127.0.0.1:0", CertificateRequest: pkitest.CSR("w1")}, []string{"address"}},
		{"no port", v1.RegisterRequest{Name: "w1", Address: "127.0.0.1:", CertificateRequest: pkitest.CSR("w1")}, []string{"address"}},
		{"a certificate request that is not one", v1.RegisterRequest{Name: "w1", Address: "127.0.0.1:7071", CertificateRequest: "junk"}, []string{"certificateRequest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustStatusError(t, e.do(t, http.MethodPost, "/api/v1/workers", apiJoinToken, tt.req), http.StatusUnprocessableEntity, v1.StatusReasonInvalid)
			if st.Details == nil {
				t.Fatalf("no details in %+v", st)
			}
			var fields []string
			for _, c := range st.Details.Causes {
				fields = append(fields, c.Field)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("causes %q, want %q", fields, tt.fields)
			}
		})
	}
	if workers, _, err := e.st.Workers.List(t.Context()); err != nil || len(workers) != 0 {
		t.Errorf("workers stored: %d (%v)", len(workers), err)
	}
}

// heartbeat sends a status report of worker w1 and decodes the reply.
func (e *apiEnv) mustHeartbeat(t *testing.T, worker, token string, rep v1.StatusReport) v1.StatusReply {
	t.Helper()
	r := e.do(t, http.MethodPut, "/api/v1/workers/"+worker+"/status", token, rep)
	if r.Code != http.StatusOK {
		t.Fatalf("heartbeat = %d %s", r.Code, r.Body)
	}
	var reply v1.StatusReply
	mustDecode(t, r, &reply)
	return reply
}

func TestWorkers_Heartbeat(t *testing.T) {
	e := mustAPIEnv(t)
	w1 := e.mustAPIWorker(t, "w1")
	e.mustAPIWorker(t, "w2")
	scheduled := func(worker string) v1.TaskStatus {
		return v1.TaskStatus{
			Phase: v1.PhaseScheduled, Worker: worker, HostIP: "127.0.0.1", ObservedGeneration: 1,
			Conditions: []v1.Condition{{Type: v1.TaskScheduled, Status: v1.ConditionTrue, Reason: "Assigned"}},
		}
	}
	mine := e.mustStoredTask(t, "mine", nil, scheduled("w1"))
	runningThere := scheduled("w2")
	runningThere.Phase = v1.PhaseRunning
	theirs := e.mustStoredTask(t, "theirs", nil, runningThere)
	arriving := e.mustStoredTask(t, "arriving", nil, scheduled("w2"))
	ended := e.mustStoredTask(t, "ended", nil, v1.TaskStatus{Phase: v1.PhaseFailed, Reason: v1.ReasonWorkerLost, Worker: "w1", ObservedGeneration: 1})
	moving := e.mustStoredTask(t, "moving", nil, v1.TaskStatus{Phase: v1.PhasePending, Reason: v1.ReasonWorkerLost})
	old := e.mustStoredTask(t, "reborn", nil, scheduled("w1"))

	running := func(id string) v1.TaskStatus {
		now := time.Now().UTC().Truncate(time.Second)
		return v1.TaskStatus{
			Phase: v1.PhaseRunning, ContainerID: id, StartedAt: &now, ObservedGeneration: 1,
			Ports:      []v1.PortStatus{{Name: "http", ContainerPort: 8080, HostPort: 18080, Protocol: v1.ProtocolTCP}},
			Conditions: []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionTrue, Reason: "HealthCheckPassed"}},
		}
	}
	stats := v1.WorkerStats{CPUs: 2, MemoryTotal: 4 << 30, DiskTotal: 50 << 30, DiskFree: 40 << 30, Load1: 0.5}
	reply := e.mustHeartbeat(t, "w1", w1, v1.StatusReport{Full: true, Stats: stats, Tasks: []v1.TaskReport{
		{UID: mine.Metadata.UID, Name: "mine", Generation: 1, Status: running("c-mine")},
		{UID: theirs.Metadata.UID, Name: "theirs", Generation: 1, Status: running("c-theirs")},
		{UID: arriving.Metadata.UID, Name: "arriving", Generation: 1, Status: running("c-arriving")},
		{UID: ended.Metadata.UID, Name: "ended", Generation: 1, Status: running("c-ended")},
		{UID: moving.Metadata.UID, Name: "moving", Generation: 1, Status: running("c-moving")},
		{UID: "uid-of-an-old-reborn", Name: "reborn", Generation: 1, Status: running("c-reborn-old")},
		{UID: "uid-of-a-deleted-task", Name: "gone", Generation: 1, Status: running("c-gone")},
	}})

	wantStop := []string{theirs.Metadata.UID, ended.Metadata.UID, "uid-of-an-old-reborn", "uid-of-a-deleted-task"}
	slices.Sort(wantStop)
	gotStop := slices.Sorted(slices.Values(reply.Stop))
	if !slices.Equal(gotStop, wantStop) {
		t.Errorf("stop = %v, want %v (theirs, ended, the old reborn and gone; not mine, moving nor arriving)", gotStop, wantStop)
	}

	got := e.mustStoreTask(t, "mine")
	if got.Status.Phase != v1.PhaseRunning || got.Status.ContainerID != "c-mine" || got.Status.Worker != "w1" || got.Status.HostIP != "127.0.0.1" {
		t.Errorf("mine = %+v, want Running c-mine on w1 with the host IP kept", got.Status)
	}
	if len(got.Status.Ports) != 1 || got.Status.Ports[0].HostPort != 18080 {
		t.Errorf("mine ports = %+v, want the reported host port", got.Status.Ports)
	}
	if c := v1.FindCondition(got.Status.Conditions, v1.TaskScheduled); c == nil || c.Status != v1.ConditionTrue || c.Reason != "Assigned" {
		t.Errorf("Scheduled condition = %+v, want the manager's kept", c)
	}
	if c := v1.FindCondition(got.Status.Conditions, v1.TaskReady); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("Ready condition = %+v, want the worker's", c)
	}
	lastWrite, err := strconv.ParseInt(old.Metadata.ResourceVersion, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if reply.HeartbeatInterval.Duration != apiserver.DefaultHeartbeatInterval || reply.Revision < lastWrite {
		t.Errorf("reply interval %s revision %d, want the default interval and at least revision %d (the last task write)", reply.HeartbeatInterval, reply.Revision, lastWrite)
	}
	for name, want := range map[string]*v1.Task{"theirs": theirs, "arriving": arriving, "ended": ended, "moving": moving, "reborn": old} {
		if s := e.mustStoreTask(t, name); s.Metadata.ResourceVersion != want.Metadata.ResourceVersion {
			t.Errorf("task %s changed by another worker's or a stale report: %+v", name, s.Status)
		}
	}

	wk, err := e.st.Workers.Get(t.Context(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	if wk.Status.Phase != v1.WorkerReady || wk.Status.Stats != stats || wk.Status.Capacity[v1.ResourceDisk] != "50Gi" {
		t.Errorf("worker status = %+v, want Ready with the reported stats", wk.Status)
	}
	// The tasks held by w1: mine, ended, reborn.
	if wk.Status.Tasks != 3 {
		t.Errorf("worker tasks = %d, want 3", wk.Status.Tasks)
	}

	// A report older than the spec the worker accepted (as the Scheduled
	// condition says) is not recorded.
	bumped, err := e.st.Tasks.GuaranteedUpdate(t.Context(), "mine", func(task *v1.Task) (*v1.Task, error) {
		task.Metadata.Generation = 2
		task.Status.Conditions = v1.SetCondition(task.Status.Conditions, v1.Condition{
			Type: v1.TaskScheduled, Status: v1.ConditionTrue, Reason: "Assigned", ObservedGeneration: 2}, time.Now())
		return task, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCacheRevision(t, e.st.TaskCache.WaitForRevision, bumped.Metadata.ResourceVersion)
	staleReport := running("c-mine-stale")
	reply = e.mustHeartbeat(t, "w1", w1, v1.StatusReport{Stats: stats, Tasks: []v1.TaskReport{
		{UID: mine.Metadata.UID, Name: "mine", Generation: 1, Status: staleReport},
	}})
	if len(reply.Stop) != 0 {
		t.Errorf("stop = %v, want none", reply.Stop)
	}
	if s := e.mustStoreTask(t, "mine"); s.Status.ContainerID != "c-mine" {
		t.Errorf("a report of generation 1 overwrote generation 2's status: %+v", s.Status)
	}

	// A worker that holds generation 2 but still runs generation 1's
	// container (its update waits for an image) says so: observedGeneration
	// is the worker's, behind the spec, not the generation pushed.
	behind := running("c-mine")
	behind.ObservedGeneration = 1
	behind.Reason = v1.ReasonImagePullBackOff
	e.mustHeartbeat(t, "w1", w1, v1.StatusReport{Stats: stats, Tasks: []v1.TaskReport{
		{UID: mine.Metadata.UID, Name: "mine", Generation: 2, Status: behind},
	}})
	if s := e.mustStoreTask(t, "mine"); s.Status.ObservedGeneration != 1 || s.Status.Reason != v1.ReasonImagePullBackOff ||
		s.Status.AssignedGeneration() != 2 {
		t.Errorf("status after a report of an update not done = %+v; want observedGeneration 1, ImagePullBackOff, generation 2 assigned", s.Status)
	}
}

func TestWorkers_ClusterID(t *testing.T) {
	e := mustAPIEnvWith(t, apiserver.Options{ClusterID: "cluster-7"})
	reg := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)
	if reg.ClusterID != "cluster-7" {
		t.Errorf("registration cluster id = %q, want cluster-7", reg.ClusterID)
	}
	if reply := e.mustHeartbeat(t, "w1", reg.Token, v1.StatusReport{Full: true}); reply.ClusterID != "cluster-7" {
		t.Errorf("heartbeat reply cluster id = %q, want cluster-7", reply.ClusterID)
	}
}

// TestWorkers_RuntimeUnreachable: a worker that reports it cannot reach
// its runtime is NotReady, at registration and in heartbeats, with an event
// on each change; its tasks are left to it.
func TestWorkers_RuntimeUnreachable(t *testing.T) {
	e := mustAPIEnv(t)
	down := []v1.Condition{{Type: v1.WorkerRuntimeReady, Status: v1.ConditionFalse, Reason: v1.ReasonRuntimeUnreachable, Message: "connection refused"}}
	up := []v1.Condition{{Type: v1.WorkerRuntimeReady, Status: v1.ConditionTrue, Reason: "RuntimeReachable"}}
	req := registerRequest("w1")
	req.Conditions = down
	reg := e.mustRegister(t, req, http.StatusCreated)
	if reg.Worker.Status.Phase != v1.WorkerNotReady {
		t.Errorf("registered with its runtime down: phase %s, want NotReady", reg.Worker.Status.Phase)
	}
	phase := func() (v1.WorkerPhase, []v1.Condition) {
		w, err := e.st.Workers.Get(t.Context(), "w1")
		if err != nil {
			t.Fatal(err)
		}
		return w.Status.Phase, w.Status.Conditions
	}
	for i, step := range []struct {
		full  bool
		conds []v1.Condition
		want  v1.WorkerPhase
	}{
		{full: true, conds: up, want: v1.WorkerReady},
		{full: false, conds: down, want: v1.WorkerNotReady}, // a partial report that changes a condition counts
		{full: false, conds: down, want: v1.WorkerNotReady},
		{full: true, conds: up, want: v1.WorkerReady},
	} {
		e.mustHeartbeat(t, "w1", reg.Token, v1.StatusReport{Full: step.full, Conditions: step.conds})
		got, conds := phase()
		if got != step.want || len(conds) != 1 || conds[0].Status != step.conds[0].Status {
			t.Errorf("step %d: phase %s, conditions %+v; want %s with the reported condition", i, got, conds, step.want)
		}
	}
	// One event for each change a heartbeat reported: back twice, down once.
	e.mustWorkerEvents(t, "w1", map[string]int32{"RuntimeReachable": 2, v1.ReasonRuntimeUnreachable: 1})
	bad := v1.StatusReport{Conditions: []v1.Condition{{Type: v1.WorkerRuntimeReady, Status: "Maybe"}}}
	mustStatusError(t, e.do(t, http.MethodPut, "/api/v1/workers/w1/status", reg.Token, bad), http.StatusUnprocessableEntity, v1.StatusReasonInvalid)
}

// TestWorkers_ReportedEvents: events a worker reports with a task are
// recorded on it; those of a task it does not hold are not.
func TestWorkers_ReportedEvents(t *testing.T) {
	e := mustAPIEnv(t)
	w1 := e.mustAPIWorker(t, "w1")
	e.mustAPIWorker(t, "w2")
	mine := e.mustStoredTask(t, "mine", nil, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"})
	theirs := e.mustStoredTask(t, "theirs", nil, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w2"})
	ev := []v1.ReportedEvent{{Type: v1.EventNormal, Reason: v1.ReasonBreakBeforeMake, Message: "stopping container abc before its replacement"}}
	e.mustHeartbeat(t, "w1", w1, v1.StatusReport{Tasks: []v1.TaskReport{
		{UID: mine.Metadata.UID, Name: "mine", Generation: 1, Status: mine.Status, Events: ev},
		{UID: theirs.Metadata.UID, Name: "theirs", Generation: 1, Status: theirs.Status, Events: ev},
	}})
	e.mustEvents(t, "mine", []eventKey{{v1.EventNormal, v1.ReasonBreakBeforeMake, ev[0].Message, 1}})
	e.mustEvents(t, "theirs", []eventKey{})
}

func TestWorkers_HeartbeatMarksReady(t *testing.T) {
	e := mustAPIEnv(t)
	token := e.mustAPIWorker(t, "w1")
	past := time.Now().Add(-time.Hour).UTC()
	out, err := e.st.Workers.GuaranteedUpdate(t.Context(), "w1", func(w *v1.Worker) (*v1.Worker, error) {
		w.Status.Phase = v1.WorkerNotReady
		w.Status.LastHeartbeatTime = &past
		return w, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCacheRevision(t, e.st.WorkerCache.WaitForRevision, out.Metadata.ResourceVersion)

	// Even a partial report brings a NotReady worker back.
	before := time.Now()
	e.mustHeartbeat(t, "w1", token, v1.StatusReport{Stats: v1.WorkerStats{CPUs: 1}})
	w, err := e.st.Workers.Get(t.Context(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	if w.Status.Phase != v1.WorkerReady || w.Status.LastHeartbeatTime == nil || w.Status.LastHeartbeatTime.Before(before.Add(-time.Second)) {
		t.Errorf("worker status = %+v, want Ready with a fresh heartbeat", w.Status)
	}
}

// TestWorkers_HeartbeatOfAReturningWorker: a worker that was judged lost
// is told to stop every copy that is no longer its own at once, even of a
// task that has not started elsewhere yet; a Ready worker keeps such a
// copy (make before break).
func TestWorkers_HeartbeatOfAReturningWorker(t *testing.T) {
	e := mustAPIEnv(t)
	token := e.mustAPIWorker(t, "w1")
	e.mustAPIWorker(t, "w2")
	waiting := e.mustStoredTask(t, "waiting", nil, v1.TaskStatus{Phase: v1.PhasePending, Reason: v1.ReasonWorkerLost})
	arriving := e.mustStoredTask(t, "arriving", nil, v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "w2"})
	report := v1.StatusReport{Full: true, Tasks: []v1.TaskReport{
		{UID: waiting.Metadata.UID, Name: "waiting", Generation: 1, Status: v1.TaskStatus{Phase: v1.PhaseRunning}},
		{UID: arriving.Metadata.UID, Name: "arriving", Generation: 1, Status: v1.TaskStatus{Phase: v1.PhaseRunning}},
	}}
	if reply := e.mustHeartbeat(t, "w1", token, report); len(reply.Stop) != 0 {
		t.Fatalf("a Ready worker is told to stop %v, want nothing before the tasks start elsewhere", reply.Stop)
	}

	e.mustWorkerNotReady(t, "w1")
	reply := e.mustHeartbeat(t, "w1", token, report)
	want := []string{waiting.Metadata.UID, arriving.Metadata.UID}
	slices.Sort(want)
	if got := slices.Sorted(slices.Values(reply.Stop)); !slices.Equal(got, want) {
		t.Errorf("a returning worker is told to stop %v, want %v", got, want)
	}
}

func TestWorkers_HeartbeatIntervalFromOptions(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := statetest.New(t, logger)
	srv, err := apiserver.New(apiserver.Options{State: st, AdminToken: apiAdminToken, JoinToken: apiJoinToken, Signer: pkitest.CA(), Logger: logger,
		HeartbeatInterval: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	statetest.Run(t, st)
	e := &apiEnv{st: st, url: hs.URL}

	reg := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)
	if reg.HeartbeatInterval.Duration != 1500*time.Millisecond {
		t.Errorf("registration heartbeatInterval = %s, want 1.5s", reg.HeartbeatInterval)
	}
	reply := e.mustHeartbeat(t, "w1", reg.Token, v1.StatusReport{Full: true})
	if reply.HeartbeatInterval.Duration != 1500*time.Millisecond {
		t.Errorf("heartbeat reply heartbeatInterval = %s, want 1.5s", reply.HeartbeatInterval)
	}
}

func TestWorkers_HeartbeatUnknownWorker(t *testing.T) {
	e := mustAPIEnv(t)
	mustStatusError(t, e.do(t, http.MethodPut, "/api/v1/workers/w9/status", apiAdminToken, v1.StatusReport{}), http.StatusNotFound, v1.StatusReasonNotFound)
}

func TestWorkers_Tasks(t *testing.T) {
	e := mustAPIEnv(t)
	w1 := e.mustAPIWorker(t, "w1")
	e.mustAPIWorker(t, "w2")
	e.mustStoredTask(t, "b", nil, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"})
	e.mustStoredTask(t, "a", nil, v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "w1"})
	e.mustStoredTask(t, "c", nil, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w2"})
	e.mustStoredTask(t, "d", nil, v1.TaskStatus{Phase: v1.PhasePending})

	r := e.do(t, http.MethodGet, "/api/v1/workers/w1/tasks", w1, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET = %d %s", r.Code, r.Body)
	}
	var list v1.TaskList
	mustDecode(t, r, &list)
	var names []string
	for _, item := range list.Items {
		names = append(names, item.Metadata.Name)
	}
	if want := []string{"a", "b"}; !slices.Equal(names, want) {
		t.Errorf("w1 tasks = %v, want %v", names, want)
	}
	if list.Kind != v1.KindTaskList || list.Metadata.ResourceVersion == "" {
		t.Errorf("list header = %+v %+v", list.TypeMeta, list.Metadata)
	}
}

// TestWorkers_RegisterThenHeartbeatAtOnce registers many workers, each
// sending its first heartbeat the moment registration answers, as workerd
// does. Every one must be accepted: a worker told 401 or 404 registers
// again, which rotates its credentials.
func TestWorkers_RegisterThenHeartbeatAtOnce(t *testing.T) {
	e := mustAPIEnv(t)
	const n = 200
	failed := map[int]int{}
	for i := range n {
		name := "w-" + strconv.Itoa(i)
		reg := e.mustRegister(t, registerRequest(name), http.StatusCreated)
		r := e.do(t, http.MethodPut, "/api/v1/workers/"+name+"/status", reg.Token, v1.StatusReport{Full: true})
		if r.Code != http.StatusOK {
			failed[r.Code]++
		}
	}
	if len(failed) > 0 {
		t.Errorf("first heartbeats refused right after registration, by code: %v of %d", failed, n)
	}
}

// TestWorkers_FirstStatus: the first status a worker answered a push
// with is recorded as its report would be (status, events, transition
// events), but only over the assignment: a report of the same copy that
// came in first is the newer, and an answer about another worker's or
// another incarnation's task is not recorded at all.
func TestWorkers_FirstStatus(t *testing.T) {
	e := mustAPIEnv(t)
	token := e.mustAPIWorker(t, "w1")
	e.mustAPIWorker(t, "w2")
	assigned := func(worker string) v1.TaskStatus {
		return v1.TaskStatus{Phase: v1.PhasePending, Worker: worker, Conditions: []v1.Condition{{
			Type: v1.TaskScheduled, Status: v1.ConditionTrue, Reason: "Assigned", ObservedGeneration: 1}}}
	}
	running := func(t *v1.Task, container string) v1.TaskReport {
		return v1.TaskReport{UID: t.Metadata.UID, Name: t.Metadata.Name, Generation: 1,
			Status: v1.TaskStatus{Phase: v1.PhaseRunning, ContainerID: container, ObservedGeneration: 1}}
	}

	web := e.mustStoredTask(t, "web", nil, assigned("w1"))
	first := running(web, "c1")
	first.Events = []v1.ReportedEvent{{Type: v1.EventNormal, Reason: "Pulled", Message: "image pulled"}}
	e.srv.RecordFirstStatus(t.Context(), "w1", web, first)
	got := e.mustStoreTask(t, "web")
	if got.Status.Phase != v1.PhaseRunning || got.Status.ContainerID != "c1" || got.Status.Worker != "w1" ||
		v1.FindCondition(got.Status.Conditions, v1.TaskScheduled) == nil {
		t.Errorf("status after the first status = %+v; want Running in c1 on w1, Scheduled kept", got.Status)
	}
	e.mustEvents(t, "web", []eventKey{
		{v1.EventNormal, "Pulled", "image pulled", 1},
		{v1.EventNormal, "Started", "started container c1 on worker w1", 1},
	})

	// A report of the copy came in first: the answer, older, is dropped,
	// whether it is handed the task as assigned or as the cache shows it.
	api := e.mustStoredTask(t, "api", nil, assigned("w1"))
	restarted := running(api, "c2-restarted")
	restarted.Status.RestartCount = 1
	e.mustHeartbeat(t, "w1", token, v1.StatusReport{Tasks: []v1.TaskReport{restarted}})
	e.srv.RecordFirstStatus(t.Context(), "w1", api, running(api, "c2"))
	if got := e.mustStoreTask(t, "api"); got.Status.ContainerID != "c2-restarted" || got.Status.RestartCount != 1 {
		t.Errorf("status after a report then an older answer = %+v; want the report's (c2-restarted, 1 restart)", got.Status)
	}

	// Not this worker's task, or another incarnation: nothing is written.
	other := e.mustStoredTask(t, "other", nil, assigned("w2"))
	e.srv.RecordFirstStatus(t.Context(), "w1", other, running(other, "c3"))
	stale := running(web, "c4")
	stale.UID = "another-uid"
	e.srv.RecordFirstStatus(t.Context(), "w1", e.mustStoreTask(t, "web"), stale)
	if got := e.mustStoreTask(t, "other"); got.Status.Phase != v1.PhasePending {
		t.Errorf("w2's task after w1's answer = %s; want Pending", got.Status.Phase)
	}
	if got := e.mustStoreTask(t, "web"); got.Status.ContainerID != "c1" {
		t.Errorf("web after an answer of another uid = container %s; want c1", got.Status.ContainerID)
	}
}

// TestWorkers_HeartbeatDigest: a heartbeat carries no task that did not
// change, only the digest of those the worker reported Scheduled or
// Running; the manager asks for a full report when its own record of the
// worker's tasks differs, or when the worker comes back from being lost.
func TestWorkers_HeartbeatDigest(t *testing.T) {
	e := mustAPIEnv(t)
	token := e.mustAPIWorker(t, "w1")
	e.mustAPIWorker(t, "w2")
	running := e.mustStoredTask(t, "running", nil, assignedTo("w1", v1.PhaseRunning))
	scheduled := e.mustStoredTask(t, "scheduled", nil, assignedTo("w1", v1.PhaseScheduled))
	pending := e.mustStoredTask(t, "pending", nil, assignedTo("w1", v1.PhasePending))
	e.mustStoredTask(t, "done", nil, assignedTo("w1", v1.PhaseSucceeded))
	e.mustStoredTask(t, "elsewhere", nil, assignedTo("w2", v1.PhaseRunning))
	digest := func(tasks ...*v1.Task) string {
		var d v1.TaskDigest
		for _, t := range tasks {
			d.Add(t.Metadata.UID)
		}
		return d.String()
	}

	if reply := e.mustHeartbeat(t, "w1", token, v1.StatusReport{Heartbeat: true, Digest: digest(scheduled, running)}); reply.SendFull {
		t.Error("the manager asks for a full report from a worker whose digest matches its record")
	}
	if reply := e.mustHeartbeat(t, "w1", token, v1.StatusReport{Heartbeat: true, Digest: digest(running)}); !reply.SendFull {
		t.Error("the manager does not ask for a full report from a worker whose digest lacks a task it records there")
	}
	// The tasks of the report itself count as it records them, though the
	// cache may not show them yet.
	reply := e.mustHeartbeat(t, "w1", token, v1.StatusReport{Heartbeat: true, Digest: digest(running, scheduled, pending),
		Tasks: []v1.TaskReport{{UID: pending.Metadata.UID, Name: "pending", Generation: 1, Status: v1.TaskStatus{Phase: v1.PhaseRunning, ObservedGeneration: 1}}}})
	if reply.SendFull {
		t.Error("the manager asks for a full report when the heartbeat's own report makes the digests match")
	}

	e.mustWorkerNotReady(t, "w1")
	if reply := e.mustHeartbeat(t, "w1", token, v1.StatusReport{Heartbeat: true, Digest: digest(running, scheduled, pending)}); !reply.SendFull {
		t.Error("a worker coming back from being lost is not asked for a full report")
	}
}

// TestWorkers_RefusedReportIsLogged: a status report over the body limit
// is refused with 413 and logged as an error naming the worker.
func TestWorkers_RefusedReportIsLogged(t *testing.T) {
	var logs syncBuffer
	e := mustAPIEnvWith(t, apiserver.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	token := e.mustAPIWorker(t, "w1")
	big := v1.StatusReport{Tasks: make([]v1.TaskReport, 0, 4000)}
	for i := range 4000 {
		big.Tasks = append(big.Tasks, v1.TaskReport{UID: strconv.Itoa(i), Name: "task-" + strconv.Itoa(i), Generation: 1,
			Status: v1.TaskStatus{Phase: v1.PhaseRunning, Message: strings.Repeat("x", 300)}})
	}
	r := e.do(t, http.MethodPut, "/api/v1/workers/w1/status", token, big)
	if r.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a report over the body limit = %d, want 413", r.Code)
	}
	if got := logs.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "status report is refused") || !strings.Contains(got, "worker=w1") {
		t.Errorf("the refusal is not logged as an error naming the worker; log:\n%s", got)
	}
}

// mustWorkerEvents waits until the events about worker name count want
// by reason, and fails with what they count otherwise.
func (e *apiEnv) mustWorkerEvents(t *testing.T, name string, want map[string]int32) {
	t.Helper()
	var got map[string]int32
	for deadline := time.Now().Add(apiWaitTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		got = map[string]int32{}
		for _, ev := range statetest.Events(t, e.st, v1.KindWorker, name) {
			got[ev.Reason] += ev.Count
		}
		if maps.Equal(got, want) {
			return
		}
	}
	t.Errorf("worker %s: events by reason %v; want %v", name, got, want)
}

// mustWorkerNotReady marks the worker NotReady, as the lifecycle does when
// its heartbeats stop, and waits for the cache to show it.
func (e *apiEnv) mustWorkerNotReady(t *testing.T, name string) {
	t.Helper()
	out, err := e.st.Workers.GuaranteedUpdate(t.Context(), name, func(w *v1.Worker) (*v1.Worker, error) {
		w.Status.Phase = v1.WorkerNotReady
		return w, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCacheRevision(t, e.st.WorkerCache.WaitForRevision, out.Metadata.ResourceVersion)
}

// TestWorkers_HeartbeatAnswered: a heartbeat names the tasks whose first
// status a push's answer carried. The manager acknowledges with nothing
// those it records on the worker, under that uid, in the phase named, and
// asks for the status of every other again (Resend): an answer it has not
// recorded (the task is still Pending), a phase it does not hold, a task
// on another worker, one of another uid, one it does not have. It writes
// nothing for them, and the digest counts the worker's own tasks in the
// phase the worker gives them, so no full report is asked for.
func TestWorkers_HeartbeatAnswered(t *testing.T) {
	e := mustAPIEnv(t)
	token := e.mustAPIWorker(t, "w1")
	e.mustAPIWorker(t, "w2")
	recorded := e.mustStoredTask(t, "recorded", nil, assignedTo("w1", v1.PhaseRunning))
	notYet := e.mustStoredTask(t, "not-yet", nil, assignedTo("w1", v1.PhasePending))
	ended := e.mustStoredTask(t, "ended", nil, assignedTo("w1", v1.PhaseRunning))
	moved := e.mustStoredTask(t, "moved", nil, assignedTo("w2", v1.PhaseRunning))
	reborn := e.mustStoredTask(t, "reborn", nil, assignedTo("w1", v1.PhaseRunning))
	named := func(t *v1.Task, phase v1.Phase) v1.AnsweredTask {
		return v1.AnsweredTask{UID: t.Metadata.UID, Name: t.Metadata.Name, Phase: phase}
	}
	var digest v1.TaskDigest // what w1 reported Scheduled or Running
	digest.Add(recorded.Metadata.UID)
	digest.Add(notYet.Metadata.UID)
	digest.Add(reborn.Metadata.UID)

	reply := e.mustHeartbeat(t, "w1", token, v1.StatusReport{Heartbeat: true, Digest: digest.String(), Answered: []v1.AnsweredTask{
		named(recorded, v1.PhaseRunning),
		named(notYet, v1.PhaseRunning),
		named(ended, v1.PhaseFailed),
		named(moved, v1.PhaseRunning),
		{UID: "another-uid", Name: "reborn", Phase: v1.PhaseRunning},
		{UID: "uid-of-none", Name: "none", Phase: v1.PhaseRunning},
	}})
	want := []string{notYet.Metadata.UID, ended.Metadata.UID, moved.Metadata.UID, "another-uid", "uid-of-none"}
	if !slices.Equal(reply.Resend, want) {
		t.Errorf("resend = %v, want %v", reply.Resend, want)
	}
	if reply.SendFull {
		t.Error("the manager asks for a full report though the digest matches once the named tasks count in their phase")
	}
	if !reply.ChecksAnswered {
		t.Error("the reply does not say the manager checks answered tasks: the worker would carry their statuses again")
	}
	for _, tc := range []struct {
		task  *v1.Task
		phase v1.Phase
	}{{notYet, v1.PhasePending}, {ended, v1.PhaseRunning}, {moved, v1.PhaseRunning}, {reborn, v1.PhaseRunning}} {
		if got := e.mustStoreTask(t, tc.task.Metadata.Name); got.Status.Phase != tc.phase || got.Metadata.ResourceVersion != tc.task.Metadata.ResourceVersion {
			t.Errorf("%s after the heartbeat named it: %s at version %s; want %s at %s, not written", tc.task.Metadata.Name,
				got.Status.Phase, got.Metadata.ResourceVersion, tc.phase, tc.task.Metadata.ResourceVersion)
		}
	}

	// A heartbeat that names only what the manager records asks for
	// nothing again.
	if reply := e.mustHeartbeat(t, "w1", token, v1.StatusReport{Heartbeat: true, Digest: digest.String(),
		Answered: []v1.AnsweredTask{named(recorded, v1.PhaseRunning)}}); len(reply.Resend) != 0 {
		t.Errorf("resend = %v for a task the manager records so; want none", reply.Resend)
	}
}

// assignedTo is the status of a task assigned to worker, in phase.
func assignedTo(worker string, phase v1.Phase) v1.TaskStatus {
	return v1.TaskStatus{Phase: phase, Worker: worker, Conditions: []v1.Condition{{
		Type: v1.TaskScheduled, Status: v1.ConditionTrue, Reason: "Assigned", ObservedGeneration: 1}}}
}
