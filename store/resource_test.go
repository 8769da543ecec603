package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

// quietLogger drops logs so test output stays readable.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// mustStore opens a bolt store in a temporary directory, closed at
// cleanup.
func mustStore(tb testing.TB, opts bolt.Options) *bolt.Store {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s, err := bolt.Open(filepath.Join(tb.TempDir(), "state.db"), opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}

func newTasks(s store.Store) *store.Resource[v1.Task, *v1.Task] {
	return store.NewResource[v1.Task](s, "/tasks/", "task")
}

func newTask(name, image string) *v1.Task {
	return &v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec:     v1.TaskSpec{Image: image},
	}
}

func mustCreateTask(tb testing.TB, r *store.Resource[v1.Task, *v1.Task], name, image string) *v1.Task {
	tb.Helper()
	out, err := r.Create(tb.Context(), newTask(name, image))
	if err != nil {
		tb.Fatalf("create task %s: %v", name, err)
	}
	return out
}

func mustRev(tb testing.TB, obj v1.Object) int64 {
	tb.Helper()
	rev, err := store.ParseResourceVersion(obj.GetObjectMeta().ResourceVersion)
	if err != nil || rev == 0 {
		tb.Fatalf("object %s has resourceVersion %q: %v", obj.GetObjectMeta().Name, obj.GetObjectMeta().ResourceVersion, err)
	}
	return rev
}

