package emit

import (
	"bytes"
	"cmp"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// writeYAML appends v to buf as the YAML encodeYAML writes of clean(tree,
// true), where tree is what parseJSON reads back from json.Marshal(v),
// and reports the shape of v. It walks v with reflection, following
// encoding/json's rules for struct tags, embedded structs, Marshalers,
// maps, byte slices and numbers, and builds no tree, except of the output
// of a value's own MarshalJSON.
//
// It does not support the ",string" tag option, and stops with an error
// at maxDepth nested pointers, maps and slices where encoding/json looks
// for a cycle. On error, buf holds part of the document.
func writeYAML(buf *bytes.Buffer, v any) (s shape, err error) {
	e := encodeStates.Get().(*encodeState)
	e.buf = buf
	defer func() {
		if r := recover(); r != nil {
			ee, ok := r.(encodeError)
			if !ok {
				panic(r)
			}
			s, err = 0, ee.error
			return // drop e: an aborted walk leaves it in use
		}
		e.buf = nil
		encodeStates.Put(e)
	}()
	switch s = e.value(reflect.ValueOf(v), atTop, 0); s {
	case wasNull:
		writeLine(buf, atTop, "null")
	case wasEmpty:
		writeLine(buf, atTop, "{}")
	}
	return s, nil
}

// shape is what an encoder wrote.
type shape uint8

const (
	wroteValue  shape = iota // a scalar or a sequence
	wroteObject              // a mapping of at least one entry
	wasNull                  // nothing: the value is null
	wasEmpty                 // nothing: the value is an object with no entries left
)

// maxDepth is how many pointers, maps and slices a value may nest.
const maxDepth = 1000

// encodeState is the scratch space of one walk.
type encodeState struct {
	buf     *bytes.Buffer
	entries []mapEntry // the entries of the maps being written, innermost last
	depth   int        // pointers, maps and slices entered
}

// mapEntry is one key and value of a map.
type mapEntry struct {
	key string
	val reflect.Value
}

var encodeStates = sync.Pool{New: func() any { return new(encodeState) }}

// encodeError carries an error out of a walk to writeYAML.
type encodeError struct{ error }

func (e *encodeState) fail(err error) { panic(encodeError{err}) }

// enter counts one more level of pointer, map or slice.
func (e *encodeState) enter(t reflect.Type) {
	if e.depth++; e.depth > maxDepth {
		e.fail(fmt.Errorf("json: %s nested more than %d deep, a cycle?", t, maxDepth))
	}
}

func (e *encodeState) value(v reflect.Value, p place, ind int) shape {
	if !v.IsValid() {
		return wasNull
	}
	return typeEncoder(v.Type())(e, v, p, ind)
}

// member writes the entry key: v of an object whose entries sit at col,
// n of them written already, unless clean would drop it: the top-level
// status, a null, or an empty status, resources, strategy or metadata.
// It reports whether it wrote the entry.
func (e *encodeState) member(key string, enc encoder, v reflect.Value, col, n int, top bool) bool {
	if top && key == "status" {
		return false
	}
	mark := e.buf.Len()
	if n > 0 {
		indent(e.buf, col)
	}
	writeString(e.buf, key)
	e.buf.WriteByte(':')
	switch enc(e, v, inMap, col) {
	case wasNull:
		e.buf.Truncate(mark)
		return false
	case wasEmpty:
		if dropsEmpty(key) {
			e.buf.Truncate(mark)
			return false
		}
		writeLine(e.buf, inMap, "{}")
	}
	return true
}

// endObject ends an object whose opening begin wrote after mark, with n
// entries: one with none is taken back, to be written by the caller as
// "{}" or dropped.
func (e *encodeState) endObject(mark, n int) shape {
	if n == 0 {
		e.buf.Truncate(mark)
		return wasEmpty
	}
	return wroteObject
}

// tree writes a tree parsed from JSON and cleaned, or reports it null or
// empty, as an encoder does.
func (e *encodeState) tree(v any, p place, ind int) shape {
	switch t := v.(type) {
	case nil:
		return wasNull
	case object:
		if len(t) == 0 {
			return wasEmpty
		}
		writeTree(e.buf, t, p, ind)
		return wroteObject
	}
	writeTree(e.buf, v, p, ind)
	return wroteValue
}

// encoder writes a value of one type at p and ind, as writeTree would
// write its cleaned tree, except that it writes nothing for a null or an
// empty object and says so, for the caller to write or drop.
type encoder func(e *encodeState, v reflect.Value, p place, ind int) shape

var encoders sync.Map // reflect.Type → encoder

// typeEncoder returns the cached encoder of t, building it once.
func typeEncoder(t reflect.Type) encoder {
	if f, ok := encoders.Load(t); ok {
		return f.(encoder)
	}
	// A recursive type finds this indirect encoder while its own is built.
	build := sync.OnceValue(func() encoder { return newEncoder(t, true) })
	f, loaded := encoders.LoadOrStore(t, encoder(func(e *encodeState, v reflect.Value, p place, ind int) shape {
		return build()(e, v, p, ind)
	}))
	if loaded {
		return f.(encoder)
	}
	enc := build()
	encoders.Store(t, enc)
	return enc
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	numberType        = reflect.TypeFor[json.Number]()
)

// newEncoder builds the encoder of t as encoding/json's newTypeEncoder
// does. A value whose pointer is a Marshaler uses it when addressable and
// allowAddr is set.
func newEncoder(t reflect.Type, allowAddr bool) encoder {
	if t.Kind() != reflect.Pointer && allowAddr && reflect.PointerTo(t).Implements(marshalerType) {
		return condAddr(marshalJSON, newEncoder(t, false))
	}
	if t.Implements(marshalerType) {
		return marshalJSON
	}
	if t.Kind() != reflect.Pointer && allowAddr && reflect.PointerTo(t).Implements(textMarshalerType) {
		return condAddr(marshalText, newEncoder(t, false))
	}
	if t.Implements(textMarshalerType) {
		return marshalText
	}
	switch t.Kind() {
	case reflect.Bool:
		return scalar(func(e *encodeState, v reflect.Value) { e.buf.WriteString(strconv.FormatBool(v.Bool())) })
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return scalar(func(e *encodeState, v reflect.Value) {
			e.buf.Write(strconv.AppendInt(e.buf.AvailableBuffer(), v.Int(), 10))
		})
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return scalar(func(e *encodeState, v reflect.Value) {
			e.buf.Write(strconv.AppendUint(e.buf.AvailableBuffer(), v.Uint(), 10))
		})
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return scalar(func(e *encodeState, v reflect.Value) { e.float(v.Float(), bits) })
	case reflect.String:
		if t == numberType {
			return scalar(number)
		}
		return func(e *encodeState, v reflect.Value, p place, ind int) shape {
			writeStringValue(e.buf, validUTF8(v.String()), p, ind)
			return wroteValue
		}
	case reflect.Interface:
		return func(e *encodeState, v reflect.Value, p place, ind int) shape {
			if v.IsNil() {
				return wasNull
			}
			return e.value(v.Elem(), p, ind)
		}
	case reflect.Struct:
		return newStructEncoder(t)
	case reflect.Map:
		return newMapEncoder(t)
	case reflect.Slice:
		return newSliceEncoder(t)
	case reflect.Array:
		return newArrayEncoder(t)
	case reflect.Pointer:
		return newPtrEncoder(t)
	}
	return unsupported
}

func unsupported(e *encodeState, v reflect.Value, _ place, _ int) shape {
	e.fail(&json.UnsupportedTypeError{Type: v.Type()})
	return wasNull
}

// scalar is the encoder of a value write writes on one line.
func scalar(write func(e *encodeState, v reflect.Value)) encoder {
	return func(e *encodeState, v reflect.Value, p place, _ int) shape {
		space(e.buf, p)
		write(e, v)
		e.buf.WriteByte('\n')
		return wroteValue
	}
}

// condAddr encodes an addressable value's address with addrEnc, and any
// other value with elseEnc.
func condAddr(addrEnc, elseEnc encoder) encoder {
	return func(e *encodeState, v reflect.Value, p place, ind int) shape {
		if v.CanAddr() {
			return addrEnc(e, v.Addr(), p, ind)
		}
		return elseEnc(e, v, p, ind)
	}
}

// marshalJSON writes the tree of the value's own MarshalJSON output,
// cleaned.
func marshalJSON(e *encodeState, v reflect.Value, p place, ind int) shape {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return wasNull
	}
	m, ok := reflect.TypeAssert[json.Marshaler](v)
	if !ok {
		return wasNull
	}
	b, err := m.MarshalJSON()
	var tree any
	if err == nil && !json.Valid(b) {
		err = errors.New("invalid JSON")
	}
	if err == nil {
		tree, err = parseJSON(b)
	}
	if err != nil {
		e.fail(fmt.Errorf("json: error calling MarshalJSON for type %s: %w", v.Type(), err))
	}
	return e.tree(clean(tree, p == atTop), p, ind)
}

