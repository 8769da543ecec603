package workerd_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

// Names and credentials every test worker uses.
const (
	workerName  = "worker-1"
	joinToken   = "join-secret"
	workerToken = "worker-token"
	testImage   = "app:1"
	clusterID   = "cluster-1"
)

// waitTimeout bounds every poll: generous, so that a loaded machine under
// -race slows a test down rather than failing it.
const waitTimeout = 20 * time.Second

// mustEventually polls cond until it holds, failing the test after
// waitTimeout.
func mustEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testClock is a settable clock for both the worker and the fake runtime,
// so backoffs and the resync grace move only when a test says so.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeStats answers Sample with a settable sample or error.
type fakeStats struct {
	mu  sync.Mutex
	st  v1.WorkerStats
	err error
}

var _ workerd.Stats = (*fakeStats)(nil)

func (s *fakeStats) Sample() (v1.WorkerStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st, s.err
}

func (s *fakeStats) set(st v1.WorkerStats, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st, s.err = st, err
}

// reportCall is one ReportStatus call the fake manager received.
type reportCall struct {
	report v1.StatusReport
	err    error // what the fake answered
}

// fakeManager is the manager's API as workerd sees it. It records what it
// is sent and answers with settable errors, Stop lists and task lists.
type fakeManager struct {
	mu             sync.Mutex
	registerErr    error // every registration fails with it while set
	registerCalls  int
	registerTokens []string             // the token of every registration
	registrations  []v1.RegisterRequest // accepted ones
	dialTokens     []string
	reportErr      error   // every report fails with it while set
	reportErrOnce  []error // then these, one per report
	reports        []reportCall
	answers        []v1.TaskReport // the first statuses pushes were answered with (harness.mustAssign)
	stop           []string        // the Stop list of the next successful report
	sendFull       bool            // the next successful report asks for a full one
	resendAnswered bool            // the next successful report naming answered tasks asks for their status again
	older          bool            // its replies do not say it checks answered tasks (a manager from before)
	bodyLimit      int             // a report encoded larger is refused with 413, as the manager does; 0: no limit
	tasks          []v1.Task
	tasksErr       error // every task list fails with it while set
	tasksErrOnce   []error
	tasksCalls     int
	managers       []string      // the failover list of every reply
	interval       time.Duration // the heartbeatInterval of its replies
	revision       int64         // the revision of its replies and lists
}

var _ workerd.Manager = (*fakeManager)(nil)

// dial is the workerd.ManagerDialer.
func (m *fakeManager) dial(token string) (workerd.Manager, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dialTokens = append(m.dialTokens, token)
	return m, nil
}

func (m *fakeManager) RegisterWorker(_ context.Context, token string, req v1.RegisterRequest) (*v1.RegisterResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registerCalls++
	m.registerTokens = append(m.registerTokens, token)
	if token != joinToken && token != workerToken {
		return nil, &v1.Status{Code: http.StatusUnauthorized, Reason: v1.StatusReasonUnauthorized, Message: "bad token"}
	}
	if m.registerErr != nil {
		return nil, m.registerErr
	}
	host, _, _ := net.SplitHostPort(req.Address)
	cert, err := pkitest.CA().IssueWorker(req.Name, host, []byte(req.CertificateRequest), time.Now())
	if err != nil {
		return nil, &v1.Status{Code: http.StatusUnprocessableEntity, Reason: v1.StatusReasonInvalid, Message: err.Error()}
	}
	m.registrations = append(m.registrations, req)
	return &v1.RegisterResponse{
		Certificate:       string(cert),
		Worker:            v1.Worker{Metadata: v1.ObjectMeta{Name: req.Name}, Spec: v1.WorkerSpec{Address: req.Address}},
		Token:             workerToken,
		ManagerToken:      managerToken(len(m.registrations)),
		HeartbeatInterval: v1.Duration{Duration: m.interval},
		Managers:          slices.Clone(m.managers),
		ClusterID:         clusterID,
	}, nil
}

// managerToken is the token the fake hands out at the n-th registration.
func managerToken(n int) string { return fmt.Sprintf("manager-token-%d", n) }

