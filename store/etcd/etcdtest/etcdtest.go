// Package etcdtest runs real etcd servers for tests, each a separate
// process on loopback, so a test can kill, freeze and restart one.
//
// The server is the test binary itself: a package whose TestMain calls
// Main becomes an etcd member (go.etcd.io/etcd/server/v3/embed) when it
// is started with the environment variable EnvServe set, and runs its
// tests otherwise. Nothing has to be installed or built besides the test:
//
//	func TestMain(m *testing.M) { etcdtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		c := etcdtest.Start(t, 1)
//		s, err := etcd.Open(t.Context(), etcd.Options{Endpoints: c.Endpoints()})
//		...
//	}
package etcdtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// EnvServe, when set to a JSON-encoded member config, makes Main run an
// etcd member instead of the tests.
const EnvServe = "MINKUBE_ETCDTEST_SERVE"

// readyLine is what a member prints on stdout once it serves clients.
const readyLine = "etcdtest: ready"

// startTimeout bounds the wait for a member to serve clients.
const startTimeout = 60 * time.Second

// memberConfig is what the parent passes to a member process.
type memberConfig struct {
	Name           string `json:"name"`
	Dir            string `json:"dir"`
	Client         string `json:"client"`
	Peer           string `json:"peer"`
	InitialCluster string `json:"initialCluster"`
	State          string `json:"state"`
}

// Main runs the tests, or an etcd member when EnvServe is set.
func Main(m *testing.M) {
	if cfg := os.Getenv(EnvServe); cfg != "" {
		os.Exit(serve(cfg))
	}
	os.Exit(m.Run())
}

// serve runs one member until SIGTERM or SIGINT.
func serve(raw string) int {
	var mc memberConfig
	if err := json.Unmarshal([]byte(raw), &mc); err != nil {
		fmt.Fprintf(os.Stderr, "etcdtest: %s: %v\n", EnvServe, err)
		return 2
	}
	cfg := embed.NewConfig()
	cfg.Name = mc.Name
	cfg.Dir = mc.Dir
	cu, err := url.Parse(mc.Client)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdtest:", err)
		return 2
	}
	pu, err := url.Parse(mc.Peer)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdtest:", err)
		return 2
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = mc.InitialCluster
	cfg.ClusterState = mc.State
	cfg.InitialClusterToken = "etcdtest"
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true // throwaway test data
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdtest: start:", err)
		return 1
	}
	defer e.Close()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-e.Server.ReadyNotify():
		fmt.Println(readyLine)
	case err := <-e.Err():
		fmt.Fprintln(os.Stderr, "etcdtest:", err)
		return 1
	case <-sig:
		return 0
	}
	select {
	case err := <-e.Err():
		fmt.Fprintln(os.Stderr, "etcdtest:", err)
		return 1
	case <-sig:
		return 0
	}
}

// Cluster is a set of etcd member processes.
type Cluster struct {
	t       testing.TB
	Members []*Member
}

// Member is one etcd member process.
type Member struct {
	t      testing.TB
	cfg    memberConfig
	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	output *strings.Builder
}

// Start starts an n-member cluster, waits until every member serves
// clients, and stops it when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	dir := t.TempDir()
	c := &Cluster{t: t}
	var initial []string
	for i := range n {
		mc := memberConfig{
			Name:   fmt.Sprintf("m%d", i),
			Dir:    filepath.Join(dir, fmt.Sprintf("m%d", i)),
			Client: "http://" + FreeAddr(t),
			Peer:   "http://" + FreeAddr(t),
			State:  "new",
		}
		initial = append(initial, mc.Name+"="+mc.Peer)
		c.Members = append(c.Members, &Member{t: t, cfg: mc})
	}
	for _, m := range c.Members {
		m.cfg.InitialCluster = strings.Join(initial, ",")
	}
	t.Cleanup(func() {
		for _, m := range c.Members {
			m.Stop()
		}
	})
	ready := make(chan error, n)
	for _, m := range c.Members {
		go func() { ready <- m.start() }()
	}
	for range n {
		if err := <-ready; err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Endpoints returns the client URLs of every member.
func (c *Cluster) Endpoints() []string {
	var eps []string
	for _, m := range c.Members {
		eps = append(eps, m.Endpoint())
	}
	return eps
}

// Endpoint returns the member's client URL.
func (m *Member) Endpoint() string { return m.cfg.Client }

// start launches the member process and waits for its ready line.
func (m *Member) start() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(m.cfg)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), EnvServe+"="+string(raw))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	out := &strings.Builder{}
	var mu sync.Mutex
	cmd.Stderr = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start etcd member %s: %w", m.cfg.Name, err)
	}
	done := make(chan struct{})
	readyc := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			if sc.Text() == readyLine {
				once.Do(func() { close(readyc) })
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(done)
	}()
	m.mu.Lock()
	m.cmd, m.done, m.output = cmd, done, out
	m.mu.Unlock()
	select {
	case <-readyc:
		return nil
	case <-done:
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("etcd member %s exited before serving: %s", m.cfg.Name, out.String())
	case <-time.After(startTimeout):
		return fmt.Errorf("etcd member %s: not serving after %s", m.cfg.Name, startTimeout)
	}
}

// Kill ends the member with SIGKILL, as a crash would.
func (m *Member) Kill() {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// Stop ends the member with SIGTERM (waking it first if frozen).
func (m *Member) Stop() {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Signal sends sig (SIGSTOP, SIGCONT) to the member.
func (m *Member) Signal(sig syscall.Signal) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		_ = m.cmd.Process.Signal(sig)
	}
}

// Restart starts a stopped or killed member again on its data, as a
// member of the existing cluster, and waits until it serves.
func (m *Member) Restart() {
	m.t.Helper()
	m.Stop()
	m.cfg.State = "existing"
	if err := m.start(); err != nil {
		m.t.Fatal(err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// FreeAddr returns a loopback address no one listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
