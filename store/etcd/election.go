package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/minkube/minkube/store"
)

// ElectionPrefix is where the controllers' election keeps its candidates'
// keys (under the store's prefix).
const ElectionPrefix = "/election/controllers"

// DefaultLeaseTTL is the lease of a leader and of a manager's registry
// entry: how long a manager that stops answering keeps them.
const DefaultLeaseTTL = 2 * time.Second

// campaignBackoff is the wait before campaigning again after a failure.
const campaignBackoff = 500 * time.Millisecond

// Fenced is a view of a Store whose writes are refused, with
// store.ErrFenced, once the leader key it was made with is gone or
// belongs to another term. Reads and watches go to the Store unchanged.
// Close does nothing: the Store belongs to its opener.
type Fenced struct {
	s        *Store
	f        fence
	rejected atomic.Int64
}

var _ store.Store = (*Fenced)(nil)

// Fenced returns a view of s whose writes each carry, in their etcd
// transaction, the comparison that key exists with create revision rev.
func (s *Store) Fenced(key string, rev int64) *Fenced {
	return &Fenced{s: s, f: fence{key: key, rev: rev}}
}

// Rejected returns how many writes the fence has refused.
func (f *Fenced) Rejected() int64 { return f.rejected.Load() }

// Get reads through to the store.
func (f *Fenced) Get(ctx context.Context, key string) (store.KeyValue, error) {
	return f.s.Get(ctx, key)
}

// List reads through to the store.
func (f *Fenced) List(ctx context.Context, prefix string) ([]store.KeyValue, int64, error) {
	return f.s.List(ctx, prefix)
}

// Create is Store.Create, refused with store.ErrFenced once the fence is lost.
func (f *Fenced) Create(ctx context.Context, key string, value []byte) (int64, error) {
	return f.count(f.s.write(ctx, &f.f, writeOp{kind: opCreate, key: key, value: value}))
}

// Update is Store.Update, refused with store.ErrFenced once the fence is lost.
func (f *Fenced) Update(ctx context.Context, key string, value []byte, rev int64) (int64, error) {
	return f.count(f.s.write(ctx, &f.f, writeOp{kind: opUpdate, key: key, value: value, want: rev}))
}

// Delete is Store.Delete, refused with store.ErrFenced once the fence is lost.
func (f *Fenced) Delete(ctx context.Context, key string, rev int64) error {
	_, err := f.count(f.s.write(ctx, &f.f, writeOp{kind: opDelete, key: key, want: rev}))
	return err
}

func (f *Fenced) count(rev int64, err error) (int64, error) {
	if errors.Is(err, store.ErrFenced) {
		f.rejected.Add(1)
	}
	return rev, err
}

// Watch reads through to the store.
func (f *Fenced) Watch(ctx context.Context, prefix string, rev int64) (<-chan store.Event, error) {
	return f.s.Watch(ctx, prefix, rev)
}

// Revision reads through to the store.
func (f *Fenced) Revision(ctx context.Context) (int64, error) { return f.s.Revision(ctx) }

// Close does nothing; the Store is closed by whoever opened it.
func (f *Fenced) Close() error { return nil }

// Term is one stretch of leadership, handed to the function Campaign runs.
type Term struct {
	// Store is the fenced view every write of the term must go through.
	Store *Fenced
	// Key and Rev identify the leader key of the term.
	Key string
	Rev int64
}

// Campaign runs lead each time this process (called name) wins the
// controllers' election, until ctx ends. lead gets a context that ends
// when leadership is lost (the lease could not be kept alive, the leader
// key was deleted) and a Term whose fenced Store refuses writes once it
// is. When lead returns, leadership is given up and the campaign starts
// again; so it does after lead returns an error, a moment later. Campaign
// returns nil when ctx ends, after lead has returned.
func (s *Store) Campaign(ctx context.Context, name string, ttl time.Duration, lead func(ctx context.Context, term Term) error) error {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	log := s.log.With("manager", name)
	for ctx.Err() == nil {
		if err := s.term(ctx, name, ttl, log, lead); err != nil && ctx.Err() == nil {
			log.Warn("leader election failed; campaigning again", "err", err, "in", campaignBackoff)
		}
		select {
		case <-ctx.Done():
		case <-time.After(campaignBackoff):
		}
	}
	return nil
}

// term campaigns once and, on winning, leads until leadership ends.
func (s *Store) term(ctx context.Context, name string, ttl time.Duration, log *slog.Logger, lead func(context.Context, Term) error) error {
	sess, err := concurrency.NewSession(s.cli, concurrency.WithTTL(int(max(ttl.Round(time.Second)/time.Second, 1))), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("lease: %w", s.mapErr(ctx, err))
	}
	defer func() {
		// Revoke the lease, so that another manager need not wait for it
		// to expire; a lease that cannot be revoked expires.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_, _ = s.lease.Revoke(cctx, sess.Lease())
		sess.Orphan()
	}()
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-sess.Done():
			cancel()
		case <-tctx.Done():
		}
	}()
	e := concurrency.NewElection(sess, ElectionPrefix)
	if err := e.Campaign(tctx, name); err != nil {
		return fmt.Errorf("campaign: %w", s.mapErr(ctx, err))
	}
	if tctx.Err() != nil {
		return errors.New("the lease ended while campaigning")
	}
	term := Term{Key: e.Key(), Rev: e.Rev()}
	term.Store = s.Fenced(term.Key, term.Rev)
	// Watch the key: a leader whose key is deleted has lost the fence and
	// must stop at once, whatever its lease says.
	go s.watchKey(tctx, term, cancel)
	log.Info("leading: running the controllers", "key", term.Key, "revision", term.Rev)
	start := time.Now()
	err = lead(tctx, term)
	reason := "stopping"
	switch {
	case ctx.Err() != nil:
	case sess.Done() != nil && isDone(sess.Done()):
		reason = "the lease was lost"
	case tctx.Err() != nil:
		reason = "the leader key was deleted"
	case err != nil:
		reason = err.Error()
	}
	log.Warn("stepped down as leader", "reason", reason, "led", time.Since(start).Round(time.Millisecond),
		"refusedWrites", term.Store.Rejected())
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("leading: %w", err)
	}
	return nil
}

// watchKey cancels the term when its leader key is deleted or replaced.
func (s *Store) watchKey(ctx context.Context, term Term, cancel func()) {
	for ctx.Err() == nil {
		wch := s.watcher.Watch(ctx, term.Key, clientv3.WithRev(term.Rev+1))
		for resp := range wch {
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete || ev.Kv.CreateRevision != term.Rev {
					cancel()
					return
				}
			}
			if resp.Err() != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(campaignBackoff):
		}
	}
}

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Leader returns the name of the manager that leads now: the value of the
// oldest key of the election. It returns "" when nobody leads.
func (s *Store) Leader(ctx context.Context) (string, error) {
	var resp *clientv3.GetResponse
	err := s.do(ctx, func(ctx context.Context) (err error) {
		resp, err = s.kv.Get(ctx, ElectionPrefix+"/", clientv3.WithFirstCreate()...)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("read the leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}
