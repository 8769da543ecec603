package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/cmd/internal/buildinfo"
	"github.com/minkube/minkube/controllers/gitops"
	"github.com/minkube/minkube/controllers/latency"
	"github.com/minkube/minkube/controllers/scheduler"
	"github.com/minkube/minkube/controllers/workers"
	"github.com/minkube/minkube/discovery"
	"github.com/minkube/minkube/metrics"
	"github.com/minkube/minkube/pki"
	"github.com/minkube/minkube/serve"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/etcd"
)

// managerConfig holds the manager's flags.
type managerConfig struct {
	listen           string
	dataDir          string
	tokenFile        string
	joinTokenFile    string
	metricsTokenFile string
	pprof            bool
	workerTimeout    time.Duration
	rescheduleAft    time.Duration
	writeConfig      bool
	contextName      string

	manifestsDir    string
	manifestsResync time.Duration
	manifestsSettle time.Duration

	dns dnsConfig
	tls tlsFlags

	name      string
	advertise string
	store     storeConfig // bolt unless the manager command's flags say otherwise
}

func (c *managerConfig) addFlags(cmd *cobra.Command, defaultDataDir, defaultContext string) {
	f := cmd.Flags()
	f.StringVar(&c.listen, "listen", "127.0.0.1:7070", "address of the manager API")
	f.StringVar(&c.dataDir, "data-dir", defaultDataDir, "directory of the embedded store, the generated tokens and the TLS files (ca.crt, server.crt, server.key)")
	f.StringVar(&c.tokenFile, "token-file", "", "admin token file; generated when missing, read again every second (minkube token rotate) (default DATA-DIR/token)")
	f.StringVar(&c.joinTokenFile, "join-token-file", "", "worker join token file: its secret and the hash of the CA workers verify the manager with; generated when missing, a bare secret in it is pinned (default DATA-DIR/join-token)")
	f.StringVar(&c.metricsTokenFile, "metrics-token-file", "", "read-only token for GET /metrics (Prometheus); generated when missing (default DATA-DIR/metrics-token)")
	f.BoolVar(&c.pprof, "pprof", false, "serve net/http/pprof under /debug/pprof/ on the API, to the admin token")
	f.DurationVar(&c.workerTimeout, "worker-timeout", 15*time.Second, "a worker without heartbeats for this long is NotReady and its tasks Unknown; workers heartbeat every third of it")
	f.DurationVar(&c.rescheduleAft, "reschedule-after", 30*time.Second, "a worker without heartbeats for this long has its tasks placed elsewhere (restartPolicy Never: Failed)")
	f.BoolVar(&c.writeConfig, "write-config", true, "add this manager to mkctl's config ($MINKUBE_CONFIG or ~/.minkube/config) so mkctl reaches it with no flags; other clusters in the file are kept")
	f.StringVar(&c.contextName, "context-name", defaultContext, "name of this cluster's context in mkctl's config (NAME-2, NAME-3... when another cluster has it)")
	f.StringVar(&c.manifestsDir, "manifests-dir", "", "directory of Task manifests (*.yaml, *.yml, recursively) that the store is kept in step with")
	f.DurationVar(&c.manifestsResync, "manifests-resync", gitops.DefaultResync, "period of the full rescan of --manifests-dir")
	f.DurationVar(&c.manifestsSettle, "manifests-settle", gitops.DefaultSettle, "how long --manifests-dir must be quiet after a change before it is applied")
	c.dns.addFlags(cmd)
	c.tls.addFlags(cmd)
}

func newManagerCommand() *cobra.Command {
	var cfg managerConfig
	cmd := &cobra.Command{
		Use:   "manager",
		Short: "Run the manager: API server, store and controllers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := newManager(cmd.Context(), cfg, slog.Default())
			if err != nil {
				return err
			}
			return ignoreCanceled(m.run(cmd.Context()))
		},
	}
	cfg.addFlags(cmd, "/var/lib/minkube", "minkube")
	cmd.Flags().StringVar(&cfg.name, "name", "", "the manager's name among the managers of the cluster (default: --etcd-name, else the host name)")
	cmd.Flags().StringVar(&cfg.advertise, "advertise", "", "HOST:PORT where workers and mkctl reach this manager's API (default: the listen address)")
	cfg.store.addFlags(cmd)
	return cmd
}

