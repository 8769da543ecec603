package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/pki"
)

// TestPlacementConstraints: host ports and CPU are placement constraints,
// on two workers that publish ports on different loopback addresses. Three
// tasks with the same hostPort: two run, one per worker, and the third
// waits with a message naming the port. Sixteen one-CPU tasks: exactly
// those that fit the workers' CPUs run, the rest wait saying why.
func TestPlacementConstraints(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	hosts := map[string]string{
		c.addWorker("pa", "--port-host-ip", "127.0.0.2"): "127.0.0.2",
		c.addWorker("pb", "--port-host-ip", "127.0.0.3"): "127.0.0.3",
	}
	port := freePort(t)

	t.Run("host ports", func(t *testing.T) {
		for _, name := range []string{"port-1", "port-2", "port-3"} {
			c.apply(taskYAML(name, fmt.Sprintf("  ports: [{name: http, containerPort: 8080, hostPort: %d}]\n", port), "serve", "--port", "8080"))
		}
		// Applied one after another; which two run is the round-robin's.
		var runningOn []string
		var waiting *v1.Task
		waitFor(t, 60*time.Second, "two Running and one waiting", func() bool {
			runningOn, waiting = nil, nil
			for _, name := range []string{"port-1", "port-2", "port-3"} {
				task, err := c.task(name)
				if err != nil {
					return false
				}
				switch {
				case running(task):
					runningOn = append(runningOn, task.Status.Worker)
				case task.Status.Reason == v1.ReasonUnschedulable:
					waiting = task
				}
			}
			return len(runningOn) == 2 && waiting != nil
		})
		if runningOn[0] == runningOn[1] {
			t.Fatalf("both tasks with host port %d run on %s", port, runningOn[0])
		}
		if want := fmt.Sprintf("0/2 workers fit: 2 host port %d/TCP in use", port); waiting.Status.Message != want || waiting.Status.Phase != v1.PhasePending {
			t.Errorf("waiting task %s: %s %q, want Pending %q", waiting.Metadata.Name, waiting.Status.Phase, waiting.Status.Message, want)
		}
		for _, w := range runningOn {
			url := fmt.Sprintf("http://%s/", net.JoinHostPort(hosts[w], fmt.Sprint(port)))
			if body := httpGet(t, url); body == "" {
				t.Errorf("GET %s: empty answer", url)
			}
		}
		// The waiting one never started a container that lost the port.
		if n := len(containersOf(t, waiting.Metadata.UID)); n != 0 {
			t.Errorf("%d containers of the waiting task, want 0", n)
		}
	})

	t.Run("cpu", func(t *testing.T) {
		var docs []string
		for i := range 16 {
			docs = append(docs, taskYAML(fmt.Sprintf("cpu-%02d", i), "  resources: {cpu: \"1\"}\n", "log", "--every", "5s"))
		}
		c.apply(docs...)
		capacity := 0
		for w := range hosts {
			var wk v1.Worker
			if err := c.getJSON(&wk, "get", "worker", w); err != nil {
				t.Fatal(err)
			}
			capacity += wk.Status.Stats.CPUs
		}
		fits := min(capacity, 16)
		var list v1.TaskList
		waitFor(t, 90*time.Second, fmt.Sprintf("%d cpu tasks Running and the rest waiting", fits), func() bool {
			if err := c.getJSON(&list, "get", "tasks"); err != nil {
				return false
			}
			run, wait := 0, 0
			for _, task := range list.Items {
				if !strings.HasPrefix(task.Metadata.Name, "cpu-") {
					continue
				}
				switch {
				case running(&task):
					run++
				case task.Status.Reason == v1.ReasonUnschedulable:
					wait++
				}
			}
			return run == fits && wait == 16-fits
		})
		perWorker := map[string]int{}
		for _, task := range list.Items {
			if !strings.HasPrefix(task.Metadata.Name, "cpu-") {
				continue
			}
			if running(&task) {
				perWorker[task.Status.Worker]++
				continue
			}
			if want := "0/2 workers fit: 2 insufficient cpu"; task.Status.Message != want || task.Status.Worker != "" {
				t.Errorf("%s: worker %q message %q, want none and %q", task.Metadata.Name, task.Status.Worker, task.Status.Message, want)
			}
		}
		for w := range hosts {
			var wk v1.Worker
			if err := c.getJSON(&wk, "get", "worker", w); err != nil {
				t.Fatal(err)
			}
			if perWorker[w] > wk.Status.Stats.CPUs {
				t.Errorf("worker %s runs %d one-CPU tasks with %d CPUs", w, perWorker[w], wk.Status.Stats.CPUs)
			}
		}
	})
}

