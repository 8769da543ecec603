package main

import (
	"os"
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
