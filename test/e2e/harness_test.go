package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dockerclient "github.com/docker/docker/client"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

var (
	binDir      string // where TestMain built minkube and mkctl
	testImage   = "minkube/testapp:dev"
	docker      *dockerclient.Client
	labelWorker = "io.minkube.worker"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if img := os.Getenv("MINKUBE_TEST_IMAGE"); img != "" {
		testImage = img
	}
	dir, err := os.MkdirTemp("", "minkube-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	// The binaries are built with the race detector, as the tests are,
	// unless MINKUBE_E2E_NORACE=1 (hack/bench.sh measures without it).
	buildFlags := []string{"build", "-race"}
	if os.Getenv("MINKUBE_E2E_NORACE") == "1" {
		buildFlags = []string{"build"}
	}
	for _, name := range []string{"minkube", "mkctl"} {
		cmd := exec.Command("go", append(buildFlags, "-o", filepath.Join(dir, name), "../../cmd/"+name)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", name, err)
			return 1
		}
	}
	docker, err = dockerclient.NewClientWithOpts(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
	if err != nil {
		fmt.Fprintln(os.Stderr, "docker client:", err)
		return 1
	}
	if _, err := docker.ImageInspect(context.Background(), testImage); err != nil {
		fmt.Fprintf(os.Stderr, "test image %s is missing (run make images): %v\n", testImage, err)
		return 1
	}
	if os.Geteuid() == 0 {
		sweepStaleLabs()
	}
	return m.Run()
}

// cluster is a manager and its workers, started as processes.
type cluster struct {
	t      testing.TB
	dir    string
	home   string
	server string // https://HOST:PORT, or several comma-separated
	// caFile is the CA that verifies the manager (DATA-DIR/ca.crt):
	// mkctl, getJSON, client and httpClient use it.
	caFile    string
	dns       string // the manager's DNS server, host:port
	token     string
	joinFile  string
	manager   *proc
	workers   map[string]*proc
	suffix    string
	managerDB string
}

// proc is a started minkube process.
type proc struct {
	name    string
	args    []string
	env     []string // added to the test's environment
	netns   string   // the network namespace it runs in; "" for the test's
	history string   // logs of earlier runs of the same process
	cmd     *exec.Cmd
	log     *lockedBuffer
	done    chan struct{}
}

// lockedBuffer is a process's output, readable while the process writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newCluster starts a manager; add workers with addWorker. Everything is
// stopped and every container of its workers removed when the test ends.
func newCluster(t testing.TB, extraManagerFlags ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), workers: map[string]*proc{}, suffix: randomSuffix()}
	c.home = filepath.Join(c.dir, "home")
	if err := os.MkdirAll(c.home, 0o700); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	c.server = "https://" + addr
	// Each manager has its own DNS port: several clusters share the host.
	c.dns = freeAddr(t)
	dataDir := filepath.Join(c.dir, "manager")
	args := append([]string{"manager", "--listen", addr, "--data-dir", dataDir, "--worker-timeout", "3s", "--dns-listen", c.dns}, extraManagerFlags...)
	c.manager = c.start("manager", args...)
	t.Cleanup(c.stopAll)
	c.waitManagerReady(dataDir)
	return c
}

// waitManagerReady waits until the manager with dataDir has written its
// tokens and CA there and answers mkctl, and notes where they are.
func (c *cluster) waitManagerReady(dataDir string) {
	c.t.Helper()
	c.joinFile, c.caFile = filepath.Join(dataDir, "join-token"), filepath.Join(dataDir, "ca.crt")
	waitFor(c.t, 30*time.Second, "manager ready", func() bool {
		data, err := os.ReadFile(filepath.Join(dataDir, "token"))
		if err != nil {
			return false
		}
		c.token = strings.TrimSpace(string(data))
		_, _, code := c.mkctlRaw("version")
		return code == 0
	})
}

// workerName returns the unique name of a worker in this test.
func (c *cluster) workerName(short string) string { return short + "-" + c.suffix }

// addWorker starts a worker named short-SUFFIX with short test timings
// (resync, backoff, stop grace) and waits until it is Ready.
func (c *cluster) addWorker(short string, extra ...string) string {
	c.t.Helper()
	return c.addWorkerEnv(short, nil, extra...)
}