// marshalText writes the string of the value's MarshalText output.
func marshalText(e *encodeState, v reflect.Value, p place, _ int) shape {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return wasNull
	}
	m, ok := reflect.TypeAssert[encoding.TextMarshaler](v)
	if !ok {
		return wasNull
	}
	b, err := m.MarshalText()
	if err != nil {
		e.fail(fmt.Errorf("json: error calling MarshalText for type %s: %w", v.Type(), err))
	}
	space(e.buf, p)
	writeString(e.buf, validUTF8(string(b)))
	e.buf.WriteByte('\n')
	return wroteValue
}

// number writes a json.Number as the number it holds, "0" if empty.
func number(e *encodeState, v reflect.Value) {
	s := v.String()
	if s == "" {
		s = "0"
	}
	// Valid JSON that starts with '-' or a digit and ends with a digit is
	// a number with no space around it.
	if c, last := s[0], s[len(s)-1]; c != '-' && (c < '0' || c > '9') || last < '0' || last > '9' || !json.Valid([]byte(s)) {
		e.fail(fmt.Errorf("json: invalid number literal %q", s))
	}
	e.buf.WriteString(s)
}

// float writes f as encoding/json does, like ES6: plain between 1e-6 and
// 1e21, with an exponent outside, which has no leading zero.
func (e *encodeState) float(f float64, bits int) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		e.fail(fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(f, 'g', -1, bits)))
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	b := strconv.AppendFloat(e.buf.AvailableBuffer(), f, format, -1, bits)
	if n := len(b); format == 'e' && n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	e.buf.Write(b)
}