func TestResource_createGetUpdateDelete(t *testing.T) {
	ctx := t.Context()
	r := newTasks(mustStore(t, bolt.Options{}))

	in := newTask("web", "nginx:1.27")
	created, err := r.Create(ctx, in)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if created == in || in.Metadata.ResourceVersion != "" {
		t.Fatal("Create returned or changed its argument; want a fresh object")
	}
	got, err := r.Get(ctx, "web")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Metadata.ResourceVersion != created.Metadata.ResourceVersion || got.Spec.Image != "nginx:1.27" || got.Metadata.Labels["app"] != "web" {
		t.Fatalf("Get = %+v, want what Create returned: %+v", got, created)
	}
	got.Metadata.Labels["app"] = "changed" // the caller owns it
	if again, _ := r.Get(ctx, "web"); again.Metadata.Labels["app"] != "web" {
		t.Fatal("changing a returned object changed the next Get")
	}

	stale := created.DeepCopy()
	next := created.DeepCopy()
	next.Spec.Image = "nginx:1.28"
	updated, err := r.Update(ctx, next)
	if err != nil {
		t.Fatalf("Update with the current resourceVersion: %v", err)
	}
	if mustRev(t, updated) <= mustRev(t, created) {
		t.Errorf("Update resourceVersion %s, not after %s", updated.Metadata.ResourceVersion, created.Metadata.ResourceVersion)
	}

	tests := []struct {
		name    string
		op      func() error
		wantErr error
		wantMsg string
	}{
		{"create existing", func() error { _, err := r.Create(ctx, newTask("web", "x")); return err },
			store.ErrExists, `task "web": already exists`},
		{"get missing", func() error { _, err := r.Get(ctx, "nope"); return err },
			store.ErrNotFound, `task "nope": not found`},
		{"update stale", func() error { _, err := r.Update(ctx, stale); return err },
			store.ErrConflict, `task "web": conflict: the object has been modified`},
		{"update missing", func() error { _, err := r.Update(ctx, newTask("nope", "x")); return err },
			store.ErrNotFound, `task "nope": not found`},
		{"delete stale", func() error { return r.Delete(ctx, "web", stale.Metadata.ResourceVersion) },
			store.ErrConflict, `task "web": conflict: the object has been modified`},
		{"delete missing", func() error { return r.Delete(ctx, "nope", "") },
			store.ErrNotFound, `task "nope": not found`},
		{"bad resourceVersion", func() error { return r.Delete(ctx, "web", "abc") }, nil, ""},
		{"empty name", func() error { _, err := r.Get(ctx, ""); return err }, nil, ""},
		{"name with slash", func() error { _, err := r.Create(ctx, newTask("a/b", "x")); return err }, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if err == nil {
				t.Fatal("succeeded; want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("error = %q, want %q", err, tt.wantMsg)
			}
		})
	}

	// Without a resourceVersion an update overwrites.
	stale.Metadata.ResourceVersion = ""
	stale.Spec.Image = "nginx:1.29"
	if _, err := r.Update(ctx, stale); err != nil {
		t.Fatalf("unconditional Update: %v", err)
	}
	cur, err := r.Get(ctx, "web")
	if err != nil || cur.Spec.Image != "nginx:1.29" {
		t.Fatalf("Get after unconditional Update = %v, %v", cur, err)
	}
	if err := r.Delete(ctx, "web", cur.Metadata.ResourceVersion); err != nil {
		t.Fatalf("Delete with the current resourceVersion: %v", err)
	}
	if _, err := r.Get(ctx, "web"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
}

func TestResource_resourceVersionNotStored(t *testing.T) {
	ctx := t.Context()
	s := mustStore(t, bolt.Options{})
	r := newTasks(s)
	in := newTask("web", "nginx")
	in.Metadata.ResourceVersion = "12345"
	out, err := r.Create(ctx, in)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	kv, err := s.Get(ctx, "/tasks/web")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if bytes.Contains(kv.Value, []byte("resourceVersion")) {
		t.Errorf("stored bytes carry a resourceVersion: %s", kv.Value)
	}
	if out.Metadata.ResourceVersion != strconv.FormatInt(kv.Revision, 10) {
		t.Errorf("resourceVersion = %s, want the key's revision %d", out.Metadata.ResourceVersion, kv.Revision)
	}
	if in.Metadata.ResourceVersion != "12345" {
		t.Errorf("Create changed its argument's resourceVersion to %q", in.Metadata.ResourceVersion)
	}
}

func TestResource_list(t *testing.T) {
	ctx := t.Context()
	s := mustStore(t, bolt.Options{})
	r := newTasks(s)
	for _, name := range []string{"c", "a", "b"} {
		mustCreateTask(t, r, name, "img-"+name)
	}
	workers := store.NewResource[v1.Worker](s, "/workers/", "worker")
	if _, err := workers.Create(ctx, &v1.Worker{Metadata: v1.ObjectMeta{Name: "a"}}); err != nil {
		t.Fatalf("create worker: %v", err)
	}
	tasks, rev, err := r.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var names []string
	for _, task := range tasks {
		names = append(names, task.Metadata.Name+"="+task.Spec.Image)
		if mustRev(t, task) > rev {
			t.Errorf("task %s at %s, after the list's revision %d", task.Metadata.Name, task.Metadata.ResourceVersion, rev)
		}
	}
	if fmt.Sprint(names) != "[a=img-a b=img-b c=img-c]" {
		t.Errorf("List = %v, want a, b, c in order", names)
	}
	if want, _ := s.Revision(ctx); rev != want {
		t.Errorf("List revision = %d, want %d", rev, want)
	}
}

func TestResource_GuaranteedUpdate(t *testing.T) {
	ctx := t.Context()
	r := newTasks(mustStore(t, bolt.Options{}))
	orig := mustCreateTask(t, r, "web", "nginx")
	errStop := errors.New("stop")

	tests := []struct {
		name      string
		fn        func(*v1.Task) (*v1.Task, error)
		wantErr   error
		wantWrite bool
	}{
		{name: "change", wantWrite: true, fn: func(t *v1.Task) (*v1.Task, error) {
			t.Status.Message = "changed"
			return t, nil
		}},
		{name: "nothing to do", fn: func(*v1.Task) (*v1.Task, error) { return nil, nil }},
		{name: "same bytes", fn: func(t *v1.Task) (*v1.Task, error) { return t, nil }},
		{name: "abort", wantErr: errStop, fn: func(*v1.Task) (*v1.Task, error) { return nil, errStop }},
		{name: "rename", fn: func(t *v1.Task) (*v1.Task, error) {
			t.Metadata.Name = "other"
			return t, nil
		}, wantErr: errors.New("any")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, err := r.Get(ctx, "web")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			out, err := r.GuaranteedUpdate(ctx, "web", tt.fn)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("GuaranteedUpdate: %v", err)
			case tt.wantErr != nil && err == nil:
				t.Fatalf("GuaranteedUpdate succeeded; want %v", tt.wantErr)
			case tt.wantErr == errStop && !errors.Is(err, errStop):
				t.Fatalf("GuaranteedUpdate error %v; want fn's error", err)
			}
			after, err := r.Get(ctx, "web")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			wrote := after.Metadata.ResourceVersion != before.Metadata.ResourceVersion
			if wrote != tt.wantWrite {
				t.Errorf("wrote = %v, want %v", wrote, tt.wantWrite)
			}
			if tt.wantErr == nil && out.Metadata.ResourceVersion != after.Metadata.ResourceVersion {
				t.Errorf("returned resourceVersion %s, stored %s", out.Metadata.ResourceVersion, after.Metadata.ResourceVersion)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		called := false
		_, err := r.GuaranteedUpdate(ctx, "nope", func(t *v1.Task) (*v1.Task, error) { called = true; return t, nil })
		if !errors.Is(err, store.ErrNotFound) || called {
			t.Fatalf("error = %v, fn called = %v; want ErrNotFound without a call", err, called)
		}
	})

	t.Run("concurrent", func(t *testing.T) {
		const (
			workers    = 8
			increments = 20
		)
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range increments {
					_, err := r.GuaranteedUpdate(ctx, "web", func(t *v1.Task) (*v1.Task, error) {
						t.Status.RestartCount++
						return t, nil
					})
					if err != nil && !errors.Is(err, store.ErrConflict) {
						errs <- err
						return
					}
					if err != nil {
						errs <- fmt.Errorf("gave up: %w", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, err := r.Get(ctx, "web")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if got.Status.RestartCount != workers*increments {
			t.Errorf("restartCount = %d, want %d", got.Status.RestartCount, workers*increments)
		}
		if got.Metadata.UID != orig.Metadata.UID || got.Spec.Image != orig.Spec.Image {
			t.Errorf("unrelated fields changed: %+v", got)
		}
	})
}

func TestResource_Watch(t *testing.T) {
	ctx := t.Context()
	s := mustStore(t, bolt.Options{})
	r := newTasks(s)
	before := mustCreateTask(t, r, "before", "x")
	ch, err := r.Watch(ctx, mustRev(t, before))
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	created := mustCreateTask(t, r, "web", "nginx:1")
	next := created.DeepCopy()
	next.Spec.Image = "nginx:2"
	updated, err := r.Update(ctx, next)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := r.Delete(ctx, "web", ""); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	deletedAt, _ := s.Revision(ctx)
	// Other kinds stay out.
	if _, err := store.NewResource[v1.Worker](s, "/workers/", "worker").Create(ctx, &v1.Worker{Metadata: v1.ObjectMeta{Name: "w"}}); err != nil {
		t.Fatalf("create worker: %v", err)
	}
	last := mustCreateTask(t, r, "last", "x")

	tests := []struct {
		typ   v1.WatchEventType
		name  string
		image string
		rev   int64
	}{
		{v1.Added, "web", "nginx:1", mustRev(t, created)},
		{v1.Modified, "web", "nginx:2", mustRev(t, updated)},
		{v1.Deleted, "web", "nginx:2", deletedAt},
		{v1.Added, "last", "x", mustRev(t, last)},
	}
	for _, want := range tests {
		ev := <-ch
		if ev.Type != want.typ || ev.Object.Metadata.Name != want.name || ev.Object.Spec.Image != want.image ||
			ev.Revision != want.rev || ev.Object.Metadata.ResourceVersion != strconv.FormatInt(want.rev, 10) {
			t.Errorf("event = %s %s image %s at %d (rv %s), want %s %s image %s at %d", ev.Type, ev.Object.Metadata.Name,
				ev.Object.Spec.Image, ev.Revision, ev.Object.Metadata.ResourceVersion, want.typ, want.name, want.image, want.rev)
		}
	}

	if err := s.Compact(ctx, deletedAt); err != nil {
		t.Fatalf("Compact: %v", err)
	}
	if _, err := r.Watch(ctx, mustRev(t, created)); !errors.Is(err, store.ErrCompacted) {
		t.Errorf("Watch from a compacted revision: %v, want ErrCompacted", err)
	}
}

func TestParseResourceVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "", want: 0},
		{in: "1", want: 1},
		{in: "9007199254740993", want: 9007199254740993},
		{in: "0", wantErr: true},
		{in: "-3", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "12a", wantErr: true},
		{in: " 12", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := store.ParseResourceVersion(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseResourceVersion(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func BenchmarkResourceCreateParallel(b *testing.B) {
	r := newTasks(mustStore(b, bolt.Options{}))
	ctx := b.Context()
	var (
		mu sync.Mutex
		n  int
	)
	b.SetParallelism(64)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			name := "task-" + strconv.Itoa(n)
			mu.Unlock()
			if _, err := r.Create(ctx, newTask(name, "nginx:1.27")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "writes/s")
	}
}

// TestResource_GuaranteedUpdateFrom: an update from a current hint writes
// from it (and leaves it as it was); one from a stale hint loses its
// compare-and-swap and is done again from the store, never over the
// newer write; a hint fn writes nothing from is looked at in the store.
func TestResource_GuaranteedUpdateFrom(t *testing.T) {
	ctx := t.Context()
	r := newTasks(mustStore(t, bolt.Options{}))
	hint := mustCreateTask(t, r, "web", "nginx")

	var seen []string
	out, err := r.GuaranteedUpdateFrom(ctx, "web", hint, func(t *v1.Task) (*v1.Task, error) {
		seen = append(seen, t.Metadata.ResourceVersion)
		t.Status.Message = "from the hint"
		return t, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, []string{hint.Metadata.ResourceVersion}) || hint.Status.Message != "" {
		t.Errorf("fn saw versions %v (want only the hint's %s); hint message %q (want it untouched)", seen, hint.Metadata.ResourceVersion, hint.Status.Message)
	}
	stored, err := r.Get(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status.Message != "from the hint" || out.Metadata.ResourceVersion != stored.Metadata.ResourceVersion {
		t.Errorf("stored %q at %s, returned %s; want the write, at the version returned", stored.Status.Message, stored.Metadata.ResourceVersion, out.Metadata.ResourceVersion)
	}

	// hint is now stale: the increment is done again on the stored task.
	seen = nil
	out, err = r.GuaranteedUpdateFrom(ctx, "web", hint, func(t *v1.Task) (*v1.Task, error) {
		seen = append(seen, t.Status.Message)
		t.Status.RestartCount++
		return t, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[1] != "from the hint" || out.Status.Message != "from the hint" || out.Status.RestartCount != 1 {
		t.Errorf("fn saw messages %q, returned %+v; want a second call on the stored task, whose write is kept", seen, out.Status)
	}

	// Nothing to write from the hint: the store's task is looked at.
	seen = nil
	if _, err := r.GuaranteedUpdateFrom(ctx, "web", hint, func(t *v1.Task) (*v1.Task, error) {
		seen = append(seen, t.Metadata.ResourceVersion)
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[1] != out.Metadata.ResourceVersion {
		t.Errorf("fn saw versions %v; want the hint's, then the stored %s", seen, out.Metadata.ResourceVersion)
	}
}
