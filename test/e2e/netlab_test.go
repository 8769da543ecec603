package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// netLab is a network of hosts for one test, each a network namespace of
// its own with its own address, so that a test can cut the link between
// two of them as a real network would be cut:
//
//	namespace mk<id>-sw: bridge br0, with one port per host
//	namespace mk<id>-<host>: eth0 (10.A.B.N/24), a veth pair into br0
//	the test's namespace: mk<id>h (10.A.B.254/24), a veth pair into br0
//	                       (its other end root0)
//
// The bridge sits in a namespace of its own so that no firewall of the
// machine (Docker's FORWARD policy) stands between the hosts. Processes in
// a host namespace still reach the machine's Docker engine through its
// unix socket. Everything the lab creates carries its random id: it never
// touches another's, and it removes every namespace and link it made when
// the test ends, failed or not; what a killed test binary left behind is
// removed by the next run (sweepStaleLabs: the id starts with the pid of
// the test process).
type netLab struct {
	t      testing.TB
	id     string
	subnet string // "10.A.B"
	sw     string // the switch namespace

	mu      sync.Mutex
	hosts   []*labHost
	created []string // namespaces, in the order made
}

// labHost is one host of a netLab.
type labHost struct {
	name  string
	netns string
	ip    string
	port  string // its port on the bridge, in the switch namespace
}

// Which way a cut goes.
type cutDirection int

const (
	// cutBoth drops every packet between the two hosts.
	cutBoth cutDirection = iota + 1
	// cutFromPeer: connections the peer opens to the host go nowhere,
	// while the host's own connections to the peer still work.
	cutFromPeer
	// cutToPeer: the host's connections to the peer go nowhere, while the
	// peer's connections to the host still work.
	cutToPeer
)

// labName matches the namespaces and the test's link of a lab: "mk", the
// pid of the test process that made it (6 hex digits), 4 more.
var labName = regexp.MustCompile(`^mk([0-9a-f]{6})[0-9a-f]{4}(-|h$)`)

// sweepStaleLabs removes what labs of test processes that are gone left
// behind: a test binary killed by its -timeout runs no cleanup. A
// namespace with a process still in it is left alone and reported.
func sweepStaleLabs() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	links, _ := exec.Command("ip", "-o", "link", "show").Output()
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	for _, line := range strings.Split(string(links), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			names = append(names, strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0])
		}
	}
	for _, name := range names {
		m := labName.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		pid, err := strconv.ParseInt(m[1], 16, 64)
		if err != nil || syscall.Kill(int(pid), 0) != syscall.ESRCH {
			continue // its test may still run
		}
		if m[2] == "h" {
			_ = exec.Command("ip", "link", "del", name).Run()
			continue
		}
		if pids, _ := exec.Command("ip", "netns", "pids", name).Output(); len(strings.TrimSpace(string(pids))) > 0 {
			fmt.Fprintf(os.Stderr, "network namespace %s of a test that is gone still holds processes %s; leaving it\n", name, strings.Fields(string(pids)))
			continue
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
	}
}

// newNetLab makes the switch of a lab, and removes the whole lab when the
// test ends. It needs root (CAP_NET_ADMIN), ip and iptables.
func newNetLab(t testing.TB) *netLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the network lab makes network namespaces, which needs root: run the tests as root, as CI does")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (make test installs it: hack/tools.sh): %v", tool, err)
		}
	}
	l := &netLab{t: t, id: fmt.Sprintf("%06x%s", os.Getpid()&0xffffff, randomSuffix()[:4])}
	l.sw = "mk" + l.id + "-sw"
	t.Cleanup(l.close)
	l.subnet = l.freeSubnet()
	l.mkns(l.sw)
	l.run("ip", "-n", l.sw, "link", "add", "br0", "type", "bridge")
	l.run("ip", "-n", l.sw, "link", "set", "br0", "up")
	// The test's own way in: from this namespace to every host.
	root := "mk" + l.id + "h"
	l.run("ip", "link", "add", root, "type", "veth", "peer", "name", "root0", "netns", l.sw)
	l.run("ip", "-n", l.sw, "link", "set", "root0", "master", "br0", "up")
	l.run("ip", "addr", "add", l.subnet+".254/24", "dev", root)
	l.run("ip", "link", "set", root, "up")
	return l
}

// freeSubnet picks a 10.A.B.0/24 no address or route of this machine is
// in.
func (l *netLab) freeSubnet() string {
	out := l.output("ip", "-4", "-o", "addr") + l.output("ip", "-4", "route")
	for range 50 {
		s := fmt.Sprintf("10.%d.%d", 200+rand.IntN(50), rand.IntN(256))
		if !strings.Contains(out, s+".") {
			return s
		}
	}
	l.t.Fatal("no free 10.x.y.0/24 for the network lab")
	return ""
}