// validUTF8 replaces each byte of s that is not valid UTF-8 with U+FFFD,
// as encoding/json writes strings.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func newPtrEncoder(t reflect.Type) encoder {
	elem := typeEncoder(t.Elem())
	return func(e *encodeState, v reflect.Value, p place, ind int) shape {
		if v.IsNil() {
			return wasNull
		}
		e.enter(t)
		s := elem(e, v.Elem(), p, ind)
		e.depth--
		return s
	}
}

// newSliceEncoder encodes a slice as a list, a nil one as null and a
// byte slice as its base64 string.
func newSliceEncoder(t reflect.Type) encoder {
	if t.Elem().Kind() == reflect.Uint8 {
		ptr := reflect.PointerTo(t.Elem())
		if !ptr.Implements(marshalerType) && !ptr.Implements(textMarshalerType) {
			str := scalar(func(e *encodeState, v reflect.Value) {
				writeString(e.buf, base64.StdEncoding.EncodeToString(v.Bytes()))
			})
			return func(e *encodeState, v reflect.Value, p place, ind int) shape {
				if v.IsNil() {
					return wasNull
				}
				return str(e, v, p, ind)
			}
		}
	}
	list := newArrayEncoder(t)
	return func(e *encodeState, v reflect.Value, p place, ind int) shape {
		if v.IsNil() {
			return wasNull
		}
		e.enter(t)
		s := list(e, v, p, ind)
		e.depth--
		return s
	}
}

// newArrayEncoder writes an array or slice as a sequence, its null items
// as null and its empty objects as {}.
func newArrayEncoder(t reflect.Type) encoder {
	elem := typeEncoder(t.Elem())
	return func(e *encodeState, v reflect.Value, p place, ind int) shape {
		n := v.Len()
		if n == 0 {
			writeLine(e.buf, p, "[]")
			return wroteValue
		}
		col := begin(e.buf, p, ind, true)
		for i := range n {
			if i > 0 {
				indent(e.buf, col)
			}
			e.buf.WriteByte('-')
			switch elem(e, v.Index(i), inList, col) {
			case wasNull:
				writeLine(e.buf, inList, "null")
			case wasEmpty:
				writeLine(e.buf, inList, "{}")
			}
		}
		return wroteValue
	}
}

