package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestDescribeTask(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	mustEvents(t, m)
	started := time.Now().Add(-time.Hour)
	exit := int32(137)
	m.addTask(v1.Task{
		Metadata: v1.ObjectMeta{Name: "web", UID: "uid-web", Labels: map[string]string{"app": "web"}, Generation: 2, CreationTimestamp: &started},
		Spec: v1.TaskSpec{Image: "nginx:1.27", Args: []string{"serve", "--port", "8080"}, RestartPolicy: v1.RestartAlways,
			Env:         []v1.EnvVar{{Name: "MODE", Value: "prod"}},
			Ports:       []v1.Port{{Name: "http", ContainerPort: 8080, Protocol: v1.ProtocolTCP}, {ContainerPort: 53, Protocol: v1.ProtocolUDP}},
			Resources:   v1.Resources{CPU: "500m", Memory: "64Mi"},
			HealthCheck: &v1.HealthCheck{HTTP: &v1.HTTPCheck{Path: "/healthz", Port: "http"}, PeriodSeconds: 10, TimeoutSeconds: 2, FailureThreshold: 3}},
		Status: v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-1", HostIP: "127.0.0.1", ContainerID: "3f2a", RestartCount: 2,
			ExitCode: &exit, StartedAt: &started, ObservedGeneration: 2,
			Ports: []v1.PortStatus{{Name: "http", ContainerPort: 8080, HostPort: 18080, Protocol: v1.ProtocolTCP}},
			Conditions: []v1.Condition{
				{Type: v1.TaskScheduled, Status: v1.ConditionTrue, Reason: "Assigned", Message: "assigned to worker worker-1", LastTransitionTime: &started},
				{Type: v1.TaskReady, Status: v1.ConditionFalse, Reason: v1.ReasonUnhealthy, LastTransitionTime: &started},
			}},
	})
	out := mustEnv(t).mustSucceed(t, args(m, "describe", "task", "web")...)
	for _, want := range []string{
		`(?m)^Name:\s+web$`,
		`(?m)^Labels:\s+app=web$`,
		`(?m)^Created:\s+.+ \(60m ago\)$`,
		`(?m)^Phase:\s+Running$`,
		`(?m)^Worker:\s+worker-1 \(127\.0\.0\.1\)$`,
		`(?m)^Restarts:\s+2$`,
		`(?m)^Exit Code:\s+137$`,
		`(?m)^Generation:\s+2 \(observed 2\)$`,
		`(?m)^Args:\s+serve --port 8080$`,
		`(?m)^Resources:\s+cpu=500m memory=64Mi$`,
		`(?m)^Health Check:\s+http GET /healthz on port http every 10s, timeout 2s, unhealthy after 3 failures$`,
		`(?m)^Ports:\s+http 8080/TCP -> 127\.0\.0\.1:18080\n\s+53/UDP$`,
		`(?m)^Environment:\n  MODE:\s+prod$`,
		`(?m)^Conditions:\n  Type\s+Status\s+Reason\s+Since\s+Message\n  -+\s+-+\s+-+\s+-+\s+-+\n  Scheduled\s+True\s+Assigned\s+60m\s+assigned to worker worker-1\n  Ready\s+False\s+Unhealthy\s+60m$`,
		// Events of this incarnation only, with repeats counted.
		`(?m)^Events:\n  Type\s+Reason\s+Age\s+From\s+Message\n  -+\s+-+\s+-+\s+-+\s+-+\n  Warning\s+Unhealthy\s+5m \(x3 over 10m\)\s+manager\s+GET /healthz: 500; again\n\z`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "worker-9") {
		t.Errorf("output shows an event of an older incarnation:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasSuffix(line, " ") {
			t.Errorf("line %q ends in spaces", line)
		}
	}
}

func TestDescribeTask_Several(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	e := mustEnv(t)
	out := e.mustSucceed(t, args(m, "describe", "tasks", "-l", "app=web")...)
	if n := strings.Count(out, "Name:"); n != 1 || !regexp.MustCompile(`(?m)^Events:\s+<none>$`).MatchString(out) {
		t.Errorf("describe -l app=web printed %d pages:\n%s", n, out)
	}
	out = e.mustSucceed(t, args(m, "describe", "tasks")...)
	if n := strings.Count(out, "\nName:") + 1; n != 3 {
		t.Errorf("describe tasks printed %d pages, want 3:\n%s", n, out)
	}
	res := e.mustFail(t, args(m, "describe", "task", "nope", "web")...)
	if res.stderr != "error: task \"nope\" not found\n" || !strings.Contains(res.stdout, "Name:") {
		t.Errorf("stdout %q, stderr %q; want web described and nope reported", res.stdout, res.stderr)
	}
}

func TestDescribeWorker(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	mustEvents(t, m)
	created := time.Now().Add(-3 * time.Hour)
	m.setWorkers([]v1.Worker{{
		Metadata: v1.ObjectMeta{Name: "worker-1", Labels: map[string]string{"disk": "ssd"}, CreationTimestamp: &created},
		Spec:     v1.WorkerSpec{Address: "127.0.0.1:7071", Unschedulable: true},
		Status: v1.WorkerStatus{Phase: v1.WorkerReady, LastHeartbeatTime: &created, Tasks: 1,
			Capacity:  v1.ResourceList{v1.ResourceCPU: "2", v1.ResourceMemory: "8Gi", v1.ResourceDisk: "80Gi"},
			Allocated: v1.ResourceList{v1.ResourceCPU: "500m", v1.ResourceMemory: "64Mi", v1.ResourceDisk: "0"},
			Stats:     v1.WorkerStats{CPUPercent: 12.4, MemoryAvailable: 6 << 30, DiskFree: 79 << 30, Load1: 0.4}},
	}})
	out := mustEnv(t).mustSucceed(t, args(m, "describe", "worker", "worker-1")...)
	for _, want := range []string{
		`(?m)^Name:\s+worker-1$`,
		`(?m)^Labels:\s+disk=ssd$`,
		`(?m)^Status:\s+Ready,SchedulingDisabled$`,
		`(?m)^Unschedulable:\s+true$`,
		`(?m)^CPU:\s+12% used, load 0\.40$`,
		`(?m)^Memory:\s+6Gi available$`,
		`(?m)^Capacity:\n  cpu:\s+2\n  memory:\s+8Gi\n  disk:\s+80Gi$`,
		`(?m)^Allocated:\n  cpu:\s+500m\n  memory:\s+64Mi\n  disk:\s+0$`,
		`(?m)^Tasks \(1\):\n  Name\s+Phase\s+Restarts\s+Age\n  -+\s+-+\s+-+\s+-+\n  web\s+Running\s+2\s+5h30m$`,
		`(?m)^Events:\n  Type\s+Reason\s+Age\s+From\s+Message\n  -+\s+-+\s+-+\s+-+\s+-+\n  Normal\s+Cordoned\s+60s\s+manager\s+worker worker-1 marked unschedulable\n\z`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output does not match %s:\n%s", want, out)
		}
	}
	res := mustEnv(t).mustFail(t, args(m, "describe", "worker", "nope")...)
	if res.stderr != "error: worker \"nope\" not found\n" {
		t.Errorf("stderr %q", res.stderr)
	}
}
