package workerd_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

func TestReconcile_RestartPolicies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		policy   v1.RestartPolicy
		exits    []int // the container exits with these codes, one per run
		restarts int32
		phase    v1.Phase
		reason   string
		message  []string
	}{
		{name: "Always restarts after any exit", policy: v1.RestartAlways, exits: []int{0, 1, 0}, restarts: 3, phase: v1.PhaseRunning},
		{name: "OnFailure restarts on non-zero and completes on zero", policy: v1.RestartOnFailure, exits: []int{1, 0}, restarts: 1,
			phase: v1.PhaseSucceeded, reason: v1.ReasonCompleted, message: []string{"exited with code 0"}},
		{name: "Never succeeds on zero", policy: v1.RestartNever, exits: []int{0}, phase: v1.PhaseSucceeded,
			reason: v1.ReasonCompleted, message: []string{"exited with code 0"}},
		{name: "Never fails on non-zero with the last output", policy: v1.RestartNever, exits: []int{3}, phase: v1.PhaseFailed,
			reason: v1.ReasonError, message: []string{"exited with code 3", "last output:", "disk full"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := runtimetest.New(testImage)
			mgr := &fakeManager{}
			h := mustStartWorker(t, fake, mgr, nil)
			token := h.mustRegistered(t, 1)
			task := newTask("job", "uid-job-1", func(t *v1.Task) { t.Spec.RestartPolicy = tt.policy })
			uid := task.Metadata.UID
			h.mustAssign(t, token, task, http.StatusCreated)

			var first string
			for i, code := range tt.exits {
				c := h.mustRunning(t, token, uid, int32(i))
				if first == "" {
					first = c.ID
				}
				if c.ID != first {
					t.Fatalf("run %d in container %s; want restarts in place, in %s", i+1, c.ID, first)
				}
				if err := fake.WriteLog(c.ID, fmt.Sprintf("run %d\ndisk full\n", i+1)); err != nil {
					t.Fatal(err)
				}
				if err := fake.Exit(c.ID, code); err != nil {
					t.Fatal(err)
				}
			}
			if tt.phase == v1.PhaseRunning {
				h.mustRunning(t, token, uid, tt.restarts)
				if n := fake.Calls(runtimetest.MethodCreate); n != 1 {
					t.Errorf("Create called %d times; want 1", n)
				}
				return
			}

			last := int32(tt.exits[len(tt.exits)-1])
			st := h.mustStatus(t, token, uid, string(tt.phase), func(st v1.TaskStatus) bool { return st.Phase == tt.phase })
			if st.Reason != tt.reason || exitCode(st) != last || st.RestartCount != tt.restarts || st.FinishedAt == nil ||
				!containsAll(st.Message, tt.message...) || condition(st, v1.TaskReady).Status != v1.ConditionFalse {
				t.Errorf("final status = %+v; want reason %s, exit code %d, restartCount %d, FinishedAt, Ready False and a message with %q",
					st, tt.reason, last, tt.restarts, tt.message)
			}
			mustEventually(t, "the manager to hear the task finished", func() bool {
				return mgr.sawTask(uid, func(r v1.TaskReport) bool { return r.Status.Phase == tt.phase && exitCode(r.Status) == last })
			})

			// A finished task is not run again.
			starts := fake.Calls(runtimetest.MethodStart)
			mustSettle(t, fake, 5)
			if n := fake.Calls(runtimetest.MethodStart); n != starts {
				t.Errorf("Start called %d more times after the task finished; want 0", n-starts)
			}
			cs := h.containers(t, uid)
			if len(cs) != 1 || cs[0].State.Running || cs[0].ID != first {
				t.Errorf("containers of the finished task = %+v; want the one stopped container, kept for its logs", cs)
			}
			if st, _ := h.status(t, token, uid); st.Phase != tt.phase {
				t.Errorf("phase after settling = %s; want %s", st.Phase, tt.phase)
			}
		})
	}
}

