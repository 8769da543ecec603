package workerd

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// probers runs one health-check goroutine per task, following the run of
// a container decide names (decision.Probe). Each records its results in
// the task's entry (health) and queues the task when they change: decide
// turns them into the Ready condition, and stops a run that reached the
// failure threshold.
type probers struct {
	mu      sync.Mutex
	running map[string]*prober // by task uid
	wg      sync.WaitGroup
}

type prober struct {
	run    run
	cancel context.CancelFunc
}

// ensureProber starts checking r unless it is checked already.
func (w *Worker) ensureProber(task *v1.Task, r run) {
	if task.Spec.HealthCheck == nil {
		return
	}
	uid := task.Metadata.UID
	w.probes.mu.Lock()
	defer w.probes.mu.Unlock()
	if p, ok := w.probes.running[uid]; ok {
		if p.run == r {
			return
		}
		p.cancel()
	}
	pctx, cancel := context.WithCancel(w.runCtx)
	w.probes.running[uid] = &prober{run: r, cancel: cancel}
	w.probes.wg.Go(func() { w.probe(pctx, task, r) })
}

// stopProber stops probing the task's container, if it is probed.
func (w *Worker) stopProber(uid string) {
	w.probes.mu.Lock()
	defer w.probes.mu.Unlock()
	if p, ok := w.probes.running[uid]; ok {
		p.cancel()
		delete(w.probes.running, uid)
	}
}

// probe checks the run every period until ctx ends, recording each result
// that differs from the last and queueing the task; failureThreshold
// failures in a row mark the run unhealthy, and probing ends there.
func (w *Worker) probe(ctx context.Context, task *v1.Task, r run) {
	hc := task.Spec.HealthCheck
	period := time.Duration(hc.PeriodSeconds) * time.Second
	timeout := time.Duration(hc.TimeoutSeconds) * time.Second
	threshold := int(hc.FailureThreshold)
	uid := task.Metadata.UID
	failures := 0
	t := time.NewTimer(min(period, time.Second)) // the first check comes early
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := w.check(pctx, task, r.ContainerID)
		cancel()
		if ctx.Err() != nil {
			return
		}
		res := health{Run: r, Checked: true, Passed: err == nil}
		if err == nil {
			failures = 0
		} else {
			failures++
			res.Message = fmt.Sprintf("health check failed %d of %d times: %v", failures, threshold, err)
			res.Unhealthy = failures >= threshold
		}
		changed := false
		w.tasks.with(uid, func(e *entry) {
			changed = e.health != res
			e.health = res
		})
		if changed {
			w.queue.Enqueue(uid)
		}
		if res.Unhealthy {
			w.log.Warn("container unhealthy; restarting it", "task", task.Metadata.Name, "container", shortID(r.ContainerID), "err", err)
			return
		}
		t.Reset(period)
	}
}

// check runs one health check against the container.
func (w *Worker) check(ctx context.Context, task *v1.Task, containerID string) error {
	hc := task.Spec.HealthCheck
	switch {
	case hc.Exec != nil:
		code, out, err := w.rt.Exec(ctx, containerID, hc.Exec.Command)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("%s exited with code %d: %s", strings.Join(hc.Exec.Command, " "), code, strings.TrimSpace(string(out)))
		}
		return nil
	case hc.HTTP != nil:
		addr, err := w.probeAddr(task, hc.HTTP.Port)
		if err != nil {
			return err
		}
		path := hc.HTTP.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			return err
		}
		resp, err := w.probeClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	case hc.TCP != nil:
		addr, err := w.probeAddr(task, hc.TCP.Port)
		if err != nil {
			return err
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	return fmt.Errorf("healthCheck has no http, tcp or exec check")
}

// probeAddr resolves a health check's port (a port name or a container
// port number) to the host address it is published on.
func (w *Worker) probeAddr(task *v1.Task, port string) (string, error) {
	_, st, ok := w.tasks.get(task.Metadata.UID)
	if !ok {
		return "", fmt.Errorf("task is gone")
	}
	num, _ := strconv.Atoi(port)
	for _, p := range st.Ports {
		if (p.Name != "" && p.Name == port) || (num != 0 && p.ContainerPort == int32(num)) {
			if p.HostPort == 0 {
				return "", fmt.Errorf("port %s is not published yet", port)
			}
			host := w.portHostIP
			if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
				host = "127.0.0.1"
			}
			return net.JoinHostPort(host, strconv.Itoa(int(p.HostPort))), nil
		}
	}
	return "", fmt.Errorf("port %s is not one of the task's ports", port)
}
