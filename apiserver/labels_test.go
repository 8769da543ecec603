package apiserver

import (
	"maps"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestRegisteredLabels(t *testing.T) {
	type m = map[string]string
	tests := []struct {
		name                string
		current, registered m
		given, want         m
	}{
		{"first registration", nil, nil, m{"disk": "ssd"}, m{"disk": "ssd"}},
		{"same labels again", m{"disk": "ssd"}, m{"disk": "ssd"}, m{"disk": "ssd"}, m{"disk": "ssd"}},
		{"an admin label is kept", m{"disk": "ssd", "gpu": "yes"}, m{"disk": "ssd"}, m{"disk": "ssd"}, m{"disk": "ssd", "gpu": "yes"}},
		{"an admin change is kept", m{"disk": "hdd"}, m{"disk": "ssd"}, m{"disk": "ssd"}, m{"disk": "hdd"}},
		{"an admin removal is kept", m{}, m{"disk": "ssd"}, m{"disk": "ssd"}, nil},
		{"the worker's change wins on its key", m{"disk": "hdd", "gpu": "yes"}, m{"disk": "ssd"}, m{"disk": "nvme"}, m{"disk": "nvme", "gpu": "yes"}},
		{"the worker drops a label", m{"disk": "ssd", "zone": "a"}, m{"disk": "ssd", "zone": "a"}, m{"disk": "ssd"}, m{"disk": "ssd"}},
		{"the worker adds a label", m{"gpu": "yes"}, nil, m{"zone": "b"}, m{"gpu": "yes", "zone": "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wk := &v1.Worker{Metadata: v1.ObjectMeta{Labels: tt.current}, Status: v1.WorkerStatus{RegisteredLabels: tt.registered}}
			if got := registeredLabels(wk, tt.given); !maps.Equal(got, tt.want) {
				t.Errorf("registeredLabels = %v, want %v", got, tt.want)
			}
		})
	}
}