// addWorkerEnv is addWorker with env (KEY=VALUE) added to the worker's
// environment, such as a DOCKER_HOST.
func (c *cluster) addWorkerEnv(short string, env []string, extra ...string) string {
	c.t.Helper()
	return c.addPlainWorkerEnv(short, env, append([]string{
		"--resync-interval", "3s",
		"--backoff-initial", "200ms",
		"--backoff-max", "2s",
		"--stop-grace", "2s",
	}, extra...)...)
}

// addPlainWorker starts a worker named short-SUFFIX with the flag defaults
// (only what it needs to join, and its ports on 127.0.0.1) and waits until
// it is Ready.
func (c *cluster) addPlainWorker(short string, extra ...string) string {
	c.t.Helper()
	return c.addPlainWorkerEnv(short, nil, extra...)
}

// addPlainWorkerEnv is addPlainWorker with env added to the worker's
// environment.
func (c *cluster) addPlainWorkerEnv(short string, env []string, extra ...string) string {
	c.t.Helper()
	name := c.startWorker(short, env, extra...)
	c.waitWorkerReady(name)
	return name
}

// startWorker starts a worker named short-SUFFIX as addPlainWorkerEnv
// does, without waiting for it to be Ready.
func (c *cluster) startWorker(short string, env []string, extra ...string) string {
	c.t.Helper()
	name := c.workerName(short)
	args := append([]string{"worker",
		"--manager", c.server,
		"--name", name,
		"--listen", freeAddr(c.t),
		"--join-token-file", c.joinFile,
		"--data-dir", filepath.Join(c.dir, name),
		"--port-host-ip", "127.0.0.1",
		// No network and resolver for containers unless a test asks
		// (--dns-server ADDR): each would take one of the engine's
		// address pools.
		"--dns-server=",
	}, extra...)
	c.workers[name] = c.startEnv(name, env, args...)
	return name
}

func (c *cluster) waitWorkerReady(name string) {
	c.t.Helper()
	waitFor(c.t, 20*time.Second, "worker "+name+" Ready", func() bool {
		var w v1.Worker
		if err := c.getJSON(&w, "get", "worker", name); err != nil {
			return false
		}
		return w.Status.Phase == v1.WorkerReady
	})
}

func (c *cluster) start(name string, args ...string) *proc {
	c.t.Helper()
	return c.startEnv(name, nil, args...)
}

// startEnv starts minkube with the cluster's HOME and env added to the
// test's environment; a restart passes the same env again.
func (c *cluster) startEnv(name string, env []string, args ...string) *proc {
	c.t.Helper()
	return c.startIn("", name, env, args...)
}

// startIn is startEnv in the network namespace netns ("" for the test's
// own).
func (c *cluster) startIn(netns, name string, env []string, args ...string) *proc {
	c.t.Helper()
	p := startProc(c.t, "", netns, append([]string{"HOME=" + c.home}, env...), name, args...)
	p.env = env
	return p
}

// startProc starts the built minkube with args in dir (the test's when
// empty) and the network namespace netns ("" for the test's own), with env
// added to the test's environment; stop or kill it. In a namespace it runs
// under ip netns exec, which becomes it: signals reach minkube.
func startProc(t testing.TB, dir, netns string, env []string, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "minkube"), args...)
	if netns != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", netns, filepath.Join(binDir, "minkube")}, args...)...)
	}
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, args: args, env: env, netns: netns, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p
}

// stop ends a process with SIGTERM, then SIGKILL.
func (p *proc) stop() {
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT) // a frozen process must wake to stop
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends a process with SIGKILL, as a crash would.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// signal sends sig (SIGSTOP, SIGCONT) to the process.
func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %s to %s: %v", sig, p.name, err)
	}
}

// restartManager kills the manager (SIGKILL when crash, else SIGTERM) and
// starts it again with the same flags, waiting until it answers.
func (c *cluster) restartManager(crash bool) {
	c.t.Helper()
	c.restartManagerAfter(crash, 0)
}

