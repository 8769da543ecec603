package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// haTasks is how many tasks the HA cluster runs through its failures.
const haTasks = 20

// haCluster is three managers, each with an embedded etcd member, and the
// workers of a cluster whose mkctl and workers know all three.
type haCluster struct {
	*cluster
	managers []*managerProc
}

// managerProc is one of the managers: its process (restarted in place)
// and the URL of its API.
type managerProc struct {
	*proc
	url string
}

// logs returns everything the manager logged, over its restarts.
func (m *managerProc) logs() string {
	if m.log == nil {
		return m.history
	}
	return m.history + m.log.String()
}

// newHACluster starts three managers on shared tokens; the cluster's mkctl
// and workers are given all three URLs.
func newHACluster(t testing.TB, extra ...string) *haCluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), workers: map[string]*proc{}, suffix: randomSuffix()}
	c.home = filepath.Join(c.dir, "home")
	if err := os.MkdirAll(c.home, 0o700); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(c.dir, "token")
	c.joinFile = filepath.Join(c.dir, "join-token")
	c.token = randomSuffix() + randomSuffix() + randomSuffix()
	for path, tok := range map[string]string{tokenFile: c.token, c.joinFile: randomSuffix() + randomSuffix()} {
		if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	h := &haCluster{cluster: c}
	var initial, urls []string
	type ports struct{ api, client, peer string }
	var ps []ports
	addrs := freeAddrs(t, 9)
	for i := range 3 {
		p := ports{api: addrs[3*i], client: "http://" + addrs[3*i+1], peer: "http://" + addrs[3*i+2]}
		ps = append(ps, p)
		initial = append(initial, fmt.Sprintf("m%d=%s", i+1, p.peer))
		urls = append(urls, "https://"+p.api)
	}
	c.server = strings.Join(urls, ",")
	// The managers share one CA, through the store; each writes it to its
	// data dir.
	c.caFile = filepath.Join(c.dir, "m1", "ca.crt")
	for i, p := range ps {
		name := fmt.Sprintf("m%d", i+1)
		args := append([]string{"manager", "--listen", p.api, "--data-dir", filepath.Join(c.dir, name),
			"--token-file", tokenFile, "--join-token-file", c.joinFile, "--write-config=false",
			"--store", "etcd", "--etcd-name", name, "--etcd-listen-client", p.client, "--etcd-listen-peer", p.peer,
			"--etcd-initial-cluster", strings.Join(initial, ","),
			"--worker-timeout", "10s", "--reschedule-after", "30s", "--dns-listen", freeAddr(h.t)}, extra...)
		h.managers = append(h.managers, &managerProc{proc: &proc{name: name, args: args}, url: urls[i]})
	}
	t.Cleanup(h.stopAll)
	for _, m := range h.managers {
		h.startManager(m)
	}
	waitFor(t, 60*time.Second, "three managers up, one leading", func() bool {
		ms, err := h.managersVia("")
		return err == nil && len(ms) == 3 && countLeaders(ms) == 1
	})
	return h
}

// freeAddrs returns n distinct free loopback addresses (see freeAddr).
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		if addr := freeAddr(t); !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	return out
}

// startManager starts m, or starts it again with the same flags, keeping
// the logs of its earlier runs.
func (h *haCluster) startManager(m *managerProc) {
	h.t.Helper()
	history := m.history
	if m.log != nil {
		history += m.log.String() + "--- restarted ---\n"
	}
	m.proc = h.start(m.name, m.args...)
	m.history = history
}

func (h *haCluster) stopAll() {
	for _, p := range h.workers {
		p.stop()
	}
	for _, m := range h.managers {
		if m.cmd != nil {
			m.stop()
		}
	}
	if h.t.Failed() {
		for _, m := range h.managers {
			h.t.Logf("manager %s log:\n%s", m.name, m.logs())
		}
		for name, p := range h.workers {
			h.t.Logf("worker %s log:\n%s%s", name, p.history, p.log.String())
		}
	}
	for name := range h.workers {
		removeContainers(h.t, name)
	}
}

// mkctlVia runs mkctl against one manager only ("" for all of them).
func (h *haCluster) mkctlVia(server string, stdin []byte, args ...string) (stdout, stderr string, code int) {
	if server == "" {
		server = h.server
	}
	cmd := exec.Command(filepath.Join(binDir, "mkctl"), args...)
	cmd.Env = append(append(os.Environ(), h.mkctlEnv()...), "MINKUBE_SERVER="+server)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	code = 0
	if err := cmd.Run(); err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return out.String(), errb.String(), code
}

