package store

import (
	"bytes"
	stdjson "encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	v1 "github.com/minkube/minkube/apis/v1"
)

// The store encodes and decodes its objects, and the manager, mkctl and
// workerd the API's bodies, with github.com/goccy/go-json
// (several times faster than encoding/json, and what every manager and
// worker spends most of its CPU on at scale). TestJSONCompat_* hold it to
// encoding/json: the same bytes for every field of every kind the store
// keeps, filled with awkward values, and the same object back from them.

// compatStrings are the strings fill cycles through: JSON's punctuation,
// escapes, HTML characters encoding/json escapes, non-ASCII, invalid
// UTF-8 and the empty string.
var compatStrings = []string{
	`plain`, `"quoted" \back\slash/`, "new\nline\ttab\r\x01\x1f", `<a href="x">&amp;</a>`,
	"été ✓ 𝄞", "bad\xffutf8", "\u2028\u2029", "",
}

// fill sets every field reachable from v, choosing values from seed.
func fill(v reflect.Value, seed *int) {
	*seed++
	n := *seed
	switch v.Interface().(type) {
	case time.Time:
		v.Set(reflect.ValueOf(time.Date(2026, 11, 30, 18, n%60, 7, n*1000003, time.UTC)))
		return
	case v1.Duration:
		v.Set(reflect.ValueOf(v1.Duration{Duration: time.Duration(n) * 1500 * time.Millisecond}))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fill(v.Index(i), seed)
		}
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 3 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, seed)
			fill(e, seed)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		v.SetString(compatStrings[n%len(compatStrings)] + fmt.Sprint(n))
	case reflect.Bool:
		v.SetBool(n%2 == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n*7919) * int64(1-2*(n%2)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(n * 104729))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(n) / 3)
	case reflect.Interface:
		v.Set(reflect.ValueOf(compatStrings[n%len(compatStrings)]))
	}
}

func testCompat[T any](t *testing.T) {
	for seed := range 8 {
		var full, zero T
		s := seed * 1000
		fill(reflect.ValueOf(&full).Elem(), &s)
		for _, obj := range []*T{&full, &zero} {
			want, err := stdjson.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%T encodes\n%s\nencoding/json:\n%s", obj, got, want)
			}
			var viaStd, viaGoccy T
			if err := stdjson.Unmarshal(want, &viaStd); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &viaGoccy); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(viaGoccy, viaStd) {
				t.Fatalf("%T decodes to\n%+v\nencoding/json:\n%+v", obj, viaGoccy, viaStd)
			}
		}
	}
}

func TestJSONCompat_Task(t *testing.T)       { testCompat[v1.Task](t) }
func TestJSONCompat_Worker(t *testing.T)     { testCompat[v1.Worker](t) }
func TestJSONCompat_Credential(t *testing.T) { testCompat[v1.Credential](t) }
func TestJSONCompat_Event(t *testing.T)      { testCompat[v1.Event](t) }

// The API's bodies: the manager, mkctl and workerd read and write them
// with the same package.
func TestJSONCompat_API(t *testing.T) {
	testCompat[v1.TaskList](t)
	testCompat[v1.WorkerList](t)
	testCompat[v1.EventList](t)
	testCompat[v1.ManagerList](t)
	testCompat[v1.EndpointsList](t)
	testCompat[v1.Status](t)
	testCompat[v1.Table](t)
	testCompat[v1.TaskUsageList](t)
	testCompat[v1.WorkerUsageList](t)
	testCompat[v1.RegisterRequest](t)
	testCompat[v1.RegisterResponse](t)
	testCompat[v1.StatusReport](t)
	testCompat[v1.StatusReply](t)
	testCompat[v1.JoinRequest](t)
	testCompat[v1.JoinResponse](t)
	testCompat[v1.LabelPatch](t)
	testCompat[v1.VersionInfo](t)
	testCompat[v1.Session](t)
	testCompat[v1.SessionRequest](t)
	testCompat[v1.LogOptions](t)
	testCompat[v1.ExecOptions](t)
	testCompat[v1.ExecResult](t)
}

// TestResourceEncode_IsMarshal holds the Resources' encoder, which writes
// into pooled buffers from pooled copies, to encoding/json: the object's
// bytes without its resourceVersion, whatever was encoded in the buffer
// and the copy before (a larger object, a full one before an empty one),
// and the object itself untouched.
func TestResourceEncode_IsMarshal(t *testing.T) {
	testEncode(t, NewResource[v1.Task](nil, TasksPrefix, "task"))
	testEncode(t, NewResource[v1.Worker](nil, WorkersPrefix, "worker"))
	testEncode(t, NewResource[v1.Credential](nil, CredentialsPrefix, "credential"))
	testEncode(t, NewResource[v1.Event](nil, EventsPrefix, "event"))

	// Past the pooled size: encoded all the same, its buffer not kept.
	big := &v1.Task{Metadata: v1.ObjectMeta{Name: "big", ResourceVersion: "7"},
		Spec: v1.TaskSpec{Image: "x", Env: []v1.EnvVar{{Name: "V", Value: strings.Repeat("<é>", maxPooledEncoding)}}}}
	r := NewResource[v1.Task](nil, TasksPrefix, "task")
	for range 2 {
		got, buf, err := r.encode(big)
		if err != nil {
			t.Fatal(err)
		}
		cp := *big
		cp.Metadata.ResourceVersion = ""
		if want, _ := stdjson.Marshal(&cp); !bytes.Equal(got, want) {
			t.Fatalf("a %d-byte task encodes to %d bytes unlike encoding/json's %d", len(want), len(got), len(want))
		}
		buf.release()
	}
}

func testEncode[T any, P interface {
	*T
	v1.Object
}](t *testing.T, r *Resource[T, P]) {
	t.Helper()
	var objs []P
	for seed := range 6 {
		obj := P(new(T))
		if seed%3 != 2 { // every third one empty
			s := seed * 1000
			fill(reflect.ValueOf(obj).Elem(), &s)
		}
		objs = append(objs, obj)
	}
	for i, obj := range objs {
		before, err := stdjson.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		cp := *obj
		P(&cp).GetObjectMeta().ResourceVersion = ""
		want, err := stdjson.Marshal(P(&cp))
		if err != nil {
			t.Fatal(err)
		}
		got, buf, err := r.encode(obj)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%T %d encodes\n%s\nencoding/json, without the resourceVersion:\n%s", obj, i, got, want)
		}
		buf.release()
		if after, _ := stdjson.Marshal(obj); !bytes.Equal(after, before) {
			t.Fatalf("%T %d changed by encode:\n%s\nwas\n%s", obj, i, after, before)
		}
	}
}
