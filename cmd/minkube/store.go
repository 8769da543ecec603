package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/client/pkg/v3/transport"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
	"github.com/minkube/minkube/store/etcd"
	"github.com/minkube/minkube/store/etcd/member"
)

// Store kinds of --store.
const (
	storeBolt = "bolt"
	storeEtcd = "etcd"
)

// storeConfig holds the flags that choose and reach the store.
type storeConfig struct {
	kind      string
	endpoints string
	prefix    string
	caFile    string
	certFile  string
	keyFile   string

	// The embedded etcd member, named after etcd's own flags.
	memberName     string
	listenClient   string
	listenPeer     string
	initialCluster string
	clusterState   string
	heartbeat      time.Duration
	election       time.Duration
	join           string

	leaseTTL time.Duration
}

// addEtcdClientFlags adds the flags that reach an etcd cluster.
func (c *storeConfig) addEtcdClientFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.endpoints, "etcd-endpoints", "", "client URLs of the etcd cluster, comma-separated (--store etcd; empty: the embedded member's)")
	f.StringVar(&c.prefix, "etcd-prefix", etcd.DefaultPrefix, "key prefix of Minkube's data in etcd")
	f.StringVar(&c.caFile, "etcd-cafile", "", "CA bundle that verifies the etcd servers' certificates")
	f.StringVar(&c.certFile, "etcd-certfile", "", "client certificate presented to etcd")
	f.StringVar(&c.keyFile, "etcd-keyfile", "", "key of --etcd-certfile")
}

// addFlags adds every store flag of the manager.
func (c *storeConfig) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.kind, "store", storeBolt, "where the state lives: bolt (one file in --data-dir) or etcd (shared by several managers)")
	c.addEtcdClientFlags(cmd)
	f.StringVar(&c.memberName, "etcd-name", "", "run an etcd member in this manager under this name (--store etcd; also the manager's name)")
	f.StringVar(&c.listenClient, "etcd-listen-client", "http://127.0.0.1:2379", "client URL of the embedded etcd member")
	f.StringVar(&c.listenPeer, "etcd-listen-peer", "http://127.0.0.1:2380", "peer URL of the embedded etcd member")
	f.StringVar(&c.initialCluster, "etcd-initial-cluster", "", "every member of the embedded etcd cluster as NAME=PEER-URL,... (default: this member alone)")
	f.StringVar(&c.clusterState, "etcd-initial-cluster-state", member.StateNew, "new to bootstrap the etcd cluster, existing to join one this member was added to")
	f.StringVar(&c.join, "join", "", "URL of a running manager whose cluster this manager's embedded member joins (with --etcd-name; the admin token from --token-file, the manager verified against the CA --join-token-file pins)")
	f.DurationVar(&c.heartbeat, "etcd-heartbeat-interval", 50*time.Millisecond, "raft heartbeat interval of the embedded etcd member (etcd: 100ms)")
	f.DurationVar(&c.election, "etcd-election-timeout", 500*time.Millisecond, "raft election timeout of the embedded etcd member (etcd: 1s); the managers of a cluster share a network")
	f.DurationVar(&c.leaseTTL, "leader-lease", etcd.DefaultLeaseTTL, "lease of the controllers' leader and of each manager's registry entry (whole seconds): how long a manager that stopped answering keeps them")
}

// tlsConfig returns the TLS configuration for etcd, or nil without TLS
// flags.
func (c *storeConfig) tlsConfig() (*tls.Config, error) {
	if c.caFile == "" && c.certFile == "" && c.keyFile == "" {
		return nil, nil
	}
	if (c.certFile == "") != (c.keyFile == "") {
		return nil, fmt.Errorf("--etcd-certfile and --etcd-keyfile go together")
	}
	info := transport.TLSInfo{CertFile: c.certFile, KeyFile: c.keyFile, TrustedCAFile: c.caFile}
	cfg, err := info.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("etcd TLS (--etcd-cafile, --etcd-certfile, --etcd-keyfile): %w", err)
	}
	return cfg, nil
}

// endpointList splits --etcd-endpoints.
func (c *storeConfig) endpointList() []string {
	var eps []string
	for _, ep := range strings.Split(c.endpoints, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			eps = append(eps, ep)
		}
	}
	return eps
}

// openedStore is the manager's store and what was started to serve it.
type openedStore struct {
	db     store.Store
	etcd   *etcd.Store    // nil on bolt
	member *member.Member // nil without an embedded member
}

