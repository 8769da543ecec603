package discovery_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/discovery"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

// benchTasks is the cluster size of the DNS benchmarks; members of a
// service is how many tasks each service has.
const (
	benchTasks     = 10000
	benchMembers   = 10
	benchDNSClient = 8 // concurrent clients per benchmark
)

// benchServer starts the manager's DNS over a real store and caches
// holding benchTasks Running, Ready tasks on 100 workers' hosts, and
// returns its address.
func benchServer(b *testing.B) string {
	b.Helper()
	db, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), bolt.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	st := store.NewState(db, nil)
	src := discovery.NewCacheSource(st.TaskCache, st.WorkerCache, discovery.StaticManagers{{Name: "m1", Address: "127.0.0.1:7070"}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = st.Start(ctx) })
	b.Cleanup(func() { cancel(); wg.Wait() })

	now := time.Now()
	sem := make(chan struct{}, 32)
	errs := make(chan error, 1)
	var cw sync.WaitGroup
	for i := range benchTasks {
		cw.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t := &v1.Task{
				TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
				Metadata: v1.ObjectMeta{Name: benchTask(i), UID: fmt.Sprint(i), Labels: map[string]string{discovery.ServiceLabel: benchService(i / benchMembers)}},
				Spec:     v1.TaskSpec{Image: "app:1", Ports: []v1.Port{{Name: "http", ContainerPort: 8080, Protocol: v1.ProtocolTCP}}},
				Status: v1.TaskStatus{
					Phase: v1.PhaseRunning, Worker: fmt.Sprintf("worker-%d", i%100), HostIP: fmt.Sprintf("10.0.%d.%d", i%100/250, i%100+1),
					Ports:      []v1.PortStatus{{Name: "http", ContainerPort: 8080, HostPort: int32(20000 + i), Protocol: v1.ProtocolTCP}},
					Conditions: v1.SetCondition(nil, v1.Condition{Type: v1.TaskReady, Status: v1.ConditionTrue}, now),
				},
			}
			if _, err := st.Tasks.Create(ctx, t); err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	cw.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	for st.TaskCache.Len() < benchTasks {
		time.Sleep(10 * time.Millisecond)
	}
	z, err := discovery.NewZone("minkube.", 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	srv := discovery.NewServer("127.0.0.1:0", discovery.NewHandler(z, src), nil)
	addr, err := srv.Listen()
	if err != nil {
		b.Fatal(err)
	}
	wg.Go(func() { _ = srv.Start(ctx) })
	return addr.String()
}

func benchTask(i int) string    { return fmt.Sprintf("task-%05d", i) }
func benchService(i int) string { return fmt.Sprintf("svc-%04d", i) }

// benchQueries are the kinds of query measured: a name and a type from a
// random number.
var benchQueries = []struct {
	name  string
	qtype uint16
	qname func(n int) string
}{
	{"A", dns.TypeA, func(n int) string { return benchTask(n%benchTasks) + ".task.minkube." }},
	{"SRV", dns.TypeSRV, func(n int) string { return "_http._tcp." + benchTask(n%benchTasks) + ".task.minkube." }},
	{"ServiceSRV", dns.TypeSRV, func(n int) string {
		return "_http._tcp." + benchService(n%(benchTasks/benchMembers)) + ".svc.minkube."
	}},
}

// BenchmarkServer measures queries/s over UDP at 10,000 tasks with a Go
// load loop: benchDNSClient clients, each sending a query and waiting for
// its answer, over the loopback.
func BenchmarkServer(b *testing.B) {
	addr := benchServer(b)
	for _, q := range benchQueries {
		b.Run(q.name, func(b *testing.B) {
			b.SetParallelism(benchDNSClient)
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				conn, err := dns.Dial("udp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer conn.Close()
				r := rand.New(rand.NewPCG(rand.Uint64(), 0))
				m := new(dns.Msg)
				for pb.Next() {
					m.SetQuestion(q.qname(r.IntN(benchTasks)), q.qtype)
					if err := conn.WriteMsg(m); err != nil {
						b.Error(err)
						return
					}
					resp, err := conn.ReadMsg()
					if err != nil || resp.Rcode != dns.RcodeSuccess || len(resp.Answer) == 0 {
						b.Errorf("%s: %v %v", m.Question[0].Name, resp, err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "queries/s")
		})
	}
}

// BenchmarkDNSPerf measures queries/s at 10,000 tasks with dnsperf (Debian:
// dnsperf), when it is installed, for 10 seconds a query kind whatever
// b.N is: run it with -benchtime 1x.
func BenchmarkDNSPerf(b *testing.B) {
	dnsperf, err := exec.LookPath("dnsperf")
	if err != nil {
		b.Skip("dnsperf is not installed (apt-get install dnsperf)")
	}
	addr := benchServer(b)
	host, port, _ := net.SplitHostPort(addr)
	qps := regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	for _, q := range benchQueries {
		b.Run(q.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "queries")
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			w := bufio.NewWriter(f)
			for i := range benchTasks {
				fmt.Fprintf(w, "%s %s\n", q.qname(i), dns.TypeToString[q.qtype])
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			f.Close()
			for b.Loop() {
				out, err := exec.CommandContext(b.Context(), dnsperf, "-s", host, "-p", port, "-d", path, "-l", "10", "-c", strconv.Itoa(benchDNSClient), "-q", "200").CombinedOutput()
				m := qps.FindSubmatch(out)
				if err != nil || m == nil {
					b.Fatalf("dnsperf: %v\n%s", err, out)
				}
				v, _ := strconv.ParseFloat(string(m[1]), 64)
				b.ReportMetric(v, "queries/s")
			}
		})
	}
}