// newMapEncoder encodes a map as an object; its keys must be strings,
// integers or TextMarshalers.
func newMapEncoder(t reflect.Type) encoder {
	switch t.Key().Kind() {
	case reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		if !t.Key().Implements(textMarshalerType) {
			return unsupported
		}
	}
	elem := typeEncoder(t.Elem())
	// Copying the values into one slice saves copying each, but makes them
	// addressable where a map's values are not.
	var values reflect.Type
	if addressFree(t.Elem()) {
		values = reflect.SliceOf(t.Elem())
	}
	byKey := func(a, b mapEntry) int { return strings.Compare(a.key, b.key) }
	return func(e *encodeState, v reflect.Value, p place, ind int) shape {
		if v.IsNil() {
			return wasNull
		}
		e.enter(t)
		start := len(e.entries)
		valid := true
		key, all := reflect.New(t.Key()).Elem(), reflect.Value{}
		if values != nil {
			all = reflect.MakeSlice(values, v.Len(), v.Len())
		}
		var it reflect.MapIter
		it.Reset(v)
		for i := 0; it.Next(); i++ {
			key.SetIterKey(&it)
			var val reflect.Value
			if all.IsValid() {
				val = all.Index(i)
				val.SetIterValue(&it)
			} else {
				val = it.Value()
			}
			k := e.keyName(key)
			valid = valid && utf8.ValidString(k)
			e.entries = append(e.entries, mapEntry{k, val})
		}
		entries := e.entries[start:]
		if !valid {
			// encoding/json sorts the keys before it replaces invalid
			// UTF-8, so of keys that become equal the last stays.
			slices.SortFunc(entries, byKey)
			for i := range entries {
				entries[i].key = validUTF8(entries[i].key)
			}
		}
		mark := e.buf.Len()
		col, n := begin(e.buf, p, ind, false), 0
		for _, m := range sortUnique(entries, byKey) {
			if e.member(m.key, elem, m.val, col, n, p == atTop) {
				n++
			}
		}
		clear(e.entries[start:])
		e.entries = e.entries[:start]
		e.depth--
		return e.endObject(mark, n)
	}
}

// addressFree reports whether encoding/json encodes a value of t the same
// whether or not it is addressable.
func addressFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		return true
	case reflect.Struct, reflect.Array:
		return false // their fields and elements may be Marshalers through their address
	}
	p := reflect.PointerTo(t)
	return !p.Implements(marshalerType) && !p.Implements(textMarshalerType)
}

// keyName is the object key of a map key, as encoding/json resolves it.
func (e *encodeState) keyName(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return k.String()
	}
	if tm, ok := reflect.TypeAssert[encoding.TextMarshaler](k); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return ""
		}
		b, err := tm.MarshalText()
		if err != nil {
			e.fail(fmt.Errorf("json: encoding error for type %q: %q", k.Type().String(), err.Error()))
		}
		return string(b)
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10)
	}
	return strconv.FormatUint(k.Uint(), 10) // newMapEncoder allows no other kind
}

// field is a struct field encoding/json writes.
type field struct {
	name      string
	tag       bool  // name comes from the json tag
	index     []int // field indexes from the outer struct through embedded ones
	typ       reflect.Type
	omitEmpty bool
	omitZero  bool
	isZero    func(reflect.Value) bool // for omitZero, if the type has IsZero
	quoted    bool                     // the ",string" option on a bool, number or string
	enc       encoder
}

// newStructEncoder encodes a struct as the object of its fields, which
// typeFields lists in key order.
func newStructEncoder(t reflect.Type) encoder {
	fields := typeFields(t)
	return func(e *encodeState, v reflect.Value, p place, ind int) shape {
		mark := e.buf.Len()
		col, n := begin(e.buf, p, ind, false), 0
	next:
		for i := range fields {
			f := &fields[i]
			fv := v
			for _, j := range f.index {
				if fv.Kind() == reflect.Pointer {
					if fv.IsNil() {
						continue next
					}
					fv = fv.Elem()
				}
				fv = fv.Field(j)
			}
			if f.omitEmpty && isEmptyValue(fv) ||
				f.omitZero && (f.isZero == nil && fv.IsZero() || f.isZero != nil && f.isZero(fv)) {
				continue
			}
			if e.member(f.name, f.enc, fv, col, n, p == atTop) {
				n++
			}
		}
		return e.endObject(mark, n)
	}
}

