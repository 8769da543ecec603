package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// taskChanges lists what an apply changes in the user's parts of a Task,
// its labels, annotations and spec, one "FIELD: OLD -> NEW" line per leaf
// field (a value is JSON; a field that is not set is <none>), in field
// order.
func taskChanges(before, after any) []string {
	var b, a map[string]any
	if err := roundTrip(before, &b); err != nil {
		return []string{"(cannot compare: " + err.Error() + ")"}
	}
	if err := roundTrip(after, &a); err != nil {
		return []string{"(cannot compare: " + err.Error() + ")"}
	}
	old, cur := map[string]string{}, map[string]string{}
	for _, part := range []struct{ path, section, key string }{
		{"metadata.labels", "metadata", "labels"},
		{"metadata.annotations", "metadata", "annotations"},
		{"spec", "spec", ""},
	} {
		flatten(part.path, pick(b, part.section, part.key), old)
		flatten(part.path, pick(a, part.section, part.key), cur)
	}
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range cur {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		o, ok1 := old[k]
		n, ok2 := cur[k]
		if ok1 && ok2 && o == n {
			continue
		}
		if !ok1 {
			o = none
		}
		if !ok2 {
			n = none
		}
		out = append(out, fmt.Sprintf("%s: %s -> %s", k, o, n))
	}
	return out
}

// roundTrip turns v into generic JSON values.
func roundTrip(v any, out *map[string]any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// pick returns m[section][key], or m[section] when key is "".
func pick(m map[string]any, section, key string) any {
	v := m[section]
	if key == "" {
		return v
	}
	sub, _ := v.(map[string]any)
	return sub[key]
}

// flatten records every leaf of v under its path: a.b, a.list[0].c.
// Empty maps and lists count as not set.
func flatten(path string, v any, out map[string]string) {
	switch x := v.(type) {
	case nil:
	case map[string]any:
		for k, sub := range x {
			flatten(path+"."+k, sub, out)
		}
	case []any:
		for i, sub := range x {
			flatten(path+"["+strconv.Itoa(i)+"]", sub, out)
		}
	default:
		data, _ := json.Marshal(x) // a decoded JSON value always encodes
		out[path] = string(data)
	}
}