// manager is a wired manager process.
type manager struct {
	cfg       managerConfig
	log       *slog.Logger
	stores    *openedStore
	db        store.Store
	state     *store.State
	api       *apiserver.Server
	pool      *workerPool
	managers  apiserver.Managers
	registry  *etcd.Registry    // nil on bolt: the manager runs alone
	dns       *discovery.Server // nil when --dns-listen is ""
	zone      discovery.Zone
	dnsSource discovery.Source
	listener  net.Listener
	token     string
	join      pki.JoinToken
	tls       *managerTLS
	// metricsToken reads /metrics only.
	metricsToken string
	started      time.Time
	clusterID    string
	// controllers run on state for good on bolt; with etcd they are built
	// afresh for each term this manager leads (lead).
	controllers []starter
	metrics     managerMetrics
}

// managerMetrics are the families of the manager's parts that it builds
// again for each term it leads, registered once.
type managerMetrics struct {
	registry    *prometheus.Registry
	store       *metrics.Store
	controllers *metrics.Controllers
	latency     *latency.Metrics
}

func newManagerMetrics() managerMetrics {
	reg := metrics.NewRegistry()
	return managerMetrics{registry: reg, store: metrics.NewStore(reg), controllers: metrics.NewControllers(reg), latency: latency.NewMetrics(reg)}
}

// starter is a named part run until its context ends.
type starter struct {
	name  string
	start func(context.Context) error
}

func newManager(ctx context.Context, cfg managerConfig, log *slog.Logger) (*manager, error) {
	if cfg.store.kind == "" {
		cfg.store.kind = storeBolt
	}
	if cfg.tokenFile == "" {
		cfg.tokenFile = filepath.Join(cfg.dataDir, "token")
	}
	if cfg.joinTokenFile == "" {
		cfg.joinTokenFile = filepath.Join(cfg.dataDir, "join-token")
	}
	if cfg.metricsTokenFile == "" {
		cfg.metricsTokenFile = filepath.Join(cfg.dataDir, "metrics-token")
	}
	if err := checkFailureDetection(cfg.workerTimeout, cfg.rescheduleAft); err != nil {
		return nil, err
	}
	if cfg.manifestsResync < 0 {
		return nil, fmt.Errorf("--manifests-resync %s: must not be negative", cfg.manifestsResync)
	}
	if cfg.manifestsSettle < 0 {
		return nil, fmt.Errorf("--manifests-settle %s: must not be negative", cfg.manifestsSettle)
	}
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir %s: %w", cfg.dataDir, err)
	}
	token, err := readOrCreateToken("--token-file", cfg.tokenFile)
	if err != nil {
		return nil, err
	}
	metricsToken, err := readOrCreateToken("--metrics-token-file", cfg.metricsTokenFile)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", cfg.listen, err)
	}
	stores, err := openStore(ctx, cfg.store, cfg.dataDir, token, cfg.joinTokenFile, log)
	if err != nil {
		l.Close()
		return nil, err
	}
	m := &manager{cfg: cfg, log: log, stores: stores, listener: l, token: token, metricsToken: metricsToken,
		started: time.Now().UTC(), metrics: newManagerMetrics()}
	m.db = store.Instrument(stores.db, m.metrics.store)
	m.state = store.NewState(m.db, log)
	fail := func(err error) (*manager, error) {
		m.closeUnstarted()
		return nil, err
	}
	if m.clusterID, err = store.EnsureClusterID(ctx, m.db); err != nil {
		return fail(err)
	}
	hosts := servingHosts(l.Addr(), cfg.advertise, cfg.tls.sans)
	if m.tls, err = setupTLS(ctx, cfg.tls, cfg.dataDir, m.db, hosts, log); err != nil {
		return fail(err)
	}
	if m.join, err = readOrCreateJoinToken("--join-token-file", cfg.joinTokenFile, m.tls.caHash); err != nil {
		return fail(err)
	}
	m.pool = newWorkerPool(m.tls.cluster.CertPEM)
	if stores.etcd == nil {
		m.managers = &apiserver.SoleManager{Name: managerName(cfg.name, cfg.store), Address: m.url(), StartTime: &m.started, Ready: m.ready}
	} else {
		self := v1.Manager{Name: managerName(cfg.name, cfg.store), Address: m.url(), StartTime: &m.started}
		if err := v1.ValidateWorkerName(self.Name); err != nil {
			return fail(fmt.Errorf("--name %q: %w", self.Name, err))
		}
		m.registry = stores.etcd.NewRegistry(self, cfg.store.leaseTTL, m.ready)
		m.managers = m.registry
		if ip := l.Addr().(*net.TCPAddr).IP; ip.IsUnspecified() && cfg.advertise == "" {
			log.Warn("workers and mkctl fail over to the address this manager advertises, and "+m.url()+" reaches no one: set --advertise HOST:PORT", "listen", cfg.listen)
		}
	}
	// The DNS source adds an index: before the caches start.
	m.dnsSource = discovery.NewCacheSource(m.state.TaskCache, m.state.WorkerCache, dnsManagers{m.managers})
	if m.dns, m.zone, err = newDNSServer(cfg.dns, m.dnsSource, log); err != nil {
		return fail(err)
	}
	opts := apiserver.Options{
		State: m.state, AdminToken: token, JoinToken: m.join.Secret, Signer: m.tls.cluster, Logs: m.pool, Exec: m.pool, Stats: m.pool, Reach: m.pool,
		Logger: log, Managers: m.managers,
		Endpoints: m.endpoints, ClusterID: m.clusterID, Version: buildinfo.Get(version, gitCommit),
		HeartbeatInterval: workers.HeartbeatInterval(cfg.workerTimeout),
		Metrics:           m.metrics.registry, MetricsToken: metricsToken, Pprof: cfg.pprof,
	}
	if stores.etcd != nil {
		opts.Health = stores.etcd.Health
		opts.Members = stores.etcd
	}
	if m.api, err = apiserver.New(opts); err != nil {
		return fail(err)
	}
	if stores.etcd == nil {
		// The scheduler hands the API server the first statuses workers
		// answer its pushes with: after it.
		if m.controllers, err = m.newControllers(m.state); err != nil {
			return fail(err)
		}
	}
	return m, nil
}

