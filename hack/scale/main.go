// Command scale measures Minkube's control plane at scale with hollow
// workers (minkube worker --runtime fake): a real manager (the built
// binary, bolt store) and processes of hollow workers, loaded by parallel
// clients, the built mkctl timed on the result. hack/bench.sh scale builds
// the binaries and runs it; it prints one table, each figure with its goal,
// the median of the runs.
//
// Each run starts fresh clusters: one for the 10,000-task figures (apply
// to all Running, manager CPU and memory, lists, mkctl get and apply -f),
// one for the 1,000-task figure.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/metrics/metricstest"
)

type config struct {
	bin          string
	runs         int
	tasks        int
	small        int
	workers      int
	clients      int
	lists        int
	idle         time.Duration
	profileDir   string
	profileFor   time.Duration
	profileAfter time.Duration
	profileWhole bool
	logDir       string
	logLevel     string
	file         int
	growth       int
	managerEnv   []string // NAME=VALUE added to the manager's environment only
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "", "directory holding the built minkube and mkctl (required)")
	flag.IntVar(&c.runs, "runs", 3, "runs; each figure is the median")
	flag.IntVar(&c.tasks, "tasks", 10000, "tasks of the large apply")
	flag.IntVar(&c.small, "small", 1000, "tasks of the small apply (0 skips it)")
	flag.IntVar(&c.workers, "workers", 100, "hollow workers")
	flag.IntVar(&c.clients, "clients", 32, "parallel clients creating tasks")
	flag.IntVar(&c.lists, "lists", 25, "list calls before the idle wait")
	flag.DurationVar(&c.idle, "idle", 30*time.Second, "idle wait after the lists, before memory is read again")
	flag.StringVar(&c.profileDir, "profile", "", "directory to write the manager's CPU profile (during the first large apply), heap profile and metrics (when all run) to")
	flag.DurationVar(&c.profileFor, "profile-seconds", 30*time.Second, "length of the CPU profile")
	flag.DurationVar(&c.profileAfter, "profile-after", 0, "start the CPU profile this long after the first create of the large apply (a window late in a long apply)")
	flag.BoolVar(&c.profileWhole, "profile-whole", false, "profile the whole large apply, in windows of -profile-seconds one after another (cpu-001.pprof, ...; go tool pprof takes them all at once)")
	flag.IntVar(&c.growth, "growth", 0, "measure growth instead: each run applies -tasks on -workers and this many times the tasks on this many times the workers, on fresh clusters one after the other, and the table compares the manager's CPU and memory per task of the two sizes (goal: within 1.5x)")
	flag.IntVar(&c.file, "file", -1, "documents of the timed mkctl apply -f (0 skips it; default: -tasks)")
	flag.StringVar(&c.logLevel, "log-level", "warn", "log level of the manager (info shows its caches' relists)")
	flag.StringVar(&c.logDir, "logs", "", "directory to keep the processes' logs in (default: a temporary one, removed)")
	flag.Func("manager-env", "NAME=VALUE to add to the manager's environment only, not the hollow workers' or this program's (GOGC=50, GOMEMLIMIT=56MiB); repeat it for more", func(v string) error {
		env, err := envEntry(v)
		if err == nil {
			c.managerEnv = append(c.managerEnv, env)
		}
		return err
	})
	flag.Parse()
	if c.bin == "" {
		fmt.Fprintln(os.Stderr, "scale: -bin is required")
		os.Exit(2)
	}
	if c.file < 0 {
		c.file = c.tasks
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := checkGrowth(c.growth, set); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(2)
	}
	runner := run
	if c.growth > 0 {
		runner = runGrowth
	}
	if err := runner(c); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

// notInGrowth are the flags of the default measurement that -growth does
// not take: it times applies only.
var notInGrowth = []string{"small", "lists", "idle", "file", "profile", "profile-seconds", "profile-after", "profile-whole"}

// envEntry checks a NAME=VALUE entry of -manager-env.
func envEntry(v string) (string, error) {
	name, _, ok := strings.Cut(v, "=")
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return "", fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	return v, nil
}

// checkGrowth refuses a -growth that compares nothing, and a flag given
// (set holds the names of those given) that the growth measurement would
// silently ignore.
func checkGrowth(growth int, set map[string]bool) error {
	switch {
	case growth < 0 || growth == 1:
		return fmt.Errorf("-growth %d: the factor between the two sizes must be 2 or more (0 measures one size)", growth)
	case growth == 0:
		return nil
	}
	for _, name := range notInGrowth {
		if set[name] {
			return fmt.Errorf("-%s is not taken with -growth, which times the applies only (flags it takes: -runs, -tasks, -workers, -clients, -logs, -log-level, -manager-env)", name)
		}
	}
	return nil
}

