package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestEditorArgs(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		wantEditor string
		want       []string
	}{
		{"nothing set", nil, "vi", []string{"vi", "/tmp/f.yaml"}},
		{"EDITOR", map[string]string{"EDITOR": "nano"}, "nano", []string{"nano", "/tmp/f.yaml"}},
		{"VISUAL after EDITOR", map[string]string{"VISUAL": "emacs", "EDITOR": "nano"}, "nano", []string{"nano", "/tmp/f.yaml"}},
		{"VISUAL alone", map[string]string{"VISUAL": "emacs"}, "emacs", []string{"emacs", "/tmp/f.yaml"}},
		{"MINKUBE_EDITOR first", map[string]string{"MINKUBE_EDITOR": "code --wait", "EDITOR": "nano"}, "code --wait", []string{"code", "--wait", "/tmp/f.yaml"}},
		{"quotes go through the shell", map[string]string{"EDITOR": `vim -c 'set ft=yaml'`, "SHELL": "/bin/zsh"}, `vim -c 'set ft=yaml'`,
			[]string{"/bin/zsh", "-c", `vim -c 'set ft=yaml' '/tmp/f.yaml'`}},
		{"no SHELL", map[string]string{"EDITOR": `my\ editor`}, `my\ editor`, []string{"/bin/sh", "-c", `my\ editor '/tmp/f.yaml'`}},
		{"blank is unset", map[string]string{"MINKUBE_EDITOR": "  ", "EDITOR": "nano"}, "nano", []string{"nano", "/tmp/f.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			editor, args := editorArgs(func(k string) string { return tt.env[k] }, "/tmp/f.yaml")
			if editor != tt.wantEditor || !slices.Equal(args, tt.want) {
				t.Errorf("editorArgs = %q, %q; want %q, %q", editor, args, tt.wantEditor, tt.want)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	if got := shellQuote("/tmp/it's.yaml"); got != `'/tmp/it'\''s.yaml'` {
		t.Errorf("shellQuote = %s", got)
	}
}

// editTask is the Task the edit tests start from, as a manager returns it.
func editTask() *v1.Task {
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	t := &v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}, UID: "u1",
			ResourceVersion: "7", Generation: 2, CreationTimestamp: &created},
		Spec:   v1.TaskSpec{Image: "minkube/testapp:dev", Args: []string{"serve"}},
		Status: v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"},
	}
	v1.SetTaskDefaults(t)
	return t
}

func TestDecideEdit(t *testing.T) {
	orig := editTask()
	body, err := editableTask(orig, outputYAML)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("status")) || !bytes.Contains(body, []byte(`resourceVersion: "7"`)) {
		t.Fatalf("editable task shows its status or lacks its resourceVersion:\n%s", body)
	}
	replace := func(old, new string) []byte {
		if !bytes.Contains(body, []byte(old)) {
			t.Fatalf("%q is not in\n%s", old, body)
		}
		return bytes.Replace(body, []byte(old), []byte(new), 1)
	}
	header := func(problems []string) string { return editHeader(orig, false, problems) }
	tests := []struct {
		name         string
		offered      []byte // nil: body
		hadProblems  bool
		edited       []byte
		want         editAction
		wantProblems []string // substrings, one per problem
		wantArgs     []string
	}{
		{name: "empty", edited: []byte("\n# only a comment\n  \n"), want: editEmpty},
		{name: "as offered", edited: body, want: editUnchanged},
		{name: "only comments added", edited: append([]byte("# a note\n"), body...), want: editUnchanged},
		{name: "reformatted, same task", edited: replace("args:\n  - serve", "args: [serve]"), want: editUnchanged},
		{name: "args changed", edited: replace("- serve", "- log"), want: editApply, wantArgs: []string{"log"}},
		{name: "label added", edited: replace("app: web", "app: web\n    tier: front"), want: editApply, wantArgs: []string{"serve"}},
		{name: "invalid field", edited: replace("- serve", "- serve\n  ports: [{containerPort: 0}]"), want: editReopen,
			wantProblems: []string{"spec.ports[0].containerPort: must be 1..65535"}},
		{name: "unknown field, its line in the reopened file", edited: replace("- serve", "- serve\n  agrs: [x]"), want: editReopen,
			wantProblems: []string{`spec.agrs: unknown field; did you mean "args"? (line 22)`}},
		{name: "not YAML", edited: []byte("spec: [\n"), want: editReopen, wantProblems: []string{"line"}},
		{name: "status added", edited: append(bytes.Clone(body), "status: {phase: Failed}\n"...), want: editReopen,
			wantProblems: []string{"status: is written by the system and cannot be edited"}},
		{name: "renamed", edited: replace("name: web", "name: web2"), want: editReopen,
			wantProblems: []string{`metadata.name: cannot be changed (was "web", now "web2"); to rename a task`}},
		{name: "resourceVersion changed", edited: replace(`resourceVersion: "7"`, `resourceVersion: "8"`), want: editReopen,
			wantProblems: []string{`metadata.resourceVersion: cannot be changed (was "7", now "8"): it is the version you edit`}},
		{name: "uid removed", edited: replace("  uid: u1\n", ""), want: editReopen, wantProblems: []string{"metadata.uid: cannot be changed"}},
		{name: "two documents", edited: append(bytes.Clone(body), "---\napiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: x}\nspec: {image: a}\n"...),
			want: editReopen, wantProblems: []string{"exactly one Task, not 2"}},
		{name: "saved again as reopened", offered: replace("- serve", "- serve\n  bogus: 1"), hadProblems: true,
			edited: replace("- serve", "- serve\n  bogus: 1"), want: editGiveUp},
		{name: "fixed after problems", offered: replace("- serve", "- serve\n  bogus: 1"), hadProblems: true,
			edited: replace("- serve", "- crash"), want: editApply, wantArgs: []string{"crash"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offered := tt.offered
			if offered == nil {
				offered = body
			}
			step := decideEdit(orig, body, offered, tt.edited, tt.hadProblems, header)
			if step.action != tt.want {
				t.Fatalf("action = %d (problems %q), want %d", step.action, step.problems, tt.want)
			}
			if len(step.problems) != len(tt.wantProblems) {
				t.Fatalf("problems = %q, want %d like %q", step.problems, len(tt.wantProblems), tt.wantProblems)
			}
			for i, w := range tt.wantProblems {
				if !strings.Contains(step.problems[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, step.problems[i], w)
				}
			}
			if tt.want == editApply {
				if !slices.Equal(step.task.Spec.Args, tt.wantArgs) || step.task.Metadata.ResourceVersion != "7" {
					t.Errorf("task to apply: args %q at resourceVersion %q; want %q at 7", step.task.Spec.Args, step.task.Metadata.ResourceVersion, tt.wantArgs)
				}
			}
		})
	}
}

