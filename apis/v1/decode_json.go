package v1

import (
	"fmt"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// jsonToNode parses one JSON value into the node tree the YAML parser
// would give, with explicit tags, so that JSON gets the exact JSON grammar
// (YAML rejects some JSON escapes, such as "\/") and the same strict walk
// as YAML. It is a small hand-written parser: encoding/json's Token API
// costs several times more, and request bodies are decoded on every write.
// Like encoding/json it replaces invalid UTF-8 in strings with U+FFFD.
//
// The nodes come from blocks that tree.release hands back for the next
// parse (a request body is parsed on every create, and its tree is
// garbage once decoded): call it, if at all, once nothing holds a node of
// the tree. A failed parse has released its blocks already.
func jsonToNode(data []byte) (root *yaml.Node, tree *jsonParser, err error) {
	p := &jsonParser{data: data, line: 1}
	p.blocks = p.inline[:0]
	p.space()
	n, err := p.value(0)
	if err == nil {
		p.space()
		if p.pos < len(p.data) {
			err = p.errorf("unexpected data after the JSON value")
		}
	}
	if err != nil {
		p.release()
		return nil, p, err
	}
	return n, p, nil
}

type jsonParser struct {
	data   []byte
	pos    int
	line   int
	blocks []*nodeBlock // nodes are carved from the last, a block at a time
	used   int          // nodes taken from the last block
	inline [4]*nodeBlock
}

// nodeBlock is the unit nodes are allocated in; a Task's body takes one
// or two.
type nodeBlock [32]yaml.Node

var nodeBlocks = sync.Pool{New: func() any { return new(nodeBlock) }}

// node returns a new node, carved from the parser's blocks.
func (p *jsonParser) node(kind yaml.Kind, tag, value string, line int) *yaml.Node {
	if len(p.blocks) == 0 || p.used == len(nodeBlock{}) {
		p.blocks = append(p.blocks, nodeBlocks.Get().(*nodeBlock))
		p.used = 0
	}
	n := &p.blocks[len(p.blocks)-1][p.used]
	p.used++
	n.Kind, n.Tag, n.Value, n.Line = kind, tag, value, line
	if kind == yaml.ScalarNode && tag == tagStr {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

// release clears the parser's blocks, so that they hold on to nothing,
// and hands them back for another parse.
func (p *jsonParser) release() {
	for i, b := range p.blocks {
		*b = nodeBlock{}
		nodeBlocks.Put(b)
		p.blocks[i] = nil
	}
	p.blocks = p.blocks[:0]
}

// maxJSONDepth bounds nesting as the YAML parser does.
const maxJSONDepth = 10000

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: %s", p.line, fmt.Sprintf(format, args...))
}

func (p *jsonParser) unexpected(what string) error {
	if p.pos >= len(p.data) {
		return p.errorf("unexpected end of input, expected %s", what)
	}
	r, _ := utf8.DecodeRune(p.data[p.pos:])
	return p.errorf("unexpected %q, expected %s", r, what)
}

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case '\n':
			p.line++
		case ' ', '\t', '\r':
		default:
			return
		}
		p.pos++
	}
}

func (p *jsonParser) value(depth int) (*yaml.Node, error) {
	if depth > maxJSONDepth {
		return nil, p.errorf("nested deeper than %d", maxJSONDepth)
	}
	if p.pos >= len(p.data) {
		return nil, p.unexpected("a value")
	}
	line := p.line
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return p.node(yaml.ScalarNode, tagStr, s, line), nil
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	default:
		for _, lit := range [...]struct{ text, tag string }{{"true", tagBool}, {"false", tagBool}, {"null", tagNull}} {
			if len(p.data)-p.pos >= len(lit.text) && string(p.data[p.pos:p.pos+len(lit.text)]) == lit.text {
				p.pos += len(lit.text)
				return p.node(yaml.ScalarNode, lit.tag, lit.text, line), nil
			}
		}
		return nil, p.unexpected("a value")
	}
}

func (p *jsonParser) object(depth int) (*yaml.Node, error) {
	n := p.node(yaml.MappingNode, tagMap, "", p.line)
	p.pos++ // '{'
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return n, nil
	}
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.unexpected("a string key")
		}
		line := p.line
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.unexpected("':'")
		}
		p.pos++
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, p.node(yaml.ScalarNode, tagStr, key, line), v)
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == '}' {
			p.pos++
			return n, nil
		}
		return nil, p.unexpected("',' or '}'")
	}
}

func (p *jsonParser) array(depth int) (*yaml.Node, error) {
	n := p.node(yaml.SequenceNode, tagSeq, "", p.line)
	p.pos++ // '['
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return n, nil
	}
	for {
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, v)
		p.space()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < len(p.data) && p.data[p.pos] == ']' {
			p.pos++
			return n, nil
		}
		return nil, p.unexpected("',' or ']'")
	}
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? and tags it
// !!int when it has neither fraction nor exponent.
func (p *jsonParser) number() (*yaml.Node, error) {
	start, line := p.pos, p.line
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return nil, p.unexpected("a digit")
	}
	tag := tagInt
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		tag = tagFloat
		if digits() == 0 {
			return nil, p.unexpected("a digit")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		tag = tagFloat
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.unexpected("a digit")
		}
	}
	return p.node(yaml.ScalarNode, tag, string(p.data[start:p.pos]), line), nil
}

// str scans a string at p.pos, which is '"'.
func (p *jsonParser) str() (string, error) {
	p.pos++
	start := p.pos
	// Fast path: no escapes, ASCII or valid UTF-8.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := p.data[start:p.pos]
			p.pos++
			if utf8.Valid(s) {
				return string(s), nil
			}
			return string([]rune(string(s))), nil // invalid bytes become U+FFFD
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	buf := append([]byte(nil), p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			if utf8.Valid(buf) {
				return string(buf), nil
			}
			return string([]rune(string(buf))), nil
		case c < 0x20:
			return "", p.errorf("control character %q in a string", rune(c))
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		p.pos++
		if p.pos >= len(p.data) {
			break
		}
		e := p.data[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf(`invalid \u escape`)
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
					save := p.pos
					p.pos += 2
					if r2, ok = p.hex4(); !ok {
						return "", p.errorf(`invalid \u escape`)
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
					} else {
						p.pos = save // the second escape stands alone
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("invalid escape %q in a string", "\\"+string(rune(e)))
		}
	}
	return "", p.unexpected(`'"' closing the string`)
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}