// figures are the measurements of one run; a refusal stands in for a
// figure that could not be taken.
type figures struct {
	applyFigures         // the large apply
	afterRSS     float64 // MB, VmRSS after the lists and the idle wait
	afterPeak    float64 // MB, VmHWM then
	// afterTop is the reading with the highest RSS of those taken every
	// peakSampleEvery from all Running until afterRSS, and afterTopAt
	// how long after all Running it was taken: whether the peak after
	// the lists came from the lists or from the apply's tail (the
	// writes and collections that follow the last task's Running).
	afterTop   mem
	afterTopAt time.Duration
	listsTook  time.Duration // the lists, from all Running
	liveHeap   float64       // MB, the Go heap after a collection, then
	idleCPU    float64       // ms of manager CPU per second of the idle wait
	beatCPU    float64       // ms of manager CPU per heartbeat received in the idle wait
	beatAlloc  float64       // KB the manager allocated per heartbeat received then
	getTable   float64       // ms, median of 5
	getJSON    float64       // ms, median of 5
	applyFile  float64       // creates/s
	applyErr   string
	fileRun    float64 // s, from the start of mkctl apply -f to all its tasks Running
	fileCPU    float64 // ms of mkctl's own CPU per document of the apply -f
	small      float64 // s, 1,000 tasks apply to all Running
}

func run(c config) error {
	var all []figures
	for r := 1; r <= c.runs; r++ {
		fmt.Fprintf(os.Stderr, "== run %d of %d\n", r, c.runs)
		f, err := runOnce(c, r)
		if err != nil {
			return fmt.Errorf("run %d: %w", r, err)
		}
		all = append(all, f)
	}
	printTable(c, all)
	return nil
}

func runOnce(c config, r int) (figures, error) {
	var f figures
	cl, err := startCluster(c, fmt.Sprintf("run%d-large", r))
	if err != nil {
		return f, err
	}
	err = func() error {
		defer cl.stop()
		var profile chan error
		if c.profileDir != "" && r == 1 {
			profile = make(chan error, 1)
			go func() { profile <- cl.profileCPU(c) }()
		}
		if f.applyFigures, err = cl.measureApply(c); err != nil {
			return err
		}
		if profile != nil {
			if err := cl.fetch("/debug/pprof/heap", filepath.Join(c.profileDir, "heap.pprof")); err != nil {
				return err
			}
			// The counters say what each task cost in requests and store
			// operations (divide by -tasks).
			if err := cl.fetch("/metrics", filepath.Join(c.profileDir, "metrics.txt")); err != nil {
				return err
			}
		}
		listsStart := time.Now()
		stopSampling := cl.sampleMemory()
		defer stopSampling() // on an error; the reading is dropped
		for range c.lists {
			if _, err := cl.api.ListTasks(context.Background(), client.ListOptions{}); err != nil {
				return fmt.Errorf("list tasks: %w", err)
			}
		}
		f.listsTook = time.Since(listsStart)
		idle0, err := cl.idleSample()
		if err != nil {
			return err
		}
		time.Sleep(c.idle)
		idle1, err := cl.idleSample()
		if err != nil {
			return err
		}
		f.idleCPU, f.beatCPU, f.beatAlloc = idle1.since(idle0)
		st, err := memory(cl.mgr.Process.Pid, cl.storeDB)
		if err != nil {
			return err
		}
		f.afterRSS, f.afterPeak = st.rss, st.peak
		after := stopSampling()
		f.afterTop, f.afterTopAt = after.top, after.topAt.Sub(after.start)
		if f.liveHeap, err = cl.liveHeap(); err != nil {
			return err
		}
		if f.getTable, err = cl.timeMkctl(5, "get", "tasks"); err != nil {
			return err
		}
		if f.getJSON, err = cl.timeMkctl(5, "get", "tasks", "-o", "json"); err != nil {
			return err
		}
		if c.file > 0 {
			f.applyFile, f.fileRun, f.fileCPU, f.applyErr, err = cl.applyFile(c.file)
		}
		if profile != nil {
			if perr := <-profile; perr != nil {
				return perr
			}
		}
		return err
	}()
	if err != nil {
		return f, err
	}
	if c.small > 0 {
		cl, err := startCluster(c, fmt.Sprintf("run%d-small", r))
		if err != nil {
			return f, err
		}
		defer cl.stop()
		elapsed, _, err := cl.applyAll(c, "small", c.small)
		if err != nil {
			return f, err
		}
		f.small = elapsed.Seconds()
	}
	return f, nil
}

// cluster is a manager and processes of hollow workers.
type cluster struct {
	c       config
	dir     string
	server  string
	token   string
	caFile  string
	storeDB string // the manager's store file
	mgr     *proc
	hollow  []*proc
	api     *client.Client
	http    *http.Client
	// created and running count the tasks of the large apply created and
	// seen Running so far.
	created, running atomic.Int64
}

// proc is a process the cluster started; exited is closed once it has
// exited and been waited for.
type proc struct {
	*exec.Cmd
	exited chan struct{}
}