// addHost adds a host: a namespace plugged into the switch, with loopback
// up and its own address.
func (l *netLab) addHost(name string) *labHost {
	l.t.Helper()
	l.mu.Lock()
	n := len(l.hosts) + 1
	h := &labHost{name: name, netns: "mk" + l.id + "-" + name, ip: fmt.Sprintf("%s.%d", l.subnet, n), port: fmt.Sprintf("p%d", n)}
	l.hosts = append(l.hosts, h)
	l.mu.Unlock()
	l.mkns(h.netns)
	l.run("ip", "-n", l.sw, "link", "add", h.port, "type", "veth", "peer", "name", "eth0", "netns", h.netns)
	l.run("ip", "-n", l.sw, "link", "set", h.port, "master", "br0", "up")
	l.run("ip", "-n", h.netns, "link", "set", "lo", "up")
	l.run("ip", "-n", h.netns, "addr", "add", h.ip+"/24", "dev", "eth0")
	l.run("ip", "-n", h.netns, "link", "set", "eth0", "up")
	l.trackConnections(h)
	return h
}

// trackConnections makes the host's firewall follow every connection from
// its first packet, so that a one-way cut knows who opened each one.
func (l *netLab) trackConnections(h *labHost) {
	l.run("ip", "netns", "exec", h.netns, "iptables", "-A", "INPUT", "-m", "conntrack", "--ctstate", "INVALID", "-j", "ACCEPT")
}

// cut cuts the link between host h and peer, in the direction given; the
// rules live in h's namespace.
func (l *netLab) cut(h, peer *labHost, dir cutDirection) {
	l.t.Helper()
	ipt := func(args ...string) { l.run("ip", append([]string{"netns", "exec", h.netns, "iptables"}, args...)...) }
	switch dir {
	case cutBoth:
		ipt("-I", "INPUT", "-s", peer.ip, "-j", "DROP")
		ipt("-I", "OUTPUT", "-d", peer.ip, "-j", "DROP")
	case cutFromPeer: // the connections the peer opened
		ipt("-I", "INPUT", "-s", peer.ip, "-m", "conntrack", "--ctdir", "ORIGINAL", "-j", "DROP")
		ipt("-I", "OUTPUT", "-d", peer.ip, "-m", "conntrack", "--ctdir", "REPLY", "-j", "DROP")
	case cutToPeer: // the connections h opened
		ipt("-I", "OUTPUT", "-d", peer.ip, "-m", "conntrack", "--ctdir", "ORIGINAL", "-j", "DROP")
		ipt("-I", "INPUT", "-s", peer.ip, "-m", "conntrack", "--ctdir", "REPLY", "-j", "DROP")
	}
}

// heal removes every cut of host h.
func (l *netLab) heal(h *labHost) {
	l.t.Helper()
	l.run("ip", "netns", "exec", h.netns, "iptables", "-F", "INPUT")
	l.run("ip", "netns", "exec", h.netns, "iptables", "-F", "OUTPUT")
	l.trackConnections(h)
}

func (l *netLab) mkns(name string) {
	l.t.Helper()
	l.run("ip", "netns", "add", name)
	l.mu.Lock()
	l.created = append(l.created, name)
	l.mu.Unlock()
}

// close ends what still runs in the lab's namespaces and removes them,
// with every link in them, and the test's own link.
func (l *netLab) close() {
	l.mu.Lock()
	created := l.created
	l.mu.Unlock()
	for i := len(created) - 1; i >= 0; i-- {
		ns := created[i]
		if pids := strings.Fields(l.output("ip", "netns", "pids", ns)); len(pids) > 0 {
			l.t.Errorf("processes still in %s at the end of the test: %v; killing them", ns, pids)
			_ = exec.Command("kill", append([]string{"-9"}, pids...)...).Run()
		}
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			l.t.Errorf("cleanup: ip netns del %s: %v: %s", ns, err, out)
		}
	}
	// Deleting the switch namespace deletes the other end of the test's
	// link, and with it the link, but not at once; make sure.
	root := "mk" + l.id + "h"
	if exec.Command("ip", "link", "show", root).Run() == nil {
		out, err := exec.Command("ip", "link", "del", root).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "Cannot find device") {
			l.t.Errorf("cleanup: ip link del %s: %v: %s", root, err, out)
		}
	}
}

// run runs a command the lab needs, failing the test when it fails.
func (l *netLab) run(name string, args ...string) {
	l.t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		l.t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

func (l *netLab) output(name string, args ...string) string {
	out, _ := exec.Command(name, args...).Output()
	return string(out)
}
