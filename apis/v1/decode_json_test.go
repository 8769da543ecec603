package v1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// nodeToAny turns a node tree from jsonToNode into what encoding/json
// decodes with UseNumber: later duplicate keys win.
func nodeToAny(n *yaml.Node) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeToAny(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			l = append(l, nodeToAny(c))
		}
		return l
	}
	switch n.Tag {
	case tagStr:
		return n.Value
	case tagInt, tagFloat:
		return json.Number(n.Value)
	case tagBool:
		return n.Value == "true"
	default:
		return nil
	}
}

// FuzzJSONToNode holds the hand-written JSON parser to encoding/json: the
// same inputs are valid, and they give the same values.
func FuzzJSONToNode(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `""`, `0`, `-0.5e+10`, `true`, `null`, ` {"a": [1, 2.5, "x", {"b": null}], "c": false} `,
		`{"a":"\u00e9\/\"\\\b\f\n\r\t"}`, `"\ud83d\ude00"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00x"`, "\"\xff\"",
		`{"a":1,"a":2}`, `01`, `1.`, `.5`, `-`, `1e`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `"\x"`, "\"\t\"",
		`{} {}`, `[`, `"abc`, `nul`, `tru`, `"\u12"`, `1E-3`, `-01`, "\n\n{\n\"k\": [\n1\n]\n}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, tree, err := jsonToNode(data)
		defer tree.release() // the next input reuses the blocks
		if valid := json.Valid(data); valid != (err == nil) {
			t.Fatalf("json.Valid = %v, jsonToNode error = %v", valid, err)
		}
		if err != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if got := nodeToAny(n); !reflect.DeepEqual(got, want) {
			t.Fatalf("jsonToNode gave %#v, encoding/json %#v", got, want)
		}
	})
}

func TestJSONToNode_Lines(t *testing.T) {
	_, _, err := jsonToNode([]byte("{\n\"a\": 1,\n\"b\": ?\n}"))
	if err == nil || err.Error() != `line 3: unexpected '?', expected a value` {
		t.Errorf("error = %v", err)
	}
	n, _, err := jsonToNode([]byte("{\n\"a\":\n[1,\n2]}"))
	if err != nil {
		t.Fatal(err)
	}
	if n.Content[0].Line != 2 || n.Content[1].Content[1].Line != 4 {
		t.Errorf("lines: key %d, second item %d", n.Content[0].Line, n.Content[1].Content[1].Line)
	}
}

// TestJSONToNode_Release: a parse after a release carves its tree from
// the released blocks, cleared, and gets the tree a fresh parse gets; a
// released block holds on to nothing of the tree it served.
func TestJSONToNode_Release(t *testing.T) {
	// 40 values: more than one block of nodes.
	var big bytes.Buffer
	big.WriteString(`{"items": [`)
	for i := range 40 {
		if i > 0 {
			big.WriteString(",")
		}
		fmt.Fprintf(&big, `{"n": %d, "s": "v%d"}`, i, i)
	}
	big.WriteString(`]}`)

	first, tree, err := jsonToNode(big.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := nodeToAny(first)
	held := first.Content[1].Content[39] // a node of the second block
	tree.release()
	if !reflect.DeepEqual(*held, yaml.Node{}) {
		t.Errorf("a released node still holds %+v", *held)
	}
	again, tree, err := jsonToNode(big.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	defer tree.release()
	if got := nodeToAny(again); !reflect.DeepEqual(got, want) {
		t.Errorf("the parse after a release gave %v, want %v", got, want)
	}
	if _, tree, err := jsonToNode([]byte(`{"a": ?}`)); err == nil {
		t.Error("no error for invalid JSON")
	} else {
		tree.release() // a failed parse has released its blocks already; this is a no-op
	}
}
