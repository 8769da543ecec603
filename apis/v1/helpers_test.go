package v1

import (
	"errors"
	"strings"
	"testing"
)

func TestTaskSpecHash(t *testing.T) {
	base := validTask().Spec
	h := base.Hash()
	if len(h) != 16 || strings.Trim(h, "0123456789abcdef") != "" {
		t.Fatalf("Hash() = %q, want 16 hex digits", h)
	}

	undefaulted := base.DeepCopy()
	undefaulted.RestartPolicy = ""
	undefaulted.Ports[0].Protocol = ""
	reordered := base.DeepCopy()
	reordered.NodeSelector = map[string]string{"disk": "ssd"}
	emptyVsNil := base.DeepCopy()
	emptyVsNil.Command = []string{}

	changedImage := base.DeepCopy()
	changedImage.Image = "nginx:1.28"
	changedEnvOrder := base.DeepCopy()
	changedEnvOrder.Env[0], changedEnvOrder.Env[1] = changedEnvOrder.Env[1], changedEnvOrder.Env[0]
	changedPeriod := base.DeepCopy()
	changedPeriod.HealthCheck.PeriodSeconds = 30

	tests := []struct {
		name string
		spec *TaskSpec
		same bool
	}{
		{"defaults left out", undefaulted, true},
		{"map built again", reordered, true},
		{"empty list", emptyVsNil, true},
		{"image", changedImage, false},
		{"env order", changedEnvOrder, false},
		{"health check period", changedPeriod, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.spec.Hash(); (got == h) != tt.same {
				t.Errorf("Hash() = %s, base %s; want same=%v", got, h, tt.same)
			}
		})
	}
	if undefaulted.RestartPolicy != "" || undefaulted.Ports[0].Protocol != "" {
		t.Error("Hash changed its receiver")
	}
	if (*TaskSpec)(nil).Hash() != (&TaskSpec{}).Hash() {
		t.Error("nil spec does not hash as an empty one")
	}
}

func TestResources(t *testing.T) {
	tests := []struct {
		r                   Resources
		milli, memory, disk int64
	}{
		{Resources{CPU: "500m", Memory: "256Mi", Disk: "1Gi"}, 500, 256 << 20, 1 << 30},
		{Resources{CPU: "2", Memory: "1G", Disk: "1.5Gi"}, 2000, 1e9, 3 << 29},
		{Resources{CPU: "0.1", Memory: "100m"}, 100, 1, 0},
		{Resources{}, 0, 0, 0},
		{Resources{CPU: "lots", Memory: "-1Gi", Disk: "1GB"}, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.r.CPU+"/"+tt.r.Memory+"/"+tt.r.Disk, func(t *testing.T) {
			if got := tt.r.MilliCPU(); got != tt.milli {
				t.Errorf("MilliCPU() = %d, want %d", got, tt.milli)
			}
			if got := tt.r.MemoryBytes(); got != tt.memory {
				t.Errorf("MemoryBytes() = %d, want %d", got, tt.memory)
			}
			if got := tt.r.DiskBytes(); got != tt.disk {
				t.Errorf("DiskBytes() = %d, want %d", got, tt.disk)
			}
		})
	}
}

func TestFormatQuantity(t *testing.T) {
	tests := map[int64]string{
		0:         "0",
		1024:      "1Ki",
		24 << 30:  "24Gi",
		256 << 20: "256Mi",
		1536:      "1536",
		80 << 30:  "80Gi",
		3 << 40:   "3Ti",
	}
	for in, want := range tests {
		if got := FormatQuantity(in); got != want {
			t.Errorf("FormatQuantity(%d) = %q, want %q", in, got, want)
		}
		if back, err := ParseQuantity(want); err != nil || back != in {
			t.Errorf("ParseQuantity(%q) = %d, %v; want %d", want, back, err, in)
		}
	}
}

func TestParseQuantity(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"24Gi", 24 << 30, ""},
		{"1G", 1e9, ""},
		{"500m", 1, ""},
		{"1500", 1500, ""},
		{"", 0, `parse quantity ""`},
		{"lots", 0, `parse quantity "lots"`},
		{"-1Gi", 0, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseQuantity(tt.in)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("ParseQuantity(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseQuantity(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
		})
	}
	if _, err := ParseQuantity("-5"); !errors.Is(err, ErrNegativeQuantity) {
		t.Errorf("negative: %v is not ErrNegativeQuantity", err)
	}
}
