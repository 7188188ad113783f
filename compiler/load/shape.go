package load

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/token"
)

// The fast check recognises an input the schema accepts without
// unifying the two, which at a thousand components costs more than
// evaluating the input itself. It reads the schema's evaluated value
// once into shapes (what the schema allows at each place: kinds,
// patterns, bounds, fields, list elements, alternatives) and walks the
// input's concrete values against them.
//
// It reads the input as evaluated alone, so it serves only an input
// written as plain data (see plainData): one whose code cannot see the
// fields the schema adds when the two are unified (an empty config, an
// empty talksTo), by iterating, testing, closing, patterning or copying
// a struct that holds them. Any other input is unified with the schema.
//
// It only ever says yes or "ask CUE": an input it does not accept is
// unified with the schema as before, and CUE's errors, with their
// positions, are what the user reads. So it must never accept what CUE
// refuses; whatever it cannot read with certainty (a constraint form it
// does not know, a default, a non-concrete or optional input field, an
// error, two alternatives that both match) makes it ask CUE. The tests
// in shape_test.go hold it to that over every input of the testscripts,
// the shipped and a synthetic system, 200 edits of the shipped system's
// data and some 90 written in CUE; FuzzLoad does too.

// shape is what the schema allows at one place of the input.
type shape struct {
	// unknown marks a constraint the compiler cannot read: a value here
	// is left to CUE.
	unknown bool
	// kinds are the kinds a concrete value may have here.
	kinds cue.Kind
	// leaf holds the constraints on a scalar, all of which must hold.
	leaf []scalarCheck
	// fields, patterns and lists apply to a struct or a list value.
	st   *structShape
	list *listShape
	// anyOf: exactly one alternative must accept the value; allOf: each
	// conjunct must.
	anyOf []*shape
	allOf []*shape
	// always marks a place another check reads (see splitAt): any value
	// is accepted here.
	always bool
}

type structShape struct {
	fields   map[string]*fieldShape
	required []string
	patterns []patternShape
}

type fieldShape struct {
	s        *shape
	optional bool
	// required marks a field written name!: the input must have it,
	// whatever its value.
	required bool
}

// patternShape is [key]: value; a nil key is [string].
type patternShape struct {
	key, value *shape
}

type listShape struct {
	// prefix elements must all be there; rest, when set, takes any
	// number more.
	prefix []*shape
	rest   *shape
}

// scalarCheck is one constraint on a string, int64 or bool.
type scalarCheck func(any) bool

// schemaShape returns the shape of #Root, compiled once, and the paths
// of what it could not read.
var schemaShape = sync.OnceValues(func() (root *shape, unknown []string) {
	// A schema the compiler trips on leaves every input to CUE.
	defer func() {
		if r := recover(); r != nil {
			schemaPatterns = nil
			root, unknown = &shape{unknown: true}, []string{fmt.Sprint("the shape compiler panicked: ", r)}
		}
	}()
	ctx := cuecontext.New()
	sv, err := Schema(ctx)
	if err != nil {
		return &shape{unknown: true}, []string{err.Error()}
	}
	c := &shapeCompiler{root: sv, refs: map[string]*shape{}, patterns: map[string]bool{}}
	root = c.compile(sv.LookupPath(cuePath(rootDefinition)), rootDefinition)
	schemaPatterns = c.patterns
	return root, c.unknown
})

// schemaPatterns holds the positions of the key patterns ([#DNSLabel]:
// ...) the compiler found in the schema, for the test that checks none
// escaped it.
var schemaPatterns map[string]bool

type shapeCompiler struct {
	root     cue.Value
	refs     map[string]*shape
	unknown  []string
	patterns map[string]bool
}

func (c *shapeCompiler) fail(path, why string) *shape {
	c.unknown = append(c.unknown, path+": "+why)
	return &shape{unknown: true}
}