// managersVia lists the managers as one of them (or any) reports them.
func (h *haCluster) managersVia(server string) ([]v1.Manager, error) {
	out, errOut, code := h.mkctlVia(server, nil, "get", "managers", "-o", "json")
	if code != 0 {
		return nil, fmt.Errorf("mkctl get managers: exit %d: %s", code, errOut)
	}
	var list v1.ManagerList
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return nil, err
	}
	return list.Items, nil
}

func countLeaders(ms []v1.Manager) int {
	n := 0
	for _, m := range ms {
		if m.Leader {
			n++
		}
	}
	return n
}

// leader returns the manager that leads, as the managers report it.
func (h *haCluster) leader() *managerProc {
	h.t.Helper()
	var name string
	waitFor(h.t, 30*time.Second, "one leader", func() bool {
		ms, err := h.managersVia("")
		if err != nil || countLeaders(ms) != 1 {
			return false
		}
		for _, m := range ms {
			if m.Leader {
				name = m.Name
			}
		}
		return true
	})
	for _, m := range h.managers {
		if m.name == name {
			return m
		}
	}
	h.t.Fatalf("leader %q is none of the managers", name)
	return nil
}

// others returns the managers other than m.
func (h *haCluster) others(m *managerProc) []*managerProc {
	var out []*managerProc
	for _, o := range h.managers {
		if o != m {
			out = append(out, o)
		}
	}
	return out
}

// waitNewLeader waits until manager via reports a leader other than old,
// and returns it with the time it took.
func (h *haCluster) waitNewLeader(via, old *managerProc, since time.Time) (string, time.Duration) {
	h.t.Helper()
	var name string
	var took time.Duration
	cl := h.client(via.url)
	if !poll10ms(60*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		list, err := cl.ListManagers(ctx)
		if err != nil {
			return false
		}
		for _, m := range list.Items {
			if m.Leader && m.Name != old.name {
				name, took = m.Name, time.Since(since)
				return true
			}
		}
		return false
	}) {
		h.t.Fatalf("no new leader reported by %s within 60s", via.name)
	}
	return name, took
}

// snapshot is what must not change across the failures: every task's
// uid, container and its start time, and restart count.
type snapshot map[string]struct {
	uid, container, started string
	restarts                int
}

// mustAllRunning waits until every task named is Running and returns its
// snapshot.
func (h *haCluster) mustAllRunning(names []string) snapshot {
	h.t.Helper()
	snap := snapshot{}
	waitFor(h.t, 120*time.Second, fmt.Sprintf("%d tasks Running", len(names)), func() bool {
		var list v1.TaskList
		if err := h.getJSON(&list, "get", "tasks"); err != nil {
			return false
		}
		byName := map[string]v1.Task{}
		for _, t := range list.Items {
			byName[t.Metadata.Name] = t
		}
		for _, n := range names {
			if t, ok := byName[n]; !ok || t.Status.Phase != v1.PhaseRunning || t.Status.ContainerID == "" {
				return false
			}
		}
		for _, n := range names {
			t := byName[n]
			snap[n] = struct {
				uid, container, started string
				restarts                int
			}{t.Metadata.UID, t.Status.ContainerID, "", int(t.Status.RestartCount)}
		}
		return true
	})
	for n, s := range snap {
		s.started = inspectStarted(h.t, s.container)
		snap[n] = s
	}
	return snap
}

// mustUnchanged checks that every task of before is Running in the same
// container, started at the same time, with no restart: nothing lost,
// nothing restarted.
func (h *haCluster) mustUnchanged(what string, before snapshot) {
	h.t.Helper()
	var names []string
	for n := range before {
		names = append(names, n)
	}
	after := h.mustAllRunning(names)
	lost, restarted := 0, 0
	for n, b := range before {
		a := after[n]
		if a.uid != b.uid {
			lost++
			h.t.Errorf("%s: task %s has uid %s, was %s", what, n, a.uid, b.uid)
			continue
		}
		if a.container != b.container || a.started != b.started || a.restarts != b.restarts {
			restarted++
			h.t.Errorf("%s: task %s: container %s started %s restarts %d; was %s started %s restarts %d",
				what, n, a.container, a.started, a.restarts, b.container, b.started, b.restarts)
		}
		if got := len(containersOf(h.t, a.uid)); got != 1 {
			h.t.Errorf("%s: task %s has %d containers, want 1", what, n, got)
		}
	}
	h.t.Logf("%s: %d tasks, %d lost, %d containers restarted", what, len(before), lost, restarted)
}

