package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/miekg/dns"

	v1 "github.com/minkube/minkube/apis/v1"
)

// dnsTask renders a Task of the test image serving HTTP on 8080, with the
// given labels and node selector.
func dnsTask(name, labels, selector string, hostPort int) string {
	port := ""
	if hostPort > 0 {
		port = fmt.Sprintf(", hostPort: %d", hostPort)
	}
	return fmt.Sprintf(`apiVersion: minkube.io/v1
kind: Task
metadata: {name: %s, labels: {%s}}
spec:
  image: %s
  args: ["serve", "--port", "8080"]
  env: [{name: MESSAGE, value: "I am %s"}]
  ports: [{name: http, containerPort: 8080%s}]
  nodeSelector: {%s}
`, name, labels, testImage, name, port, selector)
}

// ready reports whether the task is Running and Ready: what DNS needs.
func ready(t *v1.Task) bool {
	c := v1.FindCondition(t.Status.Conditions, v1.TaskReady)
	return t.Status.Phase == v1.PhaseRunning && c != nil && c.Status == v1.ConditionTrue
}

// dnsResolver is Go's own resolver, asking only the manager's DNS server.
func dnsResolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// ask sends one query to addr over network (udp or tcp), without EDNS0.
func ask(t testing.TB, addr, netw, name string, qtype uint16) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	resp, _, err := (&dns.Client{Net: netw, Timeout: 5 * time.Second}).Exchange(q, addr)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", dns.TypeToString[qtype], name, netw, err)
	}
	return resp
}

// TestDNS runs one cluster of four workers and checks the cluster zone as
// a resolver on the host and a container see it: records, NXDOMAIN and
// NODATA, truncation and TCP, answers that follow a delete and a move, a
// worker that finds the manager through SRV only, and a container that
// resolves and fetches another task by name.
func TestDNS(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	wa := c.addWorker("dns-a", "--labels", "role=a", "--dns-server", c.dns)
	// dns-b knows the manager only through SRV at the manager's DNS.
	wb := c.addWorker("dns-b", "--labels", "role=b", "--manager", "dns+srv://_api._tcp.manager.minkube", "--dns-server", c.dns)
	wc := c.addWorker("dns-c", "--labels", "mover=yes")
	wd := c.addWorker("dns-d", "--labels", "mover=yes")

	docs := []string{
		dnsTask("web", "service: shop", "role: a", 0),
		dnsTask("web2", "service: shop", "role: b", 0),
		dnsTask("client", "", "role: a", 0),
		dnsTask("gone", "", "role: b", 0),
		dnsTask("mover", "", "mover: \"yes\"", 0),
	}
	const bigMembers = 12
	for i := range bigMembers {
		docs = append(docs, dnsTask(bigMember(i), "service: big", "role: b", 0))
	}
	c.apply(docs...)
	tasks := map[string]*v1.Task{}
	for _, name := range []string{"web", "web2", "client", "gone", "mover"} {
		tasks[name] = c.waitTask(name, 90*time.Second, "Running and Ready", ready)
	}
	for i := range bigMembers {
		c.waitTask(bigMember(i), 90*time.Second, "Running and Ready", ready)
	}
	r := dnsResolver(c.dns)
	t.Run("zone", func(t *testing.T) { testZone(t, c, r, tasks, wa, wb, wc, wd) })

	// The worker that knew the manager only by SRV: it registered (it was
	// Ready) and ran web2; its log shows the SRV set it resolved.
	c.workers[wb].stop()
	if log := c.workers[wb].log.String(); !strings.Contains(log, "manager endpoints resolved") || !strings.Contains(log, c.server) {
		t.Errorf("worker %s log does not show the SRV set resolved to %s:\n%s", wb, c.server, log)
	}
}

// bigMember names the members of the big service: long names, so that
// twelve SRV records do not fit 512 bytes.
func bigMember(i int) string { return fmt.Sprintf("big-service-member-number-%02d", i) }

