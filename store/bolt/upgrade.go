package bolt

import (
	"bytes"
	"fmt"

	bbolt "go.etcd.io/bbolt"
)

// migrateV1 upgrades a store of format 1, which kept values as they came,
// to format 2, which keeps each in a block (encoding.go): every value of
// the kv bucket and of the log is rewritten. It runs in the transaction
// that opens the store, so a store is upgraded whole or not at all. It
// returns the number of values rewritten.
func migrateV1(tx *bbolt.Tx) (int, error) {
	kv, err := rewrite(tx.Bucket(bucketKV), func(k, v []byte) ([]byte, error) {
		if len(v) < 8 {
			return nil, fmt.Errorf("key %s: record of %d bytes: %w", k, len(v), ErrCorrupt)
		}
		return appendBlock(v[:8], v[8:]), nil
	})
	if err != nil {
		return 0, err
	}
	logb := tx.Bucket(bucketLog)
	logb.FillPercent = 1 // keys are in order, as when they were appended
	log, err := rewrite(logb, func(k, v []byte) ([]byte, error) {
		// type, flags, the key's length, the key, then the value
		_, head, err := entryKey(v)
		if err != nil {
			return nil, fmt.Errorf("log entry %x: %w", k, err)
		}
		return appendBlock(v[:head], v[head:]), nil
	})
	if err != nil {
		return 0, err
	}
	return kv + log, tx.Bucket(bucketMeta).Put(metaFormat, revKey(formatVersion))
}

// appendBlock returns a new slice of head, then value's block.
func appendBlock(head, value []byte) (b []byte) {
	withBlock(value, func(block []byte) {
		b = append(append(make([]byte, 0, len(head)+len(block)), head...), block...)
	})
	return b
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
