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
	dictionary := newDictionary()
	to, err := newCodec(dictionary)
	if err != nil {
		return codec{}, 0, err
	}
	read := codec{}.decodeValue // format 2: a plain block
	if from == 1 {
		read = func(v []byte) ([]byte, error) { return v, nil }
	}
	kv, err := rewrite(tx.Bucket(bucketKV), func(k, v []byte) ([]byte, error) {
		if len(v) < 8 {
			return nil, fmt.Errorf("key %s: record of %d bytes: %w", k, len(v), ErrCorrupt)
		}
		value, err := read(v[8:])
		if err != nil {
			return nil, fmt.Errorf("key %s: value: %w: %w", k, ErrCorrupt, err)
		}
		return to.appendBlock(v[:8], value), nil
	})
	if err != nil {
		return codec{}, 0, err
	}
	logb := tx.Bucket(bucketLog)
	logb.FillPercent = 1 // keys are in order, as when they were appended
	log, err := rewrite(logb, func(k, v []byte) ([]byte, error) {
		// type, flags, the key's length, the key, then the value
		_, head, err := entryKey(v)
		if err != nil {
			return nil, fmt.Errorf("log entry %x: %w", k, err)
		}
		value, err := read(v[head:])
		if err != nil {
			return nil, fmt.Errorf("log entry %x: value: %w: %w", k, ErrCorrupt, err)
		}
		return to.appendBlock(v[:head], value), nil
	})
	if err != nil {
		return codec{}, 0, err
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(metaDictionary, dictionary); err != nil {
		return codec{}, 0, err
	}
	return to, kv + log, meta.Put(metaFormat, revKey(formatVersion))
}

// appendBlock returns a new slice of head, then value's block.
func (c codec) appendBlock(head, value []byte) (b []byte) {
	c.withBlock(value, func(block []byte) {
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
