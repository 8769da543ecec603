package workerd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/metrics"
	"github.com/minkube/minkube/reconcile"
	"github.com/minkube/minkube/serve"
	"github.com/minkube/minkube/workerd/runtime"
)

// Manager is what workerd needs of the manager's API; *client.Client
// implements it. RegisterWorker authenticates with token: the join token,
// or the worker's own when it registers again.
type Manager interface {
	RegisterWorker(ctx context.Context, token string, req v1.RegisterRequest) (*v1.RegisterResponse, error)
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
	// JoinToken authenticates the first registration (its secret only;
	// the CA it pins is the Manager client's business).
	JoinToken string
	// CredentialFile is where the worker keeps what makes it itself: its
	// token, and the key and certificate it serves its API with (see
	// identity.go); empty keeps them in memory only, and a restarted
	// worker is then refused its name while its old registration stands.
	CredentialFile string
	// Manager dials the manager's API with a token.
	Manager ManagerDialer
	// OnManagers, when set, is called with the managers' API URLs that a
	// registration or heartbeat reply lists, for the Manager clients to
	// fail over between (see failover.go).
	OnManagers func(urls []string)
	Runtime    runtime.Runtime
	Stats      Stats
	Logger     *slog.Logger

	// PortHostIP is the host address container ports are published on;
	// empty means the advertised host when it is an IP address, and all
	// addresses when it is not. The status reports ports at this address
	// (at the advertised host when it is all addresses).
	PortHostIP string
	// ClusterFile is where the worker remembers the id of the cluster it
	// joined, so that after a restart it adopts its containers before the
	// manager answers; empty remembers nothing (adoption then waits for
	// registration).
	ClusterFile string
	// StopGrace is how long a container has between SIGTERM and SIGKILL;
	// default 10s.
	StopGrace time.Duration
	// HeartbeatInterval is the period of full status reports until the
	// manager gives its own, which the worker then follows; default 5s.
	HeartbeatInterval time.Duration
	// ResyncInterval is the period of the comparison with the manager's
	// list; default 30s.
	ResyncInterval time.Duration
	// RelistInterval is the period of the one list of the runtime that
	// backs up its event stream (and, while the runtime is unreachable,
	// the longest wait between attempts to reach it); default 5s.
	RelistInterval time.Duration
	// BackoffInitial and BackoffMax bound the restart and pull backoff;
	// defaults 10s and 5m. BackoffReset is how long a container must run
	// for its backoff to be forgotten; default 10m.
	BackoffInitial, BackoffMax, BackoffReset time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// ContainerDNS gives containers a resolver of the cluster zone.
	ContainerDNS ContainerDNS
	// Metrics is the registry the worker's families are added to and that
	// GET /metrics serves; a fresh metrics.NewRegistry() when nil. Each
	// Worker needs a registry of its own: several in one process (hollow
	// workers) leave it nil or give each its own.
	Metrics *prometheus.Registry
	// MetricsToken, when set, reads GET /metrics (and nothing else)
	// besides the manager's token.
	MetricsToken string
	// Pprof serves net/http/pprof under /debug/pprof/ to the manager's
	// token.
	Pprof bool
	// UsageInterval is the period at which the CPU time and memory of the
	// running task containers are read (mkctl top, /metrics); default 10s.
	UsageInterval time.Duration
	// PendingReportDelay is how long a status on the way to Running (a
	// task just taken, its image pulling, its container being created)
	// waits before it is reported: a task that starts meanwhile is
	// reported once, Running, and not once per step. Running, ended and
	// deleted tasks are reported at once. Default 100ms.
	PendingReportDelay time.Duration
}

