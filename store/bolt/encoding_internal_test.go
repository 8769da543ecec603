package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"

	"github.com/minkube/minkube/store"
)

// A put's record lays out the kv value (revision, then the value's
// block) and its log entry, the entry in the room left for it, and keeps
// its own copy of the value; what it lays out decodes to the value again.
func TestPutRecord(t *testing.T) {
	task := `{"kind":"Task","metadata":{"name":"web-1"},"status":{"conditions":[` +
		strings.Repeat(`{"type":"Ready","status":"True","reason":"Started"},`, 3) + `{}]}}`
	for _, tc := range []struct{ key, value string }{
		{"tasks/web", `{"a":1}`},
		{"", ""},
		{strings.Repeat("k", 200), strings.Repeat("v", 5000)}, // a two-byte key length
		{"tasks/web-1", task},
	} {
		value := []byte(tc.value)
		r := newPutRecord(tc.key, value)
		if len(value) > 0 {
			value[0] = 'X' // the caller reuses its buffer
		}
		if string(r.value) != tc.value {
			t.Errorf("record value = %q after the caller changed its slice; want %q", r.value, tc.value)
		}
		kv := r.kvValue(42)
		want := binary.BigEndian.AppendUint64(nil, 42)
		want = append(want, s2.Encode(nil, []byte(tc.value))...)
		if !bytes.Equal(kv, want) {
			t.Errorf("kv value = %q, want the revision and the value's block %q", kv, want)
		}
		if got, err := decodeKV(tc.key, kv); err != nil || string(got.Value) != tc.value || got.Revision != 42 || got.Value == nil {
			t.Errorf("decodeKV = %q at %d, %v; want %q at 42", got.Value, got.Revision, err, tc.value)
		}
		ev := store.Event{Type: store.EventPut, Created: true, KV: store.KeyValue{Key: tc.key, Value: r.value, Revision: 42}}
		entry := appendEntry(r.log, ev, r.block())
		if fresh := appendEntry(nil, ev, s2.Encode(nil, []byte(tc.value))); !bytes.Equal(entry, fresh) {
			t.Errorf("log entry = %q, want %q", entry, fresh)
		}
		if cap(r.log) != len(entry) {
			t.Errorf("room for the log entry = %d bytes, the entry is %d", cap(r.log), len(entry))
		}
		if got, err := decodeEvent(42, entry); err != nil || got.KV.Key != tc.key || string(got.KV.Value) != tc.value || !got.Created {
			t.Errorf("decodeEvent = %+v, %v", got, err)
		}
		if string(r.value) != tc.value || string(r.kvValue(42)) != string(want) {
			t.Errorf("record = %q, %q after the log entry was written; want %q, %q", r.value, r.kvValue(42), tc.value, want)
		}
		if len(tc.value) > 1000 && len(r.block()) > len(tc.value)/4 {
			t.Errorf("a value of %d bytes of one letter has a block of %d", len(tc.value), len(r.block()))
		}
	}
	if n, m := len(task), len(newPutRecord("k", []byte(task)).block()); m >= n {
		t.Errorf("a task's JSON of %d bytes has a block of %d: nothing saved", n, m)
	}
}

// A value whose block does not decode is ErrCorrupt, naming its key or
// its log entry, never a panic; one that says it holds more than the
// store keeps is refused before anything is allocated for it.
func TestDecodeCorruptBlock(t *testing.T) {
	bad := [][]byte{
		{0xff, 0xff, 0xff, 0xff, 0x0f}, // a length far past what follows
		{0x05, 0x00},                   // five bytes promised, a literal of one
		append([]byte{0x20}, "abc"...), // 32 bytes promised, three given
	}
	huge := binary.AppendUvarint(nil, maxValue+1)
	bad = append(bad, append(huge, 0x00))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := decodeValue(bad[0]); err == nil {
		t.Fatal("a block saying it holds 4 GB decoded")
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("refusing a block that says it holds 4 GB allocated %d bytes", grew)
	}
	for _, block := range bad {
		kv := append(binary.BigEndian.AppendUint64(nil, 7), block...)
		if _, err := decodeKV("tasks/web", kv); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "tasks/web") {
			t.Errorf("decodeKV of block %x: err %v, want ErrCorrupt naming the key", block, err)
		}
		entry := appendEntry(nil, store.Event{Type: store.EventPut, KV: store.KeyValue{Key: "tasks/web"}}, block)
		if _, err := decodeEvent(7, entry); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "log entry 7") {
			t.Errorf("decodeEvent of block %x: err %v, want ErrCorrupt naming the entry", block, err)
		}
	}
}
