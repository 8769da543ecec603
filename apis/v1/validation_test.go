package v1

import (
	"strings"
	"testing"
)

// validTask returns a Task that passes ValidateTask and sets most of the
// fields validation looks at.
func validTask() *Task {
	return &Task{
		TypeMeta: TypeMeta{APIVersion: APIVersion, Kind: KindTask},
		Metadata: ObjectMeta{
			Name:        "web",
			Labels:      map[string]string{"app": "web", "example.com/tier": "front"},
			Annotations: map[string]string{AnnotationSource: "web.yaml"},
		},
		Spec: TaskSpec{
			Image: "nginx:1.27",
			Env:   []EnvVar{{Name: "MODE", Value: "prod"}, {Name: "my.env-name"}},
			Ports: []Port{
				{Name: "http", ContainerPort: 8080, HostPort: 18080, Protocol: ProtocolTCP},
				{Name: "dns", ContainerPort: 53, Protocol: ProtocolUDP},
				{ContainerPort: 53, Protocol: ProtocolTCP},
			},
			Resources:     Resources{CPU: "500m", Memory: "256Mi", Disk: "1Gi"},
			RestartPolicy: RestartAlways,
			HealthCheck:   &HealthCheck{HTTP: &HTTPCheck{Path: "/healthz", Port: "http"}},
			NodeSelector:  map[string]string{"disk": "ssd"},
		},
	}
}

// wantErrors checks that got holds exactly the fields of want, in order,
// each message containing its fragment.
func wantErrors(t *testing.T, got FieldErrors, want ...FieldError) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(got), len(want), strings.ReplaceAll(got.Error(), "; ", "\n"))
	}
	for i := range want {
		if got[i].Field != want[i].Field || !strings.Contains(got[i].Message, want[i].Message) {
			t.Errorf("error %d = %q, want field %q with message containing %q", i, got[i].Error(), want[i].Field, want[i].Message)
		}
	}
}

