package v1_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestDuration_JSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr string
	}{
		{"seconds", `"5s"`, 5 * time.Second, ""},
		{"mixed units", `"1m30s"`, 90 * time.Second, ""},
		{"milliseconds", `"250ms"`, 250 * time.Millisecond, ""},
		{"zero", `"0s"`, 0, ""},
		{"bare number has no unit", `5`, 0, "must be a string"},
		{"not a duration", `"soon"`, 0, `duration "soon"`},
		{"null", `null`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d v1.Duration
			err := json.Unmarshal([]byte(tt.in), &d)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Unmarshal(%s) = %v, want an error containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.in, err)
			}
			if d.Duration != tt.want {
				t.Errorf("Unmarshal(%s) = %s, want %s", tt.in, d.Duration, tt.want)
			}
		})
	}
}

func TestDuration_RoundTripsInReplies(t *testing.T) {
	in := v1.StatusReply{Stop: []string{"u1"}, HeartbeatInterval: v1.Duration{Duration: 5 * time.Second}, Revision: 42}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"heartbeatInterval":"5s"`; !strings.Contains(string(data), want) {
		t.Errorf("StatusReply JSON %s lacks %s", data, want)
	}
	var out v1.StatusReply
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if out.HeartbeatInterval.Duration != 5*time.Second || out.Revision != 42 || len(out.Stop) != 1 {
		t.Errorf("round trip = %+v, want %+v", out, in)
	}
}
