package runtime

import "testing"

func TestEvent_ExitCode(t *testing.T) {
	tests := []struct {
		name     string
		labels   map[string]string
		wantCode int
		wantOK   bool
	}{
		{name: "die with code", labels: map[string]string{"exitCode": "137", "app": "web"}, wantCode: 137, wantOK: true},
		{name: "zero", labels: map[string]string{"exitCode": "0"}, wantCode: 0, wantOK: true},
		{name: "absent", labels: map[string]string{"app": "web"}},
		{name: "nil labels"},
		{name: "not a number", labels: map[string]string{"exitCode": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, ok := Event{Action: ActionDie, Labels: tt.labels}.ExitCode()
			if code != tt.wantCode || ok != tt.wantOK {
				t.Errorf("ExitCode() = %d, %v; want %d, %v", code, ok, tt.wantCode, tt.wantOK)
			}
		})
	}
}
