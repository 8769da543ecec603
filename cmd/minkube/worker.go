package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/discovery"
	"github.com/minkube/minkube/metrics"
	"github.com/minkube/minkube/pki"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/docker"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
	"github.com/minkube/minkube/workerd/stats"
)

// workerConfig holds the worker's flags.
type workerConfig struct {
	manager        string
	dnsServer      string
	dnsDomain      string
	name           string
	listen         string
	advertise      string
	labels         string
	joinTokenFile  string
	dataDir        string
	portHostIP     string
	diskReserved   string
	stopGrace      time.Duration
	resync         time.Duration
	backoffInitial time.Duration
	backoffMax     time.Duration
	usageInterval  time.Duration
	// runtime is docker or fake; replicas is how many workers of the
	// fake runtime this process runs.
	runtime  string
	replicas int

	metricsTokenFile string
	pprof            bool
	// metricsToken is read from metricsTokenFile, or given by dev.
	metricsToken string
}

func (c *workerConfig) addFlags(cmd *cobra.Command, standalone bool, listenFlag string) {
	f := cmd.Flags()
	if standalone {
		f.StringVar(&c.manager, "manager", "https://127.0.0.1:7070", "URL of the manager API, several comma-separated to fail over between, or dns+srv://NAME to find the managers through SRV (with --dns-server)")
		f.StringVar(&c.dnsServer, "dns-server", discovery.DefaultListen, "the manager's DNS server (host:port): resolves dns+srv:// and the cluster zone for containers")
		f.StringVar(&c.dnsDomain, "dns-domain", discovery.DefaultDomain, "the cluster zone (the manager's --dns-domain), which containers resolve through the manager")
		f.StringVar(&c.joinTokenFile, "join-token-file", "", "the manager's join token file (required): its secret, and the hash of the CA the worker verifies the manager with")
		f.StringVar(&c.dataDir, "data-dir", "/var/lib/minkube-worker", "directory whose filesystem's free disk the worker offers, and where it keeps its credential (worker-NAME.credential) and the cluster it joined")
		f.StringVar(&c.labels, "labels", "", "worker labels matched by nodeSelector, as k=v,k2=v2")
		f.StringVar(&c.metricsTokenFile, "metrics-token-file", "", "file holding a read-only token for GET /metrics besides the manager's (such as the manager's metrics-token)")
		f.BoolVar(&c.pprof, "pprof", false, "serve net/http/pprof under /debug/pprof/ on the worker API, to the manager's token")
		f.StringVar(&c.runtime, "runtime", runtimeDocker, "container runtime: docker (the local engine), or fake (in memory: every container starts at once and runs until stopped; a hollow worker for scale benchmarks)")
		f.IntVar(&c.replicas, "replicas", 1, "with --runtime fake: run this many hollow workers in this process, named NAME-0, NAME-1, ..., each with its own API on the host of --listen (whose port must be 0)")
	}
	f.StringVar(&c.name, "name", "", "worker name, unique in the cluster (default: the host's name)")
	f.StringVar(&c.listen, listenFlag, "127.0.0.1:7071", "address of the worker API")
	f.StringVar(&c.advertise, "advertise", "", "address where the manager reaches the worker API (default: the listen address)")
	f.StringVar(&c.diskReserved, "disk-reserved", "0", "disk kept back from what tasks may ask for, as a quantity (10Gi)")
	f.StringVar(&c.portHostIP, "port-host-ip", "", "host address task ports are published on (default: the host of --advertise when it is an IP address, else all addresses)")
	f.DurationVar(&c.stopGrace, "stop-grace", 10*time.Second, "time between SIGTERM and SIGKILL when a task stops")
	f.DurationVar(&c.resync, "resync-interval", 30*time.Second, "period of the comparison with the manager's task list")
	f.DurationVar(&c.backoffInitial, "backoff-initial", 10*time.Second, "first wait before restarting a crashing container or pulling again")
	f.DurationVar(&c.backoffMax, "backoff-max", 5*time.Minute, "longest wait between restarts or pulls")
	f.DurationVar(&c.usageInterval, "usage-interval", 10*time.Second, "period at which the CPU time and memory of the running task containers are read (mkctl top, /metrics)")
}

func newWorkerCommand() *cobra.Command {
	var cfg workerConfig
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run workerd: the worker daemon that runs Task containers on the local Docker engine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.joinTokenFile == "" {
				return fmt.Errorf("--join-token-file is required: the manager writes it in its data dir (join-token)")
			}
			join, err := readJoinToken("--join-token-file", cfg.joinTokenFile)
			if err != nil {
				return err
			}
			labels, err := parseLabels(cfg.labels)
			if err != nil {
				return err
			}
			if cfg.metricsTokenFile != "" {
				if cfg.metricsToken, err = readToken("--metrics-token-file", cfg.metricsTokenFile); err != nil {
					return err
				}
			}
			if cfg.replicas != 1 {
				return runHollowWorkers(cmd.Context(), cfg, join, labels, slog.Default())
			}
			w, err := newWorker(cfg, join, labels, slog.Default())
			if err != nil {
				return err
			}
			return ignoreCanceled(w.Start(cmd.Context()))
		},
	}
	cmd.Flags().SortFlags = false
	cfg.addFlags(cmd, true, "listen")
	return cmd
}

