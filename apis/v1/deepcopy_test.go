package v1

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// fill sets every field reachable from v to a random non-zero value:
// pointers are allocated, slices and maps get one to three entries. The
// test that uses it covers fields added to the types later without being
// told about them.
func fill(v reflect.Value, rng *rand.Rand) {
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(time.Unix(rng.Int64N(4e9)+1, 0).UTC()))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), rng)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), rng)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 1+rng.IntN(3), 1+rng.IntN(3)+3))
		}
		for i := range v.Len() {
			fill(v.Index(i), rng)
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for range 1 + rng.IntN(3) {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, rng)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, rng)
			v.SetMapIndex(k, e)
		}
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", rng.Int64()))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1 + rng.Int64N(100))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1 + rng.Float64())
	default:
		panic(fmt.Sprintf("fill: unhandled kind %s", v.Kind()))
	}
}

// mutateInPlace changes every value reachable from v where it lies: it
// writes through pointers, into slice elements and over map entries
// instead of replacing them, so that any memory a copy shares with its
// source shows up as a change in the source.
func mutateInPlace(v reflect.Value, rng *rand.Rand) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			mutateInPlace(v.Elem(), rng)
		}
	case reflect.Struct:
		if v.Type() == timeType {
			v.Set(reflect.ValueOf(time.Unix(rng.Int64N(4e9)+5e9, 0).UTC()))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				mutateInPlace(v.Field(i), rng)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			mutateInPlace(v.Index(i), rng)
		}
		// Writing past the length shows a shared backing array too.
		if v.Len() < v.Cap() {
			mutateInPlace(v.Slice(0, v.Cap()).Index(v.Len()), rng)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, rng)
			v.SetMapIndex(k, e)
		}
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, rng)
		v.SetMapIndex(k, v.MapIndex(v.MapKeys()[0]))
	default:
		fill(v, rng)
	}
}

// allSet fails the test for any zero value reachable from v, so that a
// filler that misses a field cannot make the copy test pass vacuously.
func allSet(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	if v.IsZero() {
		t.Fatalf("%s is not set by fill", path)
	}
	switch v.Kind() {
	case reflect.Pointer:
		allSet(t, v.Elem(), path)
	case reflect.Struct:
		if v.Type() == timeType {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				allSet(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			allSet(t, v.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

func TestDeepCopy(t *testing.T) {
	tests := []struct {
		name string
		new  func() any
		copy func(any) any
	}{
		{"Task", func() any { return new(Task) }, func(o any) any { return o.(*Task).DeepCopy() }},
		{"Worker", func() any { return new(Worker) }, func(o any) any { return o.(*Worker).DeepCopy() }},
		{"Event", func() any { return new(Event) }, func(o any) any { return o.(*Event).DeepCopy() }},
		{"Credential", func() any { return new(Credential) }, func(o any) any { return o.(*Credential).DeepCopy() }},
		{"ObjectMeta", func() any { return new(ObjectMeta) }, func(o any) any { return o.(*ObjectMeta).DeepCopy() }},
		{"TaskSpec", func() any { return new(TaskSpec) }, func(o any) any { return o.(*TaskSpec).DeepCopy() }},
		{"TaskStatus", func() any { return new(TaskStatus) }, func(o any) any { return o.(*TaskStatus).DeepCopy() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(50) {
				rng := rand.New(rand.NewPCG(seed, 7))
				orig := tt.new()
				fill(reflect.ValueOf(orig), rng)
				allSet(t, reflect.ValueOf(orig).Elem(), tt.name)
				before := mustJSON(t, orig)

				cp := tt.copy(orig)
				if !reflect.DeepEqual(orig, cp) {
					t.Fatalf("seed %d: copy differs from the original", seed)
				}
				mutateInPlace(reflect.ValueOf(cp), rng)
				if after := mustJSON(t, orig); after != before {
					t.Fatalf("seed %d: changing the copy changed the original:\nbefore %s\nafter  %s", seed, before, after)
				}
				if mustJSON(t, cp) == before {
					t.Fatalf("seed %d: mutation changed nothing; the test proves nothing", seed)
				}
			}
		})
	}
}

func TestDeepCopy_NilAndEmpty(t *testing.T) {
	if (*Task)(nil).DeepCopy() != nil || (*Worker)(nil).DeepCopy() != nil || (*Event)(nil).DeepCopy() != nil || (*Credential)(nil).DeepCopy() != nil ||
		(*ObjectMeta)(nil).DeepCopy() != nil || (*TaskSpec)(nil).DeepCopy() != nil || (*TaskStatus)(nil).DeepCopy() != nil {
		t.Fatal("DeepCopy of nil is not nil")
	}
	// Nil stays nil and empty stays empty.
	task := &Task{Spec: TaskSpec{Command: []string{}, Env: nil, NodeSelector: map[string]string{}}}
	cp := task.DeepCopy()
	if !reflect.DeepEqual(task, cp) || cp.Spec.Command == nil || cp.Spec.Env != nil || cp.Spec.NodeSelector == nil {
		t.Fatalf("copy %+v does not keep nil and empty apart", cp.Spec)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return string(b)
}

func BenchmarkTaskDeepCopy(b *testing.B) {
	task := validTask()
	now := time.Now()
	task.Metadata.CreationTimestamp = &now
	task.Status.Conditions = []Condition{{Type: TaskReady, Status: ConditionTrue, LastTransitionTime: &now}}
	b.ReportAllocs()
	for b.Loop() {
		_ = task.DeepCopy()
	}
}
