package member

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/minkube/minkube/store/etcd/etcdtest"
)

func TestStart_badFlags(t *testing.T) {
	ok := Config{Name: "m1", ListenClient: "http://127.0.0.1:2379", ListenPeer: "http://127.0.0.1:2380"}
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no name", func(c *Config) { c.Name = "" }, "--etcd-name is required"},
		{"client not a URL", func(c *Config) { c.ListenClient = "127.0.0.1:2379" }, "--etcd-listen-client"},
		{"peer with a path", func(c *Config) { c.ListenPeer = "http://127.0.0.1:2380/x" }, "--etcd-listen-peer"},
		{"cluster entry without a name", func(c *Config) { c.InitialCluster = "http://127.0.0.1:2380" }, "is not NAME=PEER-URL"},
		{"cluster without this member", func(c *Config) { c.InitialCluster = "m2=http://127.0.0.1:2480" }, "does not name this member"},
		{"cluster with another peer URL", func(c *Config) { c.InitialCluster = "m1=http://127.0.0.1:2480" }, "but --etcd-listen-peer is"},
		{"bad state", func(c *Config) { c.State = "joined" }, "must be new or existing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			cfg.Dir = t.TempDir()
			tt.edit(&cfg)
			_, err := Start(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestStart_oneMember starts a member of its own cluster and writes to it.
func TestStart_oneMember(t *testing.T) {
	m, err := Start(t.Context(), Config{
		Name: "m1", Dir: t.TempDir(),
		ListenClient: "http://" + etcdtest.FreeAddr(t), ListenPeer: "http://" + etcdtest.FreeAddr(t),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{m.ClientURL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(t.Context(), "k", "v"); err != nil {
		t.Fatalf("write to the member: %v", err)
	}
}