// latePushProxy stands between the manager and a worker's API: it holds
// every push of a task (POST /api/v1/tasks) for the given delay, long
// after the manager has stopped waiting, and then delivers it anyway, as
// a network that delays packets would. Everything else passes at once.
// The worker's API is TLS: the proxy presents the worker's own
// certificate (from its credential file), so the manager takes it for the
// worker, and calls the worker verifying it as the manager does.
type latePushProxy struct {
	target    string
	delay     time.Duration
	delivered atomic.Int32 // late pushes delivered
	wg        sync.WaitGroup
	ctx       context.Context
	transport http.Transport // direct, never through an HTTP proxy of the environment
}

// newLatePushProxy serves a proxy of the worker name of c, whose API will
// listen on target, and returns it with the address it listens on.
func newLatePushProxy(t *testing.T, c *cluster, name, target string, delay time.Duration) (*latePushProxy, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &latePushProxy{target: target, delay: delay, ctx: ctx}
	p.transport.TLSClientConfig = c.tlsConfig() // the cluster CA signs the workers' certificates too
	p.transport.TLSClientConfig.ServerName = name
	credFile := filepath.Join(c.dir, name, "worker-"+name+".credential")
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		var cred struct{ Key, Certificate string }
		data, err := os.ReadFile(credFile)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &cred); err != nil {
			return nil, err
		}
		pair, err := pki.KeyPair([]byte(cred.Certificate), []byte(cred.Key))
		return &pair, err
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		p.wg.Wait()
		p.transport.CloseIdleConnections()
	})
	return p, l.Addr().String()
}

func (p *latePushProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	late := r.Method == http.MethodPost && r.URL.Path == "/api/v1/tasks"
	forward := func(ctx context.Context) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, r.Method, "https://"+p.target+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header = r.Header.Clone()
		return p.transport.RoundTrip(req)
	}
	if late {
		// The manager's request is given up on; this one goes later on
		// its own, whatever became of the first.
		p.wg.Go(func() {
			select {
			case <-time.After(p.delay):
			case <-p.ctx.Done():
				return
			}
			if resp, err := forward(p.ctx); err == nil {
				resp.Body.Close()
				p.delivered.Add(1)
			}
		})
		// Hold the manager until it gives up, and never answer: whatever
		// ends the wait, the connection is dropped without a response, as
		// a network that lost the answer would, never a 200 from the
		// handler's return.
		<-r.Context().Done()
		panic(http.ErrAbortHandler)
	}
	resp, err := forward(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// TestLatePushNeverRunsTwice: a push delayed past the manager's wait for it
// (a proxy holds it, then delivers it) must not start a second copy of the
// task: the manager keeps the assignment rather than placing the task
// elsewhere, and the worker takes it from its list of tasks.
func TestLatePushNeverRunsTwice(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	listen := freeAddr(t)
	proxy, proxyAddr := newLatePushProxy(t, c, c.workerName("behind"), listen, 14*time.Second)
	behind := c.addWorker("behind", "--listen", listen, "--advertise", proxyAddr)
	c.apply(taskYAML("once", "  restartPolicy: Never\n", "log", "--every", "1s"))
	// A second worker, ready well before the first push times out: the
	// one a manager that gives up on the push would move the task to.
	c.addWorker("spare")
	task := c.waitTask("once", 30*time.Second, "recorded", func(t *v1.Task) bool { return t.Metadata.UID != "" })

	ids := map[string]bool{}
	watch := func() {
		for _, ct := range containersOf(t, task.Metadata.UID) {
			ids[ct.ID] = true
		}
	}
	waitFor(t, 60*time.Second, "the late push delivered", func() bool {
		watch()
		return proxy.delivered.Load() > 0
	})
	// Give the worker time to act on it, and look again.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		watch()
		time.Sleep(200 * time.Millisecond)
	}
	if len(ids) != 1 {
		t.Fatalf("%d containers of the task were seen, want 1: %v", len(ids), ids)
	}
	got := c.waitTask("once", 30*time.Second, "Running", running)
	if got.Status.Worker != behind {
		t.Errorf("the task runs on %s, want %s (the worker it was assigned to)", got.Status.Worker, behind)
	}
	c.waitEvent("once", "FailedPush")
}