// newControllers builds the controllers over st, before its caches start.
func (m *manager) newControllers(st *store.State) ([]starter, error) {
	cfg := m.cfg
	mc := m.metrics.controllers
	out := []starter{
		{"scheduler", scheduler.New(scheduler.Options{State: st, Workers: m.pool, FirstStatus: m.api.RecordFirstStatus,
			Logger: m.log, Metrics: mc.For("scheduler")}).Start},
		{"worker lifecycle", workers.New(workers.Options{State: st, Timeout: cfg.workerTimeout, RescheduleAfter: cfg.rescheduleAft,
			Logger: m.log, Metrics: mc.For("workers")}).Start},
	}
	m.metrics.latency.Observe(st, nil)
	if cfg.manifestsDir != "" {
		g, err := gitops.New(gitops.Options{State: st, Dir: cfg.manifestsDir,
			Resync: cfg.manifestsResync, Settle: cfg.manifestsSettle, Logger: m.log})
		if err != nil {
			return nil, fmt.Errorf("--manifests-dir %s: %w", cfg.manifestsDir, err)
		}
		out = append(out, starter{"manifests directory sync", g.Start})
	}
	return out, nil
}

// ready reports whether this manager serves reads and writes: its caches
// hold the store, and the store can commit.
func (m *manager) ready() bool {
	if !m.state.HasSynced() {
		return false
	}
	return m.stores.etcd == nil || m.stores.etcd.Health() == nil
}

// lead runs the controllers for one term of leadership, on a State of
// their own whose writes are fenced by the term's leader key, until the
// term ends.
func (m *manager) lead(ctx context.Context, term etcd.Term) error {
	st := store.NewState(store.Instrument(term.Store, m.metrics.store), m.log)
	controllers, err := m.newControllers(st)
	if err != nil {
		return err
	}
	return runGroup(ctx, append([]starter{{"the leader's caches", st.Start}}, controllers...))
}

// closeUnstarted releases what newManager opened, for a manager that will
// not run.
func (m *manager) closeUnstarted() {
	m.stores.close()
	m.listener.Close()
	if m.dns != nil {
		m.dns.Close()
	}
}