func (c *shapeCompiler) compile(v cue.Value, path string) *shape {
	if _, ok := v.Default(); ok {
		// An open list's default is the empty list, which an input's
		// list replaces: a list left out is that default.
		if v.IncompleteKind() == cue.ListKind {
			return c.listOf(v, path)
		}
		return c.fail(path, "a default")
	}
	if err := v.Err(); err != nil {
		return c.fail(path, err.Error())
	}
	op, args := v.Expr()
	switch op {
	case cue.SelectorOp:
		return c.reference(v, path)
	case cue.OrOp:
		s := &shape{kinds: v.IncompleteKind()}
		for i, a := range args {
			s.anyOf = append(s.anyOf, c.compile(a, fmt.Sprintf("%s|%d", path, i)))
		}
		return s
	case cue.AndOp:
		k := v.IncompleteKind()
		if k == cue.StructKind {
			// The value holds the conjuncts' fields merged; a disjunction
			// among them would leave them undecided.
			if c.holdsDisjunction(v, 0) {
				return c.fail(path, "a conjunction with a disjunction")
			}
			return c.structure(v, path)
		}
		s := &shape{kinds: k}
		for i, a := range args {
			s.allOf = append(s.allOf, c.compile(a, fmt.Sprintf("%s&%d", path, i)))
		}
		return s
	case cue.RegexMatchOp, cue.NotRegexMatchOp:
		src, err := args[0].String()
		if err != nil {
			return c.fail(path, "a pattern that is not a string")
		}
		re, err := regexp.Compile(src)
		if err != nil {
			return c.fail(path, err.Error())
		}
		want := op == cue.RegexMatchOp
		return &shape{kinds: cue.StringKind, leaf: []scalarCheck{func(x any) bool {
			s, ok := x.(string)
			return ok && re.MatchString(s) == want
		}}}
	case cue.NotEqualOp:
		lit, ok := scalarOf(args[0])
		if !ok {
			return c.fail(path, "!= with a value that is not a scalar")
		}
		return &shape{kinds: v.IncompleteKind(), leaf: []scalarCheck{func(x any) bool { return x != lit }}}
	case cue.GreaterThanOp, cue.GreaterThanEqualOp, cue.LessThanOp, cue.LessThanEqualOp:
		b, err := args[0].Int64()
		if err != nil {
			return c.fail(path, "a bound that is not an int64")
		}
		return &shape{kinds: v.IncompleteKind(), leaf: []scalarCheck{bound(op, b)}}
	case cue.NoOp:
	default:
		return c.fail(path, "operator "+op.String())
	}
	if root, p := v.ReferencePath(); root.Exists() && len(p.Selectors()) > 0 {
		return c.reference(v, path)
	}
	k := v.IncompleteKind()
	if v.IsConcrete() {
		if lit, ok := scalarOf(v); ok {
			return &shape{kinds: k, leaf: []scalarCheck{func(x any) bool { return x == lit }}}
		}
	}
	switch k {
	case cue.StructKind:
		return c.structure(v, path)
	case cue.ListKind:
		return c.listOf(v, path)
	case cue.TopKind, cue.StringKind, cue.IntKind, cue.BoolKind, cue.NullKind:
		return &shape{kinds: k}
	}
	return c.fail(path, "kind "+k.String())
}

// reference compiles what a reference to the schema names, once.
func (c *shapeCompiler) reference(v cue.Value, path string) *shape {
	root, p := v.ReferencePath()
	if !root.Exists() || len(p.Selectors()) == 0 {
		return c.fail(path, "a reference the compiler cannot follow")
	}
	key := p.String()
	if s, ok := c.refs[key]; ok {
		return s
	}
	s := c.compile(root.LookupPath(p), key)
	c.refs[key] = s
	return s
}

// holdsDisjunction reports whether a conjunction has a disjunction
// among its conjuncts, at any depth: its merged fields would be
// undecided.
func (c *shapeCompiler) holdsDisjunction(v cue.Value, depth int) bool {
	if depth > 16 {
		return true
	}
	op, args := c.resolve(v).Expr()
	switch op {
	case cue.OrOp:
		return true
	case cue.AndOp:
		for _, a := range args {
			if c.holdsDisjunction(a, depth+1) {
				return true
			}
		}
	}
	return false
}