// testZone runs the checks of TestDNS that share its cluster, in parallel.
func testZone(t *testing.T, c *cluster, r *net.Resolver, tasks map[string]*v1.Task, wa, wb, wc, wd string) {
	const bigMembers = 12
	t.Run("records", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		web := tasks["web"]
		ips, err := r.LookupHost(ctx, "web.task.minkube")
		if err != nil || !slices.Equal(ips, []string{web.Status.HostIP}) {
			t.Errorf("web.task.minkube = %v, %v; want [%s]", ips, err, web.Status.HostIP)
		}
		_, srvs, err := r.LookupSRV(ctx, "http", "tcp", "web.task.minkube")
		if err != nil || len(srvs) != 1 || int32(srvs[0].Port) != web.Status.Ports[0].HostPort || srvs[0].Target != "web.task.minkube." {
			t.Errorf("_http._tcp.web.task.minkube = %v, %v; want web.task.minkube. port %d", srvs, err, web.Status.Ports[0].HostPort)
		}
		_, srvs, err = r.LookupSRV(ctx, "http", "tcp", "shop.svc.minkube")
		var ports []int32
		for _, s := range srvs {
			ports = append(ports, int32(s.Port))
		}
		slices.Sort(ports)
		want := []int32{web.Status.Ports[0].HostPort, tasks["web2"].Status.Ports[0].HostPort}
		slices.Sort(want)
		if err != nil || !slices.Equal(ports, want) {
			t.Errorf("_http._tcp.shop.svc.minkube ports %v, %v; want %v", ports, err, want)
		}
		if ips, err := r.LookupHost(ctx, wa+".worker.minkube"); err != nil || !slices.Equal(ips, []string{"127.0.0.1"}) {
			t.Errorf("%s.worker.minkube = %v, %v", wa, ips, err)
		}
		_, srvs, err = r.LookupSRV(ctx, "api", "tcp", "manager.minkube")
		if _, port, _ := net.SplitHostPort(strings.TrimPrefix(c.server, "https://")); err != nil || len(srvs) != 1 || fmt.Sprint(srvs[0].Port) != port {
			t.Errorf("_api._tcp.manager.minkube = %v, %v; want the API port %s", srvs, err, port)
		}
		var dnsErr *net.DNSError
		if _, err := r.LookupHost(ctx, "nope.task.minkube"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("nope.task.minkube: %v, want not found", err)
		}
		if resp := ask(t, c.dns, "udp", "nope.task.minkube", dns.TypeA); resp.Rcode != dns.RcodeNameError || !resp.Authoritative {
			t.Errorf("nope.task.minkube: %s, want an authoritative NXDOMAIN", dns.RcodeToString[resp.Rcode])
		}
		if resp := ask(t, c.dns, "udp", "web.task.minkube", dns.TypeAAAA); resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 0 || len(resp.Ns) != 1 {
			t.Errorf("web.task.minkube AAAA: %v; want NODATA (NOERROR, no answer, the SOA)", resp)
		}
		if resp := ask(t, c.dns, "udp", "example.com", dns.TypeA); resp.Rcode != dns.RcodeRefused || resp.RecursionAvailable {
			t.Errorf("example.com: %s RA %v; want REFUSED, no recursion", dns.RcodeToString[resp.Rcode], resp.RecursionAvailable)
		}
	})

	t.Run("mkctl", func(t *testing.T) {
		t.Parallel()
		out := c.mkctl("get", "endpoints", "shop")
		rows := strings.Split(strings.TrimSpace(out), "\n")
		web, web2 := tasks["web"].Status.Ports[0].HostPort, tasks["web2"].Status.Ports[0].HostPort
		want := fmt.Sprintf("shop shop.svc.minkube. 2/2 127.0.0.1:%d,127.0.0.1:%d", web, web2)
		if len(rows) != 2 || cells(rows[0]) != "NAME DNS READY ENDPOINTS" || cells(rows[1]) != want {
			t.Errorf("mkctl get endpoints shop:\n%s\nwant the row %q", out, want)
		}
		out = c.mkctl("describe", "task", "web")
		for _, w := range []string{
			"DNS Names: web.task.minkube. -> 127.0.0.1",
			fmt.Sprintf("_http._tcp.web.task.minkube. -> 127.0.0.1:%d", web),
			"shop.svc.minkube. (service shop: 2 of 2 members ready)",
		} {
			if !strings.Contains(cellsOfLines(out), w) {
				t.Errorf("mkctl describe task web lacks %q:\n%s", w, out)
			}
		}
	})

	t.Run("truncation and TCP", func(t *testing.T) {
		t.Parallel()
		// Twelve SRV records with their addresses do not fit 512 bytes.
		udp := ask(t, c.dns, "udp", "_http._tcp.big.svc.minkube", dns.TypeSRV)
		if !udp.Truncated || len(udp.Answer) >= bigMembers {
			t.Errorf("over UDP: TC %v with %d answers; want a truncated answer", udp.Truncated, len(udp.Answer))
		}
		if tcp := ask(t, c.dns, "tcp", "_http._tcp.big.svc.minkube", dns.TypeSRV); tcp.Truncated || len(tcp.Answer) != bigMembers {
			t.Errorf("over TCP: TC %v with %d answers; want all %d", tcp.Truncated, len(tcp.Answer), bigMembers)
		}
		// Go's resolver falls back to TCP by itself.
		if _, srvs, err := r.LookupSRV(t.Context(), "http", "tcp", "big.svc.minkube"); err != nil || len(srvs) != bigMembers {
			t.Errorf("LookupSRV big.svc.minkube: %d records, %v; want %d", len(srvs), err, bigMembers)
		}
	})

	t.Run("dig", func(t *testing.T) {
		t.Parallel()
		dig, err := exec.LookPath("dig")
		if err != nil {
			t.Fatal("dig is not installed: run make tools (Debian: apt-get install dnsutils)")
		}
		host, port, _ := net.SplitHostPort(c.dns)
		for _, tc := range []struct {
			args []string
			want []string
		}{
			{[]string{"web.task.minkube", "A"}, []string{"status: NOERROR", "flags: qr aa rd;", "web.task.minkube.\t5\tIN\tA\t127.0.0.1"}},
			{[]string{"_http._tcp.shop.svc.minkube", "SRV"}, []string{"status: NOERROR", "ANSWER: 2,", "web.task.minkube.", "web2.task.minkube."}},
			{[]string{"nope.task.minkube", "A"}, []string{"status: NXDOMAIN", "IN\tSOA\tns.minkube. hostmaster.minkube."}},
			{[]string{"+noedns", "_http._tcp.big.svc.minkube", "SRV"}, []string{"Truncated, retrying in TCP mode.", fmt.Sprintf("ANSWER: %d,", bigMembers)}},
			{[]string{"minkube", "NS"}, []string{"status: NOERROR", "IN\tNS\tns.minkube."}},
		} {
			out, err := exec.CommandContext(t.Context(), dig, append([]string{"@" + host, "-p", port, "+tries=1", "+time=3"}, tc.args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("dig %v: %v\n%s", tc.args, err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("dig %v: output lacks %q:\n%s", tc.args, w, out)
				}
			}
		}
	})

	t.Run("delete to NXDOMAIN", func(t *testing.T) {
		t.Parallel()
		if resp := ask(t, c.dns, "udp", "gone.task.minkube", dns.TypeA); resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 {
			t.Fatalf("gone.task.minkube before the delete: %v", resp)
		}
		c.mkctl("delete", "task", "gone")
		deleted := time.Now()
		// A deadline, not a speed: the figure is logged (the goal is 1s).
		waitFor(t, 10*time.Second, "NXDOMAIN for a deleted task", func() bool {
			return ask(t, c.dns, "udp", "gone.task.minkube", dns.TypeA).Rcode == dns.RcodeNameError
		})
		t.Logf("NXDOMAIN %s after mkctl delete returned", time.Since(deleted).Round(time.Millisecond))
	})

	t.Run("move to a new address", func(t *testing.T) {
		t.Parallel()
		from := tasks["mover"]
		to := wc
		if from.Status.Worker == wc {
			to = wd
		}
		c.mkctl("drain", from.Status.Worker)
		var moved *v1.Task
		var seen time.Time
		srvPort := func() int32 {
			resp := ask(t, c.dns, "udp", "_http._tcp.mover.task.minkube", dns.TypeSRV)
			if len(resp.Answer) != 1 {
				return 0
			}
			return int32(resp.Answer[0].(*dns.SRV).Port)
		}
		waitFor(t, 60*time.Second, "the task Running and Ready on "+to, func() bool {
			if tk, err := c.task("mover"); err == nil && tk.Status.Worker == to && ready(tk) {
				moved, seen = tk, time.Now()
				return true
			}
			return false
		})
		newPort := moved.Status.Ports[0].HostPort
		if newPort == from.Status.Ports[0].HostPort {
			t.Fatalf("the moved task has the same host port %d: the answers cannot tell the workers apart", newPort)
		}
		waitFor(t, 10*time.Second, "SRV with the new worker's port", func() bool { return srvPort() == newPort })
		t.Logf("new SRV answer %s after mkctl saw the task Ready on %s", time.Since(seen).Round(time.Millisecond), to)
	})

	t.Run("worker through dns+srv", func(t *testing.T) {
		t.Parallel()
		if tk, err := c.task("web2"); err != nil || tk.Status.Worker != wb || !ready(tk) {
			t.Errorf("web2 on the dns+srv worker: %v %+v", err, tk)
		}
	})

	t.Run("container resolves and fetches by name", func(t *testing.T) {
		t.Parallel()
		client := tasks["client"]
		base := fmt.Sprintf("http://127.0.0.1:%d", client.Status.Ports[0].HostPort)
		get := func(path string) (int, string) {
			resp, err := http.Get(base + path)
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, strings.TrimSpace(string(body))
		}
		netName, gateway := workerNetwork(t, wa)
		webIP := containerIP(t, tasks["web"].Status.ContainerID, netName)

		code, body := get("/lookup?name=web.task.minkube")
		if code != 200 || body != webIP {
			t.Errorf("web.task.minkube from the client container: %d %q; want web's container address %s", code, body, webIP)
		}
		code, body = get("/lookup?name=web.task.minkube&srv=http")
		if code != 200 || body != "web.task.minkube. 8080" {
			t.Errorf("SRV from the client container: %d %q; want the container port 8080", code, body)
		}
		// web2 runs on another worker of this host, published on
		// 127.0.0.1: the container is given the gateway instead.
		code, body = get("/lookup?name=shop.svc.minkube")
		if want := strings.Join(sortedStrings(gateway, webIP), "\n"); code != 200 || body != want {
			t.Errorf("shop.svc.minkube from the client container: %d %q; want %q", code, body, want)
		}
		code, body = get("/fetch?url=" + "http://web.task.minkube:8080/")
		if code != 200 || !strings.Contains(body, "I am web") {
			t.Errorf("fetch http://web.task.minkube:8080/ from the client container: %d %q", code, body)
		}
		if code, body = get("/lookup?name=nope.task.minkube"); code == 200 {
			t.Errorf("nope.task.minkube from the client container: %q, want not found", body)
		}
	})
}