// restartManagerAfter is restartManager with the manager down for the
// given time.
func (c *cluster) restartManagerAfter(crash bool, down time.Duration) {
	c.t.Helper()
	if crash {
		c.manager.kill()
	} else {
		c.manager.stop()
	}
	time.Sleep(down)
	old := c.manager
	c.manager = c.startIn(old.netns, "manager", nil, old.args...)
	c.manager.history = old.history + old.log.String() + "--- restarted ---\n"
	waitFor(c.t, 20*time.Second, "manager back", func() bool {
		_, _, code := c.mkctlRaw("version")
		return code == 0
	})
}

// restartWorker kills a worker (SIGKILL when crash) and starts it again
// with the same flags.
func (c *cluster) restartWorker(name string, crash bool) {
	c.t.Helper()
	old := c.workers[name]
	if crash {
		old.kill()
	} else {
		old.stop()
	}
	c.workers[name] = c.startIn(old.netns, name, old.env, old.args...)
	c.workers[name].history = old.history + old.log.String() + "--- restarted ---\n"
}

func (c *cluster) stopAll() {
	for _, p := range c.workers {
		p.stop()
	}
	c.manager.stop()
	if c.t.Failed() {
		c.t.Logf("manager log:\n%s%s", c.manager.history, c.manager.log.String())
		for name, p := range c.workers {
			c.t.Logf("worker %s log:\n%s%s", name, p.history, p.log.String())
		}
	}
	for name := range c.workers {
		removeContainers(c.t, name)
		removeNetworks(c.t, name)
	}
}

// removeNetworks removes the network a worker made for its containers.
func removeNetworks(t testing.TB, worker string) {
	ctx := context.Background()
	list, err := docker.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "io.minkube.network="+worker))})
	if err != nil {
		t.Errorf("cleanup: list networks of %s: %v", worker, err)
		return
	}
	for _, n := range list {
		if err := docker.NetworkRemove(ctx, n.ID); err != nil {
			t.Errorf("cleanup: remove network %s: %v", n.Name, err)
		}
	}
}

// removeContainers removes every container of a worker.
func removeContainers(t testing.TB, worker string) {
	ctx := context.Background()
	list, err := docker.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", labelWorker+"="+worker))})
	if err != nil {
		t.Errorf("cleanup: list containers of %s: %v", worker, err)
		return
	}
	for _, ct := range list {
		if err := docker.ContainerRemove(ctx, ct.ID, container.RemoveOptions{Force: true}); err != nil {
			t.Errorf("cleanup: remove container %s: %v", ct.ID, err)
		}
	}
}

// mkctlRaw runs the built mkctl against the cluster.
func (c *cluster) mkctlRaw(args ...string) (stdout, stderr string, code int) {
	return c.mkctlStdin(nil, args...)
}

// mkctlEnv is the environment (KEY=VALUE) that points mkctl at the
// cluster: its home, managers, token and CA.
func (c *cluster) mkctlEnv() []string {
	return []string{"HOME=" + c.home, "MINKUBE_SERVER=" + c.server, "MINKUBE_TOKEN=" + c.token, "MINKUBE_CERTIFICATE_AUTHORITY=" + c.caFile}
}

// caPEM returns the cluster's CA (caFile).
func (c *cluster) caPEM() []byte {
	c.t.Helper()
	data, err := os.ReadFile(c.caFile)
	if err != nil {
		c.t.Fatalf("the cluster's CA: %v", err)
	}
	return data
}

// tlsConfig verifies the cluster's managers, as mkctl does.
func (c *cluster) tlsConfig() *tls.Config {
	c.t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.caPEM()) {
		c.t.Fatalf("the cluster's CA %s holds no certificate", c.caFile)
	}
	return &tls.Config{RootCAs: pool}
}

// client returns an admin client of the cluster's managers (server, or
// every manager when server is ""), verifying them as mkctl does.
func (c *cluster) client(server ...string) *client.Client {
	c.t.Helper()
	s := c.server
	if len(server) > 0 && server[0] != "" {
		s = server[0]
	}
	cl, err := client.New(s, c.token, client.WithTLS(client.TLS{CAData: string(c.caPEM())}))
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// httpClient calls the managers' API over HTTPS, verifying them, for
// tests that send raw requests.
func (c *cluster) httpClient() *http.Client {
	c.t.Helper()
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: c.tlsConfig()}}
}