// resolve follows a reference, for a look at what it names.
func (c *shapeCompiler) resolve(v cue.Value) cue.Value {
	if root, p := v.ReferencePath(); root.Exists() && len(p.Selectors()) > 0 {
		return root.LookupPath(p)
	}
	return v
}

func (c *shapeCompiler) structure(v cue.Value, path string) *shape {
	st := &structShape{fields: map[string]*fieldShape{}}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return c.fail(path, err.Error())
	}
	for it.Next() {
		sel := it.Selector()
		if sel.LabelType() != cue.StringLabel {
			return c.fail(path, "a field that is not a regular one")
		}
		name := sel.Unquoted()
		f := &fieldShape{optional: sel.ConstraintType() == cue.OptionalConstraint,
			required: sel.ConstraintType() == cue.RequiredConstraint}
		f.s = c.compile(it.Value(), path+"."+name)
		st.fields[name] = f
		if !f.optional {
			st.required = append(st.required, name)
		}
		// Patterns with a key constraint have no selector; the schema's
		// source names them.
		if fd, ok := it.Value().Source().(*ast.Field); ok {
			if lit, ok := fd.Value.(*ast.StructLit); ok {
				if err := c.keyPatterns(f.s, lit, path+"."+name); err != "" {
					f.s = c.fail(path+"."+name, err)
				}
			}
		}
	}
	if pat := v.LookupPath(cue.MakePath(cue.AnyString)); pat.Exists() {
		st.patterns = append(st.patterns, patternShape{value: c.compile(pat, path+".[string]")})
	}
	return &shape{kinds: cue.StructKind, st: st}
}

// keyPatterns adds to s, a struct's shape, the patterns [#Def]: #Def2
// written in lit, its source.
func (c *shapeCompiler) keyPatterns(s *shape, lit *ast.StructLit, path string) string {
	for _, d := range lit.Elts {
		f, ok := d.(*ast.Field)
		if !ok {
			continue
		}
		l, ok := f.Label.(*ast.ListLit)
		if !ok {
			continue
		}
		if len(l.Elts) != 1 {
			return "a pattern of several keys"
		}
		if id, ok := l.Elts[0].(*ast.Ident); ok && id.Name == "string" {
			continue // LookupPath(AnyString) has it
		}
		if s.st == nil {
			return "a pattern outside a struct"
		}
		key, ok1 := c.definition(l.Elts[0], path)
		value, ok2 := c.definition(f.Value, path)
		if !ok1 || !ok2 {
			return "a pattern whose key or value is not a definition's name"
		}
		s.st.patterns = append(s.st.patterns, patternShape{key: key, value: value})
		c.patterns[l.Pos().String()] = true
	}
	return ""
}

// definition compiles #Name, a definition of the schema's root.
func (c *shapeCompiler) definition(x ast.Expr, path string) (*shape, bool) {
	id, ok := x.(*ast.Ident)
	if !ok || len(id.Name) < 2 || id.Name[0] != '#' {
		return nil, false
	}
	if s, ok := c.refs[id.Name]; ok {
		return s, true
	}
	d := c.root.LookupPath(cue.ParsePath(id.Name))
	if !d.Exists() {
		return nil, false
	}
	s := c.compile(d, id.Name)
	c.refs[id.Name] = s
	return s, true
}

func (c *shapeCompiler) listOf(v cue.Value, path string) *shape {
	l := &listShape{}
	for i := 0; ; i++ {
		e := v.LookupPath(cue.MakePath(cue.Index(i)))
		if !e.Exists() {
			break
		}
		l.prefix = append(l.prefix, c.compile(e, fmt.Sprintf("%s[%d]", path, i)))
	}
	if rest := v.LookupPath(cue.MakePath(cue.AnyIndex)); rest.Exists() {
		l.rest = c.compile(rest, path+"[...]")
	}
	return &shape{kinds: cue.ListKind, list: l}
}

// scalarOf returns a concrete scalar as the Go value the check compares.
func scalarOf(v cue.Value) (any, bool) {
	switch v.Kind() {
	case cue.StringKind:
		s, err := v.String()
		return s, err == nil
	case cue.IntKind:
		i, err := v.Int64()
		return i, err == nil
	case cue.BoolKind:
		b, err := v.Bool()
		return b, err == nil
	}
	return nil, false
}

