package etcd

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	v1 "github.com/minkube/minkube/apis/v1"
)

// ManagersPrefix is where every manager keeps its entry (under the
// store's prefix), one key per manager name, bound to the manager's lease.
const ManagersPrefix = "/managers/"

// registryRefresh is the period of the registry's re-read of the entries
// and the election, and of its check of this manager's readiness.
const registryRefresh = 250 * time.Millisecond

// Registry keeps this manager's entry in etcd and the list of every
// manager's. The entry is bound to a lease: it disappears when the
// manager stops, is killed or loses etcd for longer than the lease, so the
// list holds exactly the managers that are up. Build it with NewRegistry
// and run it with Run.
type Registry struct {
	s     *Store
	self  v1.Manager
	ttl   time.Duration
	ready func() bool
	log   *slog.Logger

	mu     sync.RWMutex
	list   []v1.Manager
	leader string
}

// NewRegistry returns the registry of the managers that share s. self is
// this manager's entry (Name and Address; Ready and Leader are filled
// in); ready reports this manager's readiness, checked every 250ms.
func (s *Store) NewRegistry(self v1.Manager, ttl time.Duration, ready func() bool) *Registry {
	if ttl <= 0 {
		ttl = DefaultLeaseTTL
	}
	return &Registry{s: s, self: self, ttl: ttl, ready: ready, log: s.log.With("manager", self.Name)}
}

// Managers returns every manager that is up, ordered by name, with Leader
// set on the one holding the controllers' election: what the registry
// last read from etcd (at most 250ms ago while etcd answers). It never
// calls etcd, so it is cheap enough for every heartbeat and DNS answer.
func (r *Registry) Managers(context.Context) ([]v1.Manager, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := slices.Clone(r.list)
	for i := range out {
		out[i].Leader = out[i].Name == r.leader
	}
	return out, nil
}

// Run keeps this manager's entry and the list current until ctx ends,
// then deletes the entry (revokes its lease) and returns nil.
func (r *Registry) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { r.keepEntry(ctx) })
	wg.Go(func() { r.follow(ctx) })
	wg.Wait()
	return nil
}

// keepEntry writes the entry under a lease and rewrites it when readiness
// changes or the lease is lost.
func (r *Registry) keepEntry(ctx context.Context) {
	for ctx.Err() == nil {
		if err := r.entryTerm(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("keeping the managers registry entry failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(campaignBackoff):
		}
	}
}

// entryTerm keeps the entry under one lease until the lease is lost or
// ctx ends.
func (r *Registry) entryTerm(ctx context.Context) error {
	sess, err := concurrency.NewSession(r.s.cli, concurrency.WithTTL(int(max(r.ttl.Round(time.Second)/time.Second, 1))), concurrency.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("lease: %w", r.s.mapErr(ctx, err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_, _ = r.s.lease.Revoke(cctx, sess.Lease())
		sess.Orphan()
	}()
	key := ManagersPrefix + r.self.Name
	written := false
	var ready bool
	tick := time.NewTicker(registryRefresh)
	defer tick.Stop()
	for {
		if now := r.ready(); !written || now != ready {
			entry := r.self
			entry.Ready, entry.Leader = now, false
			data, _ := json.Marshal(entry)
			err := r.s.do(ctx, func(ctx context.Context) error {
				_, err := r.s.kv.Put(ctx, key, string(data), clientv3.WithLease(sess.Lease()))
				return err
			})
			if err != nil {
				return fmt.Errorf("write %s: %w", key, err)
			}
			written, ready = true, now
		}
		select {
		case <-ctx.Done():
			return nil
		case <-sess.Done():
			return fmt.Errorf("the lease of %s was lost", key)
		case <-tick.C:
		}
	}
}

// follow re-reads the entries and the leader until ctx ends.
func (r *Registry) follow(ctx context.Context) {
	tick := time.NewTicker(registryRefresh)
	defer tick.Stop()
	failing := false
	for {
		err := r.refresh(ctx)
		if err != nil && !failing && ctx.Err() == nil {
			r.log.Warn("reading the managers registry failed; serving the last list read", "err", err)
		}
		failing = err != nil
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// refresh reads the entries and the leader once.
func (r *Registry) refresh(ctx context.Context) error {
	var resp *clientv3.GetResponse
	err := r.s.do(ctx, func(ctx context.Context) (err error) {
		resp, err = r.s.kv.Get(ctx, ManagersPrefix, clientv3.WithPrefix())
		return err
	})
	if err != nil {
		return fmt.Errorf("list managers: %w", err)
	}
	leader, err := r.s.Leader(ctx)
	if err != nil {
		return err
	}
	list := make([]v1.Manager, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var m v1.Manager
		if err := json.Unmarshal(kv.Value, &m); err != nil {
			r.log.Warn("skipping a managers registry entry that does not decode", "key", string(kv.Key), "err", err)
			continue
		}
		m.Name = strings.TrimPrefix(string(kv.Key), ManagersPrefix)
		list = append(list, m)
	}
	slices.SortFunc(list, func(a, b v1.Manager) int { return cmp.Compare(a.Name, b.Name) })
	r.mu.Lock()
	r.list, r.leader = list, leader
	r.mu.Unlock()
	return nil
}