func TestReconcile_CrashLoopBackOff(t *testing.T) {
	t.Parallel()
	clk := newTestClock()
	fake := runtimetest.New(testImage)
	fake.Now = clk.Now
	mgr := &fakeManager{}
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) {
		o.Now = clk.Now
		o.BackoffReset = time.Minute
	})
	token := h.mustRegistered(t, 1)
	task := newTask("web", "uid-web-1")
	uid := task.Metadata.UID
	h.mustAssign(t, token, task, http.StatusCreated)
	c := h.mustRunning(t, token, uid, 0)

	// The first restart after a clean run is at once.
	clk.Advance(time.Second)
	if err := fake.Exit(c.ID, 1); err != nil {
		t.Fatal(err)
	}
	h.mustRunning(t, token, uid, 1)

	// Then each crash waits, BackoffInitial doubling up to BackoffMax.
	for i, wait := range []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 80 * time.Millisecond} {
		restarts := int32(i + 1)
		clk.Advance(time.Millisecond)
		if err := fake.WriteLog(c.ID, "panic: nil map\n"); err != nil {
			t.Fatal(err)
		}
		if err := fake.Exit(c.ID, 2); err != nil {
			t.Fatal(err)
		}
		st := h.mustStatus(t, token, uid, "in CrashLoopBackOff", func(st v1.TaskStatus) bool {
			return st.Reason == v1.ReasonCrashLoopBackOff && st.RestartCount == restarts
		})
		wantMsg := []string{fmt.Sprintf("back-off %s", wait), "exited with code 2", "panic: nil map"}
		if !containsAll(st.Message, wantMsg...) || exitCode(st) != 2 || condition(st, v1.TaskReady).Reason != v1.ReasonCrashLoopBackOff {
			t.Errorf("crash %d: status = %+v; want exit code 2, Ready False and a message with %q", i+2, st, wantMsg)
		}
		mustEventually(t, "the manager to hear of the back-off", func() bool {
			return mgr.sawTask(uid, func(r v1.TaskReport) bool {
				return r.Status.Reason == v1.ReasonCrashLoopBackOff && r.Status.RestartCount == restarts
			})
		})
		// Until the back-off is over, the container stays stopped.
		starts := fake.Calls(runtimetest.MethodStart)
		mustSettle(t, fake, 3)
		if n := fake.Calls(runtimetest.MethodStart); n != starts {
			t.Fatalf("crash %d: Start called during the %s back-off", i+2, wait)
		}
		clk.Advance(wait)
		if got := h.mustRunning(t, token, uid, restarts+1); got.ID != c.ID {
			t.Fatalf("restarted in container %s; want %s", got.ID, c.ID)
		}
	}

	// A run of BackoffReset counts as clean: the next restart is at once.
	clk.Advance(time.Minute)
	if err := fake.Exit(c.ID, 1); err != nil {
		t.Fatal(err)
	}
	h.mustRunning(t, token, uid, 7)
	if n := fake.Calls(runtimetest.MethodCreate); n != 1 {
		t.Errorf("Create called %d times; want 1 (restarts are in place)", n)
	}
}

