package load

import (
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"

	"github.com/gitopsc/gitopsc/compiler/diag"
)

// locator finds where the user wrote a field: in the evaluated value v
// first (which knows fields made by comprehensions), then in the syntax
// of the files (which knows hidden fields and values that failed to
// evaluate). It returns the deepest field of path that exists, and
// whether that was the field itself.
func locator(v cue.Value, files []*ast.File) func([]string) (token.Pos, bool) {
	return func(path []string) (token.Pos, bool) {
		vp, vn := valuePos(v, path)
		sp, sn := syntaxPos(files, path)
		if sn > vn {
			return sp, sn == len(path)
		}
		return vp, vn > 0 && vn == len(path)
	}
}

// valuePos is the position of the deepest field of path in v, and how
// many elements of path it matched.
func valuePos(v cue.Value, path []string) (token.Pos, int) {
	for n := len(path); n > 0; n-- {
		sels := make([]cue.Selector, 0, n)
		for _, p := range path[:n] {
			s, ok := selector(p)
			if !ok {
				break
			}
			sels = append(sels, s)
		}
		if len(sels) < n {
			continue
		}
		if f := v.LookupPath(cue.MakePath(sels...)); f.Exists() && f.Pos().Position().Filename != "" {
			return f.Pos(), n
		}
	}
	return token.NoPos, 0
}

// selector is the CUE selector of a path element; hidden fields need
// their package and are left to the syntax.
func selector(label string) (cue.Selector, bool) {
	switch {
	case strings.HasPrefix(label, "_"):
		return cue.Selector{}, false
	case strings.HasPrefix(label, "#"):
		return cue.Def(label), true
	}
	if i, err := strconv.Atoi(label); err == nil && i >= 0 {
		return cue.Index(i), true
	}
	return cue.Str(label), true
}

// syntaxPos is the label of the deepest field declaration of path in the
// files, and how many elements of path it matched.
func syntaxPos(files []*ast.File, path []string) (token.Pos, int) {
	best, bestN := token.NoPos, 0
	for _, f := range files {
		if p, n := declPos(f.Decls, path, 0); n > bestN {
			best, bestN = p, n
		}
	}
	return best, bestN
}

func declPos(decls []ast.Decl, path []string, depth int) (token.Pos, int) {
	best, bestN := token.NoPos, depth
	if depth == len(path) {
		return best, bestN
	}
	for _, d := range decls {
		var p token.Pos
		n := depth
		switch d := d.(type) {
		case *ast.Field:
			name, _, err := ast.LabelName(d.Label)
			if err != nil || name != path[depth] {
				continue
			}
			p, n = d.Label.Pos(), depth+1
			if s, ok := d.Value.(*ast.StructLit); ok {
				if q, m := declPos(s.Elts, path, depth+1); m > n {
					p, n = q, m
				}
			}
		case *ast.EmbedDecl:
			if s, ok := d.Expr.(*ast.StructLit); ok {
				p, n = declPos(s.Elts, path, depth)
			}
		}
		if n > bestN {
			best, bestN = p, n
		}
	}
	return best, bestN
}

// suggester lists the fields the schema declares beside a field it does
// not allow, for "did you mean". It walks the schema itself, through
// optional fields, pattern constraints (components: [string]: #Component)
// and every branch of a choice of shapes (probes, exposure), so that the
// user's own misspelled siblings are never suggested.
func suggester(root cue.Value) func([]string) []string {
	return func(path []string) []string {
		if len(path) == 0 {
			return nil
		}
		at := []cue.Value{root}
		for _, p := range path[:len(path)-1] {
			s, ok := selector(p)
			if !ok {
				return nil
			}
			var next []cue.Value
			for _, v := range branches(at) {
				for _, sel := range []cue.Selector{s, s.Optional(), anyOf(s)} {
					if f := v.LookupPath(cue.MakePath(sel)); f.Exists() {
						next = append(next, f)
						break
					}
				}
			}
			if len(next) == 0 {
				return nil
			}
			at = next
		}
		var out []string
		for _, v := range branches(at) {
			it, err := v.Fields(cue.Optional(true))
			if err != nil {
				continue
			}
			for it.Next() {
				out = append(out, it.Selector().Unquoted())
			}
		}
		return out
	}
}

// branches expands each choice of shapes among vs into its branches.
func branches(vs []cue.Value) []cue.Value {
	var out []cue.Value
	for _, v := range vs {
		op, args := v.Expr()
		if op == cue.SelectorOp {
			// A reference to a definition: what it names.
			op, args = cue.Dereference(v).Expr()
		}
		if op == cue.OrOp {
			out = append(out, branches(args)...)
			continue
		}
		out = append(out, v)
	}
	return out
}

// anyOf is the pattern selector a label falls under.
func anyOf(s cue.Selector) cue.Selector {
	if s.Type() == cue.IndexLabel {
		return cue.AnyIndex
	}
	return cue.AnyString
}

// classed marks diagnostics of a class and returns them as an error.
func classed(l diag.List, class string) error {
	for i := range l {
		if l[i].Class == "" || l[i].Class == diag.ClassSchema {
			l[i].Class = class
		}
	}
	return l.Err()
}
