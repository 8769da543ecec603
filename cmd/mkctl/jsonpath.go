package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"k8s.io/client-go/util/jsonpath"
)

// This file holds the outputs that take a JSONPath template, with
// client-go's jsonpath package as kubectl uses it: -o jsonpath=TEMPLATE,
// -o custom-columns=HEADER:PATH,... and --sort-by=PATH. Templates see
// objects as their JSON, so paths use the JSON field names
// (.metadata.name, .status.phase).

// column is one column of -o custom-columns.
type column struct {
	header string
	path   *jsonpath.JSONPath
}

// parseJSONPath compiles a template; a bare path (.status.phase, or
// status.phase) is taken as {.status.phase}, as kubectl does for
// custom-columns and --sort-by.
func parseJSONPath(name, template string, relaxed bool) (*jsonpath.JSONPath, error) {
	if relaxed && !strings.Contains(template, "{") {
		template = "{" + ensureDot(template) + "}"
	}
	jp := jsonpath.New(name).AllowMissingKeys(true)
	if err := jp.Parse(template); err != nil {
		return nil, fmt.Errorf("%s template %q: %w", name, template, err)
	}
	return jp, nil
}

func ensureDot(path string) string {
	if strings.HasPrefix(path, ".") {
		return path
	}
	return "." + path
}

// parseColumns reads -o custom-columns=NAME:.metadata.name,PHASE:.status.phase.
func parseColumns(spec string) ([]column, error) {
	if spec == "" {
		return nil, fmt.Errorf("custom-columns needs HEADER:PATH pairs, e.g. custom-columns=NAME:.metadata.name,PHASE:.status.phase")
	}
	var cols []column
	for part := range strings.SplitSeq(spec, ",") {
		header, path, ok := strings.Cut(part, ":")
		if !ok || header == "" || path == "" {
			return nil, fmt.Errorf("custom-columns: %q is not HEADER:PATH", part)
		}
		jp, err := parseJSONPath("custom-columns", path, true)
		if err != nil {
			return nil, err
		}
		cols = append(cols, column{header: header, path: jp})
	}
	return cols, nil
}

// generic turns obj into JSON values (maps, slices, strings, float64).
func generic(obj any) (any, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("encode output: %w", err)
	}
	return v, nil
}

// printJSONPath executes the template on obj, as kubectl does: no newline
// is added.
func printJSONPath(w io.Writer, jp *jsonpath.JSONPath, obj any) error {
	v, err := generic(obj)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := jp.Execute(&b, v); err != nil {
		return fmt.Errorf("jsonpath: %w", err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// customRow returns the cells of obj in the custom columns: each path's
// values joined with ",", or <none>.
func customRow(cols []column, obj any) []string {
	v, err := generic(obj)
	row := make([]string, len(cols))
	for i, c := range cols {
		row[i] = none
		if err != nil {
			continue
		}
		results, err := c.path.FindResults(v)
		if err != nil {
			continue
		}
		var vals []string
		for _, rs := range results {
			for _, r := range rs {
				vals = append(vals, valueText(r))
			}
		}
		if len(vals) > 0 {
			row[i] = strings.Join(vals, ",")
		}
	}
	return row
}

// customHeader returns the headers of the custom columns.
func customHeader(cols []column) []string {
	h := make([]string, len(cols))
	for i, c := range cols {
		h[i] = c.header
	}
	return h
}

// valueText renders one JSON value found by a path.
func valueText(v reflect.Value) string {
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Invalid:
		return none
	case reflect.String:
		return v.String()
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Map, reflect.Slice:
		data, err := json.Marshal(v.Interface())
		if err != nil {
			return none
		}
		return string(data)
	}
	return fmt.Sprint(v.Interface())
}

// sortKey is what --sort-by found in one object: a number when the value
// is one, else its text.
type sortKey struct {
	num   float64
	isNum bool
	text  string
	found bool
}

// sortItems orders items by the value the path finds in each: numbers by
// value, other values by their text, objects without one first, as
// kubectl does. The order of equal keys is kept.
func sortItems[T any](items []T, path *jsonpath.JSONPath) error {
	if path == nil || len(items) < 2 {
		return nil
	}
	keys := make([]sortKey, len(items))
	for i := range items {
		v, err := generic(&items[i])
		if err != nil {
			return err
		}
		results, err := path.FindResults(v)
		if err != nil {
			return fmt.Errorf("--sort-by: %w", err)
		}
		if len(results) == 0 || len(results[0]) == 0 {
			continue
		}
		r := results[0][0]
		for r.Kind() == reflect.Interface && !r.IsNil() {
			r = r.Elem()
		}
		keys[i] = sortKey{found: true, text: valueText(r)}
		if r.Kind() == reflect.Float64 {
			keys[i].num, keys[i].isNum = r.Float(), true
		}
	}
	idx := make([]int, len(items))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return compareKeys(keys[a], keys[b]) })
	sorted := make([]T, len(items))
	for i, j := range idx {
		sorted[i] = items[j]
	}
	copy(items, sorted)
	return nil
}

func compareKeys(a, b sortKey) int {
	switch {
	case !a.found || !b.found:
		return boolCompare(a.found, b.found)
	case a.isNum && b.isNum:
		switch {
		case a.num < b.num:
			return -1
		case a.num > b.num:
			return 1
		}
		return 0
	}
	return strings.Compare(a.text, b.text)
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
