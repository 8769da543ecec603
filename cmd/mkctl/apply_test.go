package main

import (
	"errors"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestApply(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string // relative to the working directory
		args       []string
		stdin      string
		wantOut    string
		wantPuts   []string
		wantDryRun bool
	}{
		{
			name:     "file",
			files:    map[string]string{"web.yaml": webYAML},
			args:     []string{"apply", "-f", "web.yaml"},
			wantOut:  "task/web created\n",
			wantPuts: []string{"web"},
		},
		{
			name:     "directory",
			files:    map[string]string{"m/web.yaml": webYAML, "m/api.yml": apiYAML, "m/notes.txt": "not a manifest", "m/sub/deep.yaml": strings.ReplaceAll(apiYAML, "name: api", "name: deep")},
			args:     []string{"apply", "-f", "m"},
			wantOut:  "task/api created\ntask/web created\n",
			wantPuts: []string{"api", "web"},
		},
		{
			name:     "directory, recursive",
			files:    map[string]string{"m/web.yaml": webYAML, "m/sub/deep.yaml": strings.ReplaceAll(apiYAML, "name: api", "name: deep")},
			args:     []string{"apply", "-R", "-f", "m"},
			wantOut:  "task/deep created\ntask/web created\n",
			wantPuts: []string{"deep", "web"},
		},
		{
			name:     "stdin",
			args:     []string{"apply", "-f", "-"},
			stdin:    webYAML + "---\n" + apiYAML,
			wantOut:  "task/web created\ntask/api created\n",
			wantPuts: []string{"web", "api"},
		},
		{
			name:       "server dry run",
			files:      map[string]string{"web.yaml": webYAML},
			args:       []string{"apply", "-f", "web.yaml", "--dry-run=server"},
			wantOut:    "task/web created (server dry run)\n",
			wantPuts:   []string{"web"},
			wantDryRun: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustManager(t)
			e := mustEnv(t)
			e.stdin = tt.stdin
			for name, content := range tt.files {
				mustWriteFile(t, filepath.Join(e.dir, name), content)
			}
			if got := e.mustSucceed(t, args(m, tt.args...)...); got != tt.wantOut {
				t.Errorf("stdout = %q, want %q", got, tt.wantOut)
			}
			puts, _, _ := m.recorded()
			var names []string
			for _, p := range puts {
				names = append(names, p.Name)
				if p.DryRun != tt.wantDryRun {
					t.Errorf("PUT %s dryRun = %v, want %v", p.Name, p.DryRun, tt.wantDryRun)
				}
				if p.Task.Metadata.Name != p.Name || p.Task.Spec.Image == "" || p.Task.Kind != v1.KindTask {
					t.Errorf("PUT %s carried %+v, want the manifest's Task", p.Name, p.Task)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.wantPuts, ",") {
				t.Errorf("PUTs = %v, want %v", names, tt.wantPuts)
			}
		})
	}
}

func TestApply_Results(t *testing.T) {
	m := mustManager(t)
	e := mustEnv(t)
	path := mustWriteFile(t, filepath.Join(e.dir, "web.yaml"), webYAML)
	steps := []struct {
		name    string
		content string
		want    string
	}{
		{name: "first apply", content: webYAML, want: "task/web created\n"},
		{name: "same again", content: webYAML, want: "task/web unchanged\n"},
		{name: "new image", content: strings.ReplaceAll(webYAML, "nginx:1.27", "nginx:1.28"), want: "task/web configured\n"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			mustWriteFile(t, path, s.content)
			if got := e.mustSucceed(t, args(m, "apply", "-f", "web.yaml")...); got != s.want {
				t.Errorf("stdout = %q, want %q", got, s.want)
			}
		})
	}
	puts, _, _ := m.recorded()
	if len(puts) != 3 || puts[0].Task.Spec.Ports[0].ContainerPort != 8080 || puts[2].Task.Spec.Image != "nginx:1.28" {
		t.Errorf("PUTs = %+v, want the three applies with their specs", puts)
	}
}

func TestApply_AllOrNothing(t *testing.T) {
	m := mustManager(t)
	e := mustEnv(t)
	mustWriteFile(t, filepath.Join(e.dir, "m", "a-web.yaml"), webYAML)
	mustWriteFile(t, filepath.Join(e.dir, "m", "b-bad.yaml"), badYAML)

	res := e.mustFail(t, args(m, "apply", "-f", "m")...)
	if res.stdout != "" {
		t.Errorf("stdout = %q, want nothing applied", res.stdout)
	}
	if _, _, n := m.recorded(); n != 0 {
		t.Errorf("the manager got %d requests, want none", n)
	}

	// mkctl prints exactly what the decoder reports, one line each.
	_, err := v1.ReadManifests([]string{filepath.Join(e.dir, "m")}, false, nil)
	var want v1.DocumentErrors
	if !errors.As(err, &want) || len(want) < 2 {
		t.Fatalf("the decoder reports %v, want at least two problems for the test to mean anything", err)
	}
	lines := strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(want), res.stderr)
	}
	for i, de := range want {
		// Paths are relative to the working directory in mkctl's run.
		wantLine := "error: " + strings.ReplaceAll(de.Error(), e.dir+string(filepath.Separator), "")
		if lines[i] != wantLine {
			t.Errorf("line %d = %q, want %q", i, lines[i], wantLine)
		}
	}
	format := regexp.MustCompile(`^error: m/b-bad\.yaml: document 2 \(Task "broken"\): spec\.ports\[0\]\.containerPort: .+$`)
	if !slices.ContainsFunc(lines, format.MatchString) {
		t.Errorf("no line reports the containerPort of document 2 in the documented format:\n%s", res.stderr)
	}
}

func TestApply_ServerInvalid(t *testing.T) {
	m := mustManager(t)
	m.setInvalid([]v1.StatusCause{{Field: "spec.image", Message: "cannot be pulled"}, {Field: "spec.resources.disk", Message: "too large"}})
	e := mustEnv(t)
	mustWriteFile(t, filepath.Join(e.dir, "web.yaml"), webYAML)
	res := e.mustFail(t, args(m, "apply", "-f", "web.yaml")...)
	want := `error: web.yaml: document 1 (Task "web"): spec.image: cannot be pulled
error: web.yaml: document 1 (Task "web"): spec.resources.disk: too large
`
	if res.stderr != want {
		t.Errorf("stderr = %q, want %q", res.stderr, want)
	}
}

func TestApply_UsageErrors(t *testing.T) {
	m := mustManager(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no -f", args: []string{"apply"}, want: "error: must specify -f FILE, DIR or - (standard input)\n"},
		{name: "bad dry run", args: []string{"apply", "-f", "x.yaml", "--dry-run=client"}, want: `error: --dry-run must be "none" or "server", not "client"` + "\n"},
		{name: "missing file", args: []string{"apply", "-f", "nope.yaml"}, want: "error: nope.yaml: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustEnv(t).mustFail(t, args(m, tt.args...)...)
			if !strings.HasPrefix(res.stderr, tt.want) {
				t.Errorf("stderr = %q, want it to start with %q", res.stderr, tt.want)
			}
		})
	}
	if _, _, n := m.recorded(); n != 0 {
		t.Errorf("the manager got %d requests, want none", n)
	}
}