// Worker is the worker daemon.
type Worker struct {
	opts       Options
	rt         runtime.Runtime
	log        *slog.Logger
	now        func() time.Time
	tasks      *taskMap
	queue      *reconcile.Controller
	containers *containerCache
	puller     *puller
	metrics    *workerMetrics
	registry   *prometheus.Registry
	usage      *usageSampler

	wake     chan struct{} // wakes the reporter for a partial report
	wakeFull chan struct{} // wakes the reporter for a full report
	relistC  chan struct{} // asks for a relist now
	resyncs  chan struct{} // asks for a comparison with the manager's list now
	contact  *managerContact
	listener net.Listener
	// wakeLater is set while a wake of the reporter waits out
	// PendingReportDelay.
	wakeLater atomic.Bool

	// Where task ports are published, and the address reported for them.
	portHostIP, reportHostIP string

	note    clusterNote
	cluster atomic.Pointer[string] // the cluster's id; nil until known
	// adopted is true once the containers of the cluster were adopted
	// after the worker learned its cluster id; strays are removed only
	// after that.
	adopted atomic.Bool

	id       *identity
	throttle *serve.Throttle

	probes      probers
	probeClient *http.Client
	runCtx      context.Context // ends when Start returns; probers run under it
	cdns        *containerDNS   // nil when containers keep the engine's resolver

	mu           sync.Mutex
	manager      Manager // nil until registered
	managerToken string
	managers     []string // the failover list of the last reply
	registered   atomic.Bool
	// checksAnswered: the last reply said the manager checks the answered
	// tasks a heartbeat names (v1.StatusReply.ChecksAnswered).
	checksAnswered atomic.Bool
	execSessions   atomic.Int32 // exec sessions running (exec.go)
}

