package etcd

import (
	"context"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/minkube/minkube/store"
)

// opKind says what a write does.
type opKind int

const (
	opCreate opKind = iota + 1
	opUpdate
	opDelete
)

// writeOp is one Create, Update or Delete.
type writeOp struct {
	kind  opKind
	key   string
	value []byte
	want  int64 // expected revision; 0: any
}

func (w writeOp) name() string {
	switch w.kind {
	case opCreate:
		return "create " + w.key
	case opUpdate:
		return "update " + w.key
	default:
		return "delete " + w.key
	}
}

// fence is the condition a fenced write carries: the key must still
// exist with the create revision it had when it was won.
type fence struct {
	key string
	rev int64
}

// write performs w as one etcd transaction: the key's condition, and the
// fence's when f is not nil, are compared in the same transaction as the
// change, so a write is never made by a writer that lost its fence. When
// the comparison fails, the transaction reads the key (and the fence key)
// back to say why.
func (s *Store) write(ctx context.Context, f *fence, w writeOp) (int64, error) {
	if w.key == "" {
		return 0, fmt.Errorf("%s: empty key", w.name())
	}
	var cmps []clientv3.Cmp
	switch {
	case w.kind == opCreate:
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(w.key), "=", 0))
	case w.want != 0:
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(w.key), "=", w.want))
	default:
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(w.key), ">", 0))
	}
	orElse := []clientv3.Op{clientv3.OpGet(w.key, clientv3.WithKeysOnly())}
	if f != nil {
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(f.key), "=", f.rev))
		orElse = append(orElse, clientv3.OpGet(f.key, clientv3.WithKeysOnly()))
	}
	then := clientv3.OpPut(w.key, string(w.value))
	if w.kind == opDelete {
		then = clientv3.OpDelete(w.key)
	}
	var resp *clientv3.TxnResponse
	err := s.do(ctx, func(ctx context.Context) (err error) {
		resp, err = s.kv.Txn(ctx).If(cmps...).Then(then).Else(orElse...).Commit()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", w.name(), err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	if f != nil {
		fk := resp.Responses[1].GetResponseRange().Kvs
		if len(fk) == 0 || fk[0].CreateRevision != f.rev {
			return 0, fmt.Errorf("%s: %w", w.name(), store.ErrFenced)
		}
	}
	var cur int64
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		cur = kvs[0].ModRevision
	}
	switch {
	case w.kind == opCreate:
		return 0, fmt.Errorf("%s: %w", w.name(), store.ErrExists)
	case cur == 0:
		return 0, fmt.Errorf("%s: %w", w.name(), store.ErrNotFound)
	case w.want != 0 && w.want != cur:
		return 0, fmt.Errorf("%s: %w (expected revision %d, is %d)", w.name(), store.ErrConflict, w.want, cur)
	}
	return 0, fmt.Errorf("%s: %w", w.name(), errors.New("etcd refused the transaction for no reason it reported"))
}
