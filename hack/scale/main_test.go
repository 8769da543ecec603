package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A cluster that fails to start leaves nothing behind: here the manager's
// binary is missing, and the cluster's temporary directory must be gone.
func TestStartClusterFailureRemovesItsDirectory(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	if _, err := startCluster(config{bin: t.TempDir(), workers: 1, logLevel: "warn"}, "t"); err == nil {
		t.Fatal("startCluster with no minkube binary: no error")
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		t.Errorf("left behind: %s", e.Name())
	}
}

// since divides what the manager spent in a span by the span's seconds
// and by the heartbeats it received, and says 0 per heartbeat when none
// came rather than dividing by zero.
func TestIdleSampleSince(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s0 := idleSample{at: t0, cpu: 2 * time.Second, allocated: 1 << 20, heartbeats: 100}
	for _, tc := range []struct {
		name              string
		s                 idleSample
		perSecond, perCPU float64 // ms
		perAlloc          float64 // KB
	}{
		{"beats", idleSample{at: t0.Add(10 * time.Second), cpu: 2*time.Second + 300*time.Millisecond, allocated: 1<<20 + 200*1024*30, heartbeats: 300}, 30, 1.5, 30},
		{"no beats", idleSample{at: t0.Add(4 * time.Second), cpu: 2*time.Second + 20*time.Millisecond, allocated: 1<<20 + 4096, heartbeats: 100}, 5, 0, 0},
	} {
		perSecond, perCPU, perAlloc := tc.s.since(s0)
		if perSecond != tc.perSecond || perCPU != tc.perCPU || perAlloc != tc.perAlloc {
			t.Errorf("%s: got %v ms/s, %v ms and %v KB a heartbeat; want %v, %v and %v",
				tc.name, perSecond, perCPU, perAlloc, tc.perSecond, tc.perCPU, tc.perAlloc)
		}
	}
}

// The growth table divides the larger size's median by the smaller's, and
// gives the CPU ratio of each run's pair; the memory per task is the live
// heap's growth per task, not the resident memory per task, which the
// fixed part of the manager makes fall as the tasks grow.
func TestPrintGrowth(t *testing.T) {
	env := []string{"GOMEMLIMIT=56MiB"}
	small, big := config{tasks: 10, workers: 1, managerEnv: env}, config{tasks: 100, workers: 10, managerEnv: env}
	at := func(cpu, heap, peak float64) sized {
		return sized{applyFigures: applyFigures{rate: 1000, cpuPerTask: cpu}, heapPerTask: heap, peakPerTask: peak}
	}
	all := [][]sized{
		{at(0.4, 2, 102.4), at(0.6, 4, 102.4), at(0.5, 3, 102.4)},
		{at(0.8, 3, 51.2), at(0.6, 3, 51.2), at(0.7, 3, 51.2)},
	}
	var out strings.Builder
	printGrowth(&out, []config{small, big}, all)
	for _, want := range []string{
		"growth: 10 tasks on 1 hollow workers against 100 on 10, 3 run(s) of both, the manager's environment with GOMEMLIMIT=56MiB; runs listed",
		"| manager CPU per task, create → Running (ms) | 0.400, 0.600, 0.500; median 0.500 | 0.800, 0.600, 0.700; median 0.700 | 1.40 | ≤ 1.5 |",
		"| manager live heap per task: its growth over the apply, after a collection (KB) | 2.0, 4.0, 3.0; median 3.0 | 3.0, 3.0, 3.0; median 3.0 | 1.00 | ≤ 1.5 |",
		"| manager peak RSS per task (KB; its fixed part spread over the tasks) | 102.4, 102.4, 102.4; median 102.4 | 51.2, 51.2, 51.2; median 51.2 | 0.50 | - |",
		"manager CPU per task, 100 tasks over 10, run by run: 2.00, 1.00, 1.40",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
}

// -manager-env takes NAME=VALUE, the value possibly empty or holding
// "=", and refuses anything else by its text.
func TestEnvEntry(t *testing.T) {
	for _, ok := range []string{"GOMEMLIMIT=56MiB", "GODEBUG=gctrace=1", "GOGC="} {
		if got, err := envEntry(ok); err != nil || got != ok {
			t.Errorf("envEntry(%q) = %q, %v; want it as it is", ok, got, err)
		}
	}
	for _, bad := range []string{"GOGC", "=50", "GO GC=50", ""} {
		if _, err := envEntry(bad); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("envEntry(%q): err %v, want one quoting it", bad, err)
		}
	}
}