// New checks the options and returns a Worker; Start runs it.
func New(opts Options) (*Worker, error) {
	if err := v1.ValidateWorkerName(opts.Name); err != nil {
		return nil, fmt.Errorf("worker name %q: %w", opts.Name, err)
	}
	if opts.Runtime == nil || opts.Manager == nil || opts.Stats == nil {
		return nil, errors.New("workerd: Runtime, Manager and Stats are required")
	}
	id, err := loadIdentity(opts.CredentialFile, opts.Name)
	if err != nil {
		return nil, err
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
	setDefault(&opts.UsageInterval, 10*time.Second)
	setDefault(&opts.PendingReportDelay, 100*time.Millisecond)
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewRegistry()
	}
	m := newWorkerMetrics(opts.Metrics)
	rt := instrumentedRuntime{Runtime: opts.Runtime, m: m}
	w := &Worker{
		opts:       opts,
		rt:         rt,
		metrics:    m,
		registry:   opts.Metrics,
		usage:      newUsageSampler(rt, opts.UsageInterval),
		log:        opts.Logger.With("worker", opts.Name),
		now:        opts.Now,
		tasks:      newTaskMap(),
		containers: newContainerCache(),
		wake:       make(chan struct{}, 1),
		wakeFull:   make(chan struct{}, 1),
		relistC:    make(chan struct{}, 1),
		resyncs:    make(chan struct{}, 1),
		contact:    &managerContact{fallback: opts.HeartbeatInterval},
		note:       newClusterNote(opts.ClusterFile, opts.JoinToken),
		id:         id,
		throttle:   serve.NewThrottle(),
		probes:     probers{running: map[string]*prober{}},
		probeClient: &http.Client{
			Transport:     &http.Transport{DisableKeepAlives: true, Proxy: nil},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	w.queue = reconcile.New(reconcile.Func(w.Reconcile), reconcile.Options{
		Name: "workerd", Workers: reconcile.PerKey, BaseDelay: 200 * time.Millisecond, MaxDelay: opts.BackoffMax, Logger: w.log,
		Metrics: metrics.NewControllers(opts.Metrics).For("workerd"),
	})
	w.puller = newPuller(rt, w.queue.Enqueue, m.pulls)
	opts.Metrics.MustRegister(usageCollector{w.usage})
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
	w.portHostIP, w.reportHostIP = hostAddresses(w.opts.PortHostIP, w.opts.Advertise)
	ctx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); w.probes.wg.Wait(); w.puller.wait() }()
	w.runCtx = ctx
	id, err := w.note.load()
	if err != nil {
		w.log.Warn("cannot read which cluster this worker joined; waiting for the manager to say", "err", err)
	}
	if id != "" {
		w.cluster.Store(&id)
	}
	// A first look at the runtime, so the registration says whether it
	// answers and remembered containers are adopted at once.
	w.relist(ctx)
	w.setupContainerDNS(ctx)
	// Requests end with the worker: a followed log stream sees its
	// context cancelled, and Start returns only after the handlers.
	srv := serve.New(w.handler(), serve.Options{
		TLS:         &tls.Config{GetCertificate: w.id.certificate, MinVersion: tls.VersionTLS12},
		BaseContext: ctx,
		Logger:      w.log,
	})
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
	run("worker API", func(ctx context.Context) error { return srv.Serve(ctx, w.listener) })
	run("reconcile", w.queue.Start)
	run("runtime events", w.watchEvents)
	run("relist", w.relistLoop)
	run("manager", w.managerLoop)
	run("container DNS", w.serveContainerDNS)
	run("task usage", func(ctx context.Context) error { return w.usage.run(ctx, w.tasks.running) })
	w.log.Info("worker started", "api", addr.String(), "advertise", w.opts.Advertise, "tasks", w.tasks.len())
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// wakeReporter asks for a partial report soon.
func (w *Worker) wakeReporter() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// wakeReporterSoon asks for a partial report PendingReportDelay from now:
// what changed is a step on the way, and a report that comes before (the
// task Running) carries it too.
func (w *Worker) wakeReporterSoon() {
	if w.wakeLater.CompareAndSwap(false, true) {
		time.AfterFunc(w.opts.PendingReportDelay, func() {
			w.wakeLater.Store(false)
			w.wakeReporter()
		})
	}
}

// wakeReporterFull asks for a full report soon: the worker's own
// conditions changed.
func (w *Worker) wakeReporterFull() {
	select {
	case w.wakeFull <- struct{}{}:
	default:
	}
}

// clusterID returns the id of the worker's cluster; "" until it is known.
func (w *Worker) clusterID() string {
	if id := w.cluster.Load(); id != nil {
		return *id
	}
	return ""
}

// joinCluster records the cluster id the manager gave. A first id, or one
// that differs from what the worker remembered, is written down; one that
// differs also means the tasks and containers the worker held are another
// cluster's: it forgets them (touching no container) and adopts again.
func (w *Worker) joinCluster(id string) {
	old := w.clusterID()
	if old == id {
		return
	}
	if old != "" {
		w.log.Warn("the manager belongs to another cluster than the one this worker remembered; forgetting that cluster's tasks without touching its containers",
			"remembered", old, "cluster", id)
		w.tasks.clear()
		w.containers.reset()
		w.adopted.Store(false)
	}
	w.cluster.Store(&id)
	if err := w.note.save(id); err != nil {
		w.log.Warn("cannot write down which cluster this worker joined; after a restart it adopts its containers only once the manager answers", "err", err)
	}
	w.log.Info("joined cluster", "cluster", id)
	w.kickRelist()
}

// conditions are what the worker reports of itself: whether its runtime
// answers.
func (w *Worker) conditions() []v1.Condition {
	down, since := w.containers.runtimeDown()
	c := v1.Condition{Type: v1.WorkerRuntimeReady, Status: v1.ConditionTrue, Reason: "RuntimeReachable"}
	if down != "" {
		c = v1.Condition{Type: v1.WorkerRuntimeReady, Status: v1.ConditionFalse, Reason: v1.ReasonRuntimeUnreachable,
			Message: "cannot reach the container runtime: " + down}
		if !since.IsZero() {
			c.LastTransitionTime = &since
		}
	}
	return []v1.Condition{c}
}

// askResync asks for a comparison with the manager's list soon.
func (w *Worker) askResync() {
	select {
	case w.resyncs <- struct{}{}:
	default:
	}
}
