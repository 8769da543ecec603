package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedFileIsCurrent fails when apis/v1/explain_generated.go is
// not what the doc comments of apis/v1 give: a doc comment or a field
// changed and `go generate ./apis/v1` was not run.
func TestGeneratedFileIsCurrent(t *testing.T) {
	dir := filepath.Join("..", "..", "apis", "v1")
	want, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(filepath.Join(dir, generatedName))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Errorf("apis/v1/%s is stale: run go generate ./apis/v1", generatedName)
	}
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    []string // substrings of the generated file
		wantErr string
	}{
		{
			name: "types, enums, required and inline fields",
			src: `package v1
// Task is a task.
type Task struct {
	TypeMeta ` + "`json:\",inline\"`" + `
	// Spec is the spec.
	Spec TaskSpec ` + "`json:\"spec\"`" + `
}
// TypeMeta names the schema.
type TypeMeta struct {
	// Kind is the kind.
	Kind string ` + "`json:\"kind,omitempty\"`" + `
}
// TaskSpec is a spec.
type TaskSpec struct {
	// Image is required.
	Image string ` + "`json:\"image\" validate:\"required,imageref\"`" + `
	// CPU is a quantity.
	CPU string ` + "`json:\"cpu,omitempty\" validate:\"omitempty,quantity\" minkube:\"intorstring\"`" + `
	// Port is a port.
	Port string ` + "`json:\"port\" minkube:\"intorstring\"`" + `
	// Policy is an enum.
	Policy Policy ` + "`json:\"policy,omitempty\"`" + `
	// Env is a list.
	Env []EnvVar ` + "`json:\"env,omitempty\"`" + `
	// Labels is a map.
	Labels map[string]string ` + "`json:\"labels,omitempty\"`" + `
	// Count counts.
	Count *int32 ` + "`json:\"count,omitempty\"`" + `
	hidden int
}
// EnvVar is a variable.
type EnvVar struct {
	// Name names it.
	Name string ` + "`json:\"name\"`" + `
}
// Worker is a worker.
type Worker struct {
	// Up is a flag.
	Up bool ` + "`json:\"up\"`" + `
}
// Event is an event.
type Event struct {
	// Load is a number.
	Load float64 ` + "`json:\"load\"`" + `
}
// Policy is a policy.
type Policy string
const (
	PolicyA Policy = "A"
	PolicyB Policy = "B"
)
`,
			want: []string{
				`{Name: "kind", Type: "string",`,
				`{Name: "spec", Type: "TaskSpec", Ref: "TaskSpec",`,
				`{Name: "image", Type: "string", Required: true,`,
				`{Name: "cpu", Type: "Quantity",`,
				`{Name: "port", Type: "IntOrString",`,
				`{Name: "policy", Type: "string", Enum: []string{"A", "B"},`,
				`{Name: "env", Type: "[]EnvVar", Ref: "EnvVar",`,
				`{Name: "labels", Type: "map[string]string",`,
				`{Name: "count", Type: "integer",`,
				`{Name: "up", Type: "boolean",`,
				`{Name: "load", Type: "number",`,
			},
		},
		{
			name: "a field without a doc comment",
			src: `package v1
// Task is a task.
type Task struct {
	Name string ` + "`json:\"name\"`" + `
}
// Worker is a worker.
type Worker struct{}
// Event is an event.
type Event struct{}
`,
			wantErr: "Task.Name has no doc comment",
		},
		{
			name: "a type that cannot be explained",
			src: `package v1
// Task is a task.
type Task struct {
	// C is a channel.
	C chan int ` + "`json:\"c\"`" + `
}
// Worker is a worker.
type Worker struct{}
// Event is an event.
type Event struct{}
`,
			wantErr: "Task.C: type chan int cannot be explained",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "types.go"), []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := generate(dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to say %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("generated file lacks %s:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), "hidden") {
				t.Errorf("an unexported field was documented:\n%s", out)
			}
		})
	}
}
