package v1

// VersionInfo is the build of a Minkube binary: what GET /version serves,
// and what minkube version and mkctl version print.
type VersionInfo struct {
	// Version is the release (v1.2.3), the module version of a binary
	// built with go install, or "dev".
	Version string `json:"version"`
	// GitCommit is the VCS revision the binary was built from, with
	// "-dirty" when the tree had changes; "unknown" when not recorded.
	GitCommit string `json:"gitCommit"`
	// GoVersion is the Go toolchain that built it.
	GoVersion string `json:"goVersion"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform,omitempty"`
}
