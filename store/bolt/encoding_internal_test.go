package bolt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/s2"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// fileCodec is the codec of a new file.
func fileCodec(t testing.TB) codec {
	t.Helper()
	c, err := newCodec(newDictionary())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runningTask is a running task's JSON as the manager keeps it, its own
// names, identifiers and times differing from the dictionary's.
const runningTask = `{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"task-04711","labels":{"bench":"scale"},"uid":"b18f3b08-1445-4470-aae3-b088a85ff192","generation":1,"creationTimestamp":"2026-12-03T15:54:32.479334955Z"},"spec":{"image":"example.invalid/app:1","resources":{},"restartPolicy":"Always"},"status":{"phase":"Running","worker":"hollow-7","containerID":"3f6c2b8e9a1d4c7b5e0f2a9d8c6b4e1f7a3d5c9b2e8f6a4d1c7b9e3f5a2d8c6b","hostIP":"127.0.0.1","startedAt":"2026-12-03T15:54:32.540472576Z","observedGeneration":1,"conditions":[{"type":"Scheduled","status":"True","reason":"Assigned","message":"assigned to worker hollow-7","observedGeneration":1,"lastTransitionTime":"2026-12-03T15:54:32.53167281Z"},{"type":"Started","status":"True","reason":"ContainerRunning","observedGeneration":1,"lastTransitionTime":"2026-12-03T15:54:32.540474751Z"},{"type":"Ready","status":"True","reason":"ContainerRunning","observedGeneration":1,"lastTransitionTime":"2026-12-03T15:54:32.540474751Z"},{"type":"Updated","status":"True","reason":"UpToDate","observedGeneration":1,"lastTransitionTime":"2026-12-03T15:54:32.540474751Z"}]}}`

// A put's record lays out the kv value (revision, then the value's
// block, made with the file's dictionary) and its log entry, the entry
// in the room left for it, and keeps its own copy of the value; what it
// lays out decodes to the value again.
func TestPutRecord(t *testing.T) {
	c := fileCodec(t)
	long := strings.Repeat(runningTask, 2*dictReach/len(runningTask)) // past the dictionary's reach
	for _, tc := range []struct{ key, value string }{
		{"tasks/web", `{"a":1}`},
		{"", ""},
		{strings.Repeat("k", 200), strings.Repeat("v", 5000)}, // a two-byte key length
		{"tasks/web-1", runningTask},
		{"tasks/long", long},
	} {
		value := []byte(tc.value)
		block := c.dict.Encode(nil, value)
		if len(value) > dictReach {
			block = s2.Encode(nil, value)
		}
		r := c.newPutRecord(tc.key, value)
		if len(value) > 0 {
			value[0] = 'X' // the caller reuses its buffer
		}
		if string(r.value) != tc.value {
			t.Errorf("record value = %q after the caller changed its slice; want %q", r.value, tc.value)
		}
		kv := r.kvValue(42)
		want := binary.BigEndian.AppendUint64(nil, 42)
		want = append(want, block...)
		if !bytes.Equal(kv, want) {
			t.Errorf("kv value = %q, want the revision and the value's block %q", kv, want)
		}
		if got, err := c.decodeKV(tc.key, kv); err != nil || string(got.Value) != tc.value || got.Revision != 42 || got.Value == nil {
			t.Errorf("decodeKV = %q at %d, %v; want %q at 42", got.Value, got.Revision, err, tc.value)
		}
		ev := store.Event{Type: store.EventPut, Created: true, KV: store.KeyValue{Key: tc.key, Value: r.value, Revision: 42}}
		entry := appendEntry(r.log, ev, r.block())
		if fresh := appendEntry(nil, ev, block); !bytes.Equal(entry, fresh) {
			t.Errorf("log entry = %q, want %q", entry, fresh)
		}
		if cap(r.log) != len(entry) {
			t.Errorf("room for the log entry = %d bytes, the entry is %d", cap(r.log), len(entry))
		}
		if got, err := c.decodeEvent(42, entry); err != nil || got.KV.Key != tc.key || string(got.KV.Value) != tc.value || !got.Created {
			t.Errorf("decodeEvent = %+v, %v", got, err)
		}
		if string(r.value) != tc.value || string(r.kvValue(42)) != string(want) {
			t.Errorf("record = %q, %q after the log entry was written; want %q, %q", r.value, r.kvValue(42), tc.value, want)
		}
		if tc.value == strings.Repeat("v", 5000) && len(r.block()) > len(tc.value)/4 {
			t.Errorf("a value of %d bytes of one letter has a block of %d", len(tc.value), len(r.block()))
		}
	}
	// The dictionary makes a task's block less than half a plain block
	// of the same JSON (what is left is mostly the task's own identifiers
	// and times).
	if n, plain, m := len(runningTask), len(s2.Encode(nil, []byte(runningTask))), len(c.newPutRecord("k", []byte(runningTask)).block()); m*2 >= plain {
		t.Errorf("a task's JSON of %d bytes has a block of %d with the dictionary, %d without", n, m, plain)
	}
}

// A plain block, as format 2 wrote and as a value past the dictionary's
// reach is kept, reads the same with the dictionary as without.
func TestPlainBlockReadsWithDictionary(t *testing.T) {
	c := fileCodec(t)
	for _, v := range []string{"", "x", runningTask, strings.Repeat(runningTask, 100)} {
		for _, cc := range []codec{c, {}} {
			if got, err := cc.decodeValue(s2.Encode(nil, []byte(v))); err != nil || string(got) != v {
				t.Errorf("plain block of %d bytes read with dictionary %v: %d bytes, %v", len(v), cc.dict != nil, len(got), err)
			}
		}
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
		{0x0a, 0x26, 0xff, 0xff},       // ten bytes copied from 65,535 back: past any dictionary
	}
	huge := binary.AppendUvarint(nil, maxValue+1)
	bad = append(bad, append(huge, 0x00))
	for _, c := range []codec{fileCodec(t), {}} { // a file's, and format 2's
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := c.decodeValue(bad[0]); err == nil {
			t.Fatal("a block saying it holds 4 GB decoded")
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("refusing a block that says it holds 4 GB allocated %d bytes", grew)
		}
		for _, block := range bad {
			kv := append(binary.BigEndian.AppendUint64(nil, 7), block...)
			if _, err := c.decodeKV("tasks/web", kv); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "tasks/web") {
				t.Errorf("decodeKV of block %x: err %v, want ErrCorrupt naming the key", block, err)
			}
			entry := appendEntry(nil, store.Event{Type: store.EventPut, KV: store.KeyValue{Key: "tasks/web"}}, block)
			if _, err := c.decodeEvent(7, entry); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "log entry 7") {
				t.Errorf("decodeEvent of block %x: err %v, want ErrCorrupt naming the entry", block, err)
			}
		}
	}
}

// The dictionary's documents are objects of the API as it is: each
// decodes into its kind's type with no field unknown, so a field renamed
// or removed shows here rather than as blocks quietly growing.
func TestDictionarySample(t *testing.T) {
	for i, doc := range dictionarySample {
		var head v1.TypeMeta
		if err := json.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		var obj any
		switch head.Kind {
		case "Task":
			obj = new(v1.Task)
		case "Event":
			obj = new(v1.Event)
		case "Worker":
			obj = new(v1.Worker)
		case "Credential":
			obj = new(v1.Credential)
		default:
			t.Fatalf("document %d is of kind %q, which the test does not know", i, head.Kind)
		}
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			t.Errorf("document %d, a %s: %v", i, head.Kind, err)
		}
	}
	if d := s2.NewDict(newDictionary()); d == nil {
		t.Fatal("the dictionary does not read")
	}
}