func bound(op cue.Op, b int64) scalarCheck {
	return func(x any) bool {
		i, ok := x.(int64)
		if !ok {
			return false
		}
		switch op {
		case cue.GreaterThanOp:
			return i > b
		case cue.GreaterThanEqualOp:
			return i >= b
		case cue.LessThanOp:
			return i < b
		default:
			return i <= b
		}
	}
}

// verdict is what the fast check knows of a value: it satisfies the
// shape, it conflicts with it (as CUE would say, which a disjunction
// takes to drop that alternative), or the check cannot tell: the value
// is not concrete, a field is left out that the schema needs, the
// shape is unknown.
type verdict uint8

const (
	maybe verdict = iota
	yes
	no
)

// and is the verdict of two checks that must both hold: a conflict
// anywhere is one, anything unsure leaves the whole unsure.
func (a verdict) and(b verdict) verdict {
	if a == no || b == no {
		return no
	}
	if a == maybe || b == maybe {
		return maybe
	}
	return yes
}

// accepts reports whether x, an evaluated input value, certainly
// satisfies s, all of it concrete.
func (s *shape) accepts(x cue.Value) bool { return s.check(x) == yes }

func (s *shape) check(x cue.Value) verdict {
	if s.always {
		return yes
	}
	if s.unknown {
		return maybe
	}
	if s.anyOf != nil {
		// CUE drops only the alternatives that conflict: exactly one
		// must hold and every other conflict, else it is ambiguous or
		// incomplete.
		n, refuted := 0, 0
		for _, a := range s.anyOf {
			switch a.check(x) {
			case yes:
				n++
			case no:
				refuted++
			}
		}
		switch {
		case refuted == len(s.anyOf):
			return no
		case n == 1 && refuted == len(s.anyOf)-1:
			return yes
		}
		return maybe
	}
	r := yes
	for _, a := range s.allOf {
		if r = r.and(a.check(x)); r == no {
			return no
		}
	}
	k := x.Kind()
	if k == cue.BottomKind {
		// A disjunction the input writes with a default ("info" |
		// string) is that default once concrete, as CUE takes it.
		if d, ok := x.Default(); ok && d.Kind() != cue.BottomKind {
			// The default is all the check reads; the alternatives it
			// does not read may still unify, so it never refutes.
			if r = r.and(s.check(d)); r == no {
				return maybe
			}
			return r
		}
		return maybe
	}
	if k&s.kinds == 0 {
		return no
	}
	switch k {
	case cue.StructKind:
		if s.st == nil {
			return r.and(s.openValue(x))
		}
		return r.and(s.st.check(x))
	case cue.ListKind:
		if s.list == nil {
			return r.and(s.openValue(x))
		}
		return r.and(s.list.check(x))
	}
	lit, ok := scalarOf(x)
	if !ok {
		if k == cue.NullKind && len(s.leaf) == 0 {
			return r
		}
		return maybe
	}
	for _, c := range s.leaf {
		if !c(lit) {
			return no
		}
	}
	return r
}

// openValue checks a struct or list where the schema allows any value
// (_): it must be concrete all through.
func (s *shape) openValue(x cue.Value) verdict {
	if s.kinds == cue.TopKind && concrete(x) {
		return yes
	}
	return maybe
}