// isEmptyValue reports whether omitempty leaves v out.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// typeFields lists the fields encoding/json writes for struct type t,
// sorted by name: its typeFields, with embedded structs' fields promoted
// by Go's rules, except that a tagged name dominates an untagged one at
// the same depth and that fields ambiguous at their shallowest depth are
// all left out.
func typeFields(t reflect.Type) []field {
	type embedded struct {
		typ   reflect.Type
		index []int
	}
	current, next := []embedded{}, []embedded{{typ: t}}
	// Count of queued types at the current level and the next.
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var fields []field
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, s := range current {
			if visited[s.typ] {
				continue
			}
			visited[s.typ] = true
			for i := range s.typ.NumField() {
				sf := s.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !isValidTag(name) {
					name = ""
				}
				index := append(slices.Clip(s.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
					// Explore the embedded struct at the next level.
					if nextCount[ft]++; nextCount[ft] == 1 {
						next = append(next, embedded{ft, index})
					}
					continue
				}
				f := field{
					name:      cmp.Or(name, sf.Name),
					tag:       name != "",
					index:     index,
					typ:       sf.Type,
					omitEmpty: hasOption(opts, "omitempty"),
					omitZero:  hasOption(opts, "omitzero"),
				}
				switch ft.Kind() {
				case reflect.Bool,
					reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
					reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
					reflect.Float32, reflect.Float64, reflect.String:
					f.quoted = hasOption(opts, "string")
				}
				if f.omitZero {
					f.isZero = isZeroFunc(sf.Type)
				}
				fields = append(fields, f)
				if count[s.typ] > 1 {
					// The type was embedded twice at this level: a
					// duplicate makes its fields ambiguous below.
					fields = append(fields, f)
				}
			}
		}
	}
	slices.SortFunc(fields, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tag != b.tag {
			if a.tag {
				return -1
			}
			return +1
		}
		return slices.Compare(a.index, b.index)
	})
	// Of the fields of one name, the first dominates unless the second is
	// as shallow and as tagged, when neither is written.
	out := fields[:0]
	for i := 0; i < len(fields); {
		n := 1
		for i+n < len(fields) && fields[i+n].name == fields[i].name {
			n++
		}
		if n == 1 || len(fields[i].index) != len(fields[i+1].index) || fields[i].tag != fields[i+1].tag {
			out = append(out, fields[i])
		}
		i += n
	}
	for i := range out {
		f := &out[i]
		f.enc = typeEncoder(f.typ)
		if f.quoted {
			name := f.name
			f.enc = func(e *encodeState, _ reflect.Value, _ place, _ int) shape {
				e.fail(fmt.Errorf("json: the string option of field %s of %s is not supported", name, t))
				return wasNull
			}
		}
	}
	return out
}

// hasOption reports whether the comma-separated tag options hold name.
func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}

func isValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
			// Backslash and quote chars are reserved, but otherwise any
			// punctuation chars are allowed in a tag name.
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

type isZeroer interface{ IsZero() bool }

var isZeroerType = reflect.TypeFor[isZeroer]()

// isZeroFunc returns how omitzero asks a value of t whether it is zero
// with its IsZero method, or nil if t has none.
func isZeroFunc(t reflect.Type) func(reflect.Value) bool {
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		return func(v reflect.Value) bool {
			return v.IsNil() || v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil() || v.Interface().(isZeroer).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.IsNil() || v.Interface().(isZeroer).IsZero() }
	case t.Implements(isZeroerType):
		return func(v reflect.Value) bool { return v.Interface().(isZeroer).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		return func(v reflect.Value) bool {
			if !v.CanAddr() {
				v2 := reflect.New(v.Type()).Elem()
				v2.Set(v)
				v = v2
			}
			return v.Addr().Interface().(isZeroer).IsZero()
		}
	}
	return nil
}
