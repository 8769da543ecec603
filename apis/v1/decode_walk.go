package v1

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// This file holds the strict decoder: it walks a YAML node tree against a
// Go type, field by field through the json tags, and both fills in the
// value and collects every unknown field, duplicate key and wrong type with
// its path. JSON input is first turned into the same node tree, so both
// formats give the same errors.

// YAML tags the decoder understands.
const (
	tagStr       = "!!str"
	tagInt       = "!!int"
	tagFloat     = "!!float"
	tagBool      = "!!bool"
	tagNull      = "!!null"
	tagTimestamp = "!!timestamp"
	tagMerge     = "!!merge"
	tagMap       = "!!map"
	tagSeq       = "!!seq"
)

var timeType = reflect.TypeFor[time.Time]()

// decoder walks one document.
type decoder struct {
	// lineOffset is added to node line numbers to make them file lines.
	lineOffset int
	// line is the file line of the node being decoded, for messages; 0
	// when unknown.
	line int
	// budget is how many more nodes may be visited; aliases can make a
	// small document expand without bound.
	budget     int
	exhausted  bool
	mergeDepth int
	path       []byte
	errs       FieldErrors
}

func newDecoder(size, lineOffset int) *decoder {
	return &decoder{lineOffset: lineOffset, budget: 2*size + 1000, path: make([]byte, 0, 64)}
}

// errorf records a problem at the current path. It keeps no more than
// maxDocumentErrors+1, enough for capErrors to say that more were found.
func (d *decoder) errorf(format string, args ...any) {
	if len(d.errs) > maxDocumentErrors {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if d.line > 0 {
		msg += " (line " + strconv.Itoa(d.line) + ")"
	}
	d.errs = append(d.errs, FieldError{Field: string(d.path), Message: msg})
}

// at sets the line messages name to n's, and returns the one before.
func (d *decoder) at(n *yaml.Node) int {
	prev := d.line
	if n.Line > 0 {
		d.line = n.Line + d.lineOffset
	}
	return prev
}

func (d *decoder) pushField(name string) int {
	n := len(d.path)
	if n > 0 {
		d.path = append(d.path, '.')
	}
	d.path = append(d.path, name...)
	return n
}

func (d *decoder) pushKey(key string) int {
	n := len(d.path)
	d.path = append(append(append(d.path, '['), key...), ']')
	return n
}

func (d *decoder) pushIndex(i int) int {
	n := len(d.path)
	d.path = append(strconv.AppendInt(append(d.path, '['), int64(i), 10), ']')
	return n
}

func (d *decoder) pop(n int) { d.path = d.path[:n] }

// spend counts k visited nodes and reports whether the budget allows them.
func (d *decoder) spend(k int) bool {
	d.budget -= k
	if d.budget >= 0 {
		return true
	}
	if !d.exhausted {
		d.exhausted = true
		d.errorf("document expands to too many values (too many YAML aliases)")
	}
	return false
}

// value decodes n into v, which is settable and holds its zero value.
func (d *decoder) value(n *yaml.Node, v reflect.Value) {
	if !d.spend(1) {
		return
	}
	defer func(prev int) { d.line = prev }(d.at(n))
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.errorf("unknown YAML alias %q", n.Value)
			return
		}
		n = n.Alias
		if n.Kind == yaml.AliasNode {
			d.errorf("YAML alias of an alias")
			return
		}
	}
	tag := n.ShortTag()
	if tag == tagNull {
		return // null leaves the zero value, as encoding/json does
	}
	if !strings.HasPrefix(tag, "!!") {
		d.errorf("unsupported YAML tag %s", truncate(tag))
		return
	}
	if v.Type() == timeType {
		d.time(n, tag, v)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		d.value(n, p.Elem())
		v.Set(p)
	case reflect.Struct:
		d.object(n, v)
	case reflect.Map:
		d.mapping(n, v)
	case reflect.Slice:
		d.list(n, v)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || (tag != tagStr && tag != tagTimestamp) {
			d.errorf("must be a string, got %s%s", describe(n, tag), quoteHint(n, tag))
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		d.integer(n, tag, v)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || tag != tagBool || n.Decode(&b) != nil {
			d.errorf("must be true or false, got %s", describe(n, tag))
			return
		}
		v.SetBool(b)
	case reflect.Float32, reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (tag != tagInt && tag != tagFloat) || n.Decode(&f) != nil {
			d.errorf("must be a number, got %s", describe(n, tag))
			return
		}
		v.SetFloat(f)
	default:
		d.errorf("cannot decode into a Go %s", v.Type())
	}
}

