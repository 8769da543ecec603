package workerd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/reconcile"
	"github.com/minkube/minkube/workerd/runtime"
)

// Manager is what workerd needs of the manager's API; *client.Client
// implements it.
type Manager interface {
	RegisterWorker(ctx context.Context, joinToken string, req v1.RegisterRequest) (*v1.RegisterResponse, error)
	ReportStatus(ctx context.Context, worker string, report *v1.StatusReport) (*v1.StatusReply, error)
	WorkerTasks(ctx context.Context, name string) (*v1.TaskList, error)
}

// ManagerDialer returns a Manager client that presents token.
type ManagerDialer func(token string) (Manager, error)

// Stats samples the host's load.
type Stats interface {
	Sample() (v1.WorkerStats, error)
}

// Options configures a Worker.
type Options struct {
	// Name is the worker's name, unique in the cluster.
	Name string
	// Listen is the address of the worker API (host:port; port 0 picks one).
	Listen string
	// Advertise is where the manager reaches the worker API; the listen
	// address when empty.
	Advertise string
	// Labels are matched by nodeSelector.
	Labels map[string]string
	// JoinToken authenticates the registration.
	JoinToken string
	// Manager dials the manager's API with a token.
	Manager ManagerDialer
	Runtime runtime.Runtime
	Stats   Stats
	Logger  *slog.Logger

	// PortHostIP is the host address container ports are published on;
	// empty means all addresses.
	PortHostIP string
	// StopGrace is how long a container has between SIGTERM and SIGKILL;
	// default 10s.
	StopGrace time.Duration
	// HeartbeatInterval is the period of full status reports; default 5s.
	HeartbeatInterval time.Duration
	// ResyncInterval is the period of the comparison with the manager's
	// list; default 30s.
	ResyncInterval time.Duration
	// RelistInterval is the period of the relist of Docker that backs up
	// its event stream; default 5s.
	RelistInterval time.Duration
	// BackoffInitial and BackoffMax bound the restart and pull backoff;
	// defaults 10s and 5m. BackoffReset is how long a container must run
	// for its backoff to be forgotten; default 10m.
	BackoffInitial, BackoffMax, BackoffReset time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Worker is the worker daemon.
type Worker struct {
	opts  Options
	rt    runtime.Runtime
	log   *slog.Logger
	now   func() time.Time
	tasks *taskMap
	queue *reconcile.Controller

	wake     chan struct{} // wakes the reporter for a partial report
	listener net.Listener

	probes      probers
	probeClient *http.Client
	runCtx      context.Context // ends when Start returns; probers run under it

	mu           sync.Mutex
	manager      Manager // nil until registered
	managerToken string
	registered   atomic.Bool
	execSessions atomic.Int32 // exec sessions running (exec.go)
}

// New checks the options and returns a Worker; Start runs it.
func New(opts Options) (*Worker, error) {
	if err := v1.ValidateWorkerName(opts.Name); err != nil {
		return nil, fmt.Errorf("worker name %q: %w", opts.Name, err)
	}
	if opts.Runtime == nil || opts.Manager == nil || opts.Stats == nil {
		return nil, errors.New("workerd: Runtime, Manager and Stats are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	setDefault(&opts.StopGrace, 10*time.Second)
	setDefault(&opts.HeartbeatInterval, 5*time.Second)
	setDefault(&opts.ResyncInterval, 30*time.Second)
	setDefault(&opts.RelistInterval, 5*time.Second)
	setDefault(&opts.BackoffInitial, 10*time.Second)
	setDefault(&opts.BackoffMax, 5*time.Minute)
	setDefault(&opts.BackoffReset, 10*time.Minute)
	w := &Worker{
		opts:   opts,
		rt:     opts.Runtime,
		log:    opts.Logger.With("worker", opts.Name),
		now:    opts.Now,
		tasks:  newTaskMap(),
		wake:   make(chan struct{}, 1),
		probes: probers{running: map[string]*prober{}},
		probeClient: &http.Client{
			Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	w.queue = reconcile.New(reconcile.Func(w.Reconcile), reconcile.Options{
		Name: "workerd", Workers: 8, BaseDelay: 200 * time.Millisecond, MaxDelay: opts.BackoffMax, Logger: w.log,
	})
	return w, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Listen binds the API address; Start calls it when it has not been
// called. It lets a caller learn the address before Start.
func (w *Worker) Listen() (net.Addr, error) {
	if w.listener != nil {
		return w.listener.Addr(), nil
	}
	l, err := net.Listen("tcp", w.opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("worker API: listen on %s: %w", w.opts.Listen, err)
	}
	w.listener = l
	return l.Addr(), nil
}

// Start runs the worker until ctx ends and returns after every goroutine
// it started has. Containers keep running when it returns: a restarted
// worker adopts them.
func (w *Worker) Start(ctx context.Context) error {
	addr, err := w.Listen()
	if err != nil {
		return err
	}
	if w.opts.Advertise == "" {
		w.opts.Advertise = addr.String()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); w.probes.wg.Wait() }()
	w.runCtx = ctx
	if err := w.adoptContainers(ctx); err != nil {
		return err
	}
	srv := &http.Server{Handler: w.handler(), ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	run := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				select {
				case errc <- fmt.Errorf("%s: %w", name, err):
				default:
				}
				cancel()
			}
		}()
	}
	run("worker API", func(ctx context.Context) error {
		// Requests end with the worker: a followed log stream sees its
		// context cancelled, and Start returns only after the handlers.
		srv.BaseContext = func(net.Listener) context.Context { return ctx }
		served := make(chan error, 1)
		go func() { served <- srv.Serve(w.listener) }()
		select {
		case err := <-served:
			return err
		case <-ctx.Done():
		}
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer scancel()
		if err := srv.Shutdown(sctx); err != nil {
			_ = srv.Close()
		}
		<-served
		return nil
	})
	run("reconcile", w.queue.Start)
	run("docker events", w.watchEvents)
	run("relist", w.relistLoop)
	run("manager", w.managerLoop)
	w.log.Info("worker started", "api", addr.String(), "advertise", w.opts.Advertise, "tasks", w.tasks.len())
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// adoptContainers rebuilds the map from the labels of this worker's
// containers, so running tasks are adopted rather than restarted, even
// before the manager answers.
func (w *Worker) adoptContainers(ctx context.Context) error {
	cs, err := w.rt.List(ctx, map[string]string{runtime.LabelWorker: w.opts.Name})
	if err != nil {
		return fmt.Errorf("list this worker's containers: %w", err)
	}
	now := w.now()
	for _, c := range cs {
		t, err := taskFromLabels(c.Labels)
		if err != nil {
			w.log.Warn("container with unreadable task label; removing it", "container", shortID(c.ID), "err", err)
			if uid := c.Labels[runtime.LabelTaskUID]; uid != "" {
				w.queue.Enqueue(uid) // not in the map: its reconcile removes it
			} else if err := w.removeContainer(ctx, c); err != nil {
				w.log.Warn("cannot remove a container with no task uid", "container", shortID(c.ID), "err", err)
			}
			continue
		}
		if w.tasks.put(t, now) {
			w.log.Info("adopted container", "task", t.Metadata.Name, "container", shortID(c.ID), "running", c.State.Running)
		}
		w.queue.Enqueue(t.Metadata.UID)
	}
	return nil
}

// watchEvents queues a task whenever Docker reports a change to one of this
// worker's containers, reconnecting when the stream breaks.
func (w *Worker) watchEvents(ctx context.Context) error {
	for ctx.Err() == nil {
		events, errs := w.rt.Events(ctx, map[string]string{runtime.LabelWorker: w.opts.Name})
	stream:
		for {
			select {
			case <-ctx.Done():
				return nil
			case ev, ok := <-events:
				if !ok {
					break stream
				}
				if uid := ev.Labels[runtime.LabelTaskUID]; uid != "" {
					w.queue.Enqueue(uid)
				}
			case err, ok := <-errs:
				if ok && err != nil && ctx.Err() == nil {
					w.log.Warn("docker event stream broke; relisting and reconnecting", "err", err)
				}
				break stream
			}
		}
		w.relist(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// relistLoop queues every task and every labelled container periodically.
func (w *Worker) relistLoop(ctx context.Context) error {
	t := time.NewTicker(w.opts.RelistInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.relist(ctx)
		}
	}
}

func (w *Worker) relist(ctx context.Context) {
	for _, uid := range w.tasks.uids() {
		w.queue.Enqueue(uid)
	}
	cs, err := w.rt.List(ctx, map[string]string{runtime.LabelWorker: w.opts.Name})
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("relist containers failed", "err", err)
		}
		return
	}
	for _, c := range cs {
		if uid := c.Labels[runtime.LabelTaskUID]; uid != "" && !w.tasks.has(uid) {
			w.queue.Enqueue(uid)
		}
	}
}

// wakeReporter asks for a partial report soon.
func (w *Worker) wakeReporter() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}