func TestReconcile_TerminalTaskIsNotRunAgain(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	h := mustStartWorker(t, fake, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	for _, phase := range []v1.Phase{v1.PhaseSucceeded, v1.PhaseFailed} {
		task := newTask("done-"+strings.ToLower(string(phase)), "uid-"+string(phase), func(t *v1.Task) {
			t.Spec.RestartPolicy = v1.RestartNever
			t.Status = v1.TaskStatus{Phase: phase, ExitCode: ptr(int32(0))}
		})
		h.mustAssign(t, token, task, http.StatusCreated)
	}
	mustSettle(t, fake, 5)
	if n := fake.Calls(runtimetest.MethodEnsureImage) + fake.Calls(runtimetest.MethodCreate); n != 0 {
		t.Errorf("the worker pulled or created %d times for finished tasks; want 0", n)
	}
	for _, task := range h.mustTasks(t, token) {
		if !task.Status.Phase.Terminal() {
			t.Errorf("task %s phase = %s; want it to stay finished", task.Metadata.Name, task.Status.Phase)
		}
	}
}

func TestReconcile_PullAndStartFailuresBackOff(t *testing.T) {
	t.Parallel()
	const badImage = "registry.example/app:bad"
	tests := []struct {
		name  string
		image string
		setup func(*runtimetest.Fake)
		// reasons and message parts after the first and second failure
		reasons [2]string
		message []string
	}{
		{
			name: "pull", image: badImage,
			setup:   func(f *runtimetest.Fake) { f.SetPullError(badImage, "manifest unknown") },
			reasons: [2]string{v1.ReasonErrImagePull, v1.ReasonImagePullBackOff},
			message: []string{`"` + badImage + `"`, "manifest unknown"},
		},
		{
			name: "start", image: testImage,
			setup: func(f *runtimetest.Fake) {
				f.FailNext(runtimetest.MethodStart, errors.New("port is already allocated"))
			},
			reasons: [2]string{v1.ReasonStartError, ""},
			message: []string{"port is already allocated"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newTestClock()
			fake := runtimetest.New(testImage)
			fake.Now = clk.Now
			tt.setup(fake)
			mgr := &fakeManager{}
			h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) { o.Now = clk.Now })
			token := h.mustRegistered(t, 1)
			task := newTask("web", "uid-web-1", func(t *v1.Task) { t.Spec.Image = tt.image })
			uid := task.Metadata.UID
			h.mustAssign(t, token, task, http.StatusCreated)

			st := h.mustStatus(t, token, uid, tt.reasons[0], func(st v1.TaskStatus) bool { return st.Reason == tt.reasons[0] })
			if want := append([]string{"retrying in 10ms"}, tt.message...); !containsAll(st.Message, want...) || st.Phase != v1.PhaseScheduled {
				t.Errorf("status after the first failure = %+v; want phase Scheduled and a message with %q", st, want)
			}
			mustEventually(t, "the manager to hear "+tt.reasons[0], func() bool {
				return mgr.sawTask(uid, func(r v1.TaskReport) bool {
					return r.Status.Reason == tt.reasons[0] && containsAll(r.Status.Message, tt.message...)
				})
			})
			pulls := fake.Calls(runtimetest.MethodEnsureImage)
			mustSettle(t, fake, 5)
			if n := fake.Calls(runtimetest.MethodEnsureImage); n != pulls {
				t.Fatalf("%d more attempts during the back-off; want none", n-pulls)
			}
			if cs := h.containers(t, uid); len(cs) != 0 {
				t.Errorf("%d containers left after a failed start; want 0", len(cs))
			}

			clk.Advance(10 * time.Millisecond)
			if tt.reasons[1] == "" {
				// The second attempt succeeds.
				h.mustRunning(t, token, uid, 0)
				if n := fake.Calls(runtimetest.MethodCreate); n != 2 {
					t.Errorf("Create called %d times; want 2", n)
				}
				return
			}
			st = h.mustStatus(t, token, uid, tt.reasons[1], func(st v1.TaskStatus) bool { return st.Reason == tt.reasons[1] })
			if want := append([]string{"retrying in 20ms"}, tt.message...); !containsAll(st.Message, want...) {
				t.Errorf("message after the second failure = %q; want %q", st.Message, want)
			}
			mustEventually(t, "the manager to hear "+tt.reasons[1], func() bool {
				return mgr.sawTask(uid, func(r v1.TaskReport) bool {
					return r.Status.Reason == tt.reasons[1] && containsAll(r.Status.Message, tt.message...)
				})
			})
			clk.Advance(20 * time.Millisecond)
			h.mustStatus(t, token, uid, "backing off 40ms", func(st v1.TaskStatus) bool {
				return st.Reason == tt.reasons[1] && strings.Contains(st.Message, "retrying in 40ms")
			})

			// A newer generation with a good image recovers at once.
			fixed := task.DeepCopy()
			fixed.Metadata.Generation = 2
			fixed.Spec.Image = testImage
			h.mustAssign(t, token, fixed, http.StatusOK)
			c := h.mustRunning(t, token, uid, 0)
			if st, _ := h.status(t, token, uid); st.ObservedGeneration != 2 || st.Reason != "" || st.Message != "" {
				t.Errorf("status after recovery = %+v; want observedGeneration 2 and no reason", st)
			}
			if c.Labels[runtime.LabelSpecHash] != fixed.Spec.Hash() || c.Image != testImage {
				t.Errorf("container runs %s with hash %s; want %s with %s", c.Image, c.Labels[runtime.LabelSpecHash], testImage, fixed.Spec.Hash())
			}
			if specs := h.rt.created(); len(specs) != 1 || specs[0].Image != testImage {
				t.Errorf("containers created = %+v; want one, of %s", specs, testImage)
			}
		})
	}
}