func (d *decoder) integer(n *yaml.Node, tag string, v reflect.Value) {
	lo, hi := intRange(v.Type().Bits())
	if n.Kind == yaml.ScalarNode && tag == tagInt {
		i, err := strconv.ParseInt(n.Value, 10, 64) // the common case, without a YAML decoder
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			err = n.Decode(&i) // 0x1F, 0o17, 1_000
		}
		if err == nil && !v.OverflowInt(i) {
			v.SetInt(i)
			return
		}
	}
	if n.Kind == yaml.ScalarNode && (tag == tagInt || tag == tagFloat && isDigits(n.Value)) {
		d.errorf("must be an integer from %d to %d, got %s", lo, hi, truncate(n.Value))
		return
	}
	d.errorf("must be an integer, got %s", describe(n, tag))
}

// number sets the string field v to the text of n when n is a plain
// number (cpu: 1, memory: 1e9, port: 8080) and reports whether it did;
// anything else is left to value. An integer is written in decimal, so
// that 0x1F and 1_000 mean what YAML says they mean.
func (d *decoder) number(n *yaml.Node, v reflect.Value) bool {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return false
	}
	switch tag := n.ShortTag(); {
	case tag == tagInt:
		var i int64
		if err := n.Decode(&i); err != nil {
			return false // too big: value words the problem
		}
		v.SetString(strconv.FormatInt(i, 10))
		return true
	case tag == tagFloat:
		v.SetString(n.Value)
		return true
	}
	return false
}

func intRange(bits int) (int64, int64) {
	hi := int64(1)<<(bits-1) - 1
	return -hi - 1, hi
}

func isDigits(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '_' {
			return false
		}
	}
	return true
}

func (d *decoder) time(n *yaml.Node, tag string, v reflect.Value) {
	var t time.Time
	if n.Kind != yaml.ScalarNode || (tag != tagStr && tag != tagTimestamp) || t.UnmarshalText([]byte(n.Value)) != nil {
		d.errorf("must be an RFC 3339 time such as 2026-01-02T15:04:05Z, got %s", describe(n, tag))
		return
	}
	v.Set(reflect.ValueOf(t))
}

func (d *decoder) list(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.errorf("must be a list, got %s", describe(n, n.ShortTag()))
		return
	}
	if len(n.Content) == 0 {
		return // an empty list decodes to nil, as it encodes with omitempty
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		mark := d.pushIndex(i)
		d.value(c, s.Index(i))
		d.pop(mark)
	}
	v.Set(s)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errorf("must be an object, got %s", describe(n, n.ShortTag()))
		return
	}
	pairs := d.pairs(n, true)
	if len(pairs) == 0 {
		return // an empty map decodes to nil, as it encodes with omitempty
	}
	m := reflect.MakeMapWithSize(v.Type(), len(pairs))
	kt, et := v.Type().Key(), v.Type().Elem()
	for _, p := range pairs {
		mark := d.pushKey(p.key)
		e := reflect.New(et).Elem()
		d.value(p.val, e)
		m.SetMapIndex(reflect.ValueOf(p.key).Convert(kt), e)
		d.pop(mark)
	}
	v.Set(m)
}

func (d *decoder) object(n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errorf("must be an object, got %s", describe(n, n.ShortTag()))
		return
	}
	info := structInfoOf(v.Type())
	for _, p := range d.pairs(n, false) {
		mark := d.pushField(p.key)
		if f, ok := info.fields[p.key]; ok {
			if info.numeric[p.key] && d.number(p.val, v.FieldByIndex(f)) {
				d.pop(mark)
				continue
			}
			d.value(p.val, v.FieldByIndex(f))
		} else {
			prev := d.line
			if p.line > 0 {
				d.line = p.line + d.lineOffset
			}
			d.errorf("unknown field%s", info.hint(p.key))
			d.line = prev
		}
		d.pop(mark)
	}
}

// pair is one effective key and value of a mapping.
type pair struct {
	key  string
	line int
	val  *yaml.Node
}

