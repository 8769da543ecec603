package bolt

import (
	"bytes"
	"fmt"

	bbolt "go.etcd.io/bbolt"
)

// upgrade rewrites a store of format 1 (values kept as they came) or 2
// (values in plain blocks) into the current format: every value of the
// kv bucket and of the log goes into a block made with a new dictionary,
// which meta then keeps. It runs in the transaction that opens the store,
// so a store is upgraded whole or not at all. It returns the codec of the
// upgraded store and the number of values rewritten.
func upgrade(tx *bbolt.Tx, from int64) (codec, int, error) {
	to, err := newFormat(tx.Bucket(bucketMeta))
	if err != nil {
		return codec{}, 0, err
	}
	old := codec{raw: from == 1}
	kv, err := rewrite(tx.Bucket(bucketKV), func(k, v []byte) ([]byte, error) {
		kv, err := old.decodeKV(string(k), v)
		if err != nil {
			return nil, err
		}
		var nv []byte
		to.withBlock(kv.Value, func(block []byte) {
			nv = append(append(make([]byte, 0, 8+len(block)), v[:8]...), block...)
		})
		return nv, nil
	})
	if err != nil {
		return codec{}, 0, err
	}
	logb := tx.Bucket(bucketLog)
	logb.FillPercent = 1 // keys are in order, as when they were appended
	log, err := rewrite(logb, func(k, v []byte) ([]byte, error) {
		rev, err := parseRev(k)
		if err != nil {
			return nil, fmt.Errorf("log entry %x: %w", k, err)
		}
		ev, err := old.decodeEvent(rev, v)
		if err != nil {
			return nil, err
		}
		var nv []byte
		to.withBlock(ev.KV.Value, func(block []byte) { nv = newEntry(ev, block) })
		return nv, nil
	})
	if err != nil {
		return codec{}, 0, err
	}
	return to, kv + log, nil
}

// rewrite replaces each value of b with what conv makes of it, and
// returns how many it replaced.
func rewrite(b *bbolt.Bucket, conv func(k, v []byte) ([]byte, error)) (int, error) {
	c := b.Cursor()
	n := 0
	for k, v := c.First(); k != nil; k, v = c.Next() {
		nv, err := conv(k, v)
		if err != nil {
			return n, err
		}
		key := bytes.Clone(k)
		if err := b.Put(key, nv); err != nil {
			return n, err
		}
		n++
		// A put moves the cursor's ground: find the key again.
		c.Seek(key)
	}
	return n, nil
}