// -growth refuses a factor that compares nothing and the flags of the
// default measurement, which it would ignore, by name.
func TestCheckGrowth(t *testing.T) {
	for _, tc := range []struct {
		growth int
		set    []string
		want   string // in the error; "" for none
	}{
		{0, []string{"profile", "lists"}, ""},
		{10, []string{"runs", "tasks", "workers", "logs"}, ""},
		{1, nil, "-growth 1"},
		{-2, nil, "-growth -2"},
		{10, []string{"runs", "profile"}, "-profile is not taken"},
		{10, []string{"small"}, "-small is not taken"},
	} {
		set := map[string]bool{}
		for _, n := range tc.set {
			set[n] = true
		}
		err := checkGrowth(tc.growth, set)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("-growth %d with %v: %v", tc.growth, tc.set, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("-growth %d with %v: got %v, want an error naming %q", tc.growth, tc.set, err, tc.want)
		}
	}
}

// The sampler keeps the reading with the highest RSS and splits it: here
// this process reads its memory, maps and reads an 8 MB file as the
// store and fills 64 MB of its heap, reads it again, then lets both go
// and reads it a third time. The test takes the readings itself, one at
// a time, so that none falls while the file is being unmapped (a reading
// of the status before the munmap and of the mappings after it counts
// the file's pages as another file's) and a busy machine cannot delay
// one past the moment.
func TestPeakSampler(t *testing.T) {
	storePath := filepath.Join(t.TempDir(), "minkube.db")
	if err := os.WriteFile(storePath, bytes.Repeat([]byte{1}, 8<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := memory(os.Getpid(), storePath)
	if err != nil {
		t.Fatal(err)
	}
	s := peakSampler{pid: os.Getpid(), storePath: storePath}
	s.sample()
	firstAt := s.topAt

	f, err := os.Open(storePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mapped, err := syscall.Mmap(int(f.Fd()), 0, 8<<20, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for i := 0; i < len(mapped); i += os.Getpagesize() {
		sum += int(mapped[i])
	}
	heap := bytes.Repeat([]byte{1}, 64<<20)
	sampled := time.Now()
	s.sample()
	highestAt := s.topAt
	if err := syscall.Munmap(mapped); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(heap)
	heap = nil
	runtime.GC()
	debug.FreeOSMemory()
	s.sample()
	top := s.top

	if firstAt.IsZero() || !highestAt.After(sampled) || s.topAt != highestAt {
		t.Errorf("the highest reading's time: %v (first reading %v, the highest taken after %v), want the second reading's", s.topAt, firstAt, sampled)
	}
	if sum != 8<<20/os.Getpagesize() {
		t.Fatalf("read %d pages of the store file", sum)
	}
	if top.store < 7 {
		t.Errorf("the store file at the highest sample: %.1f MB resident, want the 8 MB mapped then", top.store)
	}
	if top.anon < before.anon+48 {
		t.Errorf("anonymous at the highest sample: %.1f MB, before %.1f MB; want the 64 MB filled then", top.anon, before.anon)
	}
	if top.rss < top.anon+top.store || top.files <= 0 {
		t.Errorf("the highest sample does not add up: %+v", top)
	}
	after, err := memory(os.Getpid(), storePath)
	if err != nil {
		t.Fatal(err)
	}
	if after.store != 0 || after.rss >= top.rss {
		t.Errorf("after the unmap and the collection: %+v; the highest sample %+v should be above it", after, top)
	}
}