// pairs returns the keys and values of mapping n in order, reporting
// duplicate keys and keys that are not scalars; keyed says whether the
// mapping is a map (paths name keys as [key]) or an object (.key). Keys
// merged in with "<<" come after the mapping's own and never override them.
func (d *decoder) pairs(n *yaml.Node, keyed bool) []pair {
	pairs := make([]pair, 0, len(n.Content)/2)
	var lines map[string]int // first line of each key, when there are many
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf("keys must be strings, got %s", describe(k, k.ShortTag()))
			continue
		}
		if k.ShortTag() == tagMerge {
			merges = append(merges, val)
			continue
		}
		first := 0
		if len(n.Content) > 32 {
			if lines == nil {
				lines = make(map[string]int, len(n.Content)/2)
			}
			if l, dup := lines[k.Value]; dup {
				first = l
			} else {
				lines[k.Value] = k.Line
			}
		} else {
			for _, p := range pairs {
				if p.key == k.Value {
					first = p.line
					break
				}
			}
		}
		if first != 0 {
			mark := d.pushName(k.Value, keyed)
			d.errorf("duplicate key (first set on line %d)", first+d.lineOffset)
			d.pop(mark)
			continue
		}
		pairs = append(pairs, pair{key: k.Value, line: k.Line, val: val})
	}
	if len(merges) == 0 {
		return pairs
	}
	have := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		have[p.key] = true
	}
	for _, m := range merges {
		pairs = d.merge(m, pairs, have, keyed)
	}
	return pairs
}

func (d *decoder) pushName(key string, keyed bool) int {
	if keyed {
		return d.pushKey(key)
	}
	return d.pushField(key)
}

// maxMergeDepth bounds "<<" merges of mappings that merge others, which
// an alias can make endless.
const maxMergeDepth = 32

// merge adds the pairs of a "<<" value (a mapping, or a list of mappings
// where earlier ones win) whose keys are not in have yet.
func (d *decoder) merge(n *yaml.Node, pairs []pair, have map[string]bool, keyed bool) []pair {
	if !d.spend(1) {
		return pairs
	}
	if d.mergeDepth >= maxMergeDepth {
		d.errorf("<< merges nest deeper than %d", maxMergeDepth)
		return pairs
	}
	d.mergeDepth++
	defer func() { d.mergeDepth-- }()
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		if !d.spend(len(n.Content) / 2) {
			return pairs
		}
		for _, p := range d.pairs(n, keyed) {
			if !have[p.key] {
				have[p.key] = true
				pairs = append(pairs, p)
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind == yaml.AliasNode && c.Alias != nil {
				c = c.Alias
			}
			if c.Kind != yaml.MappingNode {
				d.errorf("<< must merge a mapping or a list of mappings")
				continue
			}
			pairs = d.merge(c, pairs, have, keyed)
		}
	default:
		d.errorf("<< must merge a mapping or a list of mappings")
	}
	return pairs
}

// describe names what a node holds, for "got ..." in a message.
func describe(n *yaml.Node, tag string) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "an object"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		if n.Alias != nil && n.Alias.Kind != yaml.AliasNode {
			return describe(n.Alias, n.Alias.ShortTag())
		}
		return "an alias"
	}
	switch tag {
	case tagStr:
		return fmt.Sprintf("string %q", truncate(n.Value))
	case tagInt, tagFloat:
		return "number " + truncate(n.Value)
	case tagBool:
		return "boolean " + n.Value
	case tagNull:
		return "null"
	case tagTimestamp:
		return "timestamp " + truncate(n.Value)
	default:
		return "a " + truncate(tag) + " value"
	}
}

// quoteHint suggests quoting a plain YAML scalar that was meant as a string.
func quoteHint(n *yaml.Node, tag string) string {
	if n.Kind == yaml.ScalarNode && n.Style == 0 && (tag == tagInt || tag == tagFloat || tag == tagBool) {
		return fmt.Sprintf(" (write \"%s\" for a string)", truncate(n.Value))
	}
	return ""
}

// structInfo maps the json names of a struct's fields, with embedded
// structs flattened as encoding/json does, to their field indexes.
type structInfo struct {
	fields map[string][]int
	// numeric holds the string fields that also take a number, written as
	// its text: Kubernetes quantities (cpu: 1) and ports given by number
	// or name (port: 8080). They are tagged minkube:"intorstring".
	numeric map[string]bool
}

