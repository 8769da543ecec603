package bolt

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/minkube/minkube/store"
)

// A put's record lays out the kv value (revision, then value) and its log
// entry as encodeEvent does, the entry in the room left for it, and keeps
// its own copy of the value.
func TestPutRecord(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"tasks/web", `{"a":1}`},
		{"", ""},
		{strings.Repeat("k", 200), strings.Repeat("v", 5000)}, // a two-byte key length
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
		want = append(want, tc.value...)
		if !bytes.Equal(kv, want) {
			t.Errorf("kv value = %q, want %q", kv, want)
		}
		ev := store.Event{Type: store.EventPut, Created: true, KV: store.KeyValue{Key: tc.key, Value: r.value, Revision: 42}}
		entry := appendEvent(r.log, ev)
		if !bytes.Equal(entry, encodeEvent(ev)) {
			t.Errorf("log entry = %q, want encodeEvent's %q", entry, encodeEvent(ev))
		}
		if cap(r.log) != len(entry) {
			t.Errorf("room for the log entry = %d bytes, the entry is %d", cap(r.log), len(entry))
		}
		if got, err := decodeEvent(42, entry); err != nil || got.KV.Key != tc.key || string(got.KV.Value) != tc.value || !got.Created {
			t.Errorf("decodeEvent = %+v, %v", got, err)
		}
		if string(r.value) != tc.value {
			t.Errorf("record value = %q after the log entry was written; want %q", r.value, tc.value)
		}
	}
}
