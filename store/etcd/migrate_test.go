package etcd_test

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
	"github.com/minkube/minkube/store/etcd/etcdtest"
)

// TestMigrate_boltToEtcd moves a bolt store into etcd: every object keeps
// its name, uid, generation and status, and a target that holds anything
// is refused and left as it was.
func TestMigrate_boltToEtcd(t *testing.T) {
	ctx := t.Context()
	c := etcdtest.Start(t, 1)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	from, err := bolt.Open(filepath.Join(t.TempDir(), "minkube.db"), bolt.Options{Logger: logger, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = from.Close() })
	src := store.NewState(from, logger)
	var want []*v1.Task
	for _, name := range []string{"web", "db", "cache"} {
		task := store.NewTask(&v1.Task{Metadata: v1.ObjectMeta{Name: name}, Spec: v1.TaskSpec{Image: "minkube/testapp:dev"}}, time.Now().UTC())
		task.Metadata.Generation = 3
		task.Status = v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1", ObservedGeneration: 3}
		out, err := src.Tasks.Create(ctx, task)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, out)
	}
	if _, err := src.Credentials.Create(ctx, &v1.Credential{Metadata: v1.ObjectMeta{Name: "w1"}, TokenHash: "abc", ManagerToken: "def"}); err != nil {
		t.Fatal(err)
	}

	to := mustOpenPrefix(t, c.Endpoints(), "/migrate", 0)
	n, err := store.Migrate(ctx, to, from)
	if err != nil || n != 4 {
		t.Fatalf("Migrate = %d, %v; want 4 keys copied", n, err)
	}
	dst := store.NewState(to, logger)
	for _, w := range want {
		got, err := dst.Tasks.Get(ctx, w.Metadata.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Metadata.UID != w.Metadata.UID || got.Metadata.Generation != 3 || got.Status.Phase != v1.PhaseRunning || got.Status.Worker != "w1" {
			t.Errorf("task %s after migrating = uid %s generation %d status %+v; want uid %s generation 3 Running on w1",
				w.Metadata.Name, got.Metadata.UID, got.Metadata.Generation, got.Status, w.Metadata.UID)
		}
	}
	if cred, err := dst.Credentials.Get(ctx, "w1"); err != nil || cred.TokenHash != "abc" {
		t.Errorf("credential after migrating = %+v, %v; want the worker's token hash kept", cred, err)
	}

	// Again into the same target: refused, nothing changed.
	rev, _ := to.Revision(ctx)
	if _, err := store.Migrate(ctx, to, from); !errors.Is(err, store.ErrNotEmpty) {
		t.Fatalf("second Migrate: error = %v, want ErrNotEmpty", err)
	}
	if after, _ := to.Revision(ctx); after != rev {
		t.Errorf("the refused Migrate moved the target's revision from %d to %d", rev, after)
	}
}
