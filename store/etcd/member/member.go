// Package member runs an etcd member inside the manager process
// (go.etcd.io/etcd/server/v3/embed), the way k3s does: three managers
// started with the same --etcd-initial-cluster form an etcd cluster with
// nothing else to install, and each manager's store talks to its own
// member.
package member

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap/zapcore"
)

// Cluster states of Config.State, as etcd names them.
const (
	StateNew      = "new"
	StateExisting = "existing"
)

// Config configures an embedded member. The names follow etcd's flags.
type Config struct {
	// Name is the member's name in the cluster (--etcd-name).
	Name string
	// Dir is the member's data directory.
	Dir string
	// ListenClient is the URL clients reach the member at
	// (--etcd-listen-client), also advertised to the cluster.
	ListenClient string
	// ListenPeer is the URL the other members reach it at
	// (--etcd-listen-peer), also advertised.
	ListenPeer string
	// InitialCluster lists every member as NAME=PEER-URL,...
	// (--etcd-initial-cluster); this member must be in it. Empty means a
	// one-member cluster.
	InitialCluster string
	// State is StateNew to bootstrap a cluster, StateExisting to join one
	// the member was added to. A member that has data in Dir restarts on
	// it whatever State says.
	State string
	// HeartbeatInterval and ElectionTimeout tune raft as etcd's flags of
	// the same names do; etcd's defaults (100ms, 1s) when 0.
	HeartbeatInterval, ElectionTimeout time.Duration
	// Logger receives the member's messages, etcd's own errors among
	// them (its warnings, mostly slow requests on a busy host, are dropped).
	Logger *slog.Logger
}

// Member is a running embedded etcd member.
type Member struct {
	e       *embed.Etcd
	cfg     Config
	closing *atomic.Bool
}

// Start starts the member and returns once it serves clients, which needs
// a quorum of the initial cluster: it logs while it waits, and returns an
// error when the member fails or ctx ends first.
func Start(ctx context.Context, cfg Config) (*Member, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Name == "" {
		return nil, errors.New("--etcd-name is required")
	}
	cu, err := parseURL("--etcd-listen-client", cfg.ListenClient)
	if err != nil {
		return nil, err
	}
	pu, err := parseURL("--etcd-listen-peer", cfg.ListenPeer)
	if err != nil {
		return nil, err
	}
	if cfg.InitialCluster == "" {
		cfg.InitialCluster = cfg.Name + "=" + cfg.ListenPeer
	}
	if err := checkInitialCluster(cfg.Name, cfg.ListenPeer, cfg.InitialCluster); err != nil {
		return nil, err
	}
	if cfg.State == "" {
		cfg.State = StateNew
	}
	if cfg.State != StateNew && cfg.State != StateExisting {
		return nil, fmt.Errorf("--etcd-initial-cluster-state %q: must be new or existing", cfg.State)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("etcd data dir %s: %w", cfg.Dir, err)
	}
	ec := embed.NewConfig()
	ec.Name = cfg.Name
	ec.Dir = cfg.Dir
	ec.ListenClientUrls, ec.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	ec.ListenPeerUrls, ec.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	ec.InitialCluster = cfg.InitialCluster
	ec.ClusterState = cfg.State
	// The token keeps two clusters bootstrapped on one network apart; the
	// members of one cluster share their --etcd-initial-cluster, in any
	// order.
	entries := strings.Split(cfg.InitialCluster, ",")
	slices.Sort(entries)
	sum := sha256.Sum256([]byte(strings.Join(entries, ",")))
	ec.InitialClusterToken = "minkube-" + hex.EncodeToString(sum[:8])
	if cfg.HeartbeatInterval > 0 {
		ec.TickMs = uint(cfg.HeartbeatInterval.Milliseconds())
	}
	if cfg.ElectionTimeout > 0 {
		ec.ElectionMs = uint(cfg.ElectionTimeout.Milliseconds())
	}
	closing := &atomic.Bool{}
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(newZapLogger(cfg.Logger, zapcore.ErrorLevel, closing))
	// Keep an hour of history for watches that resume, as
	// kube-apiserver's etcd does with its compactions.
	ec.AutoCompactionMode = embed.CompactorModePeriodic
	ec.AutoCompactionRetention = "1h"
	ec.ListenMetricsUrls = nil
	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("start the embedded etcd member %s: %w", cfg.Name, err)
	}
	m := &Member{e: e, cfg: cfg, closing: closing}
	wait := time.NewTicker(5 * time.Second)
	defer wait.Stop()
	for {
		select {
		case <-e.Server.ReadyNotify():
			cfg.Logger.Info("embedded etcd member serving", "name", cfg.Name, "client", cfg.ListenClient, "peer", cfg.ListenPeer)
			return m, nil
		case err := <-e.Err():
			m.Close()
			return nil, fmt.Errorf("embedded etcd member %s: %w", cfg.Name, err)
		case <-ctx.Done():
			m.Close()
			return nil, fmt.Errorf("embedded etcd member %s: %w", cfg.Name, ctx.Err())
		case <-wait.C:
			cfg.Logger.Info("embedded etcd member waiting for a quorum of --etcd-initial-cluster", "name", cfg.Name, "cluster", cfg.InitialCluster)
		}
	}
}

// ClientURL returns the URL the member serves clients at.
func (m *Member) ClientURL() string { return m.cfg.ListenClient }

// Err returns a channel that receives the member's fatal error.
func (m *Member) Err() <-chan error { return m.e.Err() }

// Close stops the member.
func (m *Member) Close() {
	m.closing.Store(true)
	m.e.Close()
}

// DataDir returns where a manager with data dir dir keeps its member's data.
func DataDir(dir string) string { return filepath.Join(dir, "etcd") }

func parseURL(flag, s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%s %q: must be a URL such as http://127.0.0.1:2379", flag, s)
	}
	return u, nil
}

// checkInitialCluster checks NAME=URL,... and that this member is in it
// with its peer URL.
func checkInitialCluster(name, peer, cluster string) error {
	found := false
	for _, entry := range strings.Split(cluster, ",") {
		n, u, ok := strings.Cut(entry, "=")
		if !ok || n == "" {
			return fmt.Errorf("--etcd-initial-cluster: %q is not NAME=PEER-URL", entry)
		}
		if _, err := parseURL("--etcd-initial-cluster", u); err != nil {
			return err
		}
		if n == name {
			if u != peer {
				return fmt.Errorf("--etcd-initial-cluster names %s at %s, but --etcd-listen-peer is %s", name, u, peer)
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("--etcd-initial-cluster does not name this member (--etcd-name %s)", name)
	}
	return nil
}
