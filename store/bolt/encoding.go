package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"

	"github.com/minkube/minkube/store"
)

// Bucket and meta key names. The layout is described in doc.go.
var (
	bucketKV   = []byte("kv")
	bucketLog  = []byte("log")
	bucketMeta = []byte("meta")

	metaFormat     = []byte("format")
	metaRevision   = []byte("revision")
	metaCompacted  = []byte("compacted")
	metaDictionary = []byte("dictionary")
)

// formatVersion is the on-disk layout version written to meta/format.
const formatVersion = 3

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
// entries, in one allocation: value, the copy of the value the store
// keeps (and hands to watchers); kv, the kv bucket value (the 8-byte
// revision of the write, then the value's block); and room for its log
// entry.
type putRecord struct {
	kv, value, log []byte
}

// Values are kept in S2 blocks (github.com/klauspost/compress/s2, a
// faster relative of Snappy) made with a dictionary: the documents the
// manager keeps repeat one another's keys and words, and a block may copy
// them from the dictionary rather than hold them (a running task's JSON
// of about 1,100 bytes takes about 600 in a plain block, 300 with the
// dictionary: what is left is mostly its own identifiers and times).
// The file keeps the dictionary its blocks were made with (meta
// "dictionary"), so a later minkube with another sample still reads
// them. A block starts with the value's length, so decoding allocates
// once.
var blockScratch = sync.Pool{New: func() any { return new([]byte) }}

// dictReach is the longest value a block made with the dictionary
// holds. S2 copies from a dictionary only within the first 64 KiB of a
// value, and its dictionary encoder is meant for blocks of at most 4 MiB,
// so a longer value (far beyond any object) is kept in a plain block,
// which reads the same with the dictionary as without: a plain block
// copies only from what it has already written.
const dictReach = s2.MaxDictSrcOffset

// codec makes and reads the blocks of one file. Only an upgrade reads
// with the codecs of older formats: format 2's plain blocks (no
// dictionary), and format 1's values as they came (raw).
type codec struct {
	dict *s2.Dict
	raw  bool
}

// newCodec returns the codec of a dictionary as meta keeps it (what
// s2.Dict.Bytes returns).
func newCodec(dictionary []byte) (codec, error) {
	d := s2.NewDict(dictionary)
	if d == nil {
		return codec{}, fmt.Errorf("a dictionary of %d bytes that does not read: %w", len(dictionary), ErrCorrupt)
	}
	return codec{dict: d}, nil
}

// withBlock encodes value into a block and hands it to use, which must
// copy what it keeps: the block is in a scratch buffer that goes back to
// its pool when use returns.
func (c codec) withBlock(value []byte, use func(block []byte)) {
	scratch := blockScratch.Get().(*[]byte)
	if need := s2.MaxEncodedLen(len(value)); cap(*scratch) < need {
		*scratch = make([]byte, need)
	}
	if c.dict == nil || len(value) > dictReach {
		use(s2.Encode((*scratch)[:cap(*scratch)], value))
	} else {
		use(c.dict.Encode((*scratch)[:cap(*scratch)], value))
	}
	blockScratch.Put(scratch)
}

// newPutRecord copies value, and its block, into a putRecord for key.
func (c codec) newPutRecord(key string, value []byte) (r putRecord) {
	c.withBlock(value, func(block []byte) {
		n, m := len(value), len(block)
		b := make([]byte, n+8+m+entryHeadLen(key)+m)
		copy(b, value)
		copy(b[n+8:], block)
		r = putRecord{value: b[:n:n], kv: b[n : n+8+m : n+8+m], log: b[n+8+m : n+8+m]}
	})
	return r
}

// kvValue returns the kv bucket value of the record at revision rev.
func (r putRecord) kvValue(rev int64) []byte {
	binary.BigEndian.PutUint64(r.kv, uint64(rev))
	return r.kv
}

// block returns the record's value block.
func (r putRecord) block() []byte { return r.kv[8:] }

// uvarintLen is the length of x encoded as a uvarint.
func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

// maxValue is the largest value the store keeps: far above any object
// (the API takes bodies of at most 1 MiB), and the most a block may say
// it holds, so that a corrupt length in the file is refused rather than
// allocated.
const maxValue = 64 << 20

// decodeValue returns the value a block holds, in a new slice.
func (c codec) decodeValue(block []byte) ([]byte, error) {
	if c.raw {
		return bytes.Clone(block), nil
	}
	n, err := s2.DecodedLen(block)
	if err != nil {
		return nil, err
	}
	if n > maxValue {
		return nil, fmt.Errorf("a block of a value of %d bytes, more than the %d the store keeps", n, maxValue)
	}
	if c.dict == nil {
		return s2.Decode(make([]byte, n), block)
	}
	return c.dict.Decode(make([]byte, n), block)
}

// decodeKV splits a kv bucket value into its value, decoded into a new
// slice (bbolt's memory is valid only inside the transaction), and its
// revision.
func (c codec) decodeKV(key string, b []byte) (store.KeyValue, error) {
	if len(b) < 8 {
		return store.KeyValue{}, fmt.Errorf("key %s: record of %d bytes: %w", key, len(b), ErrCorrupt)
	}
	v, err := c.decodeValue(b[8:])
	if err != nil {
		return store.KeyValue{}, fmt.Errorf("key %s: value: %w: %w", key, ErrCorrupt, err)
	}
	return store.KeyValue{Key: key, Value: v, Revision: int64(binary.BigEndian.Uint64(b))}, nil
}

// entryHeadLen is the length of a log entry of key before its value.
func entryHeadLen(key string) int { return 2 + uvarintLen(uint64(len(key))) + len(key) }

// newEntry returns ev's log entry, with block, in a slice of its own.
func newEntry(ev store.Event, block []byte) []byte {
	return appendEntry(make([]byte, 0, entryHeadLen(ev.KV.Key)+len(block)), ev, block)
}

// appendEntry appends a log entry to b: event type, flags, the key's
// length as a uvarint, the key, then block, the value's block (the new
// value of a put, the last value before a delete). The revision is the
// entry's key.
func appendEntry(b []byte, ev store.Event, block []byte) []byte {
	var flags byte
	if ev.Created {
		flags |= flagCreated
	}
	b = append(b, byte(ev.Type), flags)
	b = binary.AppendUvarint(b, uint64(len(ev.KV.Key)))
	b = append(b, ev.KV.Key...)
	return append(b, block...)
}

// decodeEvent is the inverse of appendEntry; it copies what it returns.
func (c codec) decodeEvent(rev int64, b []byte) (store.Event, error) {
	if len(b) < 3 {
		return store.Event{}, fmt.Errorf("log entry %d of %d bytes: %w", rev, len(b), ErrCorrupt)
	}
	typ := store.EventType(b[0])
	if typ != store.EventPut && typ != store.EventDelete {
		return store.Event{}, fmt.Errorf("log entry %d: event type %d: %w", rev, b[0], ErrCorrupt)
	}
	n, w := binary.Uvarint(b[2:])
	if w <= 0 || n > uint64(len(b)-2-w) {
		return store.Event{}, fmt.Errorf("log entry %d: bad key length: %w", rev, ErrCorrupt)
	}
	head := 2 + w + int(n)
	key := b[2+w : head]
	v, err := c.decodeValue(b[head:])
	if err != nil {
		return store.Event{}, fmt.Errorf("log entry %d: value: %w: %w", rev, ErrCorrupt, err)
	}
	return store.Event{
		Type:    typ,
		KV:      store.KeyValue{Key: string(key), Value: v, Revision: rev},
		Created: b[1]&flagCreated != 0,
	}, nil
}
