package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFrom(t *testing.T) {
	installed := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "false"}}}
	checkout := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name            string
		version, commit string
		info            *debug.BuildInfo
		wantVersion     string
		wantCommit      string
	}{
		{"make build sets both", "v1.2.3", "abc1234", checkout, "v1.2.3", "abc1234"},
		{"go install module@version", UnsetVersion, UnsetCommit, installed, "v1.4.0", "0123456789ab"},
		{"go build in a dirty checkout", UnsetVersion, UnsetCommit, checkout, "dev", "0123456789ab-dirty"},
		{"no build info", "", "", nil, "dev", "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := from(tt.version, tt.commit, tt.info, tt.info != nil)
			if got.Version != tt.wantVersion || got.GitCommit != tt.wantCommit || got.GoVersion == "" || got.Platform == "" {
				t.Errorf("from = %+v, want version %q commit %q", got, tt.wantVersion, tt.wantCommit)
			}
		})
	}
}
