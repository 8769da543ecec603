package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestApply(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string // relative to the working directory
		args       []string
		stdin      string
		wantOut    string
		wantErr    string
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
			wantErr:  "warning: m: 1 manifest files in subdirectories were not read; use -R (--recursive) to read them too\n",
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
			if res := e.mustRun(t, args(m, tt.args...)...); res.code != 0 || res.stdout != tt.wantOut || res.stderr != tt.wantErr {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0, %q, %q", res.code, res.stdout, res.stderr, tt.wantOut, tt.wantErr)
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
			// The applies run several at a time: the manager sees them in
			// any order; the output above is in document order.
			slices.Sort(names)
			if want := slices.Sorted(slices.Values(tt.wantPuts)); !slices.Equal(names, want) {
				t.Errorf("PUTs = %v, want %v", names, want)
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

func TestApply_DryRunShowsChanges(t *testing.T) {
	m := mustManager(t)
	e := mustEnv(t)
	mustWriteFile(t, filepath.Join(e.dir, "web.yaml"), webYAML)
	e.mustSucceed(t, args(m, "apply", "-f", "web.yaml")...)
	changed := strings.NewReplacer("nginx:1.27", "nginx:1.28", "labels: {app: web}", "labels: {app: web, tier: front}").Replace(webYAML)
	mustWriteFile(t, filepath.Join(e.dir, "web.yaml"), changed+"---\n"+apiYAML)
	out := e.mustSucceed(t, args(m, "apply", "-f", "web.yaml", "--dry-run=server")...)
	want := `task/web configured (server dry run)
  metadata.labels.tier: <none> -> "front"
  spec.image: "nginx:1.27" -> "nginx:1.28"
task/api created (server dry run)
`
	if out != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", out, want)
	}
	var stored v1.Task
	var n int
	m.with(func(f *fakeManager) { stored, n = *f.tasks["web"], len(f.tasks) })
	if stored.Spec.Image != "nginx:1.27" || n != 1 {
		t.Errorf("the dry run stored something: web has image %s, %d tasks", stored.Spec.Image, n)
	}
}

func TestTaskChanges(t *testing.T) {
	before := &v1.Task{Metadata: v1.ObjectMeta{Name: "a", Labels: map[string]string{"app": "a"}, Generation: 1},
		Spec: v1.TaskSpec{Image: "x:1", Args: []string{"a", "b"}, Env: []v1.EnvVar{{Name: "A", Value: "1"}}}}
	after := &v1.Task{Metadata: v1.ObjectMeta{Name: "a", Generation: 2},
		Spec: v1.TaskSpec{Image: "x:1", Args: []string{"a"}, Env: []v1.EnvVar{{Name: "A", Value: "2"}}, RestartPolicy: v1.RestartNever}}
	want := []string{
		`metadata.labels.app: "a" -> <none>`,
		`spec.args[1]: "b" -> <none>`,
		`spec.env[0].value: "1" -> "2"`,
		`spec.restartPolicy: <none> -> "Never"`,
	}
	if got := taskChanges(before, after); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("taskChanges =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := taskChanges(before, before); len(got) != 0 {
		t.Errorf("no change reported %v", got)
	}
}

// runningSoon plays the scheduler and the worker: each applied Task is
// Scheduled, then Running at its generation, except those in fail, which
// fail.
func runningSoon(m *fakeManager, fail ...string) func(string) {
	return func(name string) {
		var gen int64
		m.with(func(f *fakeManager) { gen = f.tasks[name].Metadata.Generation })
		m.setStatus(name, v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "worker-1", ObservedGeneration: gen})
		if slices.Contains(fail, name) {
			code := int32(1)
			m.setStatus(name, v1.TaskStatus{Phase: v1.PhaseFailed, Worker: "worker-1", ObservedGeneration: gen, ExitCode: &code, Reason: v1.ReasonError, Message: "boom"})
			return
		}
		m.setStatus(name, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-1", ObservedGeneration: gen})
	}
}

func TestApply_Wait(t *testing.T) {
	progressLine := regexp.MustCompile(`^(\d)/2 Running(, 1 Failed)?$`)
	tests := []struct {
		name     string
		fail     []string
		noStatus bool
		extra    []string
		wantCode int
		wantLast string
		wantErr  string
	}{
		{name: "all running", wantLast: "2/2 Running"},
		{name: "one fails", fail: []string{"api"}, wantCode: 1, wantLast: "1/2 Running, 1 Failed", wantErr: "error: task/api Failed: exit code 1; Error: boom\n"},
		{
			name: "timeout", noStatus: true, extra: []string{"--timeout", "300ms"}, wantCode: 1, wantLast: "0/2 Running",
			wantErr: "error: timed out after 300ms waiting for task/web to be Running: it is Pending\nerror: timed out after 300ms waiting for task/api to be Running: it is Pending\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustManager(t)
			if !tt.noStatus {
				m.with(func(f *fakeManager) { f.afterPut = runningSoon(m, tt.fail...) })
			}
			e := mustEnv(t)
			mustWriteFile(t, filepath.Join(e.dir, "m.yaml"), webYAML+"---\n"+apiYAML)
			res := e.mustRun(t, args(m, append([]string{"apply", "-f", "m.yaml", "--wait"}, tt.extra...)...)...)
			lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
			if res.code != tt.wantCode || res.stderr != tt.wantErr || len(lines) < 3 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d, %q", res.code, res.stdout, res.stderr, tt.wantCode, tt.wantErr)
			}
			if lines[0] != "task/web created" || lines[1] != "task/api created" {
				t.Errorf("apply lines %q", lines[:2])
			}
			// Piped, progress comes as plain lines, one per change, counting up.
			last := -1
			for _, l := range lines[2:] {
				sub := progressLine.FindStringSubmatch(l)
				if sub == nil {
					t.Errorf("progress line %q", l)
					continue
				}
				if n := int(sub[1][0] - '0'); n < last {
					t.Errorf("progress went back: %q", lines[2:])
				} else {
					last = n
				}
			}
			if got := lines[len(lines)-1]; got != tt.wantLast {
				t.Errorf("last line %q, want %q", got, tt.wantLast)
			}
		})
	}
	t.Run("with a dry run", func(t *testing.T) {
		res := mustEnv(t).mustFail(t, "apply", "-f", "x.yaml", "--wait", "--dry-run=server")
		if res.stderr != "error: --wait cannot be used with --dry-run: nothing is applied to wait for\nSee 'mkctl apply --help' for usage.\n" {
			t.Errorf("stderr %q", res.stderr)
		}
	})
}