func (c *cluster) mkctlStdin(stdin []byte, args ...string) (stdout, stderr string, code int) {
	return c.mkctlWith(nil, stdin, args...)
}

// mkctlWith runs mkctl with extra environment variables (they win over
// the cluster's) and stdin.
func (c *cluster) mkctlWith(env []string, stdin []byte, args ...string) (stdout, stderr string, code int) {
	cmd := exec.Command(filepath.Join(binDir, "mkctl"), args...)
	cmd.Env = append(append(os.Environ(), c.mkctlEnv()...), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	code = 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return out.String(), errb.String(), code
}

// mkctl runs mkctl and fails the test unless it exits 0.
func (c *cluster) mkctl(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.mkctlRaw(args...)
	if code != 0 {
		c.t.Fatalf("mkctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// getJSON runs mkctl ARGS -o json into v.
func (c *cluster) getJSON(v any, args ...string) error {
	out, errOut, code := c.mkctlRaw(append(args, "-o", "json")...)
	if code != 0 {
		return fmt.Errorf("mkctl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return json.Unmarshal([]byte(out), v)
}

// task returns the task as mkctl shows it.
func (c *cluster) task(name string) (*v1.Task, error) {
	var t v1.Task
	if err := c.getJSON(&t, "get", "task", name); err != nil {
		return nil, err
	}
	return &t, nil
}

// waitTask waits until cond holds for the task and returns it.
func (c *cluster) waitTask(name string, timeout time.Duration, what string, cond func(*v1.Task) bool) *v1.Task {
	c.t.Helper()
	var last *v1.Task
	ok := poll(timeout, func() bool {
		t, err := c.task(name)
		if err != nil {
			return false
		}
		last = t
		return cond(t)
	})
	if !ok {
		c.t.Fatalf("task %s: timed out after %s waiting for %s; last seen: %+v", name, timeout, what, lastStatus(last))
	}
	return last
}

func lastStatus(t *v1.Task) any {
	if t == nil {
		return nil
	}
	return t.Status
}

// writeFile writes a file under the cluster's directory and returns its path.
func (c *cluster) writeFile(name, content string) string {
	c.t.Helper()
	path := filepath.Join(c.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return path
}

// containersOf lists the containers of a task by its uid label.
func containersOf(t testing.TB, uid string) []container.Summary {
	t.Helper()
	list, err := docker.ContainerList(context.Background(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", "io.minkube.task.uid="+uid))})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	return list
}

// freeAddr returns 127.0.0.1:PORT with PORT free for both TCP and UDP (a
// manager's DNS server takes both), picked at random below the kernel's
// range of ephemeral ports. A port the kernel handed out to a listener on
// port 0 is one it hands out to outgoing connections too: in the moment
// between the pick and the bind of the process it was picked for, any
// connection of the tests running in parallel could take it (a manager
// failed to start on "bind: address already in use" for its DNS port).
// Below that range only another explicit pick can take a port, and the
// picks are spread over some twelve thousand.
func freeAddr(t testing.TB) string {
	t.Helper()
	const low = 20000
	high := ephemeralLow()
	for i := 0; high > low && i < 1000; i++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(low+mrand.IntN(high-low)))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", addr)
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return addr
	}
	// No room below the ephemeral range: let the kernel pick.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// ephemeralLow is the first port of the kernel's range of ephemeral ports,
// read once.
var ephemeralLow = sync.OnceValue(func() int {
	low := 32768 // Linux's default
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(data), &low)
	}
	return low
})

func freePort(t testing.TB) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(freeAddr(t))
	var p int
	fmt.Sscan(port, &p)
	return p
}

func randomSuffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// poll calls cond every 100ms until it holds or timeout passes.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("timed out after %s waiting for %s", timeout, what)
	}
}

// get sends GET path to the manager with a bearer token (none when
// empty) and returns the status code and body.
func (c *cluster) get(path, token string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, c.server+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// metricsToken is the manager's read-only token for /metrics.
func (c *cluster) metricsToken() string {
	c.t.Helper()
	data, err := os.ReadFile(filepath.Join(filepath.Dir(c.joinFile), "metrics-token"))
	if err != nil {
		c.t.Fatalf("metrics token: %v", err)
	}
	return strings.TrimSpace(string(data))
}
