package gitops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/statetest"
)

// testSettle is the settle window of the tests: short, but long enough
// for the bursts the tests make to settle into one pass.
const testSettle = 50 * time.Millisecond

// waitTimeout bounds every wait; passes take milliseconds.
const waitTimeout = 20 * time.Second

// env is a running controller over a real directory and a real bolt
// store.
type env struct {
	t   *testing.T
	dir string
	st  *store.State
	c   *Controller
}

// mustStart starts the store caches and a controller over dir (made
// unless it is "" in which case a fresh one is used).
func mustStart(t *testing.T, dir string) *env {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "manifests")
		mustMkdir(t, dir)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := statetest.New(t, log)
	c, err := New(Options{State: st, Dir: dir, Settle: testSettle, Resync: time.Hour, Poll: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	statetest.Run(t, st, c)
	return &env{t: t, dir: dir, st: st, c: c}
}

func (e *env) path(rel string) string { return filepath.Join(e.dir, filepath.FromSlash(rel)) }

// task returns the stored task, or nil.
func (e *env) task(name string) *v1.Task {
	e.t.Helper()
	t, err := e.st.Tasks.Get(e.t.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

// waitTask waits until the stored task satisfies cond and returns it.
func (e *env) waitTask(name, what string, cond func(*v1.Task) bool) *v1.Task {
	e.t.Helper()
	var last *v1.Task
	deadline := time.Now().Add(waitTimeout)
	for {
		last = e.task(name)
		if cond(last) {
			return last
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("task %s: timed out waiting for %s; last seen: %+v", name, what, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitApplied waits until the task exists, is not being deleted, comes
// from file, and has the image and args given.
func (e *env) waitApplied(name, file, image string, args ...string) *v1.Task {
	e.t.Helper()
	return e.waitTask(name, fmt.Sprintf("applied from %s with %s %v", file, image, args), func(t *v1.Task) bool {
		return t != nil && t.Metadata.DeletionTimestamp == nil && source(t) == file &&
			t.Spec.Image == image && slices.Equal(t.Spec.Args, args)
	})
}

// waitDeleting waits until the task has a deletionTimestamp (the scheduler,
// which would then remove it, does not run in these tests).
func (e *env) waitDeleting(name string) *v1.Task {
	e.t.Helper()
	return e.waitTask(name, "a deletionTimestamp", func(t *v1.Task) bool {
		return t != nil && t.Metadata.DeletionTimestamp != nil
	})
}

// waitPasses waits until the controller has run n passes.
func (e *env) waitPasses(n int64) {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for e.c.passes.Load() < n {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %d passes; %d ran", n, e.c.passes.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitEvent waits for an event about the object of kind and name with the
// reason, whose message contains text, and returns it.
func (e *env) waitEvent(kind, name, reason, text string) *v1.Event {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		for _, ev := range statetest.Events(e.t, e.st, kind, name) {
			if ev.Reason == reason && strings.Contains(ev.Message, text) {
				return ev
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for a %s event about %s %s containing %q; have %v", reason, kind, name, text, eventSummary(statetest.Events(e.t, e.st, kind, name)))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func eventSummary(events []*v1.Event) []string {
	var out []string
	for _, ev := range events {
		out = append(out, ev.Reason+": "+ev.Message)
	}
	return out
}

// sync writes a marker file and waits until its task is applied: every
// event before it has then been looked at by a pass.
func (e *env) sync() {
	e.t.Helper()
	name := "marker-" + fmt.Sprint(time.Now().UnixNano()%1e9)
	mustWrite(e.t, e.path("zz-marker.yaml"), taskDoc(name, "marker:1"))
	e.waitApplied(name, "zz-marker.yaml", "marker:1")
}

// mustApplyByHand creates a task the way mkctl does: no source annotation.
func (e *env) mustApplyByHand(name, image string) *v1.Task {
	e.t.Helper()
	in := &v1.Task{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: name}, Spec: v1.TaskSpec{Image: image}}
	v1.SetTaskDefaults(in)
	out, _, err := e.st.ApplyTask(e.t.Context(), in, store.ApplyOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func taskDoc(name, image string, args ...string) string {
	doc := fmt.Sprintf("apiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: %s\nspec:\n  image: %s\n", name, image)
	if len(args) > 0 {
		doc += fmt.Sprintf("  args: [%s]\n", strings.Join(args, ", "))
	}
	return doc
}

func docs(ds ...string) string { return strings.Join(ds, "---\n") }

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// mustRemoveDir removes a directory at once, as far as a reader can
// tell: renamed away, then removed. os.RemoveAll alone removes file by
// file, and a loaded machine can run a pass in between that sees the
// files gone from a directory still there.
func mustRemoveDir(t *testing.T, dir string) {
	t.Helper()
	gone := dir + ".removed"
	mustRename(t, dir, gone)
	mustRemove(t, gone)
}

// mustWriteAtomic saves the way editors and Git do: a temporary file in
// the same directory, renamed over the target.
func mustWriteAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	mustWrite(t, tmp, content)
	mustRename(t, tmp, path)
}

func mustRename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func mustRemove(t *testing.T, path string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// sameTask fails unless got is the same incarnation (uid) as want, not
// being deleted.
func sameTask(t *testing.T, got, want *v1.Task) {
	t.Helper()
	if got.Metadata.UID != want.Metadata.UID {
		t.Errorf("task %s: uid %s, want %s (it was deleted and created again)", got.Metadata.Name, got.Metadata.UID, want.Metadata.UID)
	}
	if got.Metadata.DeletionTimestamp != nil {
		t.Errorf("task %s is being deleted", got.Metadata.Name)
	}
}

// scenario is a test run against a fresh controller and directory.
type scenario struct {
	name string
	run  func(t *testing.T, e *env)
}

func runScenarios(t *testing.T, tests []scenario) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, mustStart(t, ""))
		})
	}
}

func TestController_FileLifecycle(t *testing.T) {
	t.Parallel()
	tests := []scenario{
		{"create", func(t *testing.T, e *env) {
			mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27", `"--port"`, `"8080"`))
			got := e.waitApplied("web", "web.yaml", "nginx:1.27", "--port", "8080")
			if got.Metadata.Generation != 1 || got.Status.Phase != v1.PhasePending {
				t.Errorf("generation %d phase %s, want 1 and Pending", got.Metadata.Generation, got.Status.Phase)
			}
		}},
		{"edit", func(t *testing.T, e *env) {
			mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27"))
			first := e.waitApplied("web", "web.yaml", "nginx:1.27")
			mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27", "a"))
			got := e.waitApplied("web", "web.yaml", "nginx:1.27", "a")
			sameTask(t, got, first)
			if got.Metadata.Generation != 2 {
				t.Errorf("generation %d, want 2", got.Metadata.Generation)
			}
			// Two quick edits of the same size: the second must not be
			// lost to a coarse modification time.
			mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27", "b"))
			mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27", "c"))
			e.waitApplied("web", "web.yaml", "nginx:1.27", "c")
		}},
		{"delete", func(t *testing.T, e *env) {
			mustWrite(t, e.path("web.yaml"), docs(taskDoc("web", "nginx:1.27"), taskDoc("api", "api:1")))
			mustWrite(t, e.path("db.yaml"), taskDoc("db", "postgres:17"))
			e.waitApplied("web", "web.yaml", "nginx:1.27")
			e.waitApplied("api", "web.yaml", "api:1")
			db := e.waitApplied("db", "db.yaml", "postgres:17")
			mustRemove(t, e.path("web.yaml"))
			e.waitDeleting("web")
			e.waitDeleting("api")
			e.waitEvent(v1.KindTask, "web", ReasonPruned, "web.yaml")
			e.sync()
			sameTask(t, e.task("db"), db) // only the tasks of the deleted file
		}},
		{"empty the file", func(t *testing.T, e *env) {
			// A truncated save, or a file emptied on purpose: its tasks
			// stay until the file is deleted.
			mustWrite(t, e.path("web.yaml"), docs(taskDoc("web", "nginx:1.27"), taskDoc("api", "api:1")))
			web := e.waitApplied("web", "web.yaml", "nginx:1.27")
			e.waitApplied("api", "web.yaml", "api:1")
			for _, empty := range []string{"", "# nothing here any more\n---\n"} {
				mustWrite(t, e.path("web.yaml"), empty)
				e.waitEvent(KindFile, "web.yaml", ReasonEmptyManifest, "web.yaml is empty; its tasks (api, web) are kept")
				e.sync()
				sameTask(t, e.task("web"), web)
			}
			mustRemove(t, e.path("web.yaml"))
			e.waitDeleting("web")
			e.waitDeleting("api")
		}},
		{"drop one document", func(t *testing.T, e *env) {
			mustWrite(t, e.path("web.yaml"), docs(taskDoc("web", "nginx:1.27"), taskDoc("api", "api:1")))
			web := e.waitApplied("web", "web.yaml", "nginx:1.27")
			e.waitApplied("api", "web.yaml", "api:1")
			mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27"))
			e.waitDeleting("api")
			sameTask(t, e.task("web"), web)
		}},
		{"rename", func(t *testing.T, e *env) {
			mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27"))
			first := e.waitApplied("web", "web.yaml", "nginx:1.27")
			mustRename(t, e.path("web.yaml"), e.path("frontend.yml"))
			got := e.waitApplied("web", "frontend.yml", "nginx:1.27")
			sameTask(t, got, first)
			if got.Metadata.Generation != 1 {
				t.Errorf("generation %d after a rename, want 1 (only the annotation changed)", got.Metadata.Generation)
			}
			e.waitEvent(v1.KindTask, "web", ReasonMoved, "moved from web.yaml to frontend.yml")
		}},
		{"atomic save", func(t *testing.T, e *env) {
			mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27"))
			first := e.waitApplied("web", "web.yaml", "nginx:1.27")
			mustWriteAtomic(t, e.path("web.yaml"), taskDoc("web", "nginx:1.28"))
			got := e.waitApplied("web", "web.yaml", "nginx:1.28")
			sameTask(t, got, first)
			// vim's way: move the file to a backup, write anew, drop the backup.
			mustRename(t, e.path("web.yaml"), e.path("web.yaml~"))
			mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.29"))
			mustRemove(t, e.path("web.yaml~"))
			got = e.waitApplied("web", "web.yaml", "nginx:1.29")
			sameTask(t, got, first)
		}},
		{"swap and backup files ignored", func(t *testing.T, e *env) {
			for i, name := range []string{".web.yaml.swp", ".web.yaml.swx", "web.yaml~", ".#web.yaml", "#web.yaml#", ".hidden.yaml", "notes.txt", "web.yaml.bak", ".git/config.yaml"} {
				mustWrite(t, e.path(name), taskDoc(fmt.Sprintf("ignored-%d", i), "nope:1"))
			}
			e.sync()
			for i := range 9 {
				if got := e.task(fmt.Sprintf("ignored-%d", i)); got != nil {
					t.Errorf("task %s was applied from %s", got.Metadata.Name, source(got))
				}
			}
		}},
		{"subdirectory made after start", func(t *testing.T, e *env) {
			mustWrite(t, e.path("top.yaml"), taskDoc("top", "top:1"))
			mustWrite(t, e.path("team/a/web.yaml"), taskDoc("web", "nginx:1.27"))
			first := e.waitApplied("web", "team/a/web.yaml", "nginx:1.27")
			mustWrite(t, e.path("team/a/web.yaml"), taskDoc("web", "nginx:1.28"))
			sameTask(t, e.waitApplied("web", "team/a/web.yaml", "nginx:1.28"), first)
			mustRename(t, e.path("team/a"), e.path("team/b"))
			sameTask(t, e.waitApplied("web", "team/b/web.yaml", "nginx:1.28"), first)
			mustWrite(t, e.path("team/b/web.yaml"), taskDoc("web", "nginx:1.29"))
			sameTask(t, e.waitApplied("web", "team/b/web.yaml", "nginx:1.29"), first)
			mustRemove(t, e.path("team"))
			e.waitDeleting("web")
		}},
	}
	runScenarios(t, tests)
}

func TestController_Ownership(t *testing.T) {
	t.Parallel()
	tests := []scenario{
		{"task moved between files", func(t *testing.T, e *env) {
			mustWrite(t, e.path("a.yaml"), docs(taskDoc("web", "nginx:1.27"), taskDoc("api", "api:1")))
			mustWrite(t, e.path("b.yaml"), taskDoc("db", "postgres:17"))
			api := e.waitApplied("api", "a.yaml", "api:1")
			e.waitApplied("db", "b.yaml", "postgres:17")
			// One change, as a commit would make it. The new file is
			// written first: however far apart a loaded machine puts the
			// two saves, some file declares the task all along.
			mustWriteAtomic(t, e.path("b.yaml"), docs(taskDoc("db", "postgres:17"), taskDoc("api", "api:1")))
			mustWriteAtomic(t, e.path("a.yaml"), taskDoc("web", "nginx:1.27"))
			got := e.waitApplied("api", "b.yaml", "api:1")
			sameTask(t, got, api)
			if got.Metadata.Generation != api.Metadata.Generation {
				t.Errorf("generation %d, want %d: only the annotation changed", got.Metadata.Generation, api.Metadata.Generation)
			}
			e.waitEvent(v1.KindTask, "api", ReasonMoved, "moved from a.yaml to b.yaml")
		}},
		{"moved: new file saved first", func(t *testing.T, e *env) {
			mustWrite(t, e.path("a.yaml"), docs(taskDoc("web", "nginx:1.27"), taskDoc("api", "api:1")))
			api := e.waitApplied("api", "a.yaml", "api:1")
			mustWrite(t, e.path("b.yaml"), taskDoc("api", "api:1"))
			e.waitEvent(KindFile, "b.yaml", ReasonDuplicateTask, `b.yaml: document 1 (Task "api"): metadata.name: Task "api" is already defined in a.yaml`)
			mustWrite(t, e.path("a.yaml"), taskDoc("web", "nginx:1.27"))
			sameTask(t, e.waitApplied("api", "b.yaml", "api:1"), api)
		}},
		{"duplicate names", func(t *testing.T, e *env) {
			mustWrite(t, e.path("b.yaml"), taskDoc("web", "nginx:1.27"))
			first := e.waitApplied("web", "b.yaml", "nginx:1.27")
			// a.yaml sorts first, but b.yaml owns the task already.
			mustWrite(t, e.path("a.yaml"), taskDoc("web", "httpd:2"))
			ev := e.waitEvent(KindFile, "a.yaml", ReasonDuplicateTask, `Task "web" is already defined in b.yaml`)
			if ev.Type != v1.EventWarning {
				t.Errorf("event type %s, want Warning", ev.Type)
			}
			// Nothing flaps: several passes later b.yaml still owns it.
			for range 3 {
				e.sync()
			}
			sameTask(t, e.waitApplied("web", "b.yaml", "nginx:1.27"), first)
			if got := e.task("web"); got.Metadata.Generation != 1 {
				t.Errorf("generation %d, want 1", got.Metadata.Generation)
			}
			if evs := statetest.Events(t, e.st, KindFile, "a.yaml"); len(evs) != 1 || evs[0].Count != 1 {
				t.Errorf("events about a.yaml: %v, want the one DuplicateTask recorded once", eventSummary(evs))
			}
			// The owner lets go: the other file takes it over.
			mustRemove(t, e.path("b.yaml"))
			sameTask(t, e.waitApplied("web", "a.yaml", "httpd:2"), first)
		}},
		{"duplicate names in one pass", func(t *testing.T, e *env) {
			mustWrite(t, e.path("b.yaml"), taskDoc("web", "httpd:2"))
			mustWrite(t, e.path("a.yaml"), taskDoc("web", "nginx:1.27"))
			e.waitApplied("web", "a.yaml", "nginx:1.27")
			e.waitEvent(KindFile, "b.yaml", ReasonDuplicateTask, `Task "web" is already defined in a.yaml`)
		}},
		{"task made with mkctl", func(t *testing.T, e *env) {
			manual := e.mustApplyByHand("manual", "busybox:1")
			mustWrite(t, e.path("manual.yaml"), taskDoc("manual", "nginx:1.27"))
			e.waitEvent(KindFile, "manual.yaml", ReasonTaskNotOwned, `manual.yaml: document 1 (Task "manual"): metadata.name: Task "manual" exists and is not managed by the manifests directory`)
			mustRemove(t, e.path("manual.yaml"))
			e.sync()
			got := e.task("manual")
			sameTask(t, got, manual)
			if got.Spec.Image != "busybox:1" || source(got) != "" || got.Metadata.Generation != 1 {
				t.Errorf("task made by hand changed: image %s source %q generation %d", got.Spec.Image, source(got), got.Metadata.Generation)
			}
		}},
		{"task deleted by hand comes back", func(t *testing.T, e *env) {
			mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27"))
			first := e.waitApplied("web", "web.yaml", "nginx:1.27")
			// Deleting it for good is the scheduler's part; do it here.
			if err := e.st.Tasks.Delete(t.Context(), "web", ""); err != nil {
				t.Fatal(err)
			}
			got := e.waitApplied("web", "web.yaml", "nginx:1.27")
			if got.Metadata.UID == first.Metadata.UID {
				t.Errorf("uid %s unchanged: the task was not created again", got.Metadata.UID)
			}
		}},
	}
	runScenarios(t, tests)
}

func TestController_BrokenFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		// event is text the InvalidManifest event must hold.
		event string
	}{
		{"invalid field", taskDoc("web", "nginx:1.27") + "  ports:\n    - containerPort: 0\n",
			`web.yaml: document 1 (Task "web"): spec.ports[0].containerPort:`},
		{"not yaml", "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: web\n", "web.yaml: document 1: not valid YAML"},
		{"unknown field", taskDoc("web", "nginx:1.27") + "  imagePullPolicy: Always\n", `spec.imagePullPolicy`},
		{"half written", "apiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: web\nspec:\n", `web.yaml: document 1 (Task "web"): spec.image:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := mustStart(t, "")
			mustWrite(t, e.path("web.yaml"), docs(taskDoc("web", "nginx:1.27", "v1"), taskDoc("api", "api:1")))
			web := e.waitApplied("web", "web.yaml", "nginx:1.27", "v1")
			api := e.waitApplied("api", "web.yaml", "api:1")

			mustWrite(t, e.path("web.yaml"), tt.content)
			ev := e.waitEvent(KindFile, "web.yaml", ReasonInvalidManifest, tt.event)
			if ev.Type != v1.EventWarning || ev.InvolvedObject.Kind != KindFile {
				t.Errorf("event %+v, want a Warning about the File", ev)
			}
			e.sync()
			for _, want := range []*v1.Task{web, api} {
				got := e.task(want.Metadata.Name)
				sameTask(t, got, want)
				if got.Metadata.Generation != want.Metadata.Generation || got.Spec.Hash() != want.Spec.Hash() {
					t.Errorf("task %s changed while its file was broken: generation %d, spec %+v", want.Metadata.Name, got.Metadata.Generation, got.Spec)
				}
			}

			// The next good save applies.
			mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27", "v2"))
			sameTask(t, e.waitApplied("web", "web.yaml", "nginx:1.27", "v2"), web)
			e.waitDeleting("api")
		})
	}
}

func TestController_Burst(t *testing.T) {
	e := mustStart(t, "")
	before := e.c.passes.Load()
	const n = 500
	// A checkout: files land in a few directories in quick succession.
	for i := range n {
		mustWrite(t, e.path(fmt.Sprintf("team-%d/task-%03d.yaml", i%5, i)), taskDoc(fmt.Sprintf("task-%03d", i), "busybox:1"))
	}
	e.waitTask("task-499", "all applied", func(*v1.Task) bool { return e.st.TaskCache.Len() == n })
	for i := range n {
		name := fmt.Sprintf("task-%03d", i)
		if got := e.task(name); got == nil || source(got) != fmt.Sprintf("team-%d/%s.yaml", i%5, name) || got.Metadata.Generation != 1 {
			t.Fatalf("task %s: %+v", name, got)
		}
	}
	// Each file wrote Create and Write events; they settle into a few
	// passes, not one per file (a long stall of the writer can add some).
	if passes := e.c.passes.Load() - before; passes > n/20 {
		t.Errorf("%d passes for %d files, want a few", passes, n)
	}

	// Removing them all at once deletes them all.
	mustRemove(t, e.path("team-0"))
	for i := 0; i < n; i += 5 {
		e.waitDeleting(fmt.Sprintf("task-%03d", i))
	}
	if got := e.task("task-001"); got.Metadata.DeletionTimestamp != nil {
		t.Errorf("task-001 of team-1 is being deleted")
	}
}

func TestController_Directory(t *testing.T) {
	t.Parallel()
	t.Run("removed and recreated", func(t *testing.T) {
		t.Parallel()
		e := mustStart(t, "")
		mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27"))
		mustWrite(t, e.path("sub/api.yaml"), taskDoc("api", "api:1"))
		web := e.waitApplied("web", "web.yaml", "nginx:1.27")
		api := e.waitApplied("api", "sub/api.yaml", "api:1")

		mustRemoveDir(t, e.dir)
		e.waitEvent(KindDirectory, e.dir, ReasonDirectoryMissing, "its tasks are kept")
		// The tasks stay as they are while the directory is missing.
		sameTask(t, e.task("web"), web)
		sameTask(t, e.task("api"), api)

		mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.28"))
		sameTask(t, e.waitApplied("web", "web.yaml", "nginx:1.28"), web)
		e.waitDeleting("api") // sub/api.yaml did not come back
		// And the new directory is watched.
		mustWrite(t, e.path("sub/api.yaml"), taskDoc("api2", "api:2"))
		e.waitApplied("api2", "sub/api.yaml", "api:2")
	})
	t.Run("last file deleted", func(t *testing.T) {
		t.Parallel()
		e := mustStart(t, "")
		mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27"))
		e.waitApplied("web", "web.yaml", "nginx:1.27")
		mustRemove(t, e.path("web.yaml"))
		e.waitDeleting("web")
	})
	t.Run("recreated empty", func(t *testing.T) {
		t.Parallel()
		e := mustStart(t, "")
		mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27"))
		mustWrite(t, e.path("api.yaml"), taskDoc("api", "api:1"))
		web := e.waitApplied("web", "web.yaml", "nginx:1.27")
		api := e.waitApplied("api", "api.yaml", "api:1")
		// rm -rf and a clone under way: an empty directory deletes nothing.
		mustRemoveDir(t, e.dir)
		e.waitEvent(KindDirectory, e.dir, ReasonDirectoryMissing, "its tasks are kept")
		mustMkdir(t, filepath.Join(e.dir, ".git"))
		e.waitEvent(KindDirectory, e.dir, ReasonDirectoryEmpty, "the tasks created from it (2) are kept until files appear")
		sameTask(t, e.task("web"), web)
		sameTask(t, e.task("api"), api)
		// The checkout lands: sync resumes.
		mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27"))
		e.waitDeleting("api")
		sameTask(t, e.task("web"), web)
	})
	t.Run("empty at start", func(t *testing.T) {
		t.Parallel()
		// A restart with an empty directory: the store holds a task from a
		// file the directory does not have (yet). The task reaches the
		// cache after the first pass looked: the warning must follow the
		// store, not only file events.
		e := mustStart(t, "")
		e.waitPasses(1)
		in := &v1.Task{Metadata: v1.ObjectMeta{Name: "old", Annotations: map[string]string{v1.AnnotationSource: "old.yaml"}},
			Spec: v1.TaskSpec{Image: "old:1"}}
		v1.SetTaskDefaults(in)
		old, _, err := e.st.ApplyTask(t.Context(), in, store.ApplyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		e.waitEvent(KindDirectory, e.dir, ReasonDirectoryEmpty, "the tasks created from it (1) are kept until files appear")
		sameTask(t, e.task("old"), old)
		mustWrite(t, e.path("new.yaml"), taskDoc("new", "new:1"))
		e.waitApplied("new", "new.yaml", "new:1")
		e.waitDeleting("old")
	})
	t.Run("written between walk and watch", func(t *testing.T) {
		t.Parallel()
		// A file written after a pass listed a new directory and before
		// its watch was added makes no event; the directory is read again.
		dir := filepath.Join(t.TempDir(), "manifests")
		mustMkdir(t, dir)
		log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
		st := statetest.New(t, log)
		c, err := New(Options{State: st, Dir: dir, Settle: testSettle, Resync: time.Hour, Poll: time.Hour, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		c.afterWalk = func() {
			once.Do(func() { mustWrite(t, filepath.Join(dir, "web.yaml"), taskDoc("web", "nginx:1.27")) })
		}
		statetest.Run(t, st, c)
		e := &env{t: t, dir: dir, st: st, c: c}
		e.waitApplied("web", "web.yaml", "nginx:1.27")
	})
	t.Run("missing at start", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "not", "yet")
		e := mustStart(t, dir)
		e.waitEvent(KindDirectory, dir, ReasonDirectoryMissing, "no such file or directory")
		mustWrite(t, e.path("web.yaml"), taskDoc("web", "nginx:1.27"))
		e.waitApplied("web", "web.yaml", "nginx:1.27")
	})
	t.Run("..data swap", func(t *testing.T) {
		t.Parallel()
		// A mounted ConfigMap: files are links into ..data, a link to a
		// timestamped directory that is replaced atomically.
		e := mustStart(t, "")
		mustWrite(t, e.path("..2026_01/web.yaml"), taskDoc("web", "nginx:1.27"))
		mustWrite(t, e.path("..2026_01/api.yaml"), taskDoc("api", "api:1"))
		mustSymlink(t, "..2026_01", e.path("..data"))
		mustSymlink(t, "..data/web.yaml", e.path("web.yaml"))
		mustSymlink(t, "..data/api.yaml", e.path("api.yaml"))
		web := e.waitApplied("web", "web.yaml", "nginx:1.27")
		e.waitApplied("api", "api.yaml", "api:1")

		mustWrite(t, e.path("..2026_02/web.yaml"), taskDoc("web", "nginx:1.28"))
		mustSymlink(t, "..2026_02", e.path("..data_tmp"))
		mustRename(t, e.path("..data_tmp"), e.path("..data"))
		mustRemove(t, e.path("..2026_01"))
		sameTask(t, e.waitApplied("web", "web.yaml", "nginx:1.28"), web)
		e.waitDeleting("api")
	})
	t.Run("symlinked directory swapped", func(t *testing.T) {
		t.Parallel()
		e := mustStart(t, "")
		outside := t.TempDir()
		mustWrite(t, filepath.Join(outside, "v1", "web.yaml"), taskDoc("web", "nginx:1.27"))
		mustWrite(t, filepath.Join(outside, "v2", "web.yaml"), taskDoc("web", "nginx:1.28"))
		mustSymlink(t, filepath.Join(outside, "v1"), e.path("team"))
		web := e.waitApplied("web", "team/web.yaml", "nginx:1.27")
		// An edit behind the link is seen.
		mustWrite(t, filepath.Join(outside, "v1", "web.yaml"), taskDoc("web", "nginx:1.27", "edited"))
		e.waitApplied("web", "team/web.yaml", "nginx:1.27", "edited")

		mustSymlink(t, filepath.Join(outside, "v2"), e.path(".team.tmp"))
		mustRename(t, e.path(".team.tmp"), e.path("team"))
		sameTask(t, e.waitApplied("web", "team/web.yaml", "nginx:1.28"), web)
		// The watch follows the link to its new target.
		mustWrite(t, filepath.Join(outside, "v2", "web.yaml"), taskDoc("web", "nginx:1.29"))
		sameTask(t, e.waitApplied("web", "team/web.yaml", "nginx:1.29"), web)
	})
	t.Run("the directory itself is a swapped link", func(t *testing.T) {
		t.Parallel()
		base := t.TempDir()
		mustWrite(t, filepath.Join(base, "rev1", "web.yaml"), taskDoc("web", "nginx:1.27"))
		mustWrite(t, filepath.Join(base, "rev2", "web.yaml"), taskDoc("web", "nginx:1.28"))
		dir := filepath.Join(base, "current")
		mustSymlink(t, "rev1", dir)
		e := mustStart(t, dir)
		web := e.waitApplied("web", "web.yaml", "nginx:1.27")
		mustSymlink(t, "rev2", filepath.Join(base, "next"))
		mustRename(t, filepath.Join(base, "next"), dir)
		sameTask(t, e.waitApplied("web", "web.yaml", "nginx:1.28"), web)
		mustWrite(t, filepath.Join(base, "rev2", "web.yaml"), taskDoc("web", "nginx:1.29"))
		sameTask(t, e.waitApplied("web", "web.yaml", "nginx:1.29"), web)
	})
}

func TestController_StartTwice(t *testing.T) {
	c, err := New(Options{State: store.NewState(nil, nil), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- c.Start(ctx) }()
	}
	// One of the two returns at once with an error; the other runs (here
	// it waits for caches that never start) until ctx ends.
	if err := <-errs; err == nil {
		t.Error("a second Start returned nil, want an error")
	}
	cancel()
	if err := <-errs; err != nil {
		t.Errorf("Start returned %v after its context ended, want nil", err)
	}
}

func TestNew_Errors(t *testing.T) {
	st := store.NewState(nil, nil)
	tests := []struct {
		name string
		opts Options
	}{
		{"no state", Options{Dir: "x"}},
		{"no dir", Options{State: st}},
		{"negative settle", Options{State: st, Dir: "x", Settle: -time.Second}},
		{"negative resync", Options{State: st, Dir: "x", Resync: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil {
				t.Error("New returned no error")
			}
		})
	}
}
