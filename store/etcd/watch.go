package etcd

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/minkube/minkube/store"
)

// watchBuffer is the capacity of a watch channel.
const watchBuffer = 1024

// Watch streams every change to keys with the prefix after revision rev,
// in revision order; rev 0 means from now on. It returns
// store.ErrCompacted when etcd no longer keeps the changes after rev.
//
// The channel closes when ctx ends, when the store closes, when etcd ends
// the watch (its history was compacted meanwhile), and when the member
// the watch runs on loses its leader: a watch on a member cut off from
// the quorum would go quiet without saying so, and the caller must list
// again instead.
func (s *Store) Watch(ctx context.Context, prefix string, rev int64) (<-chan store.Event, error) {
	name := fmt.Sprintf("watch %s from revision %d", prefix, rev)
	if rev < 0 {
		return nil, fmt.Errorf("%s: negative revision", name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if rev > 0 {
		// etcd reports compaction on the watch channel, after the watch
		// has started; a read at the first revision wanted says it now.
		err := s.do(ctx, func(ctx context.Context) error {
			_, err := s.kv.Get(ctx, prefix, clientv3.WithRev(rev+1), clientv3.WithCountOnly())
			if errors.Is(err, rpctypes.ErrFutureRev) {
				return nil // nothing after rev yet
			}
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("%s: %w", name, store.ErrClosed)
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV()}
	if prefix == "" {
		opts[0] = clientv3.WithFromKey()
	}
	if rev > 0 {
		opts = append(opts, clientv3.WithRev(rev+1))
	}
	wch := s.watcher.Watch(wctx, prefix, opts...)
	out := make(chan store.Event, watchBuffer)
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		defer close(out)
		defer cancel()
		for {
			var (
				resp clientv3.WatchResponse
				ok   bool
			)
			select {
			case <-s.closing:
				return
			case <-ctx.Done():
				return
			case resp, ok = <-wch:
				if !ok {
					return
				}
			}
			if err := resp.Err(); err != nil {
				if ctx.Err() == nil {
					s.log.Info("etcd ended a watch; the reader lists again", "prefix", prefix, "err", err)
				}
				return
			}
			for _, ev := range resp.Events {
				select {
				case out <- convert(ev):
				case <-s.closing:
					return
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// convert turns an etcd watch event into a store event.
func convert(ev *clientv3.Event) store.Event {
	if ev.Type == mvccpb.DELETE {
		out := store.Event{Type: store.EventDelete, KV: store.KeyValue{Key: string(ev.Kv.Key), Revision: ev.Kv.ModRevision}}
		if ev.PrevKv != nil {
			out.KV.Value = ev.PrevKv.Value
		}
		return out
	}
	return store.Event{
		Type:    store.EventPut,
		Created: ev.IsCreate(),
		KV:      store.KeyValue{Key: string(ev.Kv.Key), Value: ev.Kv.Value, Revision: ev.Kv.ModRevision},
	}
}