var structInfos sync.Map // reflect.Type -> *structInfo

func structInfoOf(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{fields: map[string][]int{}, numeric: map[string]bool{}}
	addFields(si, t, nil)
	actual, _ := structInfos.LoadOrStore(t, si)
	return actual.(*structInfo)
}

func addFields(si *structInfo, t reflect.Type, index []int) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		idx := append(append([]int(nil), index...), i)
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			addFields(si, f.Type, idx)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, taken := si.fields[name]; !taken {
			si.fields[name] = idx
			if f.Tag.Get("minkube") == "intorstring" && f.Type.Kind() == reflect.String {
				si.numeric[name] = true
			}
		}
	}
}

// hint suggests the field a misspelt key probably meant: the closest
// field name by edit distance (letters swapped, added, dropped or changed,
// case aside), when it is close enough to be a slip of the keyboard.
func (si *structInfo) hint(key string) string {
	names := make([]string, 0, len(si.fields))
	for name := range si.fields {
		names = append(names, name)
	}
	if best := closestName(key, names); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

// closestName returns the name a misspelt key probably meant: the closest
// of names by edit distance (letters swapped, added, dropped or changed,
// case aside), when it is close enough to be a slip of the keyboard; ""
// otherwise. Ties go to the name first in lexical order.
func closestName(key string, names []string) string {
	best, bestDist := "", -1
	lower := strings.ToLower(key)
	for _, name := range names {
		d := editDistance(lower, strings.ToLower(name))
		if bestDist < 0 || d < bestDist || d == bestDist && name < best {
			best, bestDist = name, d
		}
	}
	limit := 1
	if len(key) >= 5 {
		limit = 2
	}
	if best == "" || bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// the fewest single-byte insertions, deletions, substitutions and swaps of
// two neighbours that turn a into b ("agrs" is 1 from "args").
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// sortByPath orders errors as their fields appear in a value of type t:
// struct fields in declaration order (unknown ones after), list items by
// index, map keys lexically. Errors about the same field keep their order.
func sortByPath(errs FieldErrors, t reflect.Type) {
	if len(errs) < 2 {
		return
	}
	keys := make([][]pathRank, len(errs))
	for i, e := range errs {
		keys[i] = rankPath(e.Field, t)
	}
	idx := make([]int, len(errs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return compareRanks(keys[idx[a]], keys[idx[b]]) < 0 })
	sorted := make(FieldErrors, len(errs))
	for i, j := range idx {
		sorted[i] = errs[j]
	}
	copy(errs, sorted)
}

// pathRank is one step of a path: a struct field's index (unknown fields
// rank after known ones, by name), a list index, or a map key.
type pathRank struct {
	n   int
	s   string
	sub []int
}

func rankPath(path string, t reflect.Type) []pathRank {
	var ranks []pathRank
	for path != "" {
		var tok string
		bracket := path[0] == '['
		if bracket {
			if end := strings.IndexByte(path, ']'); end >= 0 {
				tok, path = path[1:end], path[end+1:]
			} else {
				tok, path = path[1:], ""
			}
		} else {
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			tok, path = path[:end], path[end:]
		}
		path = strings.TrimPrefix(path, ".")
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t == nil:
			ranks = append(ranks, pathRank{s: tok})
		case t.Kind() == reflect.Struct && !bracket:
			if f, ok := structInfoOf(t).fields[tok]; ok {
				ranks = append(ranks, pathRank{sub: f})
				t = t.FieldByIndex(f).Type
			} else {
				ranks = append(ranks, pathRank{n: 1, s: tok})
				t = nil
			}
		case t.Kind() == reflect.Slice && bracket:
			n, _ := strconv.Atoi(tok)
			ranks = append(ranks, pathRank{n: n})
			t = t.Elem()
		case t.Kind() == reflect.Map && bracket:
			ranks = append(ranks, pathRank{s: tok})
			t = t.Elem()
		default:
			ranks = append(ranks, pathRank{s: tok})
			t = nil
		}
	}
	return ranks
}

func compareRanks(a, b []pathRank) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := cmp.Compare(a[i].n, b[i].n); c != 0 {
			return c
		}
		if c := slices.Compare(a[i].sub, b[i].sub); c != 0 {
			return c
		}
		if c := strings.Compare(a[i].s, b[i].s); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(a), len(b))
}