func TestProgress(t *testing.T) {
	var b strings.Builder
	p := &progress{out: &b, tty: true, width: 20}
	p.show("0/2 Running")
	p.show("0/2 Running")
	p.show("1/2 Running (waiting for api: Scheduled)")
	p.end()
	want := "\r\x1b[K0/2 Running\r\x1b[K1/2 Running (wai...\n" // cut to fit 20 columns
	if b.String() != want {
		t.Errorf("terminal output %q, want %q", b.String(), want)
	}
}

// manyTasks returns a manifest of n Task documents t-00000, t-00001...,
// each padded by an annotation to about pad bytes; replace swaps in other
// documents by position.
func manyTasks(n, pad int, replace map[int]string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("---\n")
		if doc, ok := replace[i]; ok {
			b.WriteString(doc)
			continue
		}
		fmt.Fprintf(&b, "apiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: t-%05d\n  annotations: {note: %q}\nspec:\n  image: nginx:1.27\n", i, strings.Repeat("x", pad))
	}
	return b.String()
}

// TestApply_ManyDocuments applies a file of 3,000 documents, 1.3 MB in
// all (over the 1 MiB a file was once limited to), whose applies the
// manager answers out of order: in batches of many Tasks (a few batches
// under way at once), or, from a manager that takes no batches, one Task
// a request, several at a time, never more than the bound. Either way
// the lines come out in document order.
func TestApply_ManyDocuments(t *testing.T) {
	const n = 3000
	for _, noBatch := range []bool{false, true} {
		t.Run(fmt.Sprintf("noBatch=%v", noBatch), func(t *testing.T) {
			m := mustManager(t)
			m.with(func(f *fakeManager) {
				f.noBatch = noBatch
				f.putDelay = func(name string) time.Duration {
					var i int
					fmt.Sscanf(name, "t-%d", &i)
					return time.Duration(i*7919%5) * time.Millisecond // 0-4 ms, in no order
				}
			})
			e := mustEnv(t)
			manifest := manyTasks(n, 400, nil)
			if len(manifest) <= 1<<20 {
				t.Fatalf("the manifest is %d bytes, want over 1 MiB", len(manifest))
			}
			mustWriteFile(t, filepath.Join(e.dir, "many.yaml"), manifest)
			out := e.mustSucceed(t, args(m, "apply", "-f", "many.yaml")...)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != n {
				t.Fatalf("%d lines of output, want %d", len(lines), n)
			}
			for i, l := range lines {
				if want := fmt.Sprintf("task/t-%05d created", i); l != want {
					t.Fatalf("line %d = %q, want %q: the lines are not in document order", i, l, want)
				}
			}
			var (
				stored, most, mostBatches int
				batches                   []int
				puts                      []put
			)
			m.with(func(f *fakeManager) {
				stored, most, mostBatches, batches, puts = len(f.tasks), f.maxPutsInFlight, f.maxBatchesInFlight, f.batches, f.puts
			})
			if stored != n {
				t.Errorf("the manager holds %d Tasks, want %d", stored, n)
			}
			if noBatch {
				if most < 2 || most > applyConcurrency {
					t.Errorf("at most %d applies were under way at once, want 2..%d", most, applyConcurrency)
				}
				return
			}
			if most != 0 || len(puts) != n || slices.ContainsFunc(puts, func(p put) bool { return !p.Batch }) {
				t.Errorf("%d PUTs and %d Tasks applied, want all %d in batches", most, len(puts), n)
			}
			// 250 a batch, the first alone, then two under way at once.
			if len(batches) != n/250 || slices.ContainsFunc(batches, func(b int) bool { return b != 250 }) || mostBatches != 2 {
				t.Errorf("batches of %v, at most %d at once; want %d of 250, 2 at once", batches, mostBatches, n/250)
			}
		})
	}
}

