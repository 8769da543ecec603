package reconcile

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

var errSpec = errors.New("image reference is invalid")

func TestIsTerminal(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain", errSpec, false},
		{"terminal", TerminalError(errSpec), true},
		{"wrapped terminal", fmt.Errorf("sync task web: %w", TerminalError(errSpec)), true},
		{"terminal of nil", TerminalError(nil), true},
		{"joined", errors.Join(errors.New("other"), TerminalError(errSpec)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsTerminal(tt.err); got != tt.want {
				t.Fatalf("IsTerminal(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestTerminalError_KeepsChain(t *testing.T) {
	err := fmt.Errorf("sync task web: %w", TerminalError(errSpec))
	if !errors.Is(err, errSpec) {
		t.Fatalf("errors.Is(%v, errSpec) = false, want true", err)
	}
	if got, want := err.Error(), "sync task web: terminal error: image reference is invalid"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if got, want := TerminalError(nil).Error(), "terminal error"; got != want {
		t.Fatalf("TerminalError(nil).Error() = %q, want %q", got, want)
	}
}

func TestFunc(t *testing.T) {
	var got Request
	r := Func(func(_ context.Context, req Request) (Result, error) {
		got = req
		return Result{RequeueAfter: time.Second}, errSpec
	})
	res, err := r.Reconcile(t.Context(), Request{Key: "web"})
	if got.Key != "web" || res.RequeueAfter != time.Second || !errors.Is(err, errSpec) {
		t.Fatalf("Reconcile = %v, %v (saw %q); want 1s, errSpec (saw web)", res, err, got.Key)
	}
}

func TestResult_IsZero(t *testing.T) {
	tests := []struct {
		res  Result
		want bool
	}{
		{Result{}, true},
		{Result{RequeueAfter: -time.Second}, true},
		{Result{RequeueAfter: time.Nanosecond}, false},
	}
	for _, tt := range tests {
		t.Run(tt.res.RequeueAfter.String(), func(t *testing.T) {
			if got := tt.res.IsZero(); got != tt.want {
				t.Fatalf("IsZero = %v, want %v", got, tt.want)
			}
		})
	}
}
