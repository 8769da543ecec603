package workerd_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

// healthTask is a task whose health check runs every second (the shortest
// period), times out after a second and fails after threshold failures.
func healthTask(policy v1.RestartPolicy, threshold int32, hc v1.HealthCheck, ports ...v1.Port) *v1.Task {
	hc.PeriodSeconds, hc.TimeoutSeconds, hc.FailureThreshold = 1, 1, threshold
	return newTask("web", "uid-web-1", func(t *v1.Task) {
		t.Spec.RestartPolicy = policy
		t.Spec.HealthCheck = &hc
		t.Spec.Ports = ports
	})
}

// mustListener returns a local listener closed at the end of the test.
func mustListener(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func port(l net.Listener) int32 { return int32(l.Addr().(*net.TCPAddr).Port) }

// mustHTTPServer serves code on a local port and records the paths asked.
func mustHTTPServer(t *testing.T, code int) (hostPort int32, paths func() []string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path)
		mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return port(srv.Listener), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

func TestHealth_PassingCheckMakesTheTaskReady(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// task builds the task; seen reports whether the check reached
		// what it checks.
		task func(t *testing.T, fake *runtimetest.Fake) (task *v1.Task, seen func() bool)
	}{
		{
			name: "exec",
			task: func(t *testing.T, fake *runtimetest.Fake) (*v1.Task, func() bool) {
				var ran atomic.Bool
				fake.SetExec(func(_ string, cmd []string) (int, []byte, error) {
					if slices.Equal(cmd, []string{"pg_isready", "-q"}) {
						ran.Store(true)
					}
					return 0, nil, nil
				})
				return healthTask(v1.RestartAlways, 3, v1.HealthCheck{Exec: &v1.ExecCheck{Command: []string{"pg_isready", "-q"}}}), ran.Load
			},
		},
		{
			name: "http by port name, path without a slash",
			task: func(t *testing.T, _ *runtimetest.Fake) (*v1.Task, func() bool) {
				hostPort, paths := mustHTTPServer(t, http.StatusNoContent)
				task := healthTask(v1.RestartAlways, 3, v1.HealthCheck{HTTP: &v1.HTTPCheck{Path: "healthz", Port: "http"}},
					v1.Port{Name: "http", ContainerPort: 8080, HostPort: hostPort})
				return task, func() bool { return slices.Contains(paths(), "/healthz") }
			},
		},
		{
			name: "tcp by port number",
			task: func(t *testing.T, _ *runtimetest.Fake) (*v1.Task, func() bool) {
				l := mustListener(t)
				var accepted atomic.Bool
				go func() {
					for {
						c, err := l.Accept()
						if err != nil {
							return
						}
						accepted.Store(true)
						c.Close()
					}
				}()
				task := healthTask(v1.RestartAlways, 3, v1.HealthCheck{TCP: &v1.TCPCheck{Port: "5432"}},
					v1.Port{Name: "pg", ContainerPort: 5432, HostPort: port(l)})
				return task, accepted.Load
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := runtimetest.New(testImage)
			task, seen := tt.task(t, fake)
			mgr := &fakeManager{}
			h := mustStartWorker(t, fake, mgr, nil)
			token := h.mustRegistered(t, 1)
			h.mustAssign(t, token, task, http.StatusCreated)
			c := h.mustRunning(t, token, task.Metadata.UID, 0)

			st := h.mustStatus(t, token, task.Metadata.UID, "Ready", func(st v1.TaskStatus) bool {
				return condition(st, v1.TaskReady).Status == v1.ConditionTrue
			})
			if r := condition(st, v1.TaskReady).Reason; r != "HealthCheckPassed" {
				t.Errorf("Ready reason = %q; want HealthCheckPassed", r)
			}
			if !seen() {
				t.Error("Ready without the check having reached its target")
			}
			mustEventually(t, "the manager to hear the task is Ready", func() bool {
				return mgr.sawTask(task.Metadata.UID, func(r v1.TaskReport) bool {
					return condition(r.Status, v1.TaskReady).Status == v1.ConditionTrue
				})
			})
			if st.RestartCount != 0 || st.ContainerID != c.ID {
				t.Errorf("status = %+v; want no restart of %s", st, c.ID)
			}
		})
	}
}