func (st *structShape) check(x cue.Value) verdict {
	it, err := x.Fields(cue.Optional(true), cue.Definitions(true))
	if err != nil {
		return maybe
	}
	r := yes
	required := 0
	var labels []string
	var values []cue.Value // for the decoder, in an indexed context
	fx := indexOf(x)
	for it.Next() {
		sel := it.Selector()
		if sel.LabelType() != cue.StringLabel || sel.ConstraintType() != 0 {
			r = maybe
			continue
		}
		name := sel.Unquoted()
		fv := it.Value()
		labels = append(labels, name)
		if fx != nil {
			values = append(values, fv)
		}
		fr, matched, undecided := st.field(name, fv)
		if r = r.and(fr); r == no {
			return no
		}
		if f := st.fields[name]; f != nil && !f.optional {
			required++
		}
		switch {
		case undecided:
			r = r.and(maybe)
		case !matched:
			return no // field not allowed
		}
	}
	if r == yes && fx != nil {
		fx.put(x, &fieldIndex{listed: true, labels: labels, values: values}) // for the decoder (index.go)
	}
	if required == len(st.required) {
		return r
	}
	// A required field left out is fine when the schema's own value of
	// it is concrete: an empty struct of patterns, a list that may be
	// empty; otherwise the value is incomplete. The fields listed are
	// those LookupPath finds: regular ones.
	for _, name := range st.required {
		if f := st.fields[name]; !slices.Contains(labels, name) && (f.required || !f.s.absentOK()) {
			return maybe
		}
	}
	return r
}

// field checks the value v of the field name against the field of st
// that it is and the patterns that apply to it; matched is false when
// none is, and undecided true when whether a pattern applies is not
// known.
func (st *structShape) field(name string, v cue.Value) (r verdict, matched, undecided bool) {
	r = yes
	if f := st.fields[name]; f != nil {
		if r = r.and(f.s.check(v)); r == no {
			return no, true, false
		}
		matched = true
	}
	for _, p := range st.patterns {
		if p.key != nil && !p.key.plainKey() {
			undecided = true // whether it applies is not known
			continue
		}
		if p.key != nil && !p.key.acceptsScalar(name) {
			continue
		}
		if r = r.and(p.value.check(v)); r == no {
			return no, true, false
		}
		matched = true
	}
	return r, matched, undecided
}

// splitAt is s with the place at path (field names) accepting any value,
// and the shape of that place, for a check that reads it apart: the
// verdict of s is that of the two. ok is false when a struct on the way
// is not one that only its field of that name reads.
func (s *shape) splitAt(path ...string) (rest, at *shape, ok bool) {
	if len(path) == 0 {
		return &shape{always: true}, s, true
	}
	if s.always || s.unknown || s.anyOf != nil || len(s.allOf) > 0 || s.st == nil {
		return nil, nil, false
	}
	f := s.st.fields[path[0]]
	if f == nil {
		return nil, nil, false
	}
	for _, p := range s.st.patterns {
		if p.key == nil || !p.key.plainKey() || p.key.acceptsScalar(path[0]) {
			return nil, nil, false // a pattern may read the place too
		}
	}
	inner, at, ok := f.s.splitAt(path[1:]...)
	if !ok {
		return nil, nil, false
	}
	cs, st, nf := *s, *s.st, *f
	st.fields = maps.Clone(s.st.fields)
	nf.s = inner
	st.fields[path[0]] = &nf
	cs.st = &st
	return &cs, at, true
}

// patternsOnly reports whether s is a struct of patterns and nothing
// else, whose fields are checked one by one (structShape.field).
func (s *shape) patternsOnly() bool {
	return !s.always && !s.unknown && s.anyOf == nil && len(s.allOf) == 0 && len(s.leaf) == 0 && s.list == nil &&
		s.st != nil && len(s.st.fields) == 0 && len(s.st.required) == 0 && s.kinds&cue.StructKind != 0
}

func (l *listShape) check(x cue.Value) verdict {
	it, err := x.List()
	if err != nil {
		return maybe
	}
	r := yes
	i := 0
	for ; it.Next(); i++ {
		e := l.rest
		if i < len(l.prefix) {
			e = l.prefix[i]
		}
		if e == nil {
			return no // longer than the schema's list
		}
		if r = r.and(e.check(it.Value())); r == no {
			return no
		}
	}
	if i < len(l.prefix) {
		return maybe
	}
	return r
}

// plainKey reports whether a key pattern's shape is one acceptsScalar
// decides: constraints on a string, all of them read.
func (s *shape) plainKey() bool {
	if s.unknown || s.anyOf != nil || s.st != nil || s.list != nil || s.kinds&cue.StringKind == 0 {
		return false
	}
	for _, a := range s.allOf {
		if !a.plainKey() {
			return false
		}
	}
	return true
}