func (m *fakeManager) ReportStatus(_ context.Context, worker string, report *v1.StatusReport) (*v1.StatusReply, error) {
	var cp v1.StatusReport
	b, err := json.Marshal(report)
	if err == nil {
		err = json.Unmarshal(b, &cp)
	}
	if err != nil {
		return nil, fmt.Errorf("fake manager: copy report: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if worker != workerName {
		return nil, &v1.Status{Code: http.StatusNotFound, Reason: v1.StatusReasonNotFound, Message: "no worker " + worker}
	}
	answer := m.reportErr
	if m.bodyLimit > 0 && len(b) > m.bodyLimit {
		answer = &v1.Status{Code: http.StatusRequestEntityTooLarge, Reason: "RequestEntityTooLarge",
			Message: fmt.Sprintf("request body too large: %d bytes, limit %d", len(b), m.bodyLimit)}
	}
	if len(m.reportErrOnce) > 0 {
		answer, m.reportErrOnce = m.reportErrOnce[0], m.reportErrOnce[1:]
	}
	m.reports = append(m.reports, reportCall{report: cp, err: answer})
	if answer != nil {
		return nil, answer
	}
	reply := &v1.StatusReply{Stop: m.stop, HeartbeatInterval: v1.Duration{Duration: m.interval}, Revision: m.revision,
		Managers: slices.Clone(m.managers), ClusterID: clusterID, SendFull: m.sendFull, ChecksAnswered: !m.older}
	m.stop, m.sendFull = nil, false
	if m.resendAnswered && len(cp.Answered) > 0 {
		for _, a := range cp.Answered {
			reply.Resend = append(reply.Resend, a.UID)
		}
		m.resendAnswered = false
	}
	return reply, nil
}

func (m *fakeManager) WorkerTasks(_ context.Context, name string) (*v1.TaskList, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tasksCalls++
	if name != workerName {
		return nil, &v1.Status{Code: http.StatusNotFound, Reason: v1.StatusReasonNotFound, Message: "no worker " + name}
	}
	if len(m.tasksErrOnce) > 0 {
		err := m.tasksErrOnce[0]
		m.tasksErrOnce = m.tasksErrOnce[1:]
		return nil, err
	}
	if m.tasksErr != nil {
		return nil, m.tasksErr
	}
	list := &v1.TaskList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTaskList}, Items: []v1.Task{}}
	if m.revision > 0 {
		list.Metadata.ResourceVersion = strconv.FormatInt(m.revision, 10)
	}
	for i := range m.tasks {
		list.Items = append(list.Items, *m.tasks[i].DeepCopy())
	}
	return list, nil
}

func (m *fakeManager) setRegisterErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.registerErr = err
}

// setReplies sets the heartbeat interval and the revision the fake's
// answers carry from now on.
func (m *fakeManager) setReplies(interval time.Duration, revision int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.interval, m.revision = interval, revision
}

func (m *fakeManager) setTasksErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tasksErr = err
}

func (m *fakeManager) setReportErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reportErr = err
}

func (m *fakeManager) failNextReport(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reportErrOnce = append(m.reportErrOnce, err)
}

func (m *fakeManager) failNextWorkerTasks(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tasksErrOnce = append(m.tasksErrOnce, err)
}

// askFull makes the next successful report ask for a full one.
func (m *fakeManager) askFull() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sendFull = true
}

func (m *fakeManager) setStop(uids ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stop = uids
}

func (m *fakeManager) setTasks(tasks ...*v1.Task) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tasks = nil
	for _, t := range tasks {
		m.tasks = append(m.tasks, *t.DeepCopy())
	}
}

func (m *fakeManager) registered() []v1.RegisterRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.registrations)
}

func (m *fakeManager) registerAttempts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.registerCalls
}

func (m *fakeManager) tokensDialed() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.dialTokens)
}

func (m *fakeManager) workerTasksCalls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tasksCalls
}

// calls returns every ReportStatus call so far, failed ones included.
func (m *fakeManager) calls() []reportCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.reports)
}

// succeeded returns the reports the fake accepted, in order.
func (m *fakeManager) succeeded() []v1.StatusReport {
	var out []v1.StatusReport
	for _, c := range m.calls() {
		if c.err == nil {
			out = append(out, c.report)
		}
	}
	return out
}

// refused counts the reports the fake refused.
func (m *fakeManager) refused() int {
	return len(m.calls()) - len(m.succeeded())
}

// answered records the first status a push was answered with, as the
// manager records it.
func (m *fakeManager) answered(tr v1.TaskReport) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answers = append(m.answers, tr)
}

