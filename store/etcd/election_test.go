package etcd_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/etcd"
	"github.com/minkube/minkube/store/etcd/etcdtest"
)

// waitTimeout bounds waits for what must happen; not a speed requirement.
const waitTimeout = 20 * time.Second

// mustOpenPrefix opens a store under a given prefix, so that several
// stores (managers) share it.
func mustOpenPrefix(tb testing.TB, endpoints []string, prefix string, timeout time.Duration) *etcd.Store {
	tb.Helper()
	s, err := etcd.Open(tb.Context(), etcd.Options{
		Endpoints:      endpoints,
		Prefix:         prefix,
		RequestTimeout: timeout,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// leading is what a campaigner's lead function reports.
type leading struct {
	name string
	term etcd.Term
	ctx  context.Context
}

// campaign runs s.Campaign as name in the background; each won term is
// sent on the returned channel, and the lead function holds the term until
// its context ends.
func campaign(t *testing.T, s *etcd.Store, name string) <-chan leading {
	t.Helper()
	ch := make(chan leading, 4)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = s.Campaign(ctx, name, 2*time.Second, func(ctx context.Context, term etcd.Term) error {
			ch <- leading{name: name, term: term, ctx: ctx}
			<-ctx.Done()
			return nil
		})
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return ch
}

func mustLead(t *testing.T, ch <-chan leading) leading {
	t.Helper()
	select {
	case l := <-ch:
		return l
	case <-time.After(waitTimeout):
		t.Fatal("no term won within the wait")
	}
	return leading{}
}

// TestCampaign_fencedAfterLeadershipLost is the paused leader: A leads,
// its lease ends while A still runs (as when A is frozen past its lease),
// B takes over. Every write A makes through its term's store from then on
// is refused and changes nothing, and A's term context ends.
func TestCampaign_fencedAfterLeadershipLost(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := mustOpenPrefix(t, c.Endpoints(), "/fence", 0)
	b := mustOpenPrefix(t, c.Endpoints(), "/fence", 0)
	ctx := t.Context()

	la := mustLead(t, campaign(t, a, "a"))
	if _, err := la.term.Store.Create(ctx, "/tasks/web", []byte("by a")); err != nil {
		t.Fatalf("A's write while leading: %v", err)
	}
	bch := campaign(t, b, "b")
	select {
	case l := <-bch:
		t.Fatalf("B won a term while A leads: %+v", l.term)
	case <-time.After(300 * time.Millisecond):
	}

	// A's lease ends behind its back, as it does when A cannot renew it.
	kv, err := a.Client().Get(ctx, la.term.Key)
	if err != nil || len(kv.Kvs) != 1 {
		t.Fatalf("read A's leader key: %v", err)
	}
	if _, err := a.Client().Revoke(ctx, clientv3.LeaseID(kv.Kvs[0].Lease)); err != nil {
		t.Fatalf("revoke A's lease: %v", err)
	}
	lb := mustLead(t, bch)
	if lb.term.Key == la.term.Key {
		t.Fatalf("B leads with A's key %s", la.term.Key)
	}

	writes := []struct {
		name string
		fn   func() error
	}{
		{"create", func() error { _, err := la.term.Store.Create(ctx, "/tasks/other", []byte("by a")); return err }},
		{"update", func() error { _, err := la.term.Store.Update(ctx, "/tasks/web", []byte("by a again"), 0); return err }},
		{"delete", func() error { return la.term.Store.Delete(ctx, "/tasks/web", 0) }},
	}
	for _, w := range writes {
		if err := w.fn(); !errors.Is(err, store.ErrFenced) {
			t.Errorf("A's %s after losing the lease: error = %v, want ErrFenced", w.name, err)
		}
	}
	if got := la.term.Store.Rejected(); got != int64(len(writes)) {
		t.Errorf("Rejected() = %d, want %d", got, len(writes))
	}
	if got, err := b.Get(ctx, "/tasks/web"); err != nil || string(got.Value) != "by a" {
		t.Errorf("/tasks/web = %q, %v; want A's write from while it led", got.Value, err)
	}
	if _, err := b.Get(ctx, "/tasks/other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("/tasks/other: error = %v, want ErrNotFound (A's refused create)", err)
	}
	// B's own writes go through.
	if _, err := lb.term.Store.Update(ctx, "/tasks/web", []byte("by b"), 0); err != nil {
		t.Errorf("B's write: %v", err)
	}
	select {
	case <-la.ctx.Done():
	case <-time.After(waitTimeout):
		t.Error("A's term context still open after it lost the lease")
	}
	if leader, err := b.Leader(ctx); err != nil || leader != "b" {
		t.Errorf("Leader() = %q, %v; want b", leader, err)
	}
}

// TestCampaign_stepDownHandsOver checks that a leader that stops gives
// the election up at once (the lease is revoked, not left to expire).
func TestCampaign_stepDownHandsOver(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := mustOpenPrefix(t, c.Endpoints(), "/handover", 0)
	b := mustOpenPrefix(t, c.Endpoints(), "/handover", 0)

	actx, acancel := context.WithCancel(context.Background())
	won := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.Campaign(actx, "a", 30*time.Second, func(ctx context.Context, _ etcd.Term) error {
			close(won)
			<-ctx.Done()
			return nil
		})
	}()
	<-won
	bch := campaign(t, b, "b")
	acancel()
	<-done
	// A's lease is 30s: B must win long before it would expire.
	select {
	case <-bch:
	case <-time.After(10 * time.Second):
		t.Fatal("B did not take over within 10s of A stepping down (its 30s lease was not revoked)")
	}
}

func TestRegistry(t *testing.T) {
	c := etcdtest.Start(t, 1)
	a := mustOpenPrefix(t, c.Endpoints(), "/registry", 0)
	b := mustOpenPrefix(t, c.Endpoints(), "/registry", 0)
	ra := a.NewRegistry(v1.Manager{Name: "a", Address: "http://127.0.0.1:1"}, 2*time.Second, func() bool { return true })
	var mu sync.Mutex
	readyB := false
	rb := b.NewRegistry(v1.Manager{Name: "b", Address: "http://127.0.0.1:2"}, 2*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return readyB
	})
	actx, acancel := context.WithCancel(context.Background())
	bctx, bcancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = ra.Run(actx) })
	wg.Go(func() { _ = rb.Run(bctx) })
	t.Cleanup(func() { acancel(); bcancel(); wg.Wait() })
	campaign(t, a, "a")

	waitManagers(t, rb, "a and b listed, a leading, b not ready", func(ms []v1.Manager) bool {
		return len(ms) == 2 && ms[0].Name == "a" && ms[0].Leader && ms[0].Ready && ms[0].Address == "http://127.0.0.1:1" &&
			ms[1].Name == "b" && !ms[1].Leader && !ms[1].Ready
	})
	mu.Lock()
	readyB = true
	mu.Unlock()
	waitManagers(t, ra, "b ready", func(ms []v1.Manager) bool { return len(ms) == 2 && ms[1].Ready })

	acancel() // a stops: its entry and its leadership go with it
	waitManagers(t, rb, "only b listed, nobody leading", func(ms []v1.Manager) bool {
		return len(ms) == 1 && ms[0].Name == "b" && !ms[0].Leader
	})
}

