package docker

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/minkube/minkube/workerd/runtime"
)

func TestPortConfig(t *testing.T) {
	tests := []struct {
		name         string
		ports        []runtime.PortBinding
		wantExposed  []nat.Port
		wantBindings nat.PortMap
		wantErr      string
	}{
		{name: "none"},
		{
			name:         "engine picks the host port",
			ports:        []runtime.PortBinding{{ContainerPort: 8080, HostIP: "127.0.0.1"}},
			wantExposed:  []nat.Port{"8080/tcp"},
			wantBindings: nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: ""}}},
		},
		{
			name: "fixed host port, udp, upper case",
			ports: []runtime.PortBinding{
				{ContainerPort: 53, HostPort: 5353, Protocol: "UDP"},
				{ContainerPort: 53, HostPort: 5354, Protocol: "udp", HostIP: "127.0.0.1"},
			},
			wantExposed:  []nat.Port{"53/udp"},
			wantBindings: nat.PortMap{"53/udp": {{HostPort: "5353"}, {HostIP: "127.0.0.1", HostPort: "5354"}}},
		},
		{name: "container port zero", ports: []runtime.PortBinding{{}}, wantErr: "ports[0]: container port 0"},
		{name: "container port too big", ports: []runtime.PortBinding{{ContainerPort: 65536}}, wantErr: "container port 65536"},
		{name: "negative host port", ports: []runtime.PortBinding{{ContainerPort: 80, HostPort: -1}}, wantErr: "host port -1"},
		{name: "bad protocol", ports: []runtime.PortBinding{{ContainerPort: 80}, {ContainerPort: 80, Protocol: "icmp"}}, wantErr: `ports[1]: protocol "icmp"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exposed, bindings, err := portConfig(tt.ports)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("portConfig error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("portConfig: %v", err)
			}
			var gotExposed []nat.Port
			for p := range exposed {
				gotExposed = append(gotExposed, p)
			}
			slices.Sort(gotExposed)
			if !slices.Equal(gotExposed, tt.wantExposed) {
				t.Errorf("exposed = %v, want %v", gotExposed, tt.wantExposed)
			}
			if len(bindings) != len(tt.wantBindings) {
				t.Fatalf("bindings = %v, want %v", bindings, tt.wantBindings)
			}
			for p, want := range tt.wantBindings {
				if !slices.Equal(bindings[p], want) {
					t.Errorf("bindings[%s] = %v, want %v", p, bindings[p], want)
				}
			}
		})
	}
}

func TestPortsFromMap(t *testing.T) {
	tests := []struct {
		name string
		m    nat.PortMap
		want []runtime.PortBinding
	}{
		{name: "empty"},
		{name: "exposed, not published", m: nat.PortMap{"80/tcp": nil}},
		{
			name: "IPv6 twin dropped, sorted",
			m: nat.PortMap{
				"9090/udp": {{HostIP: "127.0.0.1", HostPort: "40001"}},
				"8080/tcp": {{HostIP: "0.0.0.0", HostPort: "40000"}, {HostIP: "::", HostPort: "40000"}},
			},
			want: []runtime.PortBinding{
				{ContainerPort: 8080, HostPort: 40000, Protocol: "tcp", HostIP: "0.0.0.0"},
				{ContainerPort: 9090, HostPort: 40001, Protocol: "udp", HostIP: "127.0.0.1"},
			},
		},
		{
			name: "IPv6 only kept",
			m:    nat.PortMap{"8080/tcp": {{HostIP: "::", HostPort: "40000"}}},
			want: []runtime.PortBinding{{ContainerPort: 8080, HostPort: 40000, Protocol: "tcp", HostIP: "::"}},
		},
		{
			name: "requested, not yet chosen",
			m:    nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1"}}},
			want: []runtime.PortBinding{{ContainerPort: 8080, Protocol: "tcp", HostIP: "127.0.0.1"}},
		},
		{name: "garbage host port skipped", m: nat.PortMap{"8080/tcp": {{HostPort: "x"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := portsFromMap(tt.m); !slices.Equal(got, tt.want) {
				t.Errorf("portsFromMap = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-01-02T03:04:05.123456789Z", time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)},
		{"0001-01-01T00:00:00Z", time.Time{}},
		{"", time.Time{}},
		{"yesterday", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := parseTime(tt.in); !got.Equal(tt.want) || got.IsZero() != tt.want.IsZero() {
				t.Errorf("parseTime(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestFromInspect_Partial(t *testing.T) {
	// An answer with parts missing must not panic.
	if c := fromInspect(container.InspectResponse{}); c.ID != "" || len(c.Ports) != 0 {
		t.Errorf("fromInspect(empty) = %+v, want the zero Container", c)
	}
	c := fromInspect(container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID:         "abc",
			Name:       "/web",
			Image:      "sha256:123",
			HostConfig: &container.HostConfig{PortBindings: nat.PortMap{"80/tcp": {{HostIP: "127.0.0.1"}}}},
		},
	})
	want := runtime.Container{
		ID: "abc", Name: "web", Image: "sha256:123",
		Ports: []runtime.PortBinding{{ContainerPort: 80, Protocol: "tcp", HostIP: "127.0.0.1"}},
	}
	if c.ID != want.ID || c.Name != want.Name || c.Image != want.Image || !slices.Equal(c.Ports, want.Ports) {
		t.Errorf("fromInspect = %+v, want %+v", c, want)
	}
}

func TestCappedBuffer(t *testing.T) {
	b := &cappedBuffer{max: 5}
	for _, s := range []string{"abc", "defg", "hij"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
		}
	}
	if got := b.String(); got != "abcde" {
		t.Errorf("kept %q, want %q", got, "abcde")
	}
}

func TestFromInspect_FinishBeforeStart(t *testing.T) {
	const started, finished = "2026-01-01T00:00:00.002Z", "2026-01-01T00:00:00.001Z"
	tests := []struct {
		name    string
		running bool
		want    string
	}{
		{"exited at once: finish moved to start", false, started},
		{"running again: last finish kept", true, finished},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fromInspect(container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{
				State: &container.State{Running: tt.running, StartedAt: started, FinishedAt: finished},
			}})
			if want := parseTime(tt.want); !c.State.FinishedAt.Equal(want) {
				t.Errorf("FinishedAt = %v, want %v", c.State.FinishedAt, want)
			}
		})
	}
}