func startCluster(c config, name string) (*cluster, error) {
	dir, err := os.MkdirTemp("", "minkube-scale-")
	if err != nil {
		return nil, err
	}
	cl := &cluster{c: c, dir: dir}
	started := false
	defer func() {
		if !started { // ends what did start and removes dir
			cl.stop()
		}
	}()
	logDir := dir
	if c.logDir != "" {
		logDir = c.logDir
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			return nil, err
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	dns, err := freeAddr()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "manager")
	cl.server, cl.caFile = "https://"+addr, filepath.Join(data, "ca.crt")
	cl.storeDB = filepath.Join(data, "minkube.db")
	// --pprof: the profiles, and a collection on demand for liveHeap.
	args := []string{"manager", "--listen", addr, "--data-dir", data, "--dns-listen", dns, "--log-level", c.logLevel, "--write-config=false", "--pprof"}
	if cl.mgr, err = cl.start(c.managerEnv, filepath.Join(logDir, name+"-manager.log"), args...); err != nil {
		return nil, err
	}
	if err := cl.waitManager(data); err != nil {
		return nil, err
	}
	// The hollow workers run in processes of at most hollowPerProcess:
	// the workers of one process share its keep-alive connections to the
	// manager, and past what a client keeps idle per host they would
	// close and open connections all the time (a TLS handshake each, on
	// the manager too), which a real worker, with a connection of its own,
	// never does.
	for p, left := 0, c.workers; left > 0; p++ {
		n := min(left, hollowPerProcess)
		left -= n
		prefix := "hollow"
		if c.workers > hollowPerProcess {
			prefix = fmt.Sprintf("hollow%d", p)
		}
		h, err := cl.start(nil, filepath.Join(logDir, fmt.Sprintf("%s-%s.log", name, prefix)), "worker", "--runtime", "fake",
			"--replicas", strconv.Itoa(n), "--name", prefix, "--listen", "127.0.0.1:0", "--dns-server=",
			"--manager", cl.server, "--join-token-file", filepath.Join(data, "join-token"),
			"--data-dir", filepath.Join(dir, prefix), "--log-level", "warn")
		if err != nil {
			return nil, err
		}
		cl.hollow = append(cl.hollow, h)
	}
	if err := cl.waitWorkers(c.workers); err != nil {
		return nil, err
	}
	started = true
	return cl, nil
}

// start starts minkube with args, its output to logFile, with env added
// to this program's environment.
func (cl *cluster) start(env []string, logFile string, args ...string) (*proc, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(cl.c.bin, "minkube"), args...)
	cmd.Stdout, cmd.Stderr = out, out
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	p := &proc{Cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); out.Close(); close(p.exited) }()
	return p, nil
}

