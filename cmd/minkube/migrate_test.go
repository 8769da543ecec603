package main

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
	"github.com/minkube/minkube/store/etcd"
	"github.com/minkube/minkube/store/etcd/etcdtest"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

// TestMigrateCommand runs `minkube store migrate` from a manager's data dir
// into a real etcd, then again, which must be refused.
func TestMigrateCommand(t *testing.T) {
	c := etcdtest.Start(t, 1)
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "minkube.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	task := store.NewTask(&v1.Task{Metadata: v1.ObjectMeta{Name: "web"}, Spec: v1.TaskSpec{Image: "minkube/testapp:dev"}}, time.Now().UTC())
	if _, err := store.NewState(db, nil).Tasks.Create(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	run := func() (string, error) {
		cmd := newStoreCommand()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(io.Discard)
		cmd.SetArgs([]string{"migrate", "--from-data-dir", dir, "--etcd-endpoints", strings.Join(c.Endpoints(), ",")})
		err := cmd.ExecuteContext(t.Context())
		return out.String(), err
	}
	out, err := run()
	if err != nil || !strings.Contains(out, "copied 1 keys") {
		t.Fatalf("migrate = %q, %v; want 1 key copied", out, err)
	}
	s, err := etcd.Open(t.Context(), etcd.Options{Endpoints: c.Endpoints(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := store.NewState(s, nil).Tasks.Get(t.Context(), "web")
	if err != nil || got.Metadata.UID != task.Metadata.UID {
		t.Errorf("web in etcd = %+v, %v; want uid %s", got, err, task.Metadata.UID)
	}
	if _, err := run(); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("second migrate: error = %v; want the target refused as not empty", err)
	}
}