func TestValidateTask(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Task)
		want   []FieldError
	}{
		{"valid", func(*Task) {}, nil},
		{"valid minimal", func(t *Task) {
			*t = Task{TypeMeta: t.TypeMeta, Metadata: ObjectMeta{Name: "a"}, Spec: TaskSpec{Image: "a"}}
		}, nil},
		{"system metadata is no error", func(t *Task) {
			t.Metadata.UID, t.Metadata.ResourceVersion, t.Metadata.Generation = "u", "x", -3
		}, nil},
		{"missing apiVersion and kind", func(t *Task) { t.TypeMeta = TypeMeta{} },
			[]FieldError{{"apiVersion", "required"}, {"kind", "required"}}},
		{"wrong apiVersion", func(t *Task) { t.APIVersion = "apps/v1" },
			[]FieldError{{"apiVersion", `must be minkube.io/v1, got "apps/v1"`}}},
		{"wrong kind", func(t *Task) { t.Kind = "Pod" }, []FieldError{{"kind", `must be Task, got "Pod"`}}},
		{"missing name", func(t *Task) { t.Metadata.Name = "" }, []FieldError{{"metadata.name", "required"}}},
		{"bad name", func(t *Task) { t.Metadata.Name = "Web_1" },
			[]FieldError{{"metadata.name", `"Web_1" is not a valid name: a lowercase RFC 1123 label must consist of`}}},
		{"name with dots", func(t *Task) { t.Metadata.Name = "a.b" }, []FieldError{{"metadata.name", "must not contain dots"}}},
		{"long name", func(t *Task) { t.Metadata.Name = strings.Repeat("a", 64) },
			[]FieldError{{"metadata.name", "must be no more than 63"}}},
		{"name of 63", func(t *Task) { t.Metadata.Name = strings.Repeat("a", 63) }, nil},
		{"bad labels", func(t *Task) {
			t.Metadata.Labels = map[string]string{"b": "not valid!", "a b": "x", "ok": ""}
		}, []FieldError{{"metadata.labels[a b]", `"a b" is not a valid label key`}, {"metadata.labels[b]", `"not valid!" is not a valid label value`}}},
		{"bad annotation key", func(t *Task) { t.Metadata.Annotations = map[string]string{"/x": "anything goes"} },
			[]FieldError{{"metadata.annotations[/x]", "is not a valid annotation key"}}},
		{"annotations too large", func(t *Task) {
			t.Metadata.Annotations = map[string]string{"a": strings.Repeat("x", MaxAnnotationsSize)}
		},
			[]FieldError{{"metadata.annotations", "must hold at most"}}},
		{"missing image", func(t *Task) { t.Spec.Image = "" }, []FieldError{{"spec.image", "required"}}},
		{"uppercase image", func(t *Task) { t.Spec.Image = "Nginx" },
			[]FieldError{{"spec.image", `"Nginx" is not a valid image reference: the repository name must be lowercase`}}},
		{"image with space", func(t *Task) { t.Spec.Image = "nginx 1.27" }, []FieldError{{"spec.image", "must not contain spaces"}}},
		{"bad env name", func(t *Task) { t.Spec.Env = append(t.Spec.Env, EnvVar{Name: "A=B"}, EnvVar{}) },
			[]FieldError{{"spec.env[2].name", `"A=B" is not a valid environment variable name`}, {"spec.env[3].name", "required"}}},
		{"duplicate env names are allowed", func(t *Task) { t.Spec.Env = append(t.Spec.Env, t.Spec.Env[0]) }, nil},
		{"ports out of range", func(t *Task) {
			t.Spec.HealthCheck = nil
			t.Spec.Ports = []Port{{ContainerPort: 0}, {ContainerPort: 70000}, {ContainerPort: 1, HostPort: -1}}
		}, []FieldError{
			{"spec.ports[0].containerPort", "must be 1..65535"},
			{"spec.ports[1].containerPort", "must be 1..65535"},
			{"spec.ports[2].hostPort", "must be 1..65535"},
		}},
		{"bad port name and protocol", func(t *Task) { t.Spec.Ports[0].Name, t.Spec.Ports[0].Protocol = "HTTP", "SCTP" },
			[]FieldError{
				{"spec.ports[0].name", `"HTTP" is not a valid name`},
				{"spec.ports[0].protocol", `must be one of TCP, UDP, got "SCTP"`},
				{"spec.healthCheck.http.port", `"http" is not a port name of this task (names: HTTP, dns)`},
			}},
		{"duplicate ports", func(t *Task) {
			t.Spec.HealthCheck = nil
			t.Spec.Ports = []Port{
				{Name: "a", ContainerPort: 80, HostPort: 8080},
				{Name: "a", ContainerPort: 80, Protocol: ProtocolTCP},
				{Name: "b", ContainerPort: 81, HostPort: 8080},
				{Name: "c", ContainerPort: 80, HostPort: 8080, Protocol: ProtocolUDP},
			}
		}, []FieldError{
			{"spec.ports[1].name", `duplicate port name "a": already used by spec.ports[0]`},
			{"spec.ports[1].containerPort", "duplicate port 80/TCP: already declared by spec.ports[0]"},
			{"spec.ports[2].hostPort", "host port 8080/TCP is already used by spec.ports[0]"},
		}},
		{"bad restart policy", func(t *Task) { t.Spec.RestartPolicy = "always" },
			[]FieldError{{"spec.restartPolicy", `must be one of Always, OnFailure, Never, got "always"`}}},
		{"bad quantities", func(t *Task) { t.Spec.Resources = Resources{CPU: "-1", Memory: "256MB", Disk: "1Gi"} },
			[]FieldError{{"spec.resources.cpu", `"-1" is not a valid quantity: must not be negative`}, {"spec.resources.memory", `"256MB" is not a valid quantity`}}},
		{"no health check kind", func(t *Task) { t.Spec.HealthCheck = &HealthCheck{} },
			[]FieldError{{"spec.healthCheck", "must set exactly one of http, tcp, exec"}}},
		{"two health check kinds", func(t *Task) { t.Spec.HealthCheck.TCP = &TCPCheck{Port: "8080"} },
			[]FieldError{{"spec.healthCheck", "must set exactly one of http, tcp, exec, got http and tcp"}}},
		{"health check details", func(t *Task) {
			t.Spec.HealthCheck = &HealthCheck{HTTP: &HTTPCheck{Path: "healthz", Port: "70000"}, PeriodSeconds: -1}
		}, []FieldError{
			{"spec.healthCheck.periodSeconds", "must be at least 0"},
			{"spec.healthCheck.http.path", `must start with "/"`},
			{"spec.healthCheck.http.port", "must be a port name of this task or a number 1..65535"},
		}},
		{"health check on a UDP port", func(t *Task) { t.Spec.HealthCheck = &HealthCheck{TCP: &TCPCheck{Port: "dns"}} },
			[]FieldError{{"spec.healthCheck.tcp.port", `port "dns" is UDP`}}},
		{"health check port without names", func(t *Task) {
			t.Spec.Ports = nil
			t.Spec.HealthCheck = &HealthCheck{TCP: &TCPCheck{Port: "http"}}
		}, []FieldError{{"spec.healthCheck.tcp.port", "no port has a name"}}},
		{"health check numeric port", func(t *Task) { t.Spec.HealthCheck = &HealthCheck{TCP: &TCPCheck{Port: "9000"}} }, nil},
		{"empty exec", func(t *Task) { t.Spec.HealthCheck = &HealthCheck{Exec: &ExecCheck{}} },
			[]FieldError{{"spec.healthCheck.exec.command", "required"}}},
		{"missing check port", func(t *Task) { t.Spec.HealthCheck = &HealthCheck{TCP: &TCPCheck{}} },
			[]FieldError{{"spec.healthCheck.tcp.port", "required"}}},
		{"bad node selector", func(t *Task) { t.Spec.NodeSelector = map[string]string{"disk": "s s d"} },
			[]FieldError{{"spec.nodeSelector[disk]", "is not a valid label value"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := validTask()
			tt.mutate(task)
			wantErrors(t, ValidateTask(task), tt.want...)
		})
	}
}

