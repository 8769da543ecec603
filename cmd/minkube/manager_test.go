package main

import (
	"strings"
	"testing"
	"time"
)

func TestCheckFailureDetection(t *testing.T) {
	tests := []struct {
		name                     string
		timeout, rescheduleAfter time.Duration
		want                     string // "" when accepted; else in the message
	}{
		{"defaults", 15 * time.Second, 30 * time.Second, ""},
		{"fast", 3 * time.Second, 6 * time.Second, ""},
		{"move as soon as NotReady", 3 * time.Second, 3 * time.Second, ""},
		{"shortest timeout", time.Second, time.Second, ""},
		{"timeout too short", 900 * time.Millisecond, 10 * time.Second, "--worker-timeout 900ms: must be at least 1s: workers heartbeat every third of it (300ms)"},
		{"no timeout", 0, 10 * time.Second, "--worker-timeout 0s: must be at least 1s"},
		{"reschedule before NotReady", 15 * time.Second, 10 * time.Second, "--reschedule-after 10s: must not be shorter than --worker-timeout 15s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkFailureDetection(tt.timeout, tt.rescheduleAfter)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestNewManager_RefusesBadFailureDetection: the check runs before
// anything is created or bound.
func TestNewManager_RefusesBadFailureDetection(t *testing.T) {
	dir := t.TempDir()
	_, err := newManager(t.Context(), managerConfig{listen: "127.0.0.1:0", dataDir: dir + "/data", workerTimeout: 500 * time.Millisecond, rescheduleAft: 30 * time.Second}, nil)
	if err == nil || !strings.Contains(err.Error(), "--worker-timeout 500ms") {
		t.Fatalf("newManager = %v, want the --worker-timeout error", err)
	}
}