// acceptsScalar checks a field's name against a key pattern's shape.
func (s *shape) acceptsScalar(name string) bool {
	if s.unknown || s.anyOf != nil || s.kinds&cue.StringKind == 0 {
		return false
	}
	for _, a := range s.allOf {
		if !a.acceptsScalar(name) {
			return false
		}
	}
	for _, c := range s.leaf {
		if !c(name) {
			return false
		}
	}
	return true
}

// absentOK reports whether the schema's value at a required field the
// input leaves out is concrete by itself.
func (s *shape) absentOK() bool {
	switch {
	case s.unknown || s.anyOf != nil || len(s.allOf) > 0:
		return false
	case s.st != nil:
		for _, name := range s.st.required {
			if f := s.st.fields[name]; f.required || !f.s.absentOK() {
				return false
			}
		}
		return true
	case s.list != nil:
		return len(s.list.prefix) == 0
	}
	return false
}

// concrete reports whether every regular field and element under x is
// a concrete value, as cue.Concrete(true) demands of what the schema
// leaves open.
func concrete(x cue.Value) bool {
	switch x.Kind() {
	case cue.BottomKind:
		return false
	case cue.StructKind:
		it, err := x.Fields(cue.Optional(true), cue.Definitions(true))
		if err != nil {
			return false
		}
		for it.Next() {
			if it.Selector().LabelType() != cue.StringLabel || it.Selector().ConstraintType() != 0 || !concrete(it.Value()) {
				return false
			}
		}
	case cue.ListKind:
		it, err := x.List()
		if err != nil {
			return false
		}
		for it.Next() {
			if !concrete(it.Value()) {
				return false
			}
		}
	}
	return true
}

// predeclared are the identifiers plain data may use: CUE's types and
// top, which reference no field.
var predeclared = map[string]bool{"_": true, "string": true, "int": true, "bool": true, "number": true,
	"float": true, "bytes": true, "null": true, "true": true, "false": true}

// plainData reports whether the input is written as data the fast check
// can judge evaluated alone: literals, structs, lists, arithmetic, and
// references only inside interpolations, where a value is a string or
// an error either way. No comprehension, call, import, let, alias,
// definition, pattern, default or disjunction: each can see or carry
// the fields the schema adds (for k, v in c; c.config != _|_; len(c);
// close, a definition or a pattern applied to them; x: c copied where
// they are not allowed; *c.config | {}), which only unifying with the
// schema shows.
func plainData(files []*ast.File) bool {
	plain := true
	depth := 0 // interpolations around the node
	var before func(ast.Node) bool
	after := func(n ast.Node) {
		if _, ok := n.(*ast.Interpolation); ok {
			depth--
		}
	}
	before = func(n ast.Node) bool {
		if !plain {
			return false
		}
		switch n := n.(type) {
		case *ast.Package:
			return false
		case *ast.Interpolation:
			depth++
		case *ast.Comprehension, *ast.CallExpr, *ast.ImportDecl, *ast.ImportSpec, *ast.LetClause,
			*ast.Alias, *ast.BottomLit, *ast.Ellipsis:
			plain = false
		case *ast.UnaryExpr:
			plain = n.Op != token.MUL
		case *ast.BinaryExpr:
			plain = n.Op != token.OR
		case *ast.Field:
			// The label is checked here, not walked as a reference.
			switch l := n.Label.(type) {
			case *ast.Ident:
				plain = !strings.HasPrefix(l.Name, "#") && !strings.HasPrefix(l.Name, "_#") && !predeclared[l.Name]
			case *ast.BasicLit:
			default:
				plain = false // a pattern, an alias, a dynamic label
			}
			if plain {
				ast.Walk(n.Value, before, after)
			}
			return false
		case *ast.Ident:
			plain = depth > 0 || predeclared[n.Name]
		case *ast.SelectorExpr, *ast.IndexExpr, *ast.SliceExpr:
			plain = depth > 0
		}
		return plain
	}
	for _, f := range files {
		ast.Walk(f, before, after)
		if !plain {
			return false
		}
	}
	return true
}