// answer returns the first status a push of uid was answered with.
func (m *fakeManager) answer(uid string) (v1.TaskReport, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, tr := range m.answers {
		if tr.UID == uid {
			return tr, true
		}
	}
	return v1.TaskReport{}, false
}

// sawTask reports whether a push's answer or an accepted report carried
// uid with a status that satisfies pred.
func (m *fakeManager) sawTask(uid string, pred func(v1.TaskReport) bool) bool {
	if tr, ok := m.answer(uid); ok && pred(tr) {
		return true
	}
	return m.reportedTask(uid, pred)
}

// reportedTask reports whether an accepted report carried uid with a
// status that satisfies pred.
func (m *fakeManager) reportedTask(uid string, pred func(v1.TaskReport) bool) bool {
	for _, r := range m.succeeded() {
		for _, tr := range r.Tasks {
			if tr.UID == uid && pred(tr) {
				return true
			}
		}
	}
	return false
}

// recordingRuntime is the fake runtime, recording every ContainerSpec the
// worker creates (the fake keeps neither env nor limits).
type recordingRuntime struct {
	*runtimetest.Fake
	mu    sync.Mutex
	specs []runtime.ContainerSpec
}

func (r *recordingRuntime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	cp := spec
	cp.Entrypoint = slices.Clone(spec.Entrypoint)
	cp.Cmd = slices.Clone(spec.Cmd)
	cp.Env = slices.Clone(spec.Env)
	cp.Labels = maps.Clone(spec.Labels)
	cp.Ports = slices.Clone(spec.Ports)
	r.mu.Lock()
	r.specs = append(r.specs, cp)
	r.mu.Unlock()
	return r.Fake.Create(ctx, spec)
}

func (r *recordingRuntime) created() []runtime.ContainerSpec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.specs)
}

// syncBuffer collects the worker's log for a failing test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is one running worker over a fake runtime and a fake manager.
type harness struct {
	fake  *runtimetest.Fake
	rt    *recordingRuntime
	mgr   *fakeManager
	stats *fakeStats
	w     *workerd.Worker
	url   string
	http  *http.Client
	logs  *syncBuffer

	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
	startErr error
}

// testOptions are the options of a test worker: millisecond intervals, and
// a resync period long enough that only the one at registration happens.
func testOptions(rt runtime.Runtime, mgr *fakeManager, stats workerd.Stats, logs io.Writer) workerd.Options {
	return workerd.Options{
		Name:              workerName,
		Listen:            "127.0.0.1:0",
		Labels:            map[string]string{"disk": "ssd"},
		JoinToken:         joinToken,
		Manager:           mgr.dial,
		Runtime:           rt,
		Stats:             stats,
		Logger:            slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		StopGrace:         10 * time.Millisecond,
		HeartbeatInterval: 20 * time.Millisecond,
		ResyncInterval:    time.Hour,
		RelistInterval:    20 * time.Millisecond,
		BackoffInitial:    10 * time.Millisecond,
		BackoffMax:        80 * time.Millisecond,
		BackoffReset:      time.Second,
	}
}

// mustStartWorker starts a worker over fake and mgr, after edit has
// changed its options, and stops it when the test ends, failing the test
// if Start does not return or returns an error.
func mustStartWorker(t *testing.T, fake *runtimetest.Fake, mgr *fakeManager, edit func(*workerd.Options)) *harness {
	t.Helper()
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			lines := strings.Split(logs.String(), "\n")
			t.Logf("worker log (last lines):\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	h := &harness{
		fake:  fake,
		rt:    &recordingRuntime{Fake: fake},
		mgr:   mgr,
		stats: &fakeStats{st: v1.WorkerStats{CPUs: 2, MemoryTotal: 8 << 30, MemoryAvailable: 4 << 30, DiskTotal: 100 << 30, DiskFree: 50 << 30}},
		http:  workerHTTPClient(),
		logs:  logs,
		done:  make(chan error, 1),
	}
	opts := testOptions(h.rt, mgr, h.stats, logs)
	if edit != nil {
		edit(&opts)
	}
	w, err := workerd.New(opts)
	if err != nil {
		t.Fatalf("workerd.New: %v", err)
	}
	addr, err := w.Listen()
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	h.w, h.url = w, "https://"+addr.String()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	h.cancel = cancel
	go func() { h.done <- w.Start(ctx) }()
	t.Cleanup(func() {
		if err := h.stop(t); err != nil {
			t.Errorf("Start returned %v after its context ended; want nil", err)
		}
	})
	return h
}

