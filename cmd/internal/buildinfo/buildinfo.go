// Package buildinfo says which build a Minkube binary is, for
// minkube version, mkctl version and the manager's /version: the values
// make build sets with -ldflags -X, or else what the Go toolchain records
// in every binary (runtime/debug.ReadBuildInfo): the module version of a
// binary built with go install module@version, and the VCS revision of
// one built in a Git checkout.
package buildinfo

import (
	"runtime"
	"runtime/debug"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Values of the -ldflags -X variables when the build did not set them.
const (
	UnsetVersion = "dev"
	UnsetCommit  = "unknown"
)

// Get returns the build: version and commit as the linker set them
// (UnsetVersion and UnsetCommit when it did not), completed from the
// build information the toolchain recorded.
func Get(version, commit string) v1.VersionInfo {
	info, ok := debug.ReadBuildInfo()
	return from(version, commit, info, ok)
}

func from(version, commit string, info *debug.BuildInfo, ok bool) v1.VersionInfo {
	out := v1.VersionInfo{Version: version, GitCommit: commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if out.Version == "" {
		out.Version = UnsetVersion
	}
	if out.GitCommit == "" {
		out.GitCommit = UnsetCommit
	}
	if !ok || info == nil {
		return out
	}
	if out.GoVersion == "" {
		out.GoVersion = info.GoVersion
	}
	if out.Version == UnsetVersion && info.Main.Version != "" && info.Main.Version != "(devel)" {
		out.Version = info.Main.Version
	}
	if out.GitCommit == UnsetCommit {
		var rev string
		var dirty bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			out.GitCommit = rev
			if dirty {
				out.GitCommit += "-dirty"
			}
		}
	}
	return out
}

// String renders v on one line: "v1.2.3 (commit abc123, go1.26.8, linux/amd64)".
func String(v v1.VersionInfo) string {
	s := v.Version + " (commit " + v.GitCommit + ", " + v.GoVersion
	if v.Platform != "" {
		s += ", " + v.Platform
	}
	return s + ")"
}
