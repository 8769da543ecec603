package bolt_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/s2"
	bbolt "go.etcd.io/bbolt"

	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

func rev8(r int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(r)) }

// v1Entry lays out a log entry as format 1 did: event type, flags (1:
// created), the key's length as a uvarint, the key, the value as it came.
func v1Entry(typ store.EventType, created bool, key, value string) []byte {
	var flags byte
	if created {
		flags = 1
	}
	b := binary.AppendUvarint([]byte{byte(typ), flags}, uint64(len(key)))
	return append(append(b, key...), value...)
}

// writeV1 writes a store of format 1 by hand: /k/a created at 2, /k/b
// created at 3 and deleted at 4, /k/c created at 5, its log whole, and
// the extra writes of edit.
func writeV1(t *testing.T, path string, a, b, c string, edit func(tx *bbolt.Tx) error) {
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
			{meta, []byte("format"), rev8(1)},
			{meta, []byte("revision"), rev8(5)},
			{meta, []byte("compacted"), rev8(1)},
			{kv, []byte("/k/a"), append(rev8(2), a...)},
			{kv, []byte("/k/c"), append(rev8(5), c...)},
			{log, rev8(2), v1Entry(store.EventPut, true, "/k/a", a)},
			{log, rev8(3), v1Entry(store.EventPut, true, "/k/b", b)},
			{log, rev8(4), v1Entry(store.EventDelete, false, "/k/b", b)},
			{log, rev8(5), v1Entry(store.EventPut, true, "/k/c", c)},
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

// A store of format 1, which kept values as they came, opens upgraded:
// its values, its revision and its whole history read as they were
// written; the file holds format 2 and the values' blocks; it opens again
// as it is. A file of a newer format is refused as such; one of format 0,
// and a format-1 file with a broken log entry, as corrupt, the latter
// left as it was.
func TestOpen_upgradesFormat1(t *testing.T) {
	ctx := t.Context()
	a := `{"kind":"Task","metadata":{"name":"a"},"status":{"conditions":[` +
		strings.Repeat(`{"type":"Ready","status":"True","reason":"Started"},`, 3) + `{}]}}`
	b, c := strings.Repeat(`{"b":1}`, 50), ""
	path := filepath.Join(t.TempDir(), "state.db")
	writeV1(t, path, a, b, c, nil)

	for open := range 2 { // upgraded, then as it is
		s := mustOpenPath(t, path, bolt.Options{})
		if rev, err := s.Revision(ctx); err != nil || rev != 5 {
			t.Fatalf("open %d: Revision = %d, %v; want 5", open, rev, err)
		}
		kvs, rev, err := s.List(ctx, "/k/")
		if err != nil || rev != 5 || len(kvs) != 2 ||
			kvs[0].Key != "/k/a" || string(kvs[0].Value) != a || kvs[0].Revision != 2 ||
			kvs[1].Key != "/k/c" || string(kvs[1].Value) != c || kvs[1].Revision != 5 {
			t.Fatalf("open %d: List = %+v at %d, %v; want /k/a and /k/c as written", open, kvs, rev, err)
		}
		ch, err := s.Watch(ctx, "/k/", 1)
		if err != nil {
			t.Fatalf("open %d: Watch from 1: %v", open, err)
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
			t.Fatalf("open %d: history =\n%s\nwant\n%s", open, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if f := rawValue(t, path, "meta", []byte("format")); string(f) != string(rev8(2)) {
			t.Fatalf("open %d: format in the file = %x, want 2", open, f)
		}
		raw := rawValue(t, path, "kv", []byte("/k/a"))
		if v, err := s2.Decode(nil, raw[8:]); err != nil || string(v) != a || len(raw)-8 >= len(a) {
			t.Fatalf("open %d: /k/a in the file is %d bytes after its revision, decoding to %q, %v; want the block of its %d bytes",
				open, len(raw)-8, v, err, len(a))
		}
	}

	// refused writes a format-1 file changed by edit and checks that
	// Open refuses it with want, its error naming the file and saying
	// says; it returns the file's path.
	refused := func(what string, edit func(tx *bbolt.Tx) error, want error, says string) string {
		t.Helper()
		path := filepath.Join(t.TempDir(), "state.db")
		writeV1(t, path, a, b, c, edit)
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
	refused("a file of format 3", format(3), bolt.ErrNewerFormat, "format 3; this minkube reads formats 1 to 2")
	refused("a file of format 0", format(0), bolt.ErrCorrupt, "format version")
	broken := refused("a format-1 file with a broken log entry", func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("log")).Put(rev8(3), []byte{byte(store.EventPut), 0, 0x7f, 'x'})
	}, bolt.ErrCorrupt, "upgrade from format 1")
	if f := rawValue(t, broken, "meta", []byte("format")); string(f) != string(rev8(1)) {
		t.Fatalf("format of the file whose upgrade failed = %x, want 1 still", f)
	}
	if v := rawValue(t, broken, "kv", []byte("/k/a")); string(v[8:]) != a {
		t.Fatalf("/k/a of the file whose upgrade failed = %q, want %q as it was", v[8:], a)
	}
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