func (cl *cluster) waitManager(data string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		tok, err := os.ReadFile(filepath.Join(data, "token"))
		ca, cerr := os.ReadFile(cl.caFile)
		if err == nil && cerr == nil && len(tok) > 0 {
			cl.token = strings.TrimSpace(string(tok))
			api, err := client.New(cl.server, cl.token, client.WithTLS(client.TLS{CAData: string(ca)}))
			if err != nil {
				return err
			}
			if _, err := api.Version(context.Background()); err == nil {
				cl.api = api
				cl.http = &http.Client{Timeout: 5*time.Minute + cl.c.profileAfter + cl.c.profileFor, Transport: &http.Transport{TLSClientConfig: tlsConfig(ca)}}
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("the manager did not answer within 60s")
}

func (cl *cluster) waitWorkers(n int) error {
	wait := 60*time.Second + time.Duration(n)*200*time.Millisecond
	deadline := time.Now().Add(wait)
	ready := 0
	for time.Now().Before(deadline) {
		list, err := cl.api.ListWorkers(context.Background())
		if err == nil {
			ready = 0
			for _, w := range list.Items {
				if w.Status.Phase == v1.WorkerReady {
					ready++
				}
			}
			if ready == n {
				return nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("%d of %d hollow workers Ready after %s", ready, n, wait)
}

// hollowPerProcess is the most hollow workers one process runs: a client
// keeps 256 idle connections per host.
const hollowPerProcess = 250

// hollowCPU returns the CPU time of the hollow workers' processes so far.
func (cl *cluster) hollowCPU() (time.Duration, error) {
	var sum time.Duration
	for _, h := range cl.hollow {
		d, err := processCPU(h.Process.Pid)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// stop ends the processes it started, by their pid, and removes the
// cluster's directory.
func (cl *cluster) stop() {
	for _, p := range append(slices.Clone(cl.hollow), cl.mgr) {
		if p == nil {
			continue
		}
		_ = p.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			_ = p.Process.Kill()
		}
	}
	_ = os.RemoveAll(cl.dir)
}

// applyAll creates n tasks named prefix-NNNNN with cfg.clients parallel
// clients and waits until all run, watching them; it returns the time from
// the first create to the last Running and the manager's CPU time then.
func (cl *cluster) applyAll(c config, prefix string, n int) (time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	allRunning := cl.awaitRunning(ctx, prefix, n)
	pid := cl.mgr.Process.Pid
	cpu0, err := processCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, c.clients)
	for range c.clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if _, err := cl.api.CreateTask(ctx, newTask(fmt.Sprintf("%s-%05d", prefix, i))); err != nil {
					errs <- fmt.Errorf("create %s-%05d: %w", prefix, i, err)
					return
				}
				cl.created.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	if err := allRunning(); err != nil {
		return 0, 0, err
	}
	elapsed := time.Since(start)
	cpu1, err := processCPU(pid)
	if err != nil {
		return 0, 0, err
	}
	return elapsed, cpu1 - cpu0, nil
}

// sized are the figures of one apply at one size in a growth run.
type sized struct {
	applyFigures
	peakPerTask float64 // KB of peak RSS per task, the fixed part included
	// heapPerTask is what the manager's live heap (after a collection)
	// grew by per task, from before the apply to all Running: the memory
	// a task costs, without the manager's fixed part (its binary, its
	// empty caches) that makes its resident memory per task fall as the
	// tasks grow.
	heapPerTask float64 // KB
}

// runGrowth measures two sizes in each run: -tasks on -workers, and
// -growth times both, each on a fresh cluster, one after the other so that
// both see the machine as it is in that run (its speed moves by tens of
// percent over an hour), the smaller first in odd runs and last in even
// ones.
func runGrowth(c config) error {
	big := c
	big.tasks, big.workers = c.tasks*c.growth, c.workers*c.growth
	sizes := []config{c, big}
	all := make([][]sized, len(sizes))
	for r := 1; r <= c.runs; r++ {
		order := []int{0, 1}
		if r%2 == 0 {
			order = []int{1, 0}
		}
		for _, i := range order {
			sc := sizes[i]
			fmt.Fprintf(os.Stderr, "== run %d of %d: %d tasks on %d hollow workers\n", r, c.runs, sc.tasks, sc.workers)
			f, err := growthOnce(sc, fmt.Sprintf("run%d-%d", r, sc.tasks))
			if err != nil {
				return fmt.Errorf("run %d, %d tasks: %w", r, sc.tasks, err)
			}
			all[i] = append(all[i], f)
		}
	}
	printGrowth(os.Stdout, sizes, all)
	return nil
}

// growthOnce applies c.tasks on a fresh cluster of c.workers.
func growthOnce(c config, name string) (sized, error) {
	var f sized
	cl, err := startCluster(c, name)
	if err != nil {
		return f, err
	}
	defer cl.stop()
	heap0, err := cl.liveHeap()
	if err != nil {
		return f, err
	}
	if f.applyFigures, err = cl.measureApply(c); err != nil {
		return f, err
	}
	f.peakPerTask = f.mem.peak * 1024 / float64(c.tasks)
	heap1, err := cl.liveHeap()
	if err != nil {
		return f, err
	}
	f.heapPerTask = (heap1 - heap0) * 1024 / float64(c.tasks)
	return f, nil
}

// printGrowth prints each size's figures (the runs, then the median) and
// the ratio of the larger size's median to the smaller's.
func printGrowth(w io.Writer, sizes []config, all [][]sized) {
	cells := func(fs []sized, get func(sized) float64, format string) (string, float64) {
		runs, m := runsAndMedian(fs, get, format)
		return runs + "; median " + fmt.Sprintf(format, m), m
	}
	small, big := sizes[0], sizes[1]
	fmt.Fprintf(w, "\ngrowth: %d tasks on %d hollow workers against %d on %d, %d run(s) of both%s; runs listed, then the median\n\n",
		small.tasks, small.workers, big.tasks, big.workers, len(all[0]), managerEnvNote(small.managerEnv))
	fmt.Fprintf(w, "| figure | %d tasks | %d tasks | ratio of the medians | goal |\n", small.tasks, big.tasks)
	fmt.Fprintln(w, "|---|---|---|---|---|")
	row := func(name string, get func(sized) float64, format, goal string) {
		a, ma := cells(all[0], get, format)
		b, mb := cells(all[1], get, format)
		ratio := "-"
		if ma > 0 {
			ratio = fmt.Sprintf("%.2f", mb/ma)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", name, a, b, ratio, goal)
	}
	row("apply → all Running (tasks/s)", func(f sized) float64 { return f.rate }, "%.0f", "-")
	row("manager CPU per task, create → Running (ms)", func(f sized) float64 { return f.cpuPerTask }, "%.3f", "≤ 1.5")
	row("manager live heap per task: its growth over the apply, after a collection (KB)", func(f sized) float64 { return f.heapPerTask }, "%.1f", "≤ 1.5")
	row("manager peak RSS per task (KB; its fixed part spread over the tasks)", func(f sized) float64 { return f.peakPerTask }, "%.1f", "-")
	row("manager memory allocated per task (KB)", func(f sized) float64 { return f.allocated }, "%.1f", "-")
	row("hollow workers' CPU per task (ms; shares the cores)", func(f sized) float64 { return f.hollowCPU }, "%.3f", "-")
	var pairs []string
	for i := range min(len(all[0]), len(all[1])) {
		pairs = append(pairs, fmt.Sprintf("%.2f", all[1][i].cpuPerTask/all[0][i].cpuPerTask))
	}
	fmt.Fprintf(w, "\nmanager CPU per task, %d tasks over %d, run by run: %s\n", big.tasks, small.tasks, strings.Join(pairs, ", "))
}

// applyFigures are what one apply of n tasks to all Running cost: the
// manager's time, CPU and allocations, the hollow workers' and this
// program's CPU over the same span, and the manager's memory once all run.
type applyFigures struct {
	rate       float64 // tasks/s
	cpuPerTask float64 // ms of manager CPU per task
	allocated  float64 // KB the manager allocated per task
	hollowCPU  float64 // ms of the hollow workers' CPU per task
	clientCPU  float64 // ms of this program's CPU per task
	mem        mem     // the manager's memory when all run
	// atPeak is the reading with the highest RSS of those taken every
	// peakSampleEvery during the apply: what the peak (VmHWM, which has
	// no breakdown) was made of, to within a sample. The store file's
	// part falls whenever bbolt maps a grown file anew, so at the end
	// it can be a fraction of what it was at the peak.
	atPeak mem
}

// peakSampleEvery is how often measureApply reads the manager's memory.
const peakSampleEvery = 200 * time.Millisecond

// measureApply creates c.tasks tasks (named task-...) on cl and measures
// the apply until all run.
func (cl *cluster) measureApply(c config) (applyFigures, error) {
	var a applyFigures
	n := c.tasks
	hollow0, err := cl.hollowCPU()
	if err != nil {
		return a, err
	}
	client0, err := processCPU(os.Getpid())
	if err != nil {
		return a, err
	}
	alloc0, err := cl.metric("go_memstats_alloc_bytes_total")
	if err != nil {
		return a, err
	}
	stopSampling := cl.sampleMemory()
	elapsed, cpu, err := cl.applyAll(c, "task", n)
	a.atPeak = stopSampling().top
	if err != nil {
		return a, err
	}
	alloc1, err := cl.metric("go_memstats_alloc_bytes_total")
	if err != nil {
		return a, err
	}
	hollow1, err := cl.hollowCPU()
	if err != nil {
		return a, err
	}
	client1, err := processCPU(os.Getpid())
	if err != nil {
		return a, err
	}
	a.rate = float64(n) / elapsed.Seconds()
	a.cpuPerTask = cpu.Seconds() * 1000 / float64(n)
	a.allocated = (alloc1 - alloc0) / 1024 / float64(n)
	a.hollowCPU = (hollow1 - hollow0).Seconds() * 1000 / float64(n)
	a.clientCPU = (client1 - client0).Seconds() * 1000 / float64(n)
	a.mem, err = memory(cl.mgr.Process.Pid, cl.storeDB)
	return a, err
}

// awaitRunning starts watching for the n tasks named prefix-... to run,
// before they are created; the function it returns waits until they all
// have, and fails when the watch does or ctx ends first.
func (cl *cluster) awaitRunning(ctx context.Context, prefix string, n int) func() error {
	running := make(chan struct{})
	watchErr := make(chan error, 1)
	go func() { watchErr <- cl.watchRunning(ctx, prefix, n, running) }()
	return func() error {
		select {
		case <-running:
			return nil
		case err := <-watchErr:
			return err
		case <-ctx.Done():
			return fmt.Errorf("%d tasks %s-... not all Running: %w", n, prefix, ctx.Err())
		}
	}
}

// watchRunning closes running once n tasks named prefix-... have been seen
// Running. It watches the tasks, and lists and watches again from the
// list when the server ends the watch (a watcher that falls behind is
// dropped), so that no change is missed.
func (cl *cluster) watchRunning(ctx context.Context, prefix string, n int, running chan<- struct{}) error {
	seen := map[string]bool{}
	note := func(t *v1.Task) bool {
		if t != nil && strings.HasPrefix(t.Metadata.Name, prefix+"-") && t.Status.Phase == v1.PhaseRunning && !seen[t.Metadata.Name] {
			seen[t.Metadata.Name] = true
			cl.running.Add(1)
		}
		return len(seen) == n
	}
	rv := ""
	for ctx.Err() == nil {
		w, err := cl.api.WatchTasks(ctx, rv, client.ListOptions{})
		if err != nil {
			return fmt.Errorf("watch tasks: %w", err)
		}
		for {
			ev, err := w.Next()
			if err != nil {
				break
			}
			if note(ev.Object) {
				w.Close()
				close(running)
				return nil
			}
		}
		w.Close()
		list, err := cl.api.ListTasks(ctx, client.ListOptions{})
		if err != nil {
			return fmt.Errorf("list tasks after the watch ended: %w", err)
		}
		for i := range list.Items {
			if note(&list.Items[i]) {
				close(running)
				return nil
			}
		}
		rv = list.Metadata.ResourceVersion
	}
	return ctx.Err()
}

func newTask(name string) *v1.Task {
	return &v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: name, Labels: map[string]string{"bench": "scale"}},
		Spec:     v1.TaskSpec{Image: "example.invalid/app:1"},
	}
}

// timeMkctl runs mkctl args n times and returns the median wall time in ms.
func (cl *cluster) timeMkctl(n int, args ...string) (float64, error) {
	var times []float64
	for range n {
		cmd := cl.mkctl(args...)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("mkctl %s: %v: %s", strings.Join(args, " "), err, stderr.String())
		}
		times = append(times, float64(time.Since(start).Microseconds())/1000)
	}
	return median(times), nil
}

func (cl *cluster) mkctl(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(cl.c.bin, "mkctl"), args...)
	cmd.Env = append(os.Environ(), "HOME="+cl.dir, "MINKUBE_SERVER="+cl.server, "MINKUBE_TOKEN="+cl.token,
		"MINKUBE_CERTIFICATE_AUTHORITY="+cl.caFile)
	return cmd
}

// applyFile writes n task documents into one file and times mkctl apply
// -f of it: its rate of creates, the seconds from its start until all its
// tasks run (the placements may finish after mkctl has), and mkctl's own
// CPU per document (it shares the cores with the manager and the hollow
// workers). A refusal is returned as its first line of output instead.
func (cl *cluster) applyFile(n int) (rate, toRunning, cpuPerDoc float64, refused string, err error) {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: file-%05d\n  labels: {bench: file}\nspec:\n  image: example.invalid/app:1\n", i)
	}
	file := filepath.Join(cl.dir, "tasks.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		return 0, 0, 0, "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	allRunning := cl.awaitRunning(ctx, "file", n)
	cmd := cl.mkctl("apply", "-f", file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		line, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
		return 0, 0, 0, "refused: " + line, nil
	}
	rate = float64(n) / time.Since(start).Seconds()
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if err := allRunning(); err != nil {
		return 0, 0, 0, "", err
	}
	return rate, time.Since(start).Seconds(), float64(cpu.Microseconds()) / 1000 / float64(n), "", nil
}

// profileCPU saves a CPU profile of the manager, c.profileFor long,
// starting c.profileAfter from now (the start of the large apply), as
// cpu.pprof; with c.profileWhole, one after another until every task runs,
// as cpu-001.pprof, cpu-002.pprof, ... For each it says on stderr how many
// tasks were created and seen Running in its window and the manager's CPU
// time then, to put the profile per task.
func (cl *cluster) profileCPU(c config) error {
	time.Sleep(c.profileAfter)
	start := c.profileAfter
	secs := max(1, int(c.profileFor.Seconds()))
	for i := 1; ; i++ {
		created0, running0 := cl.created.Load(), cl.running.Load()
		cpu0, err := processCPU(cl.mgr.Process.Pid)
		if err != nil {
			return err
		}
		file := "cpu.pprof"
		if c.profileWhole {
			file = fmt.Sprintf("cpu-%03d.pprof", i)
		}
		if err := cl.fetch("/debug/pprof/profile?seconds="+strconv.Itoa(secs), filepath.Join(c.profileDir, file)); err != nil {
			return err
		}
		cpu1, err := processCPU(cl.mgr.Process.Pid)
		if err != nil {
			return err
		}
		ran := cl.running.Load() - running0
		perTask := "-"
		if ran > 0 {
			perTask = fmt.Sprintf("%.3f", (cpu1-cpu0).Seconds()*1000/float64(ran))
		}
		fmt.Fprintf(os.Stderr, "CPU profile %s from %s for %ds: %d tasks created (%d before it), %d seen Running (%d before it); manager CPU %s, %s ms per task Running\n",
			file, start, secs, cl.created.Load()-created0, created0, ran, running0, cpu1-cpu0, perTask)
		start += time.Duration(secs) * time.Second
		if !c.profileWhole || cl.running.Load() >= int64(c.tasks) {
			return nil
		}
	}
}

// fetch saves what GET path answers (the admin's) to file.
func (cl *cluster) fetch(path, file string) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := cl.get(path, out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// get copies what GET path answers (the admin's) to w.
func (cl *cluster) get(path string, w io.Writer) error {
	req, err := http.NewRequest(http.MethodGet, cl.server+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+cl.token)
	resp, err := cl.http.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// liveHeap returns, in MB, the manager's Go heap once a collection has
// run (a heap profile with gc=1 runs one first): what it holds live,
// without the garbage and the spare memory that make its resident memory
// move from run to run.
func (cl *cluster) liveHeap() (float64, error) {
	if err := cl.get("/debug/pprof/heap?gc=1", io.Discard); err != nil {
		return 0, err
	}
	heap, err := cl.metric("go_memstats_heap_alloc_bytes")
	return heap / (1 << 20), err
}

// metric returns the value of the manager's metric called name, one
// without labels.
func (cl *cluster) metric(name string) (float64, error) {
	v, err := cl.metrics(series{name: name})
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// series names one series of a metric: its family and labels it has.
type series struct {
	name   string
	labels map[string]string
}

// metrics returns the values of the manager's series, read from one
// scrape of its /metrics.
func (cl *cluster) metrics(want ...series) ([]float64, error) {
	var body bytes.Buffer
	if err := cl.get("/metrics", &body); err != nil {
		return nil, err
	}
	families, err := metricstest.Parse(body.Bytes())
	if err != nil {
		return nil, fmt.Errorf("the manager's /metrics: %w", err)
	}
	values := make([]float64, len(want))
	for i, w := range want {
		v, ok := metricstest.Value(families, w.name, w.labels)
		if !ok {
			return nil, fmt.Errorf("the manager's /metrics has no %s%v", w.name, w.labels)
		}
		values[i] = v
	}
	return values, nil
}

// heartbeats is the series counting the status reports the manager
// accepted: the workers' heartbeats (and their reports of changes, which
// an idle cluster does not send).
var heartbeats = series{
	name:   "minkube_apiserver_requests_total",
	labels: map[string]string{"code": "200", "method": "PUT", "route": "/api/v1/workers/:name/status"},
}

// idleSample is what the manager had spent and received at one moment.
type idleSample struct {
	at         time.Time
	cpu        time.Duration
	allocated  float64 // bytes
	heartbeats float64
}

func (cl *cluster) idleSample() (idleSample, error) {
	cpu, err := processCPU(cl.mgr.Process.Pid)
	if err != nil {
		return idleSample{}, err
	}
	v, err := cl.metrics(series{name: "go_memstats_alloc_bytes_total"}, heartbeats)
	if err != nil {
		return idleSample{}, err
	}
	return idleSample{at: time.Now(), cpu: cpu, allocated: v[0], heartbeats: v[1]}, nil
}

// since returns the manager's CPU between s0 and s in ms per second, and
// its CPU (ms) and allocation (KB) per heartbeat received meanwhile; the
// two per heartbeat are 0 when none came.
func (s idleSample) since(s0 idleSample) (cpuPerSecond, cpuPerBeat, allocPerBeat float64) {
	cpu := float64(s.cpu-s0.cpu) / float64(time.Millisecond)
	cpuPerSecond = cpu / s.at.Sub(s0.at).Seconds()
	if beats := s.heartbeats - s0.heartbeats; beats > 0 {
		cpuPerBeat, allocPerBeat = cpu/beats, (s.allocated-s0.allocated)/1024/beats
	}
	return cpuPerSecond, cpuPerBeat, allocPerBeat
}

// processCPU returns the user and system CPU time of pid so far, from
// /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing parenthesis (field 3 is the state).
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}

// mem is a process's resident memory in MB: all of it and its peak
// (VmRSS, VmHWM), its anonymous memory (RssAnon: the Go heap, stacks),
// and what of its mapped files is resident: the store file, and the rest
// (the binary's code and data).
type mem struct{ rss, peak, anon, store, files float64 }

// sampleMemory starts reading the manager's memory every
// peakSampleEvery (see highestSample); the function it returns stops
// the readings and returns the sampler, and returns it again when called
// again.
func (cl *cluster) sampleMemory() func() peakSampler {
	stop, highest := make(chan struct{}), make(chan peakSampler, 1)
	go func() { highest <- highestSample(cl.mgr.Process.Pid, cl.storeDB, stop) }()
	return sync.OnceValue(func() peakSampler {
		close(stop)
		return <-highest
	})
}

// highestSample reads pid's memory (see memory) every peakSampleEvery
// until stop is closed, and returns the sampler, which holds the reading
// with the highest RSS.
func highestSample(pid int, storePath string, stop <-chan struct{}) peakSampler {
	s := peakSampler{pid: pid, storePath: storePath, start: time.Now()}
	tick := time.NewTicker(peakSampleEvery)
	defer tick.Stop()
	for {
		s.sample()
		select {
		case <-stop:
			return s
		case <-tick.C:
		}
	}
}

// peakSampler keeps the reading of a process's memory with the highest
// RSS, and when it was taken.
type peakSampler struct {
	pid       int
	storePath string
	start     time.Time // when the sampling started
	top       mem
	topAt     time.Time
}

// sample reads the memory and keeps the reading if its RSS is the
// highest yet.
func (s *peakSampler) sample() {
	if m, err := memory(s.pid, s.storePath); err == nil && m.rss > s.top.rss {
		s.top, s.topAt = m, time.Now()
	}
}

// memory returns pid's resident memory, from /proc/PID/status, and how
// much of the store file at storePath is resident, from /proc/PID/smaps.
func memory(pid int, storePath string) (mem, error) {
	m, err := memoryStatus(pid)
	if err != nil {
		return m, err
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return m, err
	}
	defer f.Close()
	var inStore bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			// A mapping's header: ADDR PERMS OFFSET DEV INODE [PATH].
			inStore = len(fields) >= 6 && fields[5] == storePath
		case len(fields) == 3 && fields[0] == "Rss:" && inStore:
			kb, err := strconv.ParseFloat(fields[1], 64)
			if err == nil {
				m.store += kb / 1024
			}
		}
	}
	m.files = m.rss - m.anon - m.store
	return m, sc.Err()
}

// memoryStatus reads VmRSS, VmHWM and RssAnon from /proc/PID/status.
func memoryStatus(pid int) (mem, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return mem{}, err
	}
	defer f.Close()
	var m mem
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 64)
		if err != nil {
			continue
		}
		switch key {
		case "VmRSS":
			m.rss = kb / 1024
		case "VmHWM":
			m.peak = kb / 1024
		case "RssAnon":
			m.anon = kb / 1024
		}
	}
	return m, sc.Err()
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// runsAndMedian formats the figure get takes from each run, comma
// separated, and returns it with the median.
func runsAndMedian[F any](runs []F, get func(F) float64, format string) (string, float64) {
	vals := make([]string, len(runs))
	xs := make([]float64, len(runs))
	for i, f := range runs {
		xs[i] = get(f)
		vals[i] = fmt.Sprintf(format, xs[i])
	}
	return strings.Join(vals, ", "), median(xs)
}

