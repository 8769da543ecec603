package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// editorVars are the variables that name the editor, in the order they
// are read (kubectl reads KUBE_EDITOR, then EDITOR); defaultEditor is used
// when none is set.
var editorVars = []string{"MINKUBE_EDITOR", "EDITOR", "VISUAL"}

const defaultEditor = "vi"

// maxStatusRetries bounds the edits applied again because only the Task's
// status moved meanwhile.
const maxStatusRetries = 5

func (c *cli) newEditCommand() *cobra.Command {
	var (
		output string
		force  bool
	)
	cmd := &cobra.Command{
		Use:   "edit task NAME [-o yaml|json] [--force-conflicts]",
		Short: "Edit a Task in your editor and apply the change",
		Long: `Edit opens the Task in an editor ($MINKUBE_EDITOR, else $EDITOR, else
$VISUAL, else vi), as YAML or, with -o json, JSON, and applies what you
save. Its status is the system's and is not shown; of its metadata, the
labels and annotations can be changed, and the name, uid, resourceVersion,
generation and timestamps cannot.

The change is applied with the resourceVersion the Task had when the editor
opened, so it cannot overwrite a change made meanwhile: if the Task's spec,
labels or annotations changed on the manager while you edited, the edit is
refused and your version is kept in a file that mkctl names. (A change of
its status alone is not a conflict: the edit is applied over it.)

If what you saved cannot be applied (a field is invalid, or the file does
not parse), the editor opens again with the problems at the top as
comments; save it unchanged to give up, and your version is kept in a
file. Saving an unchanged or an empty file cancels the edit.

A Task the manifests directory manages (annotation minkube.io/source)
stays in the directory's care, as with apply: a change is refused, since
the directory would set it back; change its file instead, or edit with
--force-conflicts to take the Task out of the directory's care.`,
		Example: `  mkctl edit task web
  MINKUBE_EDITOR="code --wait" mkctl edit task/web
  mkctl edit task web -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			kind, names, err := parseResourceArgs(path, args, kindTask, kindWorker)
			if err != nil {
				return err
			}
			if kind == kindWorker {
				return usageErrorf(path, "workers are not edited: their labels change with mkctl label, their scheduling with cordon, uncordon and drain")
			}
			if len(names) != 1 {
				return usageErrorf(path, "edit takes one Task name, got %d", len(names))
			}
			format := outputFormat(output)
			if format != outputYAML && format != outputJSON {
				return usageErrorf(path, "--output must be yaml or json, not %q", output)
			}
			return c.edit(cmd.Context(), names[0], format, force)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", string(outputYAML), "the format to edit in: yaml or json")
	cmd.Flags().BoolVar(&force, "force-conflicts", false, "apply the edit to a Task the manifests directory manages, taking it out of the directory's care")
	return cmd
}

// edit runs the edit loop: open the editor, check what was saved, apply
// it, and open the editor again with the problems when it cannot be
// applied.
func (c *cli) edit(ctx context.Context, name string, format outputFormat, force bool) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	orig, err := api.GetTask(ctx, name)
	if err != nil {
		return notFound(kindTask, name, err)
	}
	body, err := editableTask(orig, format)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "mkctl-edit-*."+string(format))
	if err != nil {
		return fmt.Errorf("create the file to edit: %w", err)
	}
	file := f.Name()
	f.Close()
	keep := false // whether the file outlives mkctl, holding the user's edit
	defer func() {
		if !keep {
			os.Remove(file)
		}
	}()

	var problems []string
	last := body // what was last offered, without its header
	for {
		content := append([]byte(editHeader(orig, force, problems)), last...)
		if err := os.WriteFile(file, content, 0o600); err != nil {
			return fmt.Errorf("write the file to edit: %w", err)
		}
		if err := c.runEditor(file); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		saved, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read the edited file: %w", err)
		}
		edited := dropHeader(saved)
		header := func(problems []string) string { return editHeader(orig, force, problems) }
		step := decideEdit(orig, body, last, edited, problems != nil, header)
		switch step.action {
		case editEmpty:
			fmt.Fprintln(c.out, "Edit cancelled, saved file was empty.")
			return nil
		case editUnchanged:
			fmt.Fprintln(c.out, "Edit cancelled, no changes made.")
			return nil
		case editGiveUp:
			keep = true
			return fmt.Errorf("edit cancelled, no valid changes were saved; your version is kept in %s", file)
		case editReopen:
			problems, last = step.problems, edited
			continue
		}
		task := step.task
		var out *v1.Task
		for try := 0; ; try++ {
			out, _, err = api.ApplyTask(ctx, task, client.ApplyOptions{Force: force})
			if err == nil || !client.IsConflict(err) || try == maxStatusRetries {
				break
			}
			if src, managed := managedRefusal(err); managed {
				keep = true
				return fmt.Errorf("%s; your version is kept in %s", managedMessage(name, src, "edit"), file)
			}
			cur, gerr := api.GetTask(ctx, name)
			if gerr != nil && !client.IsNotFound(gerr) {
				return gerr
			}
			rv, why := afterConflict(orig, cur)
			if why != "" {
				keep = true
				return fmt.Errorf("%s; your version is kept in %s", why, file)
			}
			task.Metadata.ResourceVersion = rv
		}
		var st *v1.Status
		if errors.As(err, &st) && st.Reason == v1.StatusReasonInvalid {
			problems, last = statusProblems(st), edited
			continue
		}
		if err != nil {
			keep = true
			if fatal(ctx, err) {
				return fmt.Errorf("%w (your version is kept in %s)", err, file)
			}
			return fmt.Errorf("%w; your version is kept in %s", err, file)
		}
		fmt.Fprintf(c.out, "task/%s edited\n", out.Metadata.Name)
		return nil
	}
}

// runEditor opens file in the user's editor and waits for it. The editor
// shares mkctl's terminal; an interrupt is the editor's to handle, so it
// is not killed when mkctl's context ends.
func (c *cli) runEditor(file string) error {
	editor, args := editorArgs(os.Getenv, file)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.in, c.out, c.errOut
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("the editor %q failed: %w; nothing was applied (set $MINKUBE_EDITOR or $EDITOR to choose another)", editor, err)
	}
	return nil
}

// editorArgs returns the editor (the first of editorVars that is set,
// else vi) and the command that edits file with it. As kubectl does, a
// value with spaces is split into words ("code --wait"), and one with
// quotes or backslashes is run by $SHELL -c (or /bin/sh).
func editorArgs(getenv func(string) string, file string) (editor string, args []string) {
	editor = defaultEditor
	for _, v := range editorVars {
		if e := strings.TrimSpace(getenv(v)); e != "" {
			editor = e
			break
		}
	}
	if !strings.ContainsAny(editor, "\"'\\") {
		return editor, append(strings.Fields(editor), file)
	}
	shell := getenv("SHELL")
	if shell == "" {
		shell = "/bin/sh"
	}
	return editor, []string{shell, "-c", editor + " " + shellQuote(file)}
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// editableTask renders the part of t a person edits: everything but the
// status, in format.
func editableTask(t *v1.Task, format outputFormat) ([]byte, error) {
	var m map[string]any
	if err := roundTrip(t, &m); err != nil {
		return nil, fmt.Errorf("encode task %q: %w", t.Metadata.Name, err)
	}
	delete(m, "status")
	m["apiVersion"], m["kind"] = v1.APIVersion, v1.KindTask
	var buf bytes.Buffer
	if err := printObject(&buf, format, m); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// editHeader is the comment at the top of the file: how to edit, the
// manifests directory's claim on the Task, and the problems of the last
// save.
func editHeader(t *v1.Task, force bool, problems []string) string {
	var b strings.Builder
	b.WriteString("# Edit the task below and save it to apply the change. Lines beginning\n" +
		"# with '#' are ignored; an empty file cancels the edit. If the change\n" +
		"# cannot be applied, this file opens again with the problems listed here.\n" +
		"# The status is the system's and is not shown.\n")
	if src := t.Metadata.Annotations[v1.AnnotationSource]; src != "" && !force {
		fmt.Fprintf(&b, "#\n# This task is managed by the manifests directory (file %s), which would\n"+
			"# set a change back: change that file instead, or edit with\n"+
			"# --force-conflicts to take the task out of the directory's care.\n", src)
	}
	if len(problems) > 0 {
		fmt.Fprintf(&b, "#\n# task %q was not applied:\n", t.Metadata.Name)
		for _, p := range problems {
			for i, line := range strings.Split(p, "\n") {
				mark := "* "
				if i > 0 {
					mark = "  "
				}
				fmt.Fprintf(&b, "# %s%s\n", mark, line)
			}
		}
	}
	b.WriteString("#\n")
	return b.String()
}

// dropHeader returns data without the comment lines and blank lines it
// starts with: the header editHeader wrote, and any the user added there.
func dropHeader(data []byte) []byte {
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			break
		}
		data = rest
	}
	return data
}

// blankComments returns data with every line that starts with '#'
// emptied, so that line numbers still match the file; in YAML such a line
// is a comment anyway, and JSON has no comments.
func blankComments(data []byte) []byte {
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		if bytes.HasPrefix(l, []byte("#")) {
			lines[i] = nil
		}
	}
	return bytes.Join(lines, []byte("\n"))
}

// editAction is what an edit does with a saved file.
type editAction int

const (
	// editApply applies the Task.
	editApply editAction = iota
	// editEmpty cancels: the file was saved empty.
	editEmpty
	// editUnchanged cancels: nothing the user may change changed.
	editUnchanged
	// editReopen opens the editor again with the problems.
	editReopen
	// editGiveUp cancels after problems, keeping the user's version: the
	// file was saved again as it was offered.
	editGiveUp
)

// editStep is decideEdit's answer.
type editStep struct {
	action   editAction
	task     *v1.Task // for editApply
	problems []string // for editReopen
}

// decideEdit decides what to do with a saved file (edited, header
// dropped), given the Task as it was read (orig, rendered as body) and the
// content last offered (offered; body the first time, the user's previous
// version after problems). The lines that problems name are those of the
// file as it reopens, below the header that lists them.
func decideEdit(orig *v1.Task, body, offered, edited []byte, hadProblems bool, header func(problems []string) string) editStep {
	clean := bytes.TrimSpace(blankComments(edited))
	switch {
	case len(clean) == 0:
		return editStep{action: editEmpty}
	case hadProblems && bytes.Equal(clean, bytes.TrimSpace(blankComments(offered))):
		return editStep{action: editGiveUp}
	case bytes.Equal(clean, bytes.TrimSpace(blankComments(body))):
		return editStep{action: editUnchanged}
	}
	task, problems := checkEdit(orig, blankComments(edited))
	if len(problems) > 0 {
		above := bytes.Repeat([]byte("\n"), strings.Count(header(problems), "\n"))
		_, problems = checkEdit(orig, append(above, blankComments(edited)...))
		return editStep{action: editReopen, problems: problems}
	}
	if len(taskChanges(orig, task)) == 0 {
		return editStep{action: editUnchanged}
	}
	return editStep{action: editApply, task: task}
}

// checkEdit parses an edited Task with apply's parser and checks that
// only what a user may change changed. Problems name the field and, for
// parse errors, the line.
func checkEdit(orig *v1.Task, data []byte) (*v1.Task, []string) {
	docs, err := v1.ParseManifests("edited file", data)
	var derrs v1.DocumentErrors
	switch {
	case errors.As(err, &derrs):
		out := make([]string, len(derrs))
		for i, e := range derrs {
			out[i] = strings.TrimPrefix(e.Error(), "edited file: ")
			out[i] = strings.TrimPrefix(out[i], fmt.Sprintf("document %d (Task %q): ", e.Index, e.Name))
		}
		return nil, out
	case err != nil:
		return nil, []string{err.Error()}
	case len(docs) != 1:
		return nil, []string{fmt.Sprintf("the file must hold exactly one Task, not %d", len(docs))}
	}
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err == nil {
		if _, ok := raw["status"]; ok {
			return nil, []string{"status: is written by the system and cannot be edited; remove it"}
		}
	}
	t := docs[0].Task
	var problems []string
	for _, f := range []struct {
		field     string
		was, now  string
		immutable string
	}{
		{"metadata.name", orig.Metadata.Name, t.Metadata.Name, "; to rename a task, apply one with the new name and delete this one"},
		{"metadata.uid", orig.Metadata.UID, t.Metadata.UID, ""},
		{"metadata.resourceVersion", orig.Metadata.ResourceVersion, t.Metadata.ResourceVersion, ": it is the version you edit"},
		{"metadata.generation", fmt.Sprint(orig.Metadata.Generation), fmt.Sprint(t.Metadata.Generation), ""},
		{"metadata.creationTimestamp", timeText(orig.Metadata.CreationTimestamp), timeText(t.Metadata.CreationTimestamp), ""},
		{"metadata.deletionTimestamp", timeText(orig.Metadata.DeletionTimestamp), timeText(t.Metadata.DeletionTimestamp), ""},
	} {
		if f.was != f.now {
			problems = append(problems, fmt.Sprintf("%s: cannot be changed (was %q, now %q)%s", f.field, f.was, f.now, f.immutable))
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return &t, nil
}

// timeText renders a timestamp for a comparison and a message.
func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// statusProblems lists the causes of the manager's Invalid answer, or its
// message when it gives none.
func statusProblems(st *v1.Status) []string {
	if st.Details == nil || len(st.Details.Causes) == 0 {
		return []string{st.Message}
	}
	out := make([]string, 0, len(st.Details.Causes))
	for _, c := range st.Details.Causes {
		out = append(out, c.Field+": "+c.Message)
	}
	return out
}

// afterConflict decides what an edit of orig does when the manager
// refused it as stale and now holds cur (nil when the Task is gone): apply
// again at cur's resourceVersion when only its status moved, or refuse,
// saying why.
func afterConflict(orig, cur *v1.Task) (resourceVersion, refusal string) {
	name := orig.Metadata.Name
	switch {
	case cur == nil:
		return "", fmt.Sprintf("task %q was deleted while you edited it", name)
	case cur.Metadata.UID != orig.Metadata.UID:
		return "", fmt.Sprintf("task %q was deleted and created again while you edited it", name)
	case cur.Metadata.DeletionTimestamp != nil:
		return "", fmt.Sprintf("task %q is being deleted", name)
	}
	if changes := taskChanges(orig, cur); len(changes) > 0 {
		return "", fmt.Sprintf("task %q was changed on the manager while you edited it (resourceVersion %s is now %s: %s); edit it again to change the current version",
			name, orig.Metadata.ResourceVersion, cur.Metadata.ResourceVersion, strings.Join(changes, ", "))
	}
	return cur.Metadata.ResourceVersion, ""
}