// TestApply_RefusedBeforeSending checks that a file of thousands of
// documents with one problem sends nothing and names the document: one
// invalid Task, one document over the limit of a document, one "billion
// laughs" of YAML aliases (refused at once by the alias budget rather than
// expanded).
func TestApply_RefusedBeforeSending(t *testing.T) {
	bomb := `apiVersion: minkube.io/v1
kind: Task
metadata:
  name: bomb
  labels:
    <<:
    - &l0 {k0: v, k1: v, k2: v, k3: v, k4: v, k5: v, k6: v, k7: v, k8: v, k9: v}
    - &l1 {<<: [*l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0, *l0]}
    - &l2 {<<: [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]}
    - &l3 {<<: [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]}
    - &l4 {<<: [*l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3]}
    - &l5 {<<: [*l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4]}
    - &l6 {<<: [*l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5]}
    - &l7 {<<: [*l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6]}
    - &l8 {<<: [*l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7]}
spec: {image: a}
`
	huge := "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: huge}\nspec:\n  image: nginx\n  args: [\"" + strings.Repeat("x", 1<<20) + "\"]\n"
	tests := []struct {
		name    string
		replace map[int]string
		want    string
	}{
		{"one invalid among thousands", map[int]string{2499: "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: t-02499}\nspec:\n  image: nginx\n  ports: [{containerPort: 70000}]\n"},
			`error: many.yaml: document 2500 (Task "t-02499"): spec.ports[0].containerPort: must be 1..65535` + "\n"},
		{"a document over the limit", map[int]string{1: huge},
			fmt.Sprintf("error: many.yaml: document 2: is %d bytes (from line 10), over the limit of %d bytes for one document\n", len(huge), 1<<20)},
		{"a billion laughs", map[int]string{4000: bomb},
			`error: many.yaml: document 4001 (Task "bomb"): metadata.labels: document expands to too many values (too many YAML aliases) (line 32007)` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustManager(t)
			e := mustEnv(t)
			mustWriteFile(t, filepath.Join(e.dir, "many.yaml"), manyTasks(5000, 100, tt.replace))
			res := e.mustFail(t, args(m, "apply", "-f", "many.yaml")...)
			if res.stdout != "" || !strings.HasPrefix(res.stderr, tt.want) || strings.Count(res.stderr, "\n") != 1 {
				t.Errorf("stdout %q, stderr %q; want nothing applied and one error: %q", res.stdout, res.stderr, tt.want)
			}
			if _, _, n := m.recorded(); n != 0 {
				t.Errorf("the manager got %d requests, want none", n)
			}
		})
	}
}

// TestApply_StopsAtAFatalError checks that an error that makes every
// further apply pointless (the token refused) is said once, and that the
// applies not yet sent are not sent.
func TestApply_StopsAtAFatalError(t *testing.T) {
	m := mustManager(t)
	e := mustEnv(t)
	mustWriteFile(t, filepath.Join(e.dir, "many.yaml"), manyTasks(500, 10, nil))
	res := e.mustFail(t, "apply", "-f", "many.yaml", "--server", m.URL, "--token", "not-the-token")
	if res.stdout != "" || strings.Count(res.stderr, "\n") != 1 || !strings.Contains(res.stderr, "invalid bearer token") {
		t.Errorf("stdout %q, stderr %q; want one error saying the token was refused", res.stdout, res.stderr)
	}
	if _, _, n := m.recorded(); n > 2*applyConcurrency {
		t.Errorf("the manager got %d requests after the first refusal, want at most those under way then (%d)", n, applyConcurrency)
	}
}