// applyVia applies one task through one manager only.
func (h *haCluster) applyVia(m *managerProc, name string) (string, int) {
	out, errOut, code := h.mkctlVia(m.url, []byte(taskYAML(name, "", "serve")), "apply", "-f", "-")
	return out + errOut, code
}

var refusedWrites = regexp.MustCompile(`stepped down as leader.*refusedWrites=(\d+)`)

// TestHA drives one cluster of three managers (embedded etcd), two
// workers and twenty tasks through the failures an HA control plane must
// survive, in turn: the leader killed, the leader frozen past its lease,
// one etcd member lost, the quorum lost and regained. After each, every
// task still runs in the container it had.
func TestHA(t *testing.T) {
	t.Parallel()
	h := newHACluster(t)
	h.addWorker("w1")
	h.addWorker("w2")
	var docs, names []string
	for i := range haTasks {
		name := fmt.Sprintf("ha-%02d", i)
		names = append(names, name)
		docs = append(docs, taskYAML(name, "", "serve"))
	}
	h.apply(docs...)
	base := h.mustAllRunning(names)

	t.Run("KillLeader", func(t *testing.T) {
		old := h.leader()
		others := h.others(old)
		killed := time.Now()
		old.kill()
		// An apply through another manager while the controllers move.
		if out, code := h.applyVia(others[0], "ha-during-kill"); code != 0 {
			t.Fatalf("apply through %s during the failover: exit %d: %s", others[0].name, code, out)
		}
		name, took := h.waitNewLeader(others[1], old, killed)
		t.Logf("leader %s killed (kill -9): %s leads after %s", old.name, name, took.Round(10*time.Millisecond))
		h.mustUnchanged("after the leader was killed", base)
		names = append(names, "ha-during-kill")
		base = h.mustAllRunning(names)
		h.startManager(old)
		waitFor(t, 60*time.Second, old.name+" back", func() bool {
			ms, err := h.managersVia(old.url)
			return err == nil && len(ms) == 3
		})
	})

	t.Run("FreezeLeader", func(t *testing.T) {
		old := h.leader()
		others := h.others(old)
		frozen := time.Now()
		old.signal(t, syscall.SIGSTOP)
		name, took := h.waitNewLeader(others[0], old, frozen)
		t.Logf("leader %s frozen (SIGSTOP): %s leads after %s", old.name, name, took.Round(10*time.Millisecond))
		if out, code := h.applyVia(others[0], "ha-during-freeze"); code != 0 {
			t.Fatalf("apply while %s is frozen: exit %d: %s", old.name, code, out)
		}
		names = append(names, "ha-during-freeze")
		time.Sleep(2 * time.Second)
		logged := len(old.logs())
		old.signal(t, syscall.SIGCONT)
		var m []string
		waitFor(t, 30*time.Second, old.name+" to step down", func() bool {
			m = refusedWrites.FindStringSubmatch(old.logs()[logged:])
			return m != nil
		})
		t.Logf("%s stepped down after SIGCONT; the fence refused %s of its writes", old.name, m[1])
		waitFor(t, 30*time.Second, "one leader, not "+old.name, func() bool {
			ms, err := h.managersVia(old.url)
			return err == nil && len(ms) == 3 && countLeaders(ms) == 1 && !leads(ms, old.name)
		})
		h.mustUnchanged("after the leader was frozen and resumed", base)
		base = h.mustAllRunning(names)
	})

	t.Run("MemberLost", func(t *testing.T) {
		leader := h.leader()
		victim := h.others(leader)[0]
		victim.kill()
		if out, code := h.applyVia(leader, "ha-member-lost"); code != 0 {
			t.Fatalf("apply with one etcd member lost: exit %d: %s", code, out)
		}
		h.mustUnchanged("with one etcd member lost", base)
		if now := h.leader(); now != leader {
			t.Errorf("the leader moved from %s to %s when a follower's member was lost", leader.name, now.name)
		}
		names = append(names, "ha-member-lost")
		base = h.mustAllRunning(names)
		h.startManager(victim)
		waitFor(t, 60*time.Second, victim.name+" back", func() bool {
			ms, err := h.managersVia(victim.url)
			return err == nil && len(ms) == 3
		})
	})

	t.Run("QuorumLost", func(t *testing.T) {
		survivor := h.managers[0]
		stopped := h.others(survivor)
		for _, m := range stopped {
			m.signal(t, syscall.SIGSTOP)
		}
		var out string
		waitFor(t, 30*time.Second, "a write through "+survivor.name+" refused for lost quorum", func() bool {
			var code int
			out, code = h.applyVia(survivor, "ha-no-quorum")
			return code != 0 && strings.Contains(out, "quorum")
		})
		t.Logf("apply without quorum: %s", strings.TrimSpace(out))
		if !strings.Contains(out, "503") && !strings.Contains(strings.ToLower(out), "unavailable") {
			t.Errorf("apply without quorum said %q; want a 503 / unavailable answer", out)
		}
		readOut, readErr, code := h.mkctlVia(survivor.url, nil, "get", "tasks")
		if code == 0 || !strings.Contains(readErr, "stale") {
			t.Errorf("get tasks without quorum: exit %d, %q %q; want a refusal saying the answer could be stale", code, readOut, readErr)
		}
		for _, m := range stopped {
			m.signal(t, syscall.SIGCONT)
		}
		waitFor(t, 60*time.Second, "writes through "+survivor.name+" again", func() bool {
			_, code := h.applyVia(survivor, "ha-after-quorum")
			return code == 0
		})
		h.mustUnchanged("after the quorum was lost and regained", base)
		names = append(names, "ha-after-quorum")
		base = h.mustAllRunning(names)
		var list v1.TaskList
		if err := h.getJSON(&list, "get", "tasks"); err != nil {
			t.Fatal(err)
		}
		for _, task := range list.Items {
			if task.Metadata.Name == "ha-no-quorum" {
				continue // applied before the loss was seen, or not at all
			}
			if _, ok := base[task.Metadata.Name]; !ok {
				t.Errorf("unexpected task %s", task.Metadata.Name)
			}
		}
		if len(list.Items) < len(base) {
			t.Errorf("%d tasks after the quorum came back, want at least %d", len(list.Items), len(base))
		}
	})

	t.Run("AddManager", func(t *testing.T) {
		m4 := h.addManager(h.managers[1])
		if out, code := h.applyVia(m4, "ha-via-m4"); code != 0 {
			t.Fatalf("apply through the new manager: exit %d: %s", code, out)
		}
		h.mustUnchanged("after a fourth manager joined", base)
		names = append(names, "ha-via-m4")
		h.mustAllRunning(names)
	})
}