// dnsAddr is the DNS server's address, "" when it is off.
func (m *manager) dnsAddr() string {
	if m.dns == nil {
		return ""
	}
	return m.dns.Addr().String()
}

// minWorkerTimeout is the shortest --worker-timeout: workers heartbeat
// every third of it, and below a second one slow report would make a live
// worker NotReady.
const minWorkerTimeout = time.Second

// checkFailureDetection refuses failure-detection flags that cannot work
// together, naming them.
func checkFailureDetection(timeout, rescheduleAfter time.Duration) error {
	switch {
	case timeout < minWorkerTimeout:
		return fmt.Errorf("--worker-timeout %s: must be at least %s: workers heartbeat every third of it (%s), and a shorter timeout makes a live worker NotReady over one slow report",
			timeout, minWorkerTimeout, workers.HeartbeatInterval(max(timeout, 0)))
	case rescheduleAfter < timeout:
		return fmt.Errorf("--reschedule-after %s: must not be shorter than --worker-timeout %s: tasks move off a worker only after it is NotReady", rescheduleAfter, timeout)
	}
	return nil
}

// dashboardURL is the address of the web dashboard; mkctl dashboard
// opens it signed in.
func (m *manager) dashboardURL() string { return m.url() + "/ui/" }

// url is the manager API's address as a URL.
func (m *manager) url() string {
	if m.cfg.advertise != "" {
		return "https://" + m.cfg.advertise
	}
	return "https://" + m.listener.Addr().String()
}

// run serves until ctx ends, then stops everything it started.
func (m *manager) run(ctx context.Context) error {
	defer m.stores.close()
	if m.cfg.writeConfig {
		path, context, current, err := writeClientConfig(m.cfg.contextName, m.url(), m.token, m.tls.caPEM)
		switch {
		case err != nil:
			m.log.Warn("could not write the mkctl config; pass --server and --token to mkctl", "err", err)
		case current:
			m.log.Info("wrote the mkctl config", "path", path, "context", context)
		default:
			m.log.Info("wrote the mkctl config; another context is current", "path", path, "context", context,
				"use", "mkctl config use-context "+context)
		}
	}
	srv := serve.New(m.api.Handler(), serve.Options{TLS: m.tls.config, Logger: m.log})
	srv.RegisterOnShutdown(m.api.EndSessions) // exec sessions: Shutdown does not track their connections
	tokens := &tokenFiles{adminPath: m.cfg.tokenFile, joinPath: m.cfg.joinTokenFile, caHash: m.tls.caHash,
		admin: m.token, join: m.join.Secret, apply: m.api.SetTokens, log: m.log}
	parts := []starter{{"store caches", m.state.Start}, {"token files", tokens.Start}, {"idle memory release", releaseIdleMemory}}
	if m.registry == nil {
		parts = append(parts, m.controllers...)
	} else {
		name := managerName(m.cfg.name, m.cfg.store)
		parts = append(parts,
			starter{"managers registry", m.registry.Run},
			starter{"leader election", func(ctx context.Context) error {
				return m.stores.etcd.Campaign(ctx, name, m.cfg.store.leaseTTL, m.lead)
			}})
	}
	if m.stores.member != nil {
		parts = append(parts, starter{"embedded etcd member", func(ctx context.Context) error {
			select {
			case err := <-m.stores.member.Err():
				return err
			case <-ctx.Done():
				return nil
			}
		}})
	}
	if m.dns != nil {
		parts = append(parts, starter{"DNS server", m.dns.Start})
	}
	parts = append(parts, starter{"API server", func(ctx context.Context) error { return srv.Serve(ctx, m.listener) }})
	m.log.Info("manager started", "api", m.url(), "dashboard", m.dashboardURL(), "dns", m.dnsAddr(), "data-dir", m.cfg.dataDir, "store", m.cfg.store.kind,
		"cluster", m.clusterID, "version", buildinfo.Get(version, gitCommit).Version)
	return runGroup(ctx, parts)
}

// runGroup runs every part until ctx ends or one of them fails, which
// stops the others; it returns after all have returned, with the errors
// of those that failed.
func runGroup(ctx context.Context, parts []starter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, p := range parts {
		wg.Go(func() {
			if err := p.start(ctx); err != nil && ctx.Err() == nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
				mu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