func (o *openedStore) close() {
	_ = o.db.Close()
	if o.member != nil {
		o.member.Close()
	}
}

// openStore opens the store the flags name: the bolt file in dataDir, or
// etcd, after starting the embedded member when --etcd-name is set.
func openStore(ctx context.Context, c storeConfig, dataDir, token, joinTokenFile string, log *slog.Logger) (*openedStore, error) {
	switch c.kind {
	case storeBolt:
		if c.endpoints != "" || c.memberName != "" || c.initialCluster != "" || c.join != "" {
			return nil, fmt.Errorf("--etcd-endpoints, --etcd-name, --etcd-initial-cluster and --join need --store etcd")
		}
		db, err := bolt.Open(filepath.Join(dataDir, "minkube.db"), bolt.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("--data-dir %s: %w", dataDir, err)
		}
		return &openedStore{db: db}, nil
	case storeEtcd:
	default:
		return nil, fmt.Errorf("--store %q: must be bolt or etcd", c.kind)
	}
	if c.leaseTTL < time.Second {
		return nil, fmt.Errorf("--leader-lease %s: must be at least 1s", c.leaseTTL)
	}
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	out := &openedStore{}
	eps := c.endpointList()
	switch {
	case c.memberName != "":
		if len(eps) > 0 {
			return nil, fmt.Errorf("--etcd-endpoints and --etcd-name exclude each other: a manager with an embedded member talks to it")
		}
		if c.join != "" {
			if err := c.joinCluster(ctx, dataDir, token, joinTokenFile, log); err != nil {
				return nil, err
			}
		}
		out.member, err = member.Start(ctx, member.Config{
			Name: c.memberName, Dir: member.DataDir(dataDir),
			ListenClient: c.listenClient, ListenPeer: c.listenPeer,
			InitialCluster: c.initialCluster, State: c.clusterState, Logger: log,
			HeartbeatInterval: c.heartbeat, ElectionTimeout: c.election,
		})
		if err != nil {
			return nil, err
		}
		eps = []string{out.member.ClientURL()}
	case c.join != "":
		return nil, fmt.Errorf("--join needs --etcd-name: it adds this manager's embedded member to the cluster")
	case len(eps) == 0:
		return nil, fmt.Errorf("--store etcd needs --etcd-endpoints, or --etcd-name to run an embedded member")
	}
	out.etcd, err = etcd.Open(ctx, etcd.Options{Endpoints: eps, TLS: tlsCfg, Prefix: c.prefix, Logger: log})
	if err != nil {
		if out.member != nil {
			out.member.Close()
		}
		return nil, fmt.Errorf("--etcd-endpoints: %w", err)
	}
	out.db = out.etcd
	return out, nil
}

// joinCluster asks the manager at --join to add this manager's member to
// its etcd, and starts the member as an existing one. A member that has
// data already (a restart) is in the cluster: it is not added again. The
// manager at --join is verified against the CA the join token file pins
// before the admin token is sent.
func (c *storeConfig) joinCluster(ctx context.Context, dataDir, token, joinTokenFile string, log *slog.Logger) error {
	if _, err := os.Stat(filepath.Join(member.DataDir(dataDir), "member")); err == nil {
		log.Info("the embedded etcd member has data; restarting it rather than joining again", "dir", member.DataDir(dataDir))
		return nil
	}
	pin, err := readJoinToken("--join-token-file", joinTokenFile)
	if err != nil {
		return fmt.Errorf("--join needs the cluster's join token file, which pins its CA: %w", err)
	}
	api, err := client.New(c.join, token, client.WithSource("from --join"), client.WithTLS(client.TLS{CAHash: pin.CAHash}))
	if err != nil {
		return fmt.Errorf("--join %s: %w", c.join, err)
	}
	jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := api.JoinManager(jctx, v1.JoinRequest{Name: c.memberName, PeerURL: c.listenPeer})
	if err != nil {
		return fmt.Errorf("--join %s: %w", c.join, err)
	}
	log.Info("joined the cluster's etcd", "via", c.join, "initial-cluster", resp.InitialCluster)
	c.initialCluster, c.clusterState = resp.InitialCluster, member.StateExisting
	return nil
}

// managerName is the manager's name in the registry: --name, else the
// embedded member's name, else the host name.
func managerName(flag string, c storeConfig) string {
	if flag != "" {
		return flag
	}
	if c.memberName != "" {
		return c.memberName
	}
	host, _ := os.Hostname()
	return host
}