func TestDecideEdit_JSON(t *testing.T) {
	orig := editTask()
	body, err := editableTask(orig, outputJSON)
	if err != nil {
		t.Fatal(err)
	}
	header := func(problems []string) string { return editHeader(orig, false, problems) }
	edited := bytes.Replace(body, []byte(`"serve"`), []byte(`"log"`), 1)
	// The header's comment lines stay in the file the parser reads: JSON
	// has no comments, so they must be blanked, not left.
	step := decideEdit(orig, body, body, append([]byte(header(nil)), edited...), false, header)
	if step.action != editApply || step.task.Spec.Args[0] != "log" {
		t.Fatalf("JSON edit = %d %q", step.action, step.problems)
	}
	step = decideEdit(orig, body, body, bytes.Replace(body, []byte(`]`), nil, 1), false, header)
	if step.action != editReopen || len(step.problems) == 0 {
		t.Errorf("broken JSON = %d %q, want the editor reopened", step.action, step.problems)
	}
}

func TestEditHeader(t *testing.T) {
	managed := editTask()
	managed.Metadata.Annotations = map[string]string{v1.AnnotationSource: "web.yaml"}
	h := editHeader(managed, false, []string{"spec.image: required", "two\nlines"})
	for _, w := range []string{"managed by the manifests directory (file web.yaml)", "--force-conflicts",
		"# task \"web\" was not applied:\n# * spec.image: required\n# * two\n#   lines\n"} {
		if !strings.Contains(h, w) {
			t.Errorf("header lacks %q:\n%s", w, h)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(h, "\n"), "\n") {
		if !strings.HasPrefix(line, "#") {
			t.Errorf("header line %q is not a comment", line)
		}
	}
	if h := editHeader(managed, true, nil); strings.Contains(h, "managed") {
		t.Errorf("with --force-conflicts the header still warns:\n%s", h)
	}
	if got := dropHeader([]byte(h + "\n# mine\napiVersion: x\n# kept\n")); string(got) != "apiVersion: x\n# kept\n" {
		t.Errorf("dropHeader = %q", got)
	}
}

func TestAfterConflict(t *testing.T) {
	orig := editTask()
	statusMoved := orig.DeepCopy()
	statusMoved.Metadata.ResourceVersion = "9"
	statusMoved.Status.RestartCount = 3
	specMoved := orig.DeepCopy()
	specMoved.Metadata.ResourceVersion = "9"
	specMoved.Spec.Image = "minkube/testapp:other"
	labelMoved := orig.DeepCopy()
	labelMoved.Metadata.ResourceVersion = "9"
	labelMoved.Metadata.Labels = map[string]string{"app": "x"}
	recreated := orig.DeepCopy()
	recreated.Metadata.UID = "u2"
	deleting := statusMoved.DeepCopy()
	now := time.Now()
	deleting.Metadata.DeletionTimestamp = &now
	tests := []struct {
		name    string
		cur     *v1.Task
		wantRV  string
		wantWhy string
	}{
		{"only the status moved", statusMoved, "9", ""},
		{"the spec moved", specMoved, "", `task "web" was changed on the manager while you edited it (resourceVersion 7 is now 9: spec.image: "minkube/testapp:dev" -> "minkube/testapp:other")`},
		{"a label moved", labelMoved, "", `metadata.labels.app: "web" -> "x"`},
		{"deleted", nil, "", `task "web" was deleted while you edited it`},
		{"deleted and created again", recreated, "", "deleted and created again"},
		{"being deleted", deleting, "", `task "web" is being deleted`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rv, why := afterConflict(orig, tt.cur)
			if rv != tt.wantRV || (tt.wantWhy == "") != (why == "") || !strings.Contains(why, tt.wantWhy) {
				t.Errorf("afterConflict = %q, %q; want %q, %q", rv, why, tt.wantRV, tt.wantWhy)
			}
		})
	}
}
