package emit

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// member is one key and value of a JSON object.
type member struct {
	key string
	val any
}

// object is a JSON object as its members sorted by key: far smaller and
// cheaper to build than a map, and in the order YAML is written.
type object []member

// parseJSON decodes the output of encoding/json.Marshal into objects,
// slices, strings, booleans, nil and json.Number, as json.Decoder with
// UseNumber would decode into maps, several times faster: it needs no
// reflection and trusts its input to be well formed, reporting an error
// rather than panicking when it is not. Repeated keys keep the last value.
func parseJSON(b []byte) (v any, err error) {
	p := jsonParser{b: b}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("malformed JSON at byte %d", p.i)
		}
	}()
	v = p.value()
	p.space()
	if p.i != len(p.b) {
		return nil, fmt.Errorf("malformed JSON at byte %d", p.i)
	}
	return v, nil
}

type jsonParser struct {
	b []byte
	i int
}

type jsonError struct{}

func (p *jsonParser) fail() { panic(jsonError{}) }

func (p *jsonParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value() any {
	p.space()
	if p.i >= len(p.b) {
		p.fail()
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		var m object
		p.space()
		if p.b[p.i] == '}' {
			p.i++
			return object{}
		}
		for {
			p.space()
			k := p.str()
			p.space()
			if p.b[p.i] != ':' {
				p.fail()
			}
			p.i++
			m = append(m, member{k, p.value()})
			p.space()
			switch p.b[p.i] {
			case ',':
				p.i++
			case '}':
				p.i++
				return sortMembers(m)
			default:
				p.fail()
			}
		}
	case c == '[':
		p.i++
		l := []any{}
		p.space()
		if p.b[p.i] == ']' {
			p.i++
			return l
		}
		for {
			l = append(l, p.value())
			p.space()
			switch p.b[p.i] {
			case ',':
				p.i++
			case ']':
				p.i++
				return l
			default:
				p.fail()
			}
		}
	case c == '"':
		return p.str()
	case c == 't':
		p.word("true")
		return true
	case c == 'f':
		p.word("false")
		return false
	case c == 'n':
		p.word("null")
		return nil
	default:
		start := p.i
		for p.i < len(p.b) {
			switch c := p.b[p.i]; {
			case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
				p.i++
				continue
			}
			break
		}
		if start == p.i {
			p.fail()
		}
		return json.Number(p.b[start:p.i])
	}
}

func (p *jsonParser) word(w string) {
	if p.i+len(w) > len(p.b) || string(p.b[p.i:p.i+len(w)]) != w {
		p.fail()
	}
	p.i += len(w)
}

// str reads a string, unescaping only when the string holds escapes.
func (p *jsonParser) str() string {
	if p.b[p.i] != '"' {
		p.fail()
	}
	p.i++
	start := p.i
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '"':
			s := string(p.b[start:p.i])
			p.i++
			return s
		case '\\':
			return p.escaped(start)
		}
		p.i++
	}
	p.fail()
	return ""
}

func (p *jsonParser) escaped(start int) string {
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf)
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		p.i++
		switch e := p.b[p.i]; e {
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
			r := p.hex4()
			if utf16.IsSurrogate(r) && p.i+6 < len(p.b) && p.b[p.i+1] == '\\' && p.b[p.i+2] == 'u' {
				p.i += 2
				r = utf16.DecodeRune(r, p.hex4())
			}
			buf = utf8.AppendRune(buf, r)
		default:
			p.fail()
		}
		p.i++
	}
	p.fail()
	return ""
}

// hex4 reads the four hex digits after "\u", leaving p.i on the last.
func (p *jsonParser) hex4() rune {
	if p.i+4 >= len(p.b) {
		p.fail()
	}
	n, err := strconv.ParseUint(string(p.b[p.i+1:p.i+5]), 16, 32)
	if err != nil {
		p.fail()
	}
	p.i += 4
	return rune(n)
}

// sortMembers sorts by key; of repeated keys the last one stays, as
// encoding/json keeps the last.
func sortMembers(m object) object {
	return sortUnique(m, func(a, b member) int { return strings.Compare(a.key, b.key) })
}

// sortUnique sorts s stably by cmp and keeps the last of equal elements.
func sortUnique[E any](s []E, cmp func(a, b E) int) []E {
	slices.SortStableFunc(s, cmp)
	out := s[:0]
	for i, x := range s {
		if i+1 < len(s) && cmp(s[i+1], x) == 0 {
			continue
		}
		out = append(out, x)
	}
	return out
}

// toObject turns a map into an object, and the maps inside it.
func toObject(m map[string]any) object {
	o := make(object, 0, len(m))
	for k, v := range m {
		o = append(o, member{k, toObjects(v)})
	}
	return sortMembers(o)
}

func toObjects(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return toObject(t)
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = toObjects(x)
		}
		return out
	}
	return v
}
