package bolt_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/s2"
	bbolt "go.etcd.io/bbolt"

	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

func rev8(r int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(r)) }

// oldValue lays out a value as format 1 (as it came) or 2 (a plain S2
// block) did.
func oldValue(format int64, value string) []byte {
	if format == 1 {
		return []byte(value)
	}
	return s2.Encode(nil, []byte(value))
}

// oldEntry lays out a log entry as formats 1 and 2 did: event type, flags
// (1: created), the key's length as a uvarint, the key, the value.
func oldEntry(format int64, typ store.EventType, created bool, key, value string) []byte {
	var flags byte
	if created {
		flags = 1
	}
	b := binary.AppendUvarint([]byte{byte(typ), flags}, uint64(len(key)))
	return append(append(b, key...), oldValue(format, value)...)
}

// writeOld writes a store of format 1 or 2 by hand: /k/a created at 2,
// /k/b created at 3 and deleted at 4, /k/c created at 5, its log whole,
// and the extra writes of edit.
func writeOld(t *testing.T, path string, format int64, a, b, c string, edit func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bbolt.Tx) error {
		kv, _ := tx.CreateBucket([]byte("kv"))
		log, _ := tx.CreateBucket([]byte("log"))
		meta, _ := tx.CreateBucket([]byte("meta"))
		for _, e := range []struct {
			bucket     *bbolt.Bucket
			key, value []byte
		}{
			{meta, []byte("format"), rev8(format)},
			{meta, []byte("revision"), rev8(5)},
			{meta, []byte("compacted"), rev8(1)},
			{kv, []byte("/k/a"), append(rev8(2), oldValue(format, a)...)},
			{kv, []byte("/k/c"), append(rev8(5), oldValue(format, c)...)},
			{log, rev8(2), oldEntry(format, store.EventPut, true, "/k/a", a)},
			{log, rev8(3), oldEntry(format, store.EventPut, true, "/k/b", b)},
			{log, rev8(4), oldEntry(format, store.EventDelete, false, "/k/b", b)},
			{log, rev8(5), oldEntry(format, store.EventPut, true, "/k/c", c)},
		} {
			if err := e.bucket.Put(e.key, e.value); err != nil {
				return err
			}
		}
		if edit != nil {
			return edit(tx)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rawValue reads a bucket's value as it lies in the file.
func rawValue(t *testing.T, path, bucket string, key []byte) []byte {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v []byte
	_ = db.View(func(tx *bbolt.Tx) error {
		v = append([]byte(nil), tx.Bucket([]byte(bucket)).Get(key)...)
		return nil
	})
	return v
}

// A store of format 1 (values as they came) or 2 (values in plain
// blocks) opens upgraded: its values, its revision and its whole history
// read as they were written; the file holds format 3, a dictionary, and
// the values' blocks made with it; it opens again as it is. A file of a
// newer format is refused as such; one of format 0, one of format 3
// without its dictionary, and an old file with a broken log entry, as
// corrupt, the last left as it was.
func TestOpen_upgradesOlderFormats(t *testing.T) {
	ctx := t.Context()
	a := `{"kind":"Task","metadata":{"name":"a"},"status":{"conditions":[` +
		strings.Repeat(`{"type":"Ready","status":"True","reason":"Started"},`, 3) + `{}]}}`
	b, c := strings.Repeat(`{"b":1}`, 50), ""
	for _, from := range []int64{1, 2} {
		path := filepath.Join(t.TempDir(), "state.db")
		writeOld(t, path, from, a, b, c, nil)
		for open := range 2 { // upgraded, then as it is
			s := mustOpenPath(t, path, bolt.Options{})
			if rev, err := s.Revision(ctx); err != nil || rev != 5 {
				t.Fatalf("format %d, open %d: Revision = %d, %v; want 5", from, open, rev, err)
			}
			kvs, rev, err := s.List(ctx, "/k/")
			if err != nil || rev != 5 || len(kvs) != 2 ||
				kvs[0].Key != "/k/a" || string(kvs[0].Value) != a || kvs[0].Revision != 2 ||
				kvs[1].Key != "/k/c" || string(kvs[1].Value) != c || kvs[1].Revision != 5 {
				t.Fatalf("format %d, open %d: List = %+v at %d, %v; want /k/a and /k/c as written", from, open, kvs, rev, err)
			}
			ch, err := s.Watch(ctx, "/k/", 1)
			if err != nil {
				t.Fatalf("format %d, open %d: Watch from 1: %v", from, open, err)
			}
			var got []string
			for range 4 {
				ev := <-ch
				got = append(got, fmt.Sprintf("%d %s@%d created=%v %q", ev.Type, ev.KV.Key, ev.KV.Revision, ev.Created, ev.KV.Value))
			}
			want := []string{
				fmt.Sprintf("%d /k/a@2 created=true %q", store.EventPut, a),
				fmt.Sprintf("%d /k/b@3 created=true %q", store.EventPut, b),
				fmt.Sprintf("%d /k/b@4 created=false %q", store.EventDelete, b),
				fmt.Sprintf("%d /k/c@5 created=true %q", store.EventPut, c),
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("format %d, open %d: history =\n%s\nwant\n%s", from, open, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if f := rawValue(t, path, "meta", []byte("format")); string(f) != string(rev8(3)) {
				t.Fatalf("format %d, open %d: format in the file = %x, want 3", from, open, f)
			}
			dict := s2.NewDict(rawValue(t, path, "meta", []byte("dictionary")))
			if dict == nil {
				t.Fatalf("format %d, open %d: no dictionary in the file", from, open)
			}
			raw := rawValue(t, path, "kv", []byte("/k/a"))
			if v, err := dict.Decode(nil, raw[8:]); err != nil || string(v) != a || len(raw)-8 >= len(s2.Encode(nil, []byte(a))) {
				t.Fatalf("format %d, open %d: /k/a in the file is %d bytes after its revision, decoding to %q, %v; want a block made with the dictionary, smaller than a plain one",
					from, open, len(raw)-8, v, err)
			}
		}
	}

	// refused writes a file of format from changed by edit and checks
	// that Open refuses it with want, its error naming the file and
	// saying says; it returns the file's path.
	refused := func(what string, from int64, edit func(tx *bbolt.Tx) error, want error, says string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "state.db")
		writeOld(t, path, from, a, b, c, edit)
		s, err := bolt.Open(path, bolt.Options{})
		if err == nil {
			s.Close()
			t.Fatalf("%s opened", what)
		}
		if !errors.Is(err, want) || !strings.Contains(err.Error(), says) || !strings.Contains(err.Error(), path) {
			t.Fatalf("%s: %v; want %v, saying %q and naming the file", what, err, want, says)
		}
		return path
	}
	format := func(f int64) func(tx *bbolt.Tx) error {
		return func(tx *bbolt.Tx) error { return tx.Bucket([]byte("meta")).Put([]byte("format"), rev8(f)) }
	}
	refused("a file of format 4", 1, format(4), bolt.ErrNewerFormat, "format 4; this minkube reads formats 1 to 3")
	refused("a file of format 0", 1, format(0), bolt.ErrCorrupt, "format version")
	refused("a file of format 3 without its dictionary", 2, format(3), bolt.ErrCorrupt, "dictionary")
	for _, from := range []int64{1, 2} {
		broken := refused(fmt.Sprintf("a format-%d file with a broken log entry", from), from, func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("log")).Put(rev8(3), []byte{byte(store.EventPut), 0, 0x7f, 'x'})
		}, bolt.ErrCorrupt, fmt.Sprintf("upgrade from format %d", from))
		if f := rawValue(t, broken, "meta", []byte("format")); string(f) != string(rev8(from)) {
			t.Fatalf("format of the file whose upgrade failed = %x, want %d still", f, from)
		}
		if v := rawValue(t, broken, "kv", []byte("/k/a")); string(v[8:]) != string(oldValue(from, a)) {
			t.Fatalf("/k/a of the format-%d file whose upgrade failed = %q, want %q as it was", from, v[8:], oldValue(from, a))
		}
	}
	refused("a format-2 file with a value that does not decode", 2, func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("kv")).Put([]byte("/k/c"), append(rev8(5), 0x20, 'x'))
	}, bolt.ErrCorrupt, "upgrade from format 2: key /k/c")
}

