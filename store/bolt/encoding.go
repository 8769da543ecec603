package bolt

import (
	"encoding/binary"
	"fmt"

	"github.com/minkube/minkube/store"
)

// Bucket and meta key names. The layout is described in doc.go.
var (
	bucketKV   = []byte("kv")
	bucketLog  = []byte("log")
	bucketMeta = []byte("meta")

	metaFormat    = []byte("format")
	metaRevision  = []byte("revision")
	metaCompacted = []byte("compacted")
)

// formatVersion is the on-disk layout version written to meta/format.
const formatVersion = 1

// Log entry flags (the second byte of an entry).
const flagCreated = 1

// revKey encodes a revision as an 8-byte big-endian key, so that byte
// order is revision order.
func revKey(rev int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(rev))
	return b
}

// parseRev decodes an 8-byte big-endian revision.
func parseRev(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("revision of %d bytes, want 8: %w", len(b), ErrCorrupt)
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// putRecord is where a put's value is laid out for its two bucket
// entries, in one allocation: the kv bucket value (the 8-byte revision of
// the write, then the value) and room for its log entry. value is the
// copy of the value the store keeps (and hands to watchers).
type putRecord struct {
	kv, value, log []byte
}

// newPutRecord copies value into a putRecord for key.
func newPutRecord(key string, value []byte) putRecord {
	n := len(value)
	logLen := 2 + uvarintLen(uint64(len(key))) + len(key) + n
	b := make([]byte, 8+n+logLen)
	copy(b[8:], value)
	return putRecord{kv: b[: 8+n : 8+n], value: b[8 : 8+n : 8+n], log: b[8+n : 8+n]}
}

// kvValue returns the kv bucket value of the record at revision rev.
func (r putRecord) kvValue(rev int64) []byte {
	binary.BigEndian.PutUint64(r.kv, uint64(rev))
	return r.kv
}

// uvarintLen is the length of x encoded as a uvarint.
func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

// decodeKV splits a kv bucket value into a copied value and its revision.
// The copy is needed because bbolt's memory is valid only inside the
// transaction.
func decodeKV(key string, b []byte) (store.KeyValue, error) {
	if len(b) < 8 {
		return store.KeyValue{}, fmt.Errorf("key %s: record of %d bytes: %w", key, len(b), ErrCorrupt)
	}
	return store.KeyValue{
		Key:      key,
		Value:    append([]byte{}, b[8:]...),
		Revision: int64(binary.BigEndian.Uint64(b)),
	}, nil
}

// encodeEvent lays out a log entry: event type, flags, the key's length as
// a uvarint, the key, then the value (the new value of a put, the last
// value before a delete). The revision is the entry's key.
func encodeEvent(ev store.Event) []byte {
	return appendEvent(make([]byte, 0, 2+binary.MaxVarintLen64+len(ev.KV.Key)+len(ev.KV.Value)), ev)
}

// appendEvent appends the log entry of ev to b.
func appendEvent(b []byte, ev store.Event) []byte {
	var flags byte
	if ev.Created {
		flags |= flagCreated
	}
	b = append(b, byte(ev.Type), flags)
	b = binary.AppendUvarint(b, uint64(len(ev.KV.Key)))
	b = append(b, ev.KV.Key...)
	return append(b, ev.KV.Value...)
}

// decodeEvent is the inverse of encodeEvent; it copies what it returns.
func decodeEvent(rev int64, b []byte) (store.Event, error) {
	if len(b) < 3 {
		return store.Event{}, fmt.Errorf("log entry %d of %d bytes: %w", rev, len(b), ErrCorrupt)
	}
	typ := store.EventType(b[0])
	if typ != store.EventPut && typ != store.EventDelete {
		return store.Event{}, fmt.Errorf("log entry %d: event type %d: %w", rev, b[0], ErrCorrupt)
	}
	flags := b[1]
	n, w := binary.Uvarint(b[2:])
	if w <= 0 || n > uint64(len(b)-2-w) {
		return store.Event{}, fmt.Errorf("log entry %d: bad key length: %w", rev, ErrCorrupt)
	}
	rest := b[2+w:]
	return store.Event{
		Type: typ,
		KV: store.KeyValue{
			Key:      string(rest[:n]),
			Value:    append([]byte{}, rest[n:]...),
			Revision: rev,
		},
		Created: flags&flagCreated != 0,
	}, nil
}