// unverifiedHTTPClient calls a test worker without verifying it, as curl
// -k does.
var unverifiedHTTPClient = &http.Client{Timeout: waitTimeout, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
}}

// workerHTTPClient calls a test worker as the manager does: over TLS,
// verifying its certificate against the cluster CA for its name.
func workerHTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(pkitest.CA().Cert)
	return &http.Client{Timeout: waitTimeout, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: workerName},
	}}
}

// stop cancels the worker's context and waits for Start to return.
func (h *harness) stop(t *testing.T) error {
	t.Helper()
	h.stopOnce.Do(func() {
		h.cancel()
		select {
		case h.startErr = <-h.done:
		case <-time.After(waitTimeout):
			h.startErr = errors.New("Start did not return after its context ended")
		}
	})
	return h.startErr
}

// do sends a request to the worker API with the given bearer token (none
// when empty) and returns the status code and body, verifying the worker
// as the manager does.
func (h *harness) do(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	code, data, err := h.try(t, h.http, method, path, token, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return code, data
}

// try is do through hc, returning a failure to get an answer.
func (h *harness) try(t *testing.T, hc *http.Client, method, path, token string, body any) (int, []byte, error) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("marshal request body: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, h.url+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, data, nil
}

// mustRegistered waits until the worker API accepts the token of the n-th
// registration and returns it.
func (h *harness) mustRegistered(t *testing.T, n int) string {
	t.Helper()
	token := managerToken(n)
	mustEventually(t, "the worker API to accept "+token, func() bool {
		// Until it registers, its certificate is not the CA's.
		code, _, _ := h.try(t, h.http, http.MethodGet, "/api/v1/tasks", token, nil)
		return code == http.StatusOK
	})
	return token
}

// mustAssign POSTs task and checks the answer's code. It asks for the
// first status of a task new to the worker, as the manager does for a new
// assignment, and gives it to the fake manager, as the manager records it.
func (h *harness) mustAssign(t *testing.T, token string, task *v1.Task, want int) {
	t.Helper()
	code, body := h.do(t, http.MethodPost, "/api/v1/tasks?answer=status", token, task)
	if code != want {
		t.Fatalf("POST task %s (generation %d) = %d %s; want %d", task.Metadata.Name, task.Metadata.Generation, code, body, want)
	}
	if code != http.StatusCreated {
		return
	}
	var tr v1.TaskReport
	if err := json.Unmarshal(body, &tr); err != nil {
		t.Fatalf("POST task %s: answer %s: %v", task.Metadata.Name, body, err)
	}
	if tr.UID != "" {
		h.mgr.answered(tr)
	}
}

// mustTasks returns the worker's map through GET /api/v1/tasks.
func (h *harness) mustTasks(t *testing.T, token string) []v1.Task {
	t.Helper()
	code, body := h.do(t, http.MethodGet, "/api/v1/tasks", token, nil)
	if code != http.StatusOK {
		t.Fatalf("GET /api/v1/tasks = %d %s; want 200", code, body)
	}
	var list v1.TaskList
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("decode TaskList: %v in %s", err, body)
	}
	if list.Kind != v1.KindTaskList {
		t.Fatalf("GET /api/v1/tasks kind = %q; want %q", list.Kind, v1.KindTaskList)
	}
	return list.Items
}

// status returns the status the worker API shows for uid.
func (h *harness) status(t *testing.T, token, uid string) (v1.TaskStatus, bool) {
	t.Helper()
	for _, task := range h.mustTasks(t, token) {
		if task.Metadata.UID == uid {
			return task.Status, true
		}
	}
	return v1.TaskStatus{}, false
}

// mustStatus waits until the worker API shows a status of uid that
// satisfies pred, and returns it.
func (h *harness) mustStatus(t *testing.T, token, uid, what string, pred func(v1.TaskStatus) bool) v1.TaskStatus {
	t.Helper()
	var st v1.TaskStatus
	mustEventually(t, "task "+uid+" to be "+what, func() bool {
		var ok bool
		st, ok = h.status(t, token, uid)
		return ok && pred(st)
	})
	return st
}

