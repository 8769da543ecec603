package etcd_test

import (
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/etcd"
	"github.com/minkube/minkube/store/etcd/etcdtest"
	"github.com/minkube/minkube/store/storetest"
)

func TestMain(m *testing.M) { etcdtest.Main(m) }

var prefixes atomic.Int64

// mustOpen opens a store under a prefix no other store of the test binary
// uses, so each is empty, and closes it at cleanup.
func mustOpen(tb testing.TB, endpoints []string) *etcd.Store {
	tb.Helper()
	s, err := etcd.Open(tb.Context(), etcd.Options{
		Endpoints: endpoints,
		Prefix:    fmt.Sprintf("/test-%d", prefixes.Add(1)),
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	c := etcdtest.Start(t, 1)
	storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t, c.Endpoints()) })
}

func BenchmarkStore(b *testing.B) {
	c := etcdtest.Start(b, 1)
	storetest.Bench(b, func(b *testing.B) store.Store { return mustOpen(b, c.Endpoints()) })
}