// workerNetwork returns the name and gateway of the network a worker made
// for its containers.
func workerNetwork(t testing.TB, worker string) (string, string) {
	t.Helper()
	list, err := docker.NetworkList(context.Background(), network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", "io.minkube.network="+worker))})
	if err != nil || len(list) != 1 {
		t.Fatalf("networks of %s: %v, %v; want one", worker, list, err)
	}
	n, err := docker.NetworkInspect(context.Background(), list[0].ID, network.InspectOptions{})
	if err != nil || len(n.IPAM.Config) == 0 {
		t.Fatalf("inspect network %s: %v", list[0].Name, err)
	}
	return n.Name, n.IPAM.Config[0].Gateway
}

// containerIP is a container's address on a network.
func containerIP(t testing.TB, id, netName string) string {
	t.Helper()
	info, err := docker.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	ep := info.NetworkSettings.Networks[netName]
	if ep == nil || ep.IPAddress == "" {
		t.Fatalf("container %.12s is not on network %s: %v", id, netName, info.NetworkSettings.Networks)
	}
	return ep.IPAddress
}

// cellsOfLines joins each line's cells with one space.
func cellsOfLines(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = cells(l)
	}
	return strings.Join(lines, "\n")
}

func sortedStrings(s ...string) []string {
	slices.Sort(s)
	return s
}