// mustRunning waits until uid runs its container with the given restart
// count, and returns the container.
func (h *harness) mustRunning(t *testing.T, token, uid string, restarts int32) runtime.Container {
	t.Helper()
	st := h.mustStatus(t, token, uid, fmt.Sprintf("Running with restartCount %d", restarts), func(st v1.TaskStatus) bool {
		return st.Phase == v1.PhaseRunning && st.RestartCount == restarts && st.ContainerID != "" && st.Reason != v1.ReasonCrashLoopBackOff
	})
	var c runtime.Container
	mustEventually(t, "container "+st.ContainerID+" to run", func() bool {
		var err error
		c, err = h.fake.Inspect(t.Context(), st.ContainerID)
		return err == nil && c.State.Running
	})
	return c
}

// containers returns this worker's containers of uid.
func (h *harness) containers(t *testing.T, uid string) []runtime.Container {
	t.Helper()
	return mustList(t, h.fake, map[string]string{runtime.LabelWorker: workerName, runtime.LabelTaskUID: uid})
}

func mustList(t *testing.T, fake *runtimetest.Fake, labels map[string]string) []runtime.Container {
	t.Helper()
	cs, err := fake.List(t.Context(), labels)
	if err != nil {
		t.Fatalf("List %v: %v", labels, err)
	}
	return cs
}

// mustSettle waits until the worker has listed the runtime n more times,
// so that several relist passes, and the syncs they wake, have had their
// chance to act.
func mustSettle(t *testing.T, fake *runtimetest.Fake, n int) {
	t.Helper()
	base := fake.Calls(runtimetest.MethodSummaries)
	mustEventually(t, fmt.Sprintf("%d more relist passes", n), func() bool {
		return fake.Calls(runtimetest.MethodSummaries) >= base+n
	})
}

// newTask returns a defaulted Task of generation 1 running testImage.
func newTask(name, uid string, edit ...func(*v1.Task)) *v1.Task {
	t := &v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: name, UID: uid, Generation: 1, Labels: map[string]string{"app": name}},
		Spec:     v1.TaskSpec{Image: testImage, Args: []string{"serve"}},
	}
	for _, fn := range edit {
		fn(t)
	}
	v1.SetTaskDefaults(t)
	return t
}

// mustTaskLabels returns the labels workerd writes on a container of task
// (see containerSpec): uid, name, spec hash, worker, cluster and the
// task's JSON.
func mustTaskLabels(t *testing.T, task *v1.Task, worker string) map[string]string {
	t.Helper()
	meta, err := json.Marshal(struct {
		Metadata v1.ObjectMeta `json:"metadata"`
		Spec     v1.TaskSpec   `json:"spec"`
	}{
		Metadata: v1.ObjectMeta{Name: task.Metadata.Name, UID: task.Metadata.UID, Generation: task.Metadata.Generation, Labels: task.Metadata.Labels},
		Spec:     task.Spec,
	})
	if err != nil {
		t.Fatalf("marshal task label: %v", err)
	}
	return map[string]string{
		runtime.LabelTaskUID:  task.Metadata.UID,
		runtime.LabelTaskName: task.Metadata.Name,
		runtime.LabelSpecHash: task.Spec.Hash(),
		runtime.LabelWorker:   worker,
		runtime.LabelCluster:  clusterID,
		workerd.LabelTask:     string(meta),
	}
}

// mustRunContainer creates and starts a container through the fake, as if
// an earlier process had.
func mustRunContainer(t *testing.T, fake *runtimetest.Fake, name string, labels map[string]string) string {
	t.Helper()
	id, err := fake.Create(t.Context(), runtime.ContainerSpec{Name: name, Image: testImage, Labels: labels})
	if err != nil {
		t.Fatalf("Create %s: %v", name, err)
	}
	if err := fake.Start(t.Context(), id); err != nil {
		t.Fatalf("Start %s: %v", name, err)
	}
	return id
}

// mustStatusBody decodes a v1.Status answer.
func mustStatusBody(t *testing.T, body []byte) v1.Status {
	t.Helper()
	var st v1.Status
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("decode Status: %v in %s", err, body)
	}
	if st.Kind != v1.KindStatus {
		t.Fatalf("answer kind = %q; want %q in %s", st.Kind, v1.KindStatus, body)
	}
	return st
}

// condition returns the condition of type typ, or the zero Condition.
func condition(st v1.TaskStatus, typ string) v1.Condition {
	if c := v1.FindCondition(st.Conditions, typ); c != nil {
		return *c
	}
	return v1.Condition{}
}

func exitCode(st v1.TaskStatus) int32 {
	if st.ExitCode == nil {
		return -1
	}
	return *st.ExitCode
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func (m *fakeManager) registrationTokens() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.registerTokens)
}