func TestValidateTask_Nil(t *testing.T) {
	if errs := ValidateTask(nil); len(errs) != 1 {
		t.Fatalf("ValidateTask(nil) = %v, want one error", errs)
	}
}

func TestImageRefProblem(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		ref  string
		want string // "" for valid, else a fragment of the problem
	}{
		{"nginx", ""},
		{"nginx:1.27", ""},
		{"library/nginx:latest", ""},
		{"docker.io/library/nginx:1.27-alpine", ""},
		{"localhost:5000/app", ""},
		{"registry.example.com:443/team/sub/app:v1.2.3", ""},
		{"REGISTRY.example.com/app", ""},
		{"[::1]:5000/app:v1", ""},
		{"my_app", ""},
		{"a__b", ""},
		{"a---b", ""},
		{"nginx@" + digest, ""},
		{"nginx:1.27@" + digest, ""},
		{"minkube/testapp:dev", ""},
		{"", "must not be empty"},
		{"Nginx", "must be lowercase"},
		{"docker.io/Library/nginx", "must be lowercase"},
		{"nginx :1", "must not contain spaces"},
		{"nginx:-bad", "the tag must be"},
		{"nginx:" + strings.Repeat("a", 129), "the tag must be"},
		{"nginx@sha256:abc", "the digest must be sha256"},
		{"nginx@md5:" + strings.Repeat("a", 32), "the digest must be sha256"},
		{"-nginx", "must look like"},
		{"nginx/", "must look like"},
		{"a//b", "must look like"},
		{"a_-b", "must look like"},
		{":tag", "must look like"},
		{strings.Repeat("a", 256), "at most 255"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got := imageRefProblem(tt.ref)
			if tt.want == "" && got != "" || tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("imageRefProblem(%q) = %q, want %q", tt.ref, got, tt.want)
			}
		})
	}
}

func TestValidateWorkerName(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"worker-1", ""},
		{"", "required"},
		{"Worker_1", `invalid worker name "Worker_1"`},
		{strings.Repeat("w", 64), "no more than 63"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateWorkerName(tt.name)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("ValidateWorkerName(%q) = %v, want %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestValidateLabels(t *testing.T) {
	errs := ValidateLabels(map[string]string{
		"z":               "ok",
		"example.com/app": "web",
		"Bad Key":         "v",
		"a":               strings.Repeat("v", 64),
		"x/y/z":           "",
	}, "spec.nodeSelector")
	wantErrors(t, errs,
		FieldError{"spec.nodeSelector[Bad Key]", `"Bad Key" is not a valid label key`},
		FieldError{"spec.nodeSelector[a]", "must be no more than 63"},
		FieldError{"spec.nodeSelector[x/y/z]", "is not a valid label key"},
	)
	if errs := ValidateLabels(nil, "metadata.labels"); errs != nil {
		t.Errorf("ValidateLabels(nil) = %v, want nil", errs)
	}
}

func TestFieldErrors_Error(t *testing.T) {
	errs := FieldErrors{{"spec.image", "required"}, {"", "empty body"}, {"spec.ports[0].containerPort", "must be 1..65535"}}
	want := "spec.image: required; empty body; spec.ports[0].containerPort: must be 1..65535"
	if got := errs.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("é", 100)
	got := truncate(long)
	if len(got) > maxQuoted+3 || !strings.HasSuffix(got, "...") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("truncate gave %q", got)
	}
	if got := truncate("short"); got != "short" {
		t.Errorf("truncate(short) = %q", got)
	}
}

func BenchmarkValidateTask(b *testing.B) {
	task := validTask()
	b.ReportAllocs()
	for b.Loop() {
		if errs := ValidateTask(task); errs != nil {
			b.Fatal(errs)
		}
	}
}
