package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/cmd/internal/buildinfo"
	"github.com/minkube/minkube/controllers/gitops"
	"github.com/minkube/minkube/controllers/scheduler"
	"github.com/minkube/minkube/controllers/workers"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

// managerConfig holds the manager's flags.
type managerConfig struct {
	listen        string
	dataDir       string
	tokenFile     string
	joinTokenFile string
	workerTimeout time.Duration
	rescheduleAft time.Duration
	writeConfig   bool
	contextName   string

	manifestsDir    string
	manifestsResync time.Duration
	manifestsSettle time.Duration
}

func (c *managerConfig) addFlags(cmd *cobra.Command, defaultDataDir, defaultContext string) {
	f := cmd.Flags()
	f.StringVar(&c.listen, "listen", "127.0.0.1:7070", "address of the manager API")
	f.StringVar(&c.dataDir, "data-dir", defaultDataDir, "directory of the embedded store and generated tokens")
	f.StringVar(&c.tokenFile, "token-file", "", "admin token file; generated when missing (default DATA-DIR/token)")
	f.StringVar(&c.joinTokenFile, "join-token-file", "", "worker join token file; generated when missing (default DATA-DIR/join-token)")
	f.DurationVar(&c.workerTimeout, "worker-timeout", 15*time.Second, "a worker without heartbeats for this long is NotReady and its tasks Unknown")
	f.DurationVar(&c.rescheduleAft, "reschedule-after", 30*time.Second, "a worker without heartbeats for this long has its tasks placed elsewhere (restartPolicy Never: Failed)")
	f.BoolVar(&c.writeConfig, "write-config", true, "add this manager to mkctl's config ($MINKUBE_CONFIG or ~/.minkube/config) so mkctl reaches it with no flags; other clusters in the file are kept")
	f.StringVar(&c.contextName, "context-name", defaultContext, "name of this cluster's context in mkctl's config (NAME-2, NAME-3... when another cluster has it)")
	f.StringVar(&c.manifestsDir, "manifests-dir", "", "directory of Task manifests (*.yaml, *.yml, recursively) that the store is kept in step with")
	f.DurationVar(&c.manifestsResync, "manifests-resync", gitops.DefaultResync, "period of the full rescan of --manifests-dir")
	f.DurationVar(&c.manifestsSettle, "manifests-settle", gitops.DefaultSettle, "how long --manifests-dir must be quiet after a change before it is applied")
}

func newManagerCommand() *cobra.Command {
	var cfg managerConfig
	cmd := &cobra.Command{
		Use:   "manager",
		Short: "Run the manager: API server, store and controllers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := newManager(cfg, slog.Default())
			if err != nil {
				return err
			}
			return ignoreCanceled(m.run(cmd.Context()))
		},
	}
	cfg.addFlags(cmd, "/var/lib/minkube", "minkube")
	return cmd
}

// manager is a wired manager process.
type manager struct {
	cfg       managerConfig
	log       *slog.Logger
	db        store.Store
	state     *store.State
	api       *apiserver.Server
	sched     *scheduler.Controller
	lifecycle *workers.Controller
	gitops    *gitops.Controller // nil without --manifests-dir
	listener  net.Listener
	token     string
	joinToken string
}

func newManager(cfg managerConfig, log *slog.Logger) (*manager, error) {
	if cfg.tokenFile == "" {
		cfg.tokenFile = filepath.Join(cfg.dataDir, "token")
	}
	if cfg.joinTokenFile == "" {
		cfg.joinTokenFile = filepath.Join(cfg.dataDir, "join-token")
	}
	if cfg.workerTimeout <= 0 {
		return nil, fmt.Errorf("--worker-timeout %s: must be positive", cfg.workerTimeout)
	}
	if cfg.rescheduleAft < cfg.workerTimeout {
		return nil, fmt.Errorf("--reschedule-after %s: must not be shorter than --worker-timeout %s", cfg.rescheduleAft, cfg.workerTimeout)
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
	joinToken, err := readOrCreateToken("--join-token-file", cfg.joinTokenFile)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", cfg.listen, err)
	}
	db, err := bolt.Open(filepath.Join(cfg.dataDir, "minkube.db"), bolt.Options{Logger: log})
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("--data-dir %s: %w", cfg.dataDir, err)
	}
	m := &manager{cfg: cfg, log: log, db: db, listener: l, token: token, joinToken: joinToken}
	m.state = store.NewState(db, log)
	pool := newWorkerPool()
	m.sched = scheduler.New(scheduler.Options{State: m.state, Workers: pool, Logger: log})
	m.lifecycle = workers.New(workers.Options{State: m.state, Timeout: cfg.workerTimeout, RescheduleAfter: cfg.rescheduleAft, Logger: log})
	if cfg.manifestsDir != "" {
		m.gitops, err = gitops.New(gitops.Options{State: m.state, Dir: cfg.manifestsDir,
			Resync: cfg.manifestsResync, Settle: cfg.manifestsSettle, Logger: log})
		if err != nil {
			db.Close()
			l.Close()
			return nil, fmt.Errorf("--manifests-dir %s: %w", cfg.manifestsDir, err)
		}
	}
	m.api, err = apiserver.New(apiserver.Options{
		State: m.state, AdminToken: token, JoinToken: joinToken, Logs: pool, Exec: pool, Logger: log,
		Version: buildinfo.Get(version, gitCommit),
	})
	if err != nil {
		db.Close()
		l.Close()
		return nil, err
	}
	return m, nil
}

// url is the manager API's address as a URL.
func (m *manager) url() string { return "http://" + m.listener.Addr().String() }

// run serves until ctx ends, then stops everything it started.
func (m *manager) run(ctx context.Context) error {
	defer m.db.Close()
	if m.cfg.writeConfig {
		path, context, current, err := writeClientConfig(m.cfg.contextName, m.url(), m.token)
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
	srv := &http.Server{Handler: m.api.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv.RegisterOnShutdown(m.api.EndSessions) // exec sessions: Shutdown does not track their connections
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	run := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
				cancel()
			}
		}()
	}
	run("store caches", m.state.Start)
	run("scheduler", m.sched.Start)
	run("worker lifecycle", m.lifecycle.Start)
	if m.gitops != nil {
		run("manifests directory sync", m.gitops.Start)
	}
	run("API server", func(ctx context.Context) error {
		go func() {
			<-ctx.Done()
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer scancel()
			_ = srv.Shutdown(sctx)
		}()
		if err := srv.Serve(m.listener); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	m.log.Info("manager started", "api", m.url(), "data-dir", m.cfg.dataDir, "version", buildinfo.Get(version, gitCommit).Version)
	wg.Wait()
	return errors.Join(errs...)
}