// addManager starts a fourth manager that joins through the API of a
// running one, and waits until the managers list it.
func (h *haCluster) addManager(via *managerProc) *managerProc {
	h.t.Helper()
	addrs := freeAddrs(h.t, 3)
	first := h.managers[0]
	args := []string{"manager", "--listen", addrs[0], "--data-dir", filepath.Join(h.dir, "m4"),
		"--write-config=false", "--store", "etcd", "--etcd-name", "m4",
		"--etcd-listen-client", "http://" + addrs[1], "--etcd-listen-peer", "http://" + addrs[2], "--join", via.url,
		"--worker-timeout", "10s", "--reschedule-after", "30s", "--dns-listen", freeAddr(h.t)}
	// The same tokens as the others.
	for i, a := range first.args {
		if a == "--token-file" || a == "--join-token-file" {
			args = append(args, a, first.args[i+1])
		}
	}
	m := &managerProc{proc: &proc{name: "m4", args: args}, url: "https://" + addrs[0]}
	h.managers = append(h.managers, m)
	h.startManager(m)
	waitFor(h.t, 60*time.Second, "m4 listed among four managers", func() bool {
		ms, err := h.managersVia(m.url)
		return err == nil && len(ms) == 4 && countLeaders(ms) == 1
	})
	return m
}

func leads(ms []v1.Manager, name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return m.Leader
		}
	}
	return false
}

// BenchmarkLeaderFailover kills the leading manager (kill -9) of a cluster
// of three with embedded etcd, once per iteration, and reports the median
// time until another manager reports a new leader (run it with
// -benchtime 5x for the median of five).
func BenchmarkLeaderFailover(b *testing.B) {
	h := newHACluster(b)
	var took []time.Duration
	for b.Loop() {
		old := h.leader()
		killed := time.Now()
		old.kill()
		_, d := h.waitNewLeader(h.others(old)[0], old, killed)
		took = append(took, d)
		b.StopTimer()
		h.startManager(old)
		waitFor(b, 60*time.Second, old.name+" back", func() bool {
			ms, err := h.managersVia(old.url)
			return err == nil && len(ms) == 3 && countLeaders(ms) == 1
		})
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "s-median")
	b.ReportMetric(took[len(took)-1].Seconds(), "s-max")
	b.Logf("failovers: %v", took)
}
