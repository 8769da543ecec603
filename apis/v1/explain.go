package v1

import (
	"fmt"
	"slices"
	"strings"
)

//go:generate go run ../../hack/explaingen -dir . -o explain_generated.go

// ExplainField documents one field of an object type, as mkctl explain
// shows it. explain_generated.go holds every one, generated from the doc
// comments of this package's types.
type ExplainField struct {
	// Name is the field's name in a manifest (its JSON name).
	Name string
	// Type is the field's type in kubectl's words: string, integer,
	// number, boolean, Quantity, IntOrString, an object type (TaskSpec),
	// []T or map[string]T.
	Type string
	// Ref is the object type the field holds, directly or in a list or a
	// map; "" when it holds none.
	Ref string
	// Required is set when validation refuses an object without it.
	Required bool
	// Enum lists the values a string field takes, when they are fixed.
	Enum []string
	// Doc is the field's doc comment.
	Doc string
}

// ExplainType documents an object type.
type ExplainType struct {
	// Name is the Go name of the type: Task, TaskSpec.
	Name string
	// Doc is its doc comment.
	Doc string
	// Fields are its fields in declaration order.
	Fields []ExplainField
}

// Explanation is what Explain finds at a path.
type Explanation struct {
	// Kind is the kind the path starts from: Task, Worker or Event.
	Kind string
	// Path is the field path below the kind, in manifest names, e.g.
	// [spec resources]; empty for the kind itself.
	Path []string
	// Field is the last field of Path; nil for the kind itself.
	Field *ExplainField
	// Type is the object type at the path: the kind's, or the one Field
	// holds; nil when Field holds no object.
	Type *ExplainType
}

// ExplainKinds are the kinds Explain knows.
var ExplainKinds = []string{KindTask, KindWorker, KindEvent}

// Explain returns the documentation of the field at path below kind
// (Task, Worker or Event, in any case); a field holding a list or a map of
// objects leads to the object type, as in kubectl explain. An unknown kind
// or field returns an error wrapping ErrUnknownKind or ErrUnknownField
// that names the place, with the closest name when one is close.
func Explain(kind string, path []string) (*Explanation, error) {
	i := slices.IndexFunc(ExplainKinds, func(k string) bool { return strings.EqualFold(k, kind) })
	if i < 0 {
		return nil, fmt.Errorf("%w %q: explain knows %s", ErrUnknownKind, kind, strings.Join(ExplainKinds, ", "))
	}
	e := &Explanation{Kind: ExplainKinds[i], Type: explainTypes[ExplainKinds[i]]}
	for _, name := range path {
		where := strings.Join(append([]string{strings.ToLower(e.Kind)}, e.Path...), ".")
		if e.Type == nil {
			return nil, fmt.Errorf("%w: %q: %s is a %s, which has no fields", ErrUnknownField, name, where, e.Field.Type)
		}
		f := e.Type.Field(name)
		if f == nil {
			names := make([]string, len(e.Type.Fields))
			for i, f := range e.Type.Fields {
				names[i] = f.Name
			}
			msg := fmt.Sprintf("%q does not exist in %s", name, where)
			if best := closestName(name, names); best != "" {
				msg += fmt.Sprintf("; did you mean %q?", best)
			}
			return nil, fmt.Errorf("%w: %s", ErrUnknownField, msg)
		}
		e.Path = append(e.Path, f.Name)
		e.Field = f
		e.Type = explainTypes[f.Ref]
	}
	return e, nil
}

// Field returns the field called name, or nil.
func (t *ExplainType) Field(name string) *ExplainField {
	for i := range t.Fields {
		if t.Fields[i].Name == name {
			return &t.Fields[i]
		}
	}
	return nil
}

// ExplainTypeOf returns the documentation of the object type called name
// (a Ref of an ExplainField), or nil.
func ExplainTypeOf(name string) *ExplainType { return explainTypes[name] }
