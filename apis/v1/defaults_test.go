package v1

import (
	"reflect"
	"testing"
)

func TestSetTaskDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   TaskSpec
		want TaskSpec
	}{
		{"empty", TaskSpec{}, TaskSpec{RestartPolicy: RestartAlways}},
		{"ports and health check", TaskSpec{
			Ports:       []Port{{ContainerPort: 80}, {ContainerPort: 53, Protocol: ProtocolUDP}},
			HealthCheck: &HealthCheck{TCP: &TCPCheck{Port: "80"}},
		}, TaskSpec{
			RestartPolicy: RestartAlways,
			Ports:         []Port{{ContainerPort: 80, Protocol: ProtocolTCP}, {ContainerPort: 53, Protocol: ProtocolUDP}},
			HealthCheck:   &HealthCheck{TCP: &TCPCheck{Port: "80"}, PeriodSeconds: 10, TimeoutSeconds: 2, FailureThreshold: 3},
		}},
		{"given values stay", TaskSpec{
			RestartPolicy: RestartNever,
			HealthCheck:   &HealthCheck{PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: 1},
		}, TaskSpec{
			RestartPolicy: RestartNever,
			HealthCheck:   &HealthCheck{PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := &Task{Metadata: ObjectMeta{Name: "n"}, Spec: tt.in, Status: TaskStatus{Phase: PhaseRunning}}
			SetTaskDefaults(task)
			if !reflect.DeepEqual(task.Spec, tt.want) {
				t.Errorf("spec = %+v, want %+v", task.Spec, tt.want)
			}
			if task.Metadata.Name != "n" || task.Status.Phase != PhaseRunning || task.APIVersion != "" {
				t.Errorf("SetTaskDefaults changed more than the spec: %+v", task)
			}
			again := task.DeepCopy()
			SetTaskDefaults(again)
			if !reflect.DeepEqual(again, task) {
				t.Error("SetTaskDefaults is not idempotent")
			}
		})
	}
	SetTaskDefaults(nil) // must not panic
}