func printTable(c config, all []figures) {
	col := func(get func(figures) float64, format string) string {
		runs, m := runsAndMedian(all, get, format)
		return runs + " | " + fmt.Sprintf(format, m)
	}
	fmt.Printf("\n%d hollow workers, %d parallel clients, %d run(s)%s; runs listed, then the median\n\n", c.workers, c.clients, len(all), managerEnvNote(c.managerEnv))
	fmt.Println("| figure | runs | median | goal |")
	fmt.Println("|---|---|---|---|")
	fmt.Printf("| apply → all Running, %d tasks (tasks/s) | %s | ≥ 2,000 |\n", c.tasks, col(func(f figures) float64 { return f.rate }, "%.0f"))
	fmt.Printf("| manager CPU per task, create → Running (ms) | %s | ≤ 0.4 |\n", col(func(f figures) float64 { return f.cpuPerTask }, "%.3f"))
	fmt.Printf("| manager memory allocated per task, same span (KB; what its collector has to reclaim) | %s | - |\n", col(func(f figures) float64 { return f.allocated }, "%.1f"))
	fmt.Printf("| hollow workers' CPU per task, same span (ms; shares the cores) | %s | - |\n", col(func(f figures) float64 { return f.hollowCPU }, "%.3f"))
	fmt.Printf("| this program's CPU per task, same span (ms; its clients and watch share the cores too) | %s | - |\n", col(func(f figures) float64 { return f.clientCPU }, "%.3f"))
	fmt.Printf("| manager peak RSS when all Running (MB) | %s | ≤ 100 |\n", col(func(f figures) float64 { return f.mem.peak }, "%.0f"))
	fmt.Printf("| manager peak RSS per task (KB) | %s | - |\n", col(func(f figures) float64 { return f.mem.peak * 1024 / float64(c.tasks) }, "%.1f"))
	// The three parts of a reading of the manager's resident memory.
	resident := func(when string, of func(figures) mem) {
		fmt.Printf("| resident %s: anonymous (MB; Go heap, stacks) | %s | - |\n", when, col(func(f figures) float64 { return of(f).anon }, "%.0f"))
		fmt.Printf("| resident %s: the store file, mapped (MB) | %s | - |\n", when, col(func(f figures) float64 { return of(f).store }, "%.0f"))
		fmt.Printf("| resident %s: the binary and other files (MB) | %s | - |\n", when, col(func(f figures) float64 { return of(f).files }, "%.0f"))
	}
	resident("when all Running", func(f figures) mem { return f.mem })
	resident(fmt.Sprintf("at the apply's highest RSS, sampled every %s", peakSampleEvery), func(f figures) mem { return f.atPeak })
	fmt.Printf("| manager RSS after %d lists and %s idle (MB) | %s | ≤ 100, flat |\n", c.lists, c.idle, col(func(f figures) float64 { return f.afterRSS }, "%.0f"))
	fmt.Printf("| manager peak RSS after the lists (MB) | %s | ≤ 100, flat |\n", col(func(f figures) float64 { return f.afterPeak }, "%.0f"))
	resident(fmt.Sprintf("at the highest RSS from all Running to the reading after the idle wait, sampled every %s", peakSampleEvery), func(f figures) mem { return f.afterTop })
	fmt.Printf("| that reading's time after all Running (s) | %s | - |\n", col(func(f figures) float64 { return f.afterTopAt.Seconds() }, "%.1f"))
	fmt.Printf("| the %d lists' time after all Running (s) | %s | - |\n", c.lists, col(func(f figures) float64 { return f.listsTook.Seconds() }, "%.1f"))
	fmt.Printf("| manager Go heap then, after a collection (MB; what it holds live) | %s | - |\n", col(func(f figures) float64 { return f.liveHeap }, "%.1f"))
	fmt.Printf("| manager CPU in the idle wait (ms per s; its workers' heartbeats, and collecting the lists' garbage) | %s | - |\n", col(func(f figures) float64 { return f.idleCPU }, "%.1f"))
	fmt.Printf("| the same per heartbeat it received (ms) | %s | - |\n", col(func(f figures) float64 { return f.beatCPU }, "%.3f"))
	fmt.Printf("| manager memory allocated per heartbeat then (KB) | %s | - |\n", col(func(f figures) float64 { return f.beatAlloc }, "%.1f"))
	fmt.Printf("| `mkctl get tasks`, median of 5 (ms) | %s | ≤ 150 |\n", col(func(f figures) float64 { return f.getTable }, "%.0f"))
	fmt.Printf("| `mkctl get tasks -o json`, median of 5 (ms) | %s | ≤ 400 |\n", col(func(f figures) float64 { return f.getJSON }, "%.0f"))
	refused := ""
	for _, f := range all {
		if f.applyErr != "" {
			refused = f.applyErr
		}
	}
	switch {
	case c.file == 0:
	case refused != "":
		fmt.Printf("| `mkctl apply -f` of %d documents (creates/s) | %s | ≥ 2,000 |\n", c.file, strings.ReplaceAll(refused, "|", "/")+" | -")
	default:
		fmt.Printf("| `mkctl apply -f` of %d documents (creates/s) | %s | ≥ 2,000 |\n", c.file, col(func(f figures) float64 { return f.applyFile }, "%.0f"))
		fmt.Printf("| `mkctl apply -f` of %d documents, start → all Running (s) | %s | - |\n", c.file, col(func(f figures) float64 { return f.fileRun }, "%.2f"))
		fmt.Printf("| `mkctl apply -f`: mkctl's own CPU per document (ms; shares the cores) | %s | - |\n", col(func(f figures) float64 { return f.fileCPU }, "%.3f"))
	}
	if c.small > 0 {
		fmt.Printf("| %d tasks, apply → all Running (s) | %s | ≤ 0.5 |\n", c.small, col(func(f figures) float64 { return f.small }, "%.2f"))
	}
}

// tlsConfig verifies the cluster's managers with its CA, as mkctl does.
func tlsConfig(caPEM []byte) *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// managerEnvNote says what -manager-env added, for a table's heading.
func managerEnvNote(env []string) string {
	if len(env) == 0 {
		return ""
	}
	return ", the manager's environment with " + strings.Join(env, " ")
}
