package stats

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
)

func TestCPUPercent(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur procfs.CPUStat
		want      float64
	}{
		{
			name: "since boot",
			cur:  procfs.CPUStat{User: 30, System: 10, Idle: 50, Iowait: 10},
			want: 40,
		},
		{
			name: "half busy",
			prev: procfs.CPUStat{User: 100, Idle: 100},
			cur:  procfs.CPUStat{User: 150, Idle: 150},
			want: 50,
		},
		{
			name: "every busy kind counts",
			prev: procfs.CPUStat{},
			cur:  procfs.CPUStat{User: 1, Nice: 1, System: 1, IRQ: 1, SoftIRQ: 1, Steal: 1, Idle: 2, Iowait: 2},
			want: 60,
		},
		{
			name: "guest is inside user, not counted twice",
			prev: procfs.CPUStat{},
			cur:  procfs.CPUStat{User: 50, Guest: 50, Nice: 10, GuestNice: 10, Idle: 40},
			want: 60,
		},
		{
			name: "all idle",
			prev: procfs.CPUStat{User: 10, Idle: 10},
			cur:  procfs.CPUStat{User: 10, Idle: 20},
			want: 0,
		},
		{
			name: "all busy",
			prev: procfs.CPUStat{User: 10, Idle: 10},
			cur:  procfs.CPUStat{User: 20, Idle: 10},
			want: 100,
		},
		{
			name: "no time passed",
			prev: procfs.CPUStat{User: 10, Idle: 10},
			cur:  procfs.CPUStat{User: 10, Idle: 10},
			want: 0,
		},
		{
			name: "counters went backwards",
			prev: procfs.CPUStat{User: 20, Idle: 20},
			cur:  procfs.CPUStat{User: 10, Idle: 10},
			want: 0,
		},
		{
			name: "iowait went backwards",
			prev: procfs.CPUStat{User: 10, Idle: 10, Iowait: 5},
			cur:  procfs.CPUStat{User: 10, Idle: 12, Iowait: 4},
			want: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CPUPercent(tt.prev, tt.cur); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("CPUPercent = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{-5, "0"},
		{0, "0"},
		{512, "512"},
		{1500, "1500"},
		{1024, "1Ki"},
		{256 << 20, "256Mi"},
		{24 << 30, "24Gi"},
		{24<<30 + 100<<20, "24Gi"},    // 0.4% lost
		{15<<30 + 300<<20, "15660Mi"}, // 2% would be lost at Gi
		{80 << 40, "80Ti"},
		{3 << 60, "3Ei"},
		{math.MaxInt64, "8191Pi"}, // 12.5% would be lost at Ei
	}
	for _, tt := range tests {
		t.Run(strconv.FormatInt(tt.n, 10), func(t *testing.T) {
			if got := formatBytes(tt.n); got != tt.want {
				t.Errorf("formatBytes(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}

// parseBytes reads what formatBytes writes.
func parseBytes(t *testing.T, q string) int64 {
	t.Helper()
	m := regexp.MustCompile(`^([0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei)?$`).FindStringSubmatch(q)
	if m == nil {
		t.Fatalf("%q is not a binary quantity", q)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	shift := map[string]uint{"": 0, "Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}[m[2]]
	return n << shift
}

// mustFakeProc writes a /proc with the given stat cpu line, memory (kB) and
// load into a temporary directory.
func mustFakeProc(t *testing.T, dir, cpuLine string, memTotalKB, memAvailKB int, load string) procfs.FS {
	t.Helper()
	files := map[string]string{
		"stat":    cpuLine + "\ncpu0 " + strings.TrimPrefix(cpuLine, "cpu ") + "\nbtime 1700000000\n",
		"meminfo": fmt.Sprintf("MemTotal: %d kB\nMemFree: 1 kB\nMemAvailable: %d kB\n", memTotalKB, memAvailKB),
		"loadavg": load + " 0.50 0.25 1/100 4242\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := procfs.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestSampler_FakeProc(t *testing.T) {
	dir := t.TempDir()
	// /proc/stat counts USER_HZ ticks (100 a second).
	fs := mustFakeProc(t, dir, "cpu  1000 0 1000 2000 0 0 0 0 0 0", 8<<20, 6<<20, "1.25")
	s, err := newSampler(fs, dir)
	if err != nil {
		t.Fatalf("newSampler: %v", err)
	}

	got, err := s.Sample()
	if err != nil {
		t.Fatalf("first Sample: %v", err)
	}
	if got.CPUPercent != 50 || got.MemoryTotal != 8<<30 || got.MemoryAvailable != 6<<30 || got.Load1 != 1.25 || got.CPUs != goruntime.NumCPU() {
		t.Errorf("first Sample = %+v, want 50%% CPU since boot, 8Gi memory with 6Gi available, load 1.25, %d CPUs", got, goruntime.NumCPU())
	}

	// 400 more ticks, 100 of them busy.
	mustFakeProc(t, dir, "cpu  1100 0 1000 2300 0 0 0 0 0 0", 8<<20, 5<<20, "2")
	got, err = s.Sample()
	if err != nil {
		t.Fatalf("second Sample: %v", err)
	}
	if got.CPUPercent != 25 || got.MemoryAvailable != 5<<30 || got.Load1 != 2 {
		t.Errorf("second Sample = %+v, want 25%% CPU over the interval, 5Gi available, load 2", got)
	}

	capacity, err := s.Capacity()
	if err != nil {
		t.Fatalf("Capacity: %v", err)
	}
	if capacity["memory"] != "8Gi" || capacity["cpu"] != strconv.Itoa(goruntime.NumCPU()) {
		t.Errorf("Capacity = %v, want memory 8Gi and cpu %d", capacity, goruntime.NumCPU())
	}
}

func TestSampler_BrokenProc(t *testing.T) {
	tests := []struct {
		name    string
		remove  string
		wantErr string
	}{
		{"no stat", "stat", "read /proc/stat"},
		{"no meminfo", "meminfo", "read /proc/meminfo"},
		{"no loadavg", "loadavg", "read /proc/loadavg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			fs := mustFakeProc(t, dir, "cpu  1 0 1 2 0 0 0 0 0 0", 1024, 512, "0.1")
			s, err := newSampler(fs, dir)
			if err != nil {
				t.Fatalf("newSampler: %v", err)
			}
			if err := os.Remove(filepath.Join(dir, tt.remove)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Sample(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Sample = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewSampler_MissingDiskPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope")
	_, err := NewSampler(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("NewSampler(%s) = %v, want an error naming the path", path, err)
	}
}

func TestSampler_RealProc(t *testing.T) {
	dir := t.TempDir()
	s, err := NewSampler(dir)
	if err != nil {
		t.Fatalf("NewSampler: %v", err)
	}
	for i := range 2 {
		got, err := s.Sample()
		if err != nil {
			t.Fatalf("Sample %d: %v", i, err)
		}
		if got.CPUPercent < 0 || got.CPUPercent > 100 {
			t.Errorf("Sample %d: CPUPercent = %v, want 0..100", i, got.CPUPercent)
		}
		if got.MemoryTotal <= 0 || got.MemoryAvailable <= 0 || got.MemoryAvailable > got.MemoryTotal {
			t.Errorf("Sample %d: memory available %d of total %d, want 0 < available <= total", i, got.MemoryAvailable, got.MemoryTotal)
		}
		if got.DiskTotal <= 0 || got.DiskFree < 0 || got.DiskFree > got.DiskTotal {
			t.Errorf("Sample %d: disk free %d of total %d, want 0 <= free <= total > 0", i, got.DiskFree, got.DiskTotal)
		}
		if got.Load1 < 0 || got.CPUs != goruntime.NumCPU() {
			t.Errorf("Sample %d: load1 %v, CPUs %d; want load >= 0 and %d CPUs", i, got.Load1, got.CPUs, goruntime.NumCPU())
		}
	}

	capacity, err := s.Capacity()
	if err != nil {
		t.Fatalf("Capacity: %v", err)
	}
	sample, err := s.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if capacity["cpu"] != strconv.Itoa(goruntime.NumCPU()) {
		t.Errorf("capacity cpu = %q, want %d", capacity["cpu"], goruntime.NumCPU())
	}
	for name, total := range map[string]int64{"memory": sample.MemoryTotal, "disk": sample.DiskTotal} {
		got := parseBytes(t, capacity[name])
		if got > total || got < total-total/100 {
			t.Errorf("capacity %s = %s (%d bytes), want within 1%% below %d", name, capacity[name], got, total)
		}
	}
}

func TestSampler_ReserveDisk(t *testing.T) {
	s, err := NewSampler(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	before, err := s.Sample()
	if err != nil {
		t.Fatal(err)
	}
	const reserve = 1 << 30
	s.ReserveDisk(reserve)
	after, err := s.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if after.DiskTotal != before.DiskTotal-reserve {
		t.Errorf("DiskTotal %d after reserving 1Gi of %d", after.DiskTotal, before.DiskTotal)
	}
	// Free disk moves with other writers on the machine; allow 64 MiB.
	if d := before.DiskFree - reserve - after.DiskFree; d < -(64<<20) || d > 64<<20 {
		t.Errorf("DiskFree %d after reserving 1Gi of %d", after.DiskFree, before.DiskFree)
	}
	s.ReserveDisk(before.DiskTotal * 2)
	if st, _ := s.Sample(); st.DiskFree != 0 || st.DiskTotal != 0 {
		t.Errorf("reserving more than the disk: free %d total %d, want 0 and 0", st.DiskFree, st.DiskTotal)
	}
}