// A value whose block does not decode reads as ErrCorrupt naming its key,
// and a delete of it fails alone: the store goes on with other writes.
func TestCorruptValue(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.Create(ctx, "/k/a", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("kv")).Put([]byte("/k/a"), append(rev8(rev), 0x20, 'x'))
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatal(err, cerr)
	}

	s = mustOpenPath(t, path, bolt.Options{})
	if _, err := s.Get(ctx, "/k/a"); !errors.Is(err, bolt.ErrCorrupt) || !strings.Contains(err.Error(), "/k/a") {
		t.Fatalf("Get of a corrupt value: %v; want ErrCorrupt naming the key", err)
	}
	// The delete goes with creates, so that the writer batches some of
	// them with it.
	const creates = 50
	errs := make(chan error, creates)
	var wg sync.WaitGroup
	for i := range creates {
		wg.Go(func() {
			_, err := s.Create(ctx, fmt.Sprintf("/k/c%02d", i), []byte(`{"c":1}`))
			errs <- err
		})
	}
	if err := s.Delete(ctx, "/k/a", 0); !errors.Is(err, bolt.ErrCorrupt) || !strings.Contains(err.Error(), "/k/a") {
		t.Fatalf("Delete of a corrupt value: %v; want ErrCorrupt naming the key", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a create beside the delete of a corrupt value: %v", err)
		}
	}
	if kvs, _, err := s.List(ctx, "/k/c"); err != nil || len(kvs) != creates {
		t.Fatalf("List /k/c = %d values, %v; want %d", len(kvs), err, creates)
	}
}

// Writing costs the writing goroutine little stack: the blocks are made
// by the store's writer, whose dictionary encoder keeps a 64 KiB table
// on the stack. Were each caller to make its own block, each of these
// writers would hold a stack of 128 KiB (about 25 MiB for the 200).
func TestWritersKeepSmallStacks(t *testing.T) {
	s := mustOpen(t, bolt.Options{NoSync: true})
	ctx := t.Context()
	value := []byte(strings.Repeat(`{"kind":"Task","status":{"phase":"Running"}}`, 20))
	// No collection while the stacks are read: it would shrink them.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const writers = 200
	wrote, hold := make(chan error, writers), make(chan struct{})
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			_, err := s.Create(ctx, fmt.Sprintf("/k/%d", i), value)
			wrote <- err
			<-hold // keep the stack as the write left it
		})
	}
	for range writers {
		if err := <-wrote; err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	close(hold)
	wg.Wait()
	if grew := int64(after.StackInuse) - int64(before.StackInuse); grew > writers*32<<10 {
		t.Errorf("%d goroutines that each wrote once hold %d KiB more of stacks, %d KiB each; want less than 32 each",
			writers, grew>>10, grew/writers>>10)
	}
}
