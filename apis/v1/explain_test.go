package v1

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExplain(t *testing.T) {
	tests := []struct {
		kind      string
		path      string
		wantType  string // Explanation.Type.Name; "" for none
		wantField string // Explanation.Field.Type; "" for the kind
		wantErr   error
		wantMsg   string
	}{
		{kind: "task", wantType: "Task"},
		{kind: "Worker", wantType: "Worker"},
		{kind: "EVENT", path: "involvedObject", wantType: "ObjectReference", wantField: "ObjectReference"},
		{kind: "task", path: "spec.resources", wantType: "Resources", wantField: "Resources"},
		{kind: "task", path: "spec.resources.cpu", wantField: "Quantity"},
		{kind: "task", path: "spec.ports", wantType: "Port", wantField: "[]Port"},
		{kind: "task", path: "spec.ports.containerPort", wantField: "integer"},
		{kind: "task", path: "spec.healthCheck.http.port", wantField: "IntOrString"},
		{kind: "task", path: "status.conditions.status", wantField: "string"},
		{kind: "worker", path: "status.capacity", wantField: "map[string]string"},
		{kind: "pod", wantErr: ErrUnknownKind, wantMsg: `unknown kind "pod": explain knows Task, Worker, Event`},
		{kind: "task", path: "spec.resorces", wantErr: ErrUnknownField,
			wantMsg: `unknown field: "resorces" does not exist in task.spec; did you mean "resources"?`},
		{kind: "task", path: "spec.zzz", wantErr: ErrUnknownField, wantMsg: `unknown field: "zzz" does not exist in task.spec`},
		{kind: "task", path: "spec.image.tag", wantErr: ErrUnknownField,
			wantMsg: `unknown field: "tag": task.spec.image is a string, which has no fields`},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"."+tt.path, func(t *testing.T) {
			var path []string
			if tt.path != "" {
				path = strings.Split(tt.path, ".")
			}
			e, err := Explain(tt.kind, path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || err.Error() != tt.wantMsg {
					t.Fatalf("err = %v, want %q wrapping %v", err, tt.wantMsg, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gotType := ""
			if e.Type != nil {
				gotType = e.Type.Name
			}
			gotField := ""
			if e.Field != nil {
				gotField = e.Field.Type
			}
			if gotType != tt.wantType || gotField != tt.wantField || strings.Join(e.Path, ".") != tt.path {
				t.Errorf("Explain = type %q, field type %q, path %v; want %q, %q, %s", gotType, gotField, e.Path, tt.wantType, tt.wantField, tt.path)
			}
		})
	}
}

// TestExplainCoversTheTypes checks that every field of a Task, a Worker
// and an Event, as encoded, is documented: a field added to the types
// without running go generate is caught here too.
func TestExplainCoversTheTypes(t *testing.T) {
	for kind, obj := range map[string]any{KindTask: &Task{}, KindWorker: &Worker{}, KindEvent: &Event{}} {
		for _, path := range fieldPaths(t, obj) {
			if _, err := Explain(kind, strings.Split(path, ".")); err != nil {
				t.Errorf("%s.%s: %v", kind, path, err)
			}
		}
	}
}

// fieldPaths lists the JSON path of every field of obj's type, walking
// into structs, pointers and lists; time.Time is a leaf.
func fieldPaths(t *testing.T, obj any) []string {
	t.Helper()
	var out []string
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if f.Anonymous && name == "" {
				walk(prefix, f.Type)
				continue
			}
			if !f.IsExported() || name == "-" {
				continue
			}
			path := strings.TrimPrefix(prefix+"."+name, ".")
			out = append(out, path)
			walk(path, f.Type)
		}
	}
	walk("", reflect.TypeOf(obj))
	return out
}
