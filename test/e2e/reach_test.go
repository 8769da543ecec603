package e2e

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// TestWorkerNotReadyUntilReached: a worker whose heartbeats arrive but
// whose advertised address the manager cannot call (nothing listens
// there) is NotReady, with a Reachable condition False that names the
// address and the error, and takes no task. Once the address answers (a
// relay to the worker's API starts there), a call back on its next
// heartbeat makes it Ready and the waiting task runs on it.
func TestWorkerNotReadyUntilReached(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	listen, advertise := freeAddr(t), freeAddr(t)
	name := c.startWorker("far", nil, "--listen", listen, "--advertise", advertise)

	var w v1.Worker
	var reach *v1.Condition
	waitFor(t, 20*time.Second, "worker "+name+" Reachable False", func() bool {
		if err := c.getJSON(&w, "get", "worker", name); err != nil {
			return false
		}
		reach = v1.FindCondition(w.Status.Conditions, v1.WorkerReachable)
		return reach != nil && reach.Status == v1.ConditionFalse
	})
	if w.Status.Phase != v1.WorkerNotReady || reach.Reason != v1.ReasonWorkerUnreachable ||
		!strings.Contains(reach.Message, advertise) || !strings.Contains(reach.Message, "connection refused") {
		t.Errorf("worker %s: phase %s, Reachable %+v; want NotReady, Unreachable, naming %s and the refused connection", name, w.Status.Phase, reach, advertise)
	}
	if out := c.mkctl("describe", "worker", name); !strings.Contains(out, "Reachable") || !strings.Contains(out, "Unreachable") {
		t.Errorf("mkctl describe worker does not say it is unreachable:\n%s", out)
	}
	if got := c.mkctl("get", "workers"); !strings.Contains(got, "NotReady") {
		t.Errorf("mkctl get workers does not show it NotReady:\n%s", got)
	}

	c.apply(taskYAML("waits", "", "log", "--every", "1s"))
	c.waitTask("waits", 20*time.Second, "Unschedulable", func(t *v1.Task) bool {
		return t.Status.Phase == v1.PhasePending && t.Status.Reason == v1.ReasonUnschedulable
	})

	relay(t, advertise, listen)
	c.waitWorkerReady(name)
	if err := c.getJSON(&w, "get", "worker", name); err != nil {
		t.Fatal(err)
	}
	if r := v1.FindCondition(w.Status.Conditions, v1.WorkerReachable); r == nil || r.Status != v1.ConditionTrue || r.Reason != v1.ReasonReached {
		t.Errorf("Ready worker %s: Reachable %+v, want True (Reached)", name, r)
	}
	got := c.waitTask("waits", 60*time.Second, "Running", running)
	if got.Status.Worker != name {
		t.Errorf("the task runs on %q, want %s", got.Status.Worker, name)
	}
}

// relay listens on from and copies each connection to and from to, until
// the test ends.
func relay(t *testing.T, from, to string) {
	t.Helper()
	l, err := net.Listen("tcp", from)
	if err != nil {
		t.Fatalf("relay on %s: %v", from, err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		conns  []net.Conn
		closed bool
	)
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		closed = true
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue
			}
			out, err := net.Dial("tcp", to)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				in.Close()
				out.Close()
				return
			}
			conns = append(conns, in, out)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(out, in); out.Close() })
			wg.Go(func() { _, _ = io.Copy(in, out); in.Close() })
		}
	})
}