// newWorker wires a workerd over the local Docker engine.
func newWorker(cfg workerConfig, join pki.JoinToken, labels map[string]string, log *slog.Logger) (*workerProc, error) {
	if cfg.name == "" {
		cfg.name, _ = os.Hostname()
	}
	if cfg.name == "" {
		return nil, fmt.Errorf("--name is required (the host name could not be read)")
	}
	if err := os.MkdirAll(cfg.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir %s: %w", cfg.dataDir, err)
	}
	dataDir, _ := filepath.Abs(cfg.dataDir)
	sampler, err := stats.NewSampler(dataDir)
	if err != nil {
		return nil, fmt.Errorf("--data-dir %s: %w", cfg.dataDir, err)
	}
	if cfg.portHostIP != "" && net.ParseIP(cfg.portHostIP) == nil {
		return nil, fmt.Errorf("--port-host-ip %q: not an IP address", cfg.portHostIP)
	}
	reserved, err := v1.ParseQuantity(cfg.diskReserved)
	if err != nil {
		return nil, fmt.Errorf("--disk-reserved %q: %w", cfg.diskReserved, err)
	}
	sampler.ReserveDisk(reserved)
	if cfg.usageInterval <= 0 {
		return nil, fmt.Errorf("--usage-interval %s: must be positive", cfg.usageInterval)
	}
	reg := metrics.NewRegistry()
	reg.MustRegister(sampler)
	var (
		rt      runtime.Runtime
		sampled workerd.Stats = sampler
	)
	switch cfg.runtime {
	case runtimeDocker, "":
		if rt, err = docker.New(docker.Options{}); err != nil {
			return nil, fmt.Errorf("docker engine: %w", err)
		}
	case runtimeFake:
		// A hollow worker: the host's figures, read once, stand for it.
		st, err := sampler.Sample()
		if err != nil {
			return nil, fmt.Errorf("--data-dir %s: %w", cfg.dataDir, err)
		}
		rt, sampled = runtimetest.New(), fixedStats(st)
	default:
		return nil, fmt.Errorf("--runtime %q: must be docker or fake", cfg.runtime)
	}
	dial, onManagers, endpoints, err := managerDialer(cfg, join, log)
	if err != nil {
		return nil, err
	}
	containerDNS, err := cfg.containerDNS()
	if err != nil {
		return nil, err
	}
	w, err := workerd.New(workerd.Options{
		Name:           cfg.name,
		Listen:         cfg.listen,
		Advertise:      cfg.advertise,
		Labels:         labels,
		JoinToken:      join.Secret,
		CredentialFile: filepath.Join(dataDir, "worker-"+cfg.name+".credential"),
		Manager:        dial,
		OnManagers:     onManagers,
		Runtime:        rt,
		Stats:          sampled,
		Logger:         log,
		PortHostIP:     cfg.portHostIP,
		ClusterFile:    filepath.Join(dataDir, "worker-"+cfg.name+".cluster"),
		StopGrace:      cfg.stopGrace,
		ResyncInterval: cfg.resync,
		BackoffInitial: cfg.backoffInitial,
		BackoffMax:     cfg.backoffMax,
		ContainerDNS:   containerDNS,
		Metrics:        reg,
		MetricsToken:   cfg.metricsToken,
		Pprof:          cfg.pprof,
		UsageInterval:  cfg.usageInterval,
	})
	if err != nil {
		return nil, err
	}
	return &workerProc{Worker: w, endpoints: endpoints}, nil
}

// Runtimes of --runtime.
const (
	runtimeDocker = "docker"
	runtimeFake   = "fake"
)

// fixedStats is the stats of a hollow worker: the same at every sample.
type fixedStats v1.WorkerStats

// Sample implements workerd.Stats.
func (s fixedStats) Sample() (v1.WorkerStats, error) { return v1.WorkerStats(s), nil }

// runHollowWorkers runs cfg.replicas workers of the fake runtime in this
// process, as kubemark runs hollow nodes: the real workerd above an
// in-memory runtime, each with its own API listener and credential,
// registering through the join path like any worker. It returns when ctx
// ends, or with the first worker that fails.
func runHollowWorkers(ctx context.Context, cfg workerConfig, join pki.JoinToken, labels map[string]string, log *slog.Logger) error {
	if cfg.replicas < 1 {
		return fmt.Errorf("--replicas %d: must be at least 1", cfg.replicas)
	}
	if cfg.runtime != runtimeFake {
		return fmt.Errorf("--replicas %d: several workers run in one process only with --runtime fake", cfg.replicas)
	}
	host, port, err := net.SplitHostPort(cfg.listen)
	if err != nil || port != "0" {
		return fmt.Errorf("--listen %q: with --replicas, must be HOST:0 so that each worker takes a port of its own", cfg.listen)
	}
	if cfg.advertise != "" {
		return fmt.Errorf("--advertise %q: with --replicas each worker advertises the address it listens on; leave --advertise out", cfg.advertise)
	}
	if cfg.name == "" {
		cfg.name = "hollow"
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := make([]*workerProc, cfg.replicas)
	for i := range workers {
		c := cfg
		c.name, c.listen = fmt.Sprintf("%s-%d", cfg.name, i), net.JoinHostPort(host, "0")
		w, err := newWorker(c, join, labels, log.With("worker", c.name))
		if err != nil {
			return fmt.Errorf("hollow worker %s: %w", c.name, err)
		}
		workers[i] = w
	}
	log.Info("starting hollow workers", "count", cfg.replicas, "names", cfg.name+"-0..")
	errc := make(chan error, len(workers))
	for _, w := range workers {
		go func() { errc <- ignoreCanceled(w.Start(ctx)) }()
	}
	var first error
	for range workers {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}