func TestReconcile_SpecChangeReplacesTheContainer(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{}
	h := mustStartWorker(t, fake, mgr, nil)
	token := h.mustRegistered(t, 1)
	gen1 := newTask("web", "uid-web-1", func(t *v1.Task) { t.Spec.Env = []v1.EnvVar{{Name: "MODE", Value: "a"}} })
	uid := gen1.Metadata.UID
	h.mustAssign(t, token, gen1, http.StatusCreated)
	c1 := h.mustRunning(t, token, uid, 0)
	stops := fake.Calls(runtimetest.MethodStop)

	gen2 := gen1.DeepCopy()
	gen2.Metadata.Generation = 2
	gen2.Spec.Env[0].Value = "b"
	h.mustAssign(t, token, gen2, http.StatusOK)
	st := h.mustStatus(t, token, uid, "running generation 2", func(st v1.TaskStatus) bool {
		return st.ObservedGeneration == 2 && st.Phase == v1.PhaseRunning && st.ContainerID != c1.ID
	})
	// Make before break: the old container goes once the new one runs.
	mustEventually(t, "the old container removed", func() bool {
		_, err := fake.Inspect(t.Context(), c1.ID)
		return errors.Is(err, runtime.ErrNotFound)
	})
	if fake.Calls(runtimetest.MethodStop) == stops {
		t.Errorf("the old container was not stopped gracefully before removal")
	}
	cs := h.containers(t, uid)
	if len(cs) != 1 || cs[0].ID != st.ContainerID || cs[0].Labels[runtime.LabelSpecHash] != gen2.Spec.Hash() || !cs[0].State.Running {
		t.Fatalf("containers = %+v; want one running container with hash %s", cs, gen2.Spec.Hash())
	}
	c2 := cs[0]
	if specs := h.rt.created(); len(specs) != 2 || specs[1].Env[0] != "MODE=b" {
		t.Errorf("created specs = %+v; want the second with MODE=b", specs)
	}
	mustEventually(t, "the manager to hear generation 2 runs", func() bool {
		return mgr.sawTask(uid, func(r v1.TaskReport) bool {
			return r.Generation == 2 && r.Status.ObservedGeneration == 2 && r.Status.ContainerID == c2.ID
		})
	})

	// The same generation again, or an older one, changes nothing; a newer
	// generation with the same spec keeps the container.
	creates := fake.Calls(runtimetest.MethodCreate)
	h.mustAssign(t, token, gen2, http.StatusOK)
	h.mustAssign(t, token, gen1, http.StatusOK)
	gen3 := gen2.DeepCopy()
	gen3.Metadata.Generation = 3
	gen3.Metadata.Labels["tier"] = "front"
	h.mustAssign(t, token, gen3, http.StatusOK)
	h.mustStatus(t, token, uid, "observing generation 3", func(st v1.TaskStatus) bool { return st.ObservedGeneration == 3 })
	mustSettle(t, fake, 5)
	if cs := h.containers(t, uid); len(cs) != 1 || cs[0].ID != c2.ID || !cs[0].State.Running {
		t.Errorf("containers after re-POSTs = %+v; want %s left alone", cs, c2.ID)
	}
	if n := fake.Calls(runtimetest.MethodCreate); n != creates {
		t.Errorf("Create called %d more times after re-POSTs; want 0", n-creates)
	}
	if tasks := h.mustTasks(t, token); len(tasks) != 1 || tasks[0].Spec.Env[0].Value != "b" || tasks[0].Status.ContainerID != c2.ID {
		t.Errorf("held task = %+v; want generation 2's spec on %s", tasks, c2.ID)
	}
}