func waitManagers(t *testing.T, r *etcd.Registry, what string, cond func([]v1.Manager) bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last []v1.Manager
	for time.Now().Before(deadline) {
		last, _ = r.Managers(t.Context())
		if cond(last) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: last list %+v", what, last)
}

// TestQuorumLoss stops two of three members: writes fail with
// ErrUnavailable saying quorum is lost, Health says so too; once the
// members are back the store answers again and nothing is lost.
func TestQuorumLoss(t *testing.T) {
	c := etcdtest.Start(t, 3)
	s := mustOpenPrefix(t, []string{c.Members[0].Endpoint()}, "/quorum", time.Second)
	ctx := t.Context()
	rev, err := s.Create(ctx, "/tasks/kept", []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	c.Members[1].Signal(syscall.SIGSTOP)
	c.Members[2].Signal(syscall.SIGSTOP)
	t.Cleanup(func() { c.Members[1].Signal(syscall.SIGCONT); c.Members[2].Signal(syscall.SIGCONT) })

	var werr error
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if _, werr = s.Create(ctx, "/tasks/during", []byte("v")); werr != nil {
			break
		}
		_ = s.Delete(ctx, "/tasks/during", 0)
		time.Sleep(100 * time.Millisecond)
	}
	if !errors.Is(werr, store.ErrUnavailable) || !strings.Contains(werr.Error(), "quorum") {
		t.Fatalf("write without quorum: error = %v; want ErrUnavailable saying quorum is lost", werr)
	}
	waitFor(t, "Health to report the lost quorum", func() bool {
		err := s.Health()
		return errors.Is(err, store.ErrUnavailable) && strings.Contains(err.Error(), "quorum")
	})

	c.Members[1].Signal(syscall.SIGCONT)
	c.Members[2].Signal(syscall.SIGCONT)
	waitFor(t, "Health to recover", func() bool { return s.Health() == nil })
	if _, err := s.Update(ctx, "/tasks/kept", []byte("v2"), rev); err != nil {
		t.Fatalf("write after quorum is back: %v", err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
