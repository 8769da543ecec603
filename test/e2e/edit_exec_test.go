package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// edit runs mkctl edit ARGS with a shell script as the editor; the script
// gets the file as $1 and can run mkctl as "$MKCTL" and keep state in
// "$STATE", a file of its own.
func (c *cluster) edit(t *testing.T, script string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	dir := t.TempDir()
	editor := filepath.Join(dir, "editor.sh")
	if err := os.WriteFile(editor, []byte("#!/bin/sh\nset -e\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return c.mkctlWith([]string{"MINKUBE_EDITOR=" + editor, "EDITOR=false", "MKCTL=" + filepath.Join(binDir, "mkctl"),
		"STATE=" + filepath.Join(dir, "state")}, nil, append([]string{"edit"}, args...)...)
}

// keptFile returns the file an edit said it kept the user's version in,
// and removes it when the test ends.
func keptFile(t *testing.T, errOut string) string {
	t.Helper()
	m := regexp.MustCompile(`your version is kept in (\S+\.yaml)`).FindStringSubmatch(errOut)
	if m == nil {
		t.Fatalf("stderr names no kept file: %q", errOut)
	}
	t.Cleanup(func() { os.Remove(m[1]) })
	return m[1]
}

// TestMkctl_EditAndExec drives mkctl edit and exec against one real
// manager with a manifests directory and one worker.
func TestMkctl_EditAndExec(t *testing.T) {
	t.Parallel()
	manifests := filepath.Join(t.TempDir(), "manifests")
	if err := os.MkdirAll(manifests, 0o755); err != nil {
		t.Fatal(err)
	}
	hello := mkctlTask("hello", "{app: hello}", "", "serve", "--port", "8080")
	if err := os.WriteFile(filepath.Join(manifests, "hello.yaml"), []byte(hello), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, "--manifests-dir", manifests, "--manifests-settle", "100ms")
	w1 := c.addWorker("w1")
	c.mkctlApply(mkctlTask("ed", "{app: ed}", "", "serve", "--port", "8080"),
		mkctlTask("box", "", "", "serve", "--port", "8080"),
		mkctlTask("job", "", "  restartPolicy: Never\n", "exit"))
	c.waitTask("hello", 60*time.Second, "Running", running)
	c.waitTask("box", 60*time.Second, "Running", running)

	t.Run("edit applies what was saved", func(t *testing.T) {
		before, _ := c.task("ed")
		out, errOut, code := c.edit(t, `sed -i 's/^  - serve$/  - log/' "$1"`, "task", "ed")
		if code != 0 || out != "task/ed edited\n" || errOut != "" {
			t.Fatalf("edit: exit %d, %q, %q", code, out, errOut)
		}
		after, err := c.task("ed")
		if err != nil || after.Spec.Args[0] != "log" || after.Metadata.Generation != before.Metadata.Generation+1 || after.Metadata.UID != before.Metadata.UID {
			t.Errorf("after the edit: %v, args %q, generation %d (was %d)", err, after.Spec.Args, after.Metadata.Generation, before.Metadata.Generation)
		}
	})

	t.Run("unchanged or empty cancels", func(t *testing.T) {
		for _, tt := range []struct{ script, want string }{
			{"true", "Edit cancelled, no changes made.\n"},
			{`sed -i 's/^kind: Task$/kind:   Task/' "$1"`, "Edit cancelled, no changes made.\n"},
			{`: > "$1"`, "Edit cancelled, saved file was empty.\n"},
		} {
			out, errOut, code := c.edit(t, tt.script, "task/ed")
			if code != 0 || out != tt.want || errOut != "" {
				t.Errorf("editor %q: exit %d, %q, %q; want %q", tt.script, code, out, errOut, tt.want)
			}
		}
	})

	t.Run("an invalid edit reopens with the problems", func(t *testing.T) {
		script := `n=$(cat "$STATE" 2>/dev/null || echo 0); echo $((n+1)) > "$STATE"
case $n in
0) sed -i 's/^  - log$/  - serve/; s/^  args:$/  ports: [{containerPort: 70000}]\n  args:/' "$1" ;;
1) grep -q '^# \* spec.ports\[0\].containerPort: must be 1..65535$' "$1"
   sed -i '/containerPort: 70000/d' "$1" ;;
esac`
		out, errOut, code := c.edit(t, script, "t", "ed")
		if code != 0 || out != "task/ed edited\n" {
			t.Fatalf("edit: exit %d, %q, %q", code, out, errOut)
		}
		if task, _ := c.task("ed"); task == nil || task.Spec.Args[0] != "serve" || len(task.Spec.Ports) != 0 {
			t.Errorf("after the second save: %+v", task)
		}

		// Saved again unchanged: the edit gives up and keeps the file.
		out, errOut, code = c.edit(t, `grep -q 70000 "$1" || sed -i 's/^  args:$/  ports: [{containerPort: 70000}]\n  args:/' "$1"`, "task", "ed")
		if code != 1 || out != "" || !strings.HasPrefix(errOut, "error: edit cancelled, no valid changes were saved; your version is kept in ") {
			t.Fatalf("edit saved twice invalid: exit %d, %q, %q", code, out, errOut)
		}
		if data, err := os.ReadFile(keptFile(t, errOut)); err != nil || !strings.Contains(string(data), "containerPort: 70000") {
			t.Errorf("kept file: %v\n%s", err, data)
		}
	})

	t.Run("a change made meanwhile is a conflict", func(t *testing.T) {
		changed := c.writeFile("ed-changed.yaml", mkctlTask("ed", "{app: ed}", "", "log", "--every", "1s"))
		before, _ := c.task("ed")
		out, errOut, code := c.edit(t, `"$MKCTL" apply -f `+changed+` >/dev/null
sed -i 's/^    app: ed$/    app: mine/' "$1"`, "task", "ed")
		want := regexp.MustCompile(`^error: task "ed" was changed on the manager while you edited it \(resourceVersion ` + before.Metadata.ResourceVersion +
			` is now \d+: spec.args\[\d\]: .*\); edit it again to change the current version; your version is kept in \S+\n$`)
		if code != 1 || out != "" || !want.MatchString(errOut) {
			t.Fatalf("edit over a change: exit %d, %q, %q", code, out, errOut)
		}
		if data, err := os.ReadFile(keptFile(t, errOut)); err != nil || !strings.Contains(string(data), "app: mine") {
			t.Errorf("kept file: %v\n%s", err, data)
		}
		if task, _ := c.task("ed"); task == nil || task.Spec.Args[0] != "log" || task.Metadata.Labels["app"] != "ed" {
			t.Errorf("the change made meanwhile was overwritten: %+v", task)
		}
	})

	t.Run("a status change meanwhile is not a conflict", func(t *testing.T) {
		// The Task waits for a label; the editor gives it, waits until
		// the Task runs (its status, and so its resourceVersion, moved),
		// then edits.
		c.mkctlApply(mkctlTask("picky", "", "  nodeSelector: {edit: yes}\n", "serve", "--port", "8080"))
		c.waitTask("picky", 30*time.Second, "Unschedulable", func(t *v1.Task) bool { return t.Status.Reason == v1.ReasonUnschedulable })
		before, _ := c.task("picky")
		out, errOut, code := c.edit(t, `"$MKCTL" label worker `+w1+` edit=yes >/dev/null
until [ "$("$MKCTL" get task picky -o jsonpath='{.status.phase}')" = Running ]; do sleep 0.2; done
sed -i 's/^  - serve$/  - log/' "$1"`, "task", "picky")
		if code != 0 || out != "task/picky edited\n" {
			t.Fatalf("edit: exit %d, %q, %q", code, out, errOut)
		}
		after, _ := c.task("picky")
		if after.Spec.Args[0] != "log" || after.Metadata.ResourceVersion == before.Metadata.ResourceVersion {
			t.Errorf("after the edit: args %q, resourceVersion %s (read at %s)", after.Spec.Args, after.Metadata.ResourceVersion, before.Metadata.ResourceVersion)
		}
	})

	t.Run("a Task of the manifests directory", func(t *testing.T) {
		out, errOut, code := c.edit(t, `grep -q '^# This task is managed by the manifests directory (file hello.yaml)' "$1"
sed -i 's/^  - serve$/  - log/' "$1"`, "task", "hello")
		if code != 1 || out != "" || !strings.HasPrefix(errOut, `error: task "hello" is managed by the manifests directory (file hello.yaml), which would set it back; change that file, or edit with --force-conflicts to take the task out of the directory's care; your version is kept in `) {
			t.Fatalf("edit of a managed task: exit %d, %q, %q", code, out, errOut)
		}
		keptFile(t, errOut)
		if task, _ := c.task("hello"); task.Spec.Args[0] != "serve" {
			t.Errorf("the refused edit changed the task: %q", task.Spec.Args)
		}
		out, errOut, code = c.edit(t, `sed -i 's/^  - serve$/  - log/' "$1"`, "task", "hello", "--force-conflicts")
		if code != 0 || out != "task/hello edited\n" {
			t.Fatalf("edit --force-conflicts: exit %d, %q, %q", code, out, errOut)
		}
		if task, _ := c.task("hello"); task.Spec.Args[0] != "log" || task.Metadata.Annotations[v1.AnnotationSource] != "" {
			t.Errorf("after edit --force-conflicts: args %q, annotations %v", task.Spec.Args, task.Metadata.Annotations)
		}
	})

	t.Run("edit errors", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"edit", "task", "nope"}, "error: task \"nope\" not found\n"},
			{[]string{"edit", "worker", w1}, "error: workers are not edited: their labels change with mkctl label, their scheduling with cordon, uncordon and drain\nSee 'mkctl edit --help' for usage.\n"},
			{[]string{"edit", "task", "ed", "hello"}, "error: edit takes one Task name, got 2\nSee 'mkctl edit --help' for usage.\n"},
		} {
			if errOut := c.mustMkctlFail(tt.args...); errOut != tt.want {
				t.Errorf("mkctl %v: %q, want %q", tt.args, errOut, tt.want)
			}
		}
		out, errOut, code := c.mkctlWith([]string{"MINKUBE_EDITOR=false"}, nil, "edit", "task", "ed")
		if code != 1 || out != "" || errOut != "error: the editor \"false\" failed: exit status 1; nothing was applied (set $MINKUBE_EDITOR or $EDITOR to choose another)\n" {
			t.Errorf("a failing editor: exit %d, %q, %q", code, out, errOut)
		}
	})

	t.Run("exec with stdin piped", func(t *testing.T) {
		in := []byte("hello\nworld\n")
		out, errOut, code := c.mkctlStdin(in, "exec", "-i", "box", "--", "/testapp", "cat")
		if code != 0 || out != string(in) || errOut != "" {
			t.Errorf("exec -i cat: exit %d, %q, %q", code, out, errOut)
		}
		// Without -i the command's stdin is empty, whatever mkctl's is.
		out, errOut, code = c.mkctlStdin(in, "exec", "task/box", "--", "/testapp", "cat")
		if code != 0 || out != "" || errOut != "" {
			t.Errorf("exec cat without -i: exit %d, %q, %q", code, out, errOut)
		}
	})

	t.Run("exec exit codes and stderr", func(t *testing.T) {
		for _, tt := range []struct {
			args                []string
			code                int
			wantOut, wantErrOut string
		}{
			{[]string{"exit", "--code", "3"}, 3, "exiting with code 3 after 0s\n", "command terminated with exit code 3\n"},
			{[]string{"crash"}, 1, "", "crashing on start\ncommand terminated with exit code 1\n"},
			{[]string{"exit"}, 0, "exiting with code 0 after 0s\n", ""},
		} {
			out, errOut, code := c.mkctlStdin(nil, append([]string{"exec", "box", "--", "/testapp"}, tt.args...)...)
			if code != tt.code || out != tt.wantOut || errOut != tt.wantErrOut {
				t.Errorf("exec %v: exit %d, %q, %q; want %d, %q, %q", tt.args, code, out, errOut, tt.code, tt.wantOut, tt.wantErrOut)
			}
		}
		// The image has no shell: the engine says so, with exit code 126.
		out, errOut, code := c.mkctlStdin(nil, "exec", "box", "--", "/bin/sh")
		if code != 126 || !strings.Contains(out+errOut, "/bin/sh") || !strings.HasSuffix(errOut, "command terminated with exit code 126\n") {
			t.Errorf("exec of a missing binary: exit %d, %q, %q", code, out, errOut)
		}
	})

	t.Run("exec -it on a terminal", func(t *testing.T) {
		cmd := exec.Command(filepath.Join(binDir, "mkctl"), "exec", "-it", "box", "--", "/testapp", "tty")
		cmd.Env = append(os.Environ(), c.mkctlEnv()...)
		p := startOnPTY(t, cmd, 40, 100)
		p.await(t, "tty: true", "")
		p.typeLine(t, "size")
		p.await(t, "size: 40x100", "") // the size at the start
		p.resize(t, 50, 120)
		p.await(t, "size: 50x120", "size") // SIGWINCH, then a resize frame
		p.typeLine(t, "hi there")
		p.await(t, "got: hi there", "")
		p.typeLine(t, "exit 4")
		code, rest := p.exit(t)
		if code != 4 || !slices.Contains(rest, "command terminated with exit code 4") {
			t.Errorf("exec -it: exit %d, last lines %q", code, rest)
		}
	})

	t.Run("exec -it without a terminal", func(t *testing.T) {
		out, errOut, code := c.mkctlStdin([]byte("size\n"), "exec", "-it", "box", "--", "/testapp", "tty")
		if code != 0 || out != "tty: false\nsize: not a terminal\n" || errOut != "Unable to use a TTY - input is not a terminal or the right kind of file\n" {
			t.Errorf("exec -it with stdin piped: exit %d, %q, %q", code, out, errOut)
		}
	})

	t.Run("exec errors", func(t *testing.T) {
		c.waitTask("job", 60*time.Second, "Succeeded", func(t *v1.Task) bool { return t.Status.Phase == v1.PhaseSucceeded })
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"exec", "nope", "--", "/testapp"}, "error: task \"nope\" not found\n"},
			{[]string{"exec", "job", "--", "/testapp"}, "error: task \"job\" is Succeeded: its container has exited; exec runs in a running container\n"},
			{[]string{"exec", "box", "/testapp"}, "error: give the command after --: mkctl exec TASK -- COMMAND [ARGS...]\nSee 'mkctl exec --help' for usage.\n"},
			{[]string{"exec", "box", "--"}, "error: give the command to run after --\nSee 'mkctl exec --help' for usage.\n"},
			{[]string{"exec", "box", "--token", "wrong", "--", "/testapp"}, "error: the manager at " + c.server + " rejected the token (invalid bearer token); check --token, $MINKUBE_TOKEN or the token of the context in ~/.minkube/config\n"},
		} {
			if errOut := c.mustMkctlFail(tt.args...); errOut != tt.want {
				t.Errorf("mkctl %v: %q, want %q", tt.args, errOut, tt.want)
			}
		}
	})
}