func TestHealth_FailingCheckRestartsTheContainer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		threshold int32
		// task builds the task; fixed, when set, makes the check pass from
		// then on.
		task    func(t *testing.T, fake *runtimetest.Fake) *v1.Task
		message string
	}{
		{
			name: "exec exits non-zero", threshold: 2, message: "exited with code 1: not ready",
			task: func(t *testing.T, fake *runtimetest.Fake) *v1.Task {
				var calls atomic.Int32
				fake.SetExec(func(string, []string) (int, []byte, error) {
					if calls.Add(1) <= 2 {
						return 1, []byte("not ready\n"), nil
					}
					return 0, nil, nil
				})
				return healthTask(v1.RestartAlways, 2, v1.HealthCheck{Exec: &v1.ExecCheck{Command: []string{"check"}}})
			},
		},
		{
			name: "http answers 500", threshold: 1, message: "500",
			task: func(t *testing.T, _ *runtimetest.Fake) *v1.Task {
				hostPort, _ := mustHTTPServer(t, http.StatusInternalServerError)
				return healthTask(v1.RestartAlways, 1, v1.HealthCheck{HTTP: &v1.HTTPCheck{Path: "/ready", Port: "8080"}},
					v1.Port{ContainerPort: 8080, HostPort: hostPort})
			},
		},
		{
			name: "tcp refused", threshold: 1, message: "refused",
			task: func(t *testing.T, _ *runtimetest.Fake) *v1.Task {
				l := mustListener(t)
				closed := port(l)
				l.Close()
				return healthTask(v1.RestartAlways, 1, v1.HealthCheck{TCP: &v1.TCPCheck{Port: "db"}},
					v1.Port{Name: "db", ContainerPort: 5432, HostPort: closed})
			},
		},
		{
			name: "port not one of the task's", threshold: 1, message: "not one of the task's ports",
			task: func(t *testing.T, _ *runtimetest.Fake) *v1.Task {
				return healthTask(v1.RestartAlways, 1, v1.HealthCheck{TCP: &v1.TCPCheck{Port: "metrics"}},
					v1.Port{Name: "db", ContainerPort: 5432, HostPort: 15432})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := runtimetest.New(testImage)
			task := tt.task(t, fake)
			uid := task.Metadata.UID
			mgr := &fakeManager{}
			h := mustStartWorker(t, fake, mgr, nil)
			token := h.mustRegistered(t, 1)
			h.mustAssign(t, token, task, http.StatusCreated)
			c := h.mustRunning(t, token, uid, 0)

			// A check that keeps failing restarts it again and again.
			h.mustStatus(t, token, uid, "restarted", func(st v1.TaskStatus) bool {
				return st.RestartCount >= 1 && st.Phase == v1.PhaseRunning && st.ContainerID == c.ID
			})
			if n := fake.Calls(runtimetest.MethodStop); n < 1 {
				t.Errorf("the unhealthy container was restarted without a Stop")
			}
			if n := fake.Calls(runtimetest.MethodCreate); n != 1 {
				t.Errorf("Create called %d times; want 1 (a restart is in place)", n)
			}
			mustEventually(t, "the manager to hear reason Unhealthy", func() bool {
				return mgr.sawTask(uid, func(r v1.TaskReport) bool {
					return r.Status.Reason == v1.ReasonUnhealthy && containsAll(r.Status.Message, tt.message)
				})
			})
			want := "health check failed " + strconv.Itoa(int(tt.threshold)) + " of " + strconv.Itoa(int(tt.threshold))
			if !mgr.sawTask(uid, func(r v1.TaskReport) bool { return strings.Contains(r.Status.Message, want) }) {
				t.Errorf("no report says %q", want)
			}
			if tt.threshold > 1 {
				// Below the threshold the task is not Ready, and not
				// restarted.
				if !mgr.sawTask(uid, func(r v1.TaskReport) bool {
					ready := condition(r.Status, v1.TaskReady)
					return ready.Status == v1.ConditionFalse && ready.Reason == v1.ReasonUnhealthy &&
						strings.Contains(ready.Message, "failed 1 of") && r.Status.RestartCount == 0 && r.Status.ContainerID == c.ID
				}) {
					t.Errorf("no report of Ready False after the first failure, before the restart")
				}
				// The exec check passes after the restart.
				h.mustStatus(t, token, uid, "Ready after the restart", func(st v1.TaskStatus) bool {
					return condition(st, v1.TaskReady).Status == v1.ConditionTrue && st.RestartCount == 1
				})
			}
		})
	}
}

func TestHealth_UnhealthyContainerIsRestartedWhateverItsExitCode(t *testing.T) {
	t.Parallel()
	// A container stopped for failing its health check did not complete: a
	// graceful stop exits 0 (the fake's SIGTERM), yet OnFailure must
	// restart it and Never must not report it Succeeded.
	tests := []struct {
		policy v1.RestartPolicy
		want   func(v1.TaskStatus) bool
		what   string
	}{
		{v1.RestartOnFailure, func(st v1.TaskStatus) bool { return st.RestartCount >= 1 && st.Phase == v1.PhaseRunning }, "restarted"},
		{v1.RestartNever, func(st v1.TaskStatus) bool { return st.Phase == v1.PhaseFailed }, "Failed"},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			t.Parallel()
			fake := runtimetest.New(testImage)
			fake.SetExec(func(string, []string) (int, []byte, error) { return 1, []byte("down"), nil })
			task := healthTask(tt.policy, 1, v1.HealthCheck{Exec: &v1.ExecCheck{Command: []string{"check"}}})
			h := mustStartWorker(t, fake, &fakeManager{}, nil)
			token := h.mustRegistered(t, 1)
			h.mustAssign(t, token, task, http.StatusCreated)
			h.mustRunning(t, token, task.Metadata.UID, 0)
			mustEventually(t, "the unhealthy container to be stopped", func() bool { return fake.Calls(runtimetest.MethodStop) >= 1 })
			st := h.mustStatus(t, token, task.Metadata.UID, "settled after the stop", func(st v1.TaskStatus) bool {
				return st.Phase.Terminal() || st.RestartCount >= 1
			})
			if !tt.want(st) {
				t.Errorf("policy %s: status after the health check failed = phase %s, reason %s, exit code %d, restartCount %d; want %s",
					tt.policy, st.Phase, st.Reason, exitCode(st), st.RestartCount, tt.what)
			}
		})
	}
}
