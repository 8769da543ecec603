package main

import (
	"os"
	"testing"
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
