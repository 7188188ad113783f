package load

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// withAddresses fills in what the model knows of each component's address
// and CUE cannot compute: its cluster DNS name, as
// system.components.NAME.host. A file or a config value that interpolates
// it reads the name the compiler gives the component's Service, so no
// input hard-codes one; a reference to a component that does not exist
// stays an undefined field, which CUE reports where it is written.
//
// Each component's name and namespace are read from v itself; a
// namespace that is not a concrete string gets no host, and the schema
// reports the namespace.
func withAddresses(v cue.Value, files []*ast.File) cue.Value {
	if !namesHost(files) {
		// Nothing reads an address: filling them in would cost a
		// unification of the whole input.
		return v
	}
	comps := v.LookupPath(cuePath(pathSystem + ".components"))
	hosts := map[string]any{}
	for _, c := range fields(comps) {
		ns, err := c.v.LookupPath(cuePath("namespace")).String()
		if err != nil || !dnsLabel.MatchString(c.label) || !dnsLabel.MatchString(ns) {
			continue
		}
		hosts[c.label] = map[string]any{"host": model.ServiceDNSName(c.label, ns)}
	}
	fill := map[string]any{"components": hosts}
	// A template's component is reached inside its tenant by its name,
	// which resolves in the pod's own namespace.
	templates := map[string]any{}
	for _, t := range fields(v.LookupPath(cuePath(pathSystem + ".templates"))) {
		th := map[string]any{}
		for _, c := range fields(t.v.LookupPath(cuePath("components"))) {
			if dnsLabel.MatchString(c.label) {
				th[c.label] = map[string]any{"host": c.label}
			}
		}
		if len(th) > 0 {
			templates[t.label] = map[string]any{"components": th}
		}
	}
	if len(templates) > 0 {
		fill["templates"] = templates
	}
	if len(hosts) == 0 && len(templates) == 0 {
		return v
	}
	return v.Unify(v.Context().Encode(map[string]any{pathSystem: fill}))
}

// addressFile does what withAddresses does before the input is evaluated,
// for an input written as plain data (see plainData): each component's
// namespace is read from the syntax, and the hosts are a file of their
// own, evaluated with the input's. Unifying the evaluated input with them
// costs about as much as evaluating it. f is nil when nothing reads an
// address. ok is false when the syntax does not tell every host: a
// component's namespace is written other than as one string literal (or
// as two), a struct on the way to it is not a struct literal, or the
// input writes a host itself, whose conflict withAddresses words; then
// withAddresses does it.
func addressFile(files []*ast.File, pkg string) (f *ast.File, ok bool) {
	if writesAnyHost(files) {
		return nil, false
	}
	if !readsHost(files) {
		return nil, true
	}
	namespaces := map[string][]string{} // a component's, as written
	templates := map[string][]string{}  // a template's components
	// Where each component is written, and how many times. CUE gives a
	// field written once the position of its label, and one written more
	// than once that of the last struct with a position: the fill of a
	// component written once is at its label, the fill of another has no
	// position, so that the component keeps the position it has without.
	at := map[string]token.Pos{}
	written := map[string]int{}
	var walk func(decls []ast.Decl, path []string) bool
	walk = func(decls []ast.Decl, path []string) bool {
		for _, d := range decls {
			switch d := d.(type) {
			case *ast.EmbedDecl:
				s, isStruct := d.Expr.(*ast.StructLit)
				if !isStruct || !walk(s.Elts, path) {
					return false
				}
			case *ast.Field:
				name, isIdent, err := ast.LabelName(d.Label)
				if err != nil || d.Constraint != token.ILLEGAL {
					return false
				}
				if isIdent && strings.HasPrefix(name, "_") {
					continue // hidden: not a field the input has
				}
				p := append(path[:len(path):len(path)], name)
				inComponent := len(p) == 4 && p[0] == pathSystem && p[1] == "components"
				if inComponent && p[3] == "namespace" {
					lit, isLit := d.Value.(*ast.BasicLit)
					if !isLit || lit.Kind != token.STRING {
						return false
					}
					ns, err := literal.Unquote(lit.Value)
					if err != nil {
						return false
					}
					namespaces[p[2]] = append(namespaces[p[2]], ns)
					continue
				}
				switch {
				case len(p) == 3 && p[0] == pathSystem && p[1] == "components":
					if _, seen := namespaces[p[2]]; !seen {
						namespaces[p[2]] = nil
						at[p[2]] = d.Label.Pos()
					}
					written[p[2]]++
				case len(p) == 5 && p[0] == pathSystem && p[1] == "templates" && p[3] == "components":
					key := "\x00" + p[2] + "\x00" + p[4]
					if _, seen := at[key]; !seen {
						templates[p[2]] = append(templates[p[2]], p[4])
						at[key] = d.Label.Pos()
					}
					written[key]++
					continue // the host is the label's alone
				}
				if !onAddressPath(p) {
					continue
				}
				s, isStruct := d.Value.(*ast.StructLit)
				if !isStruct || !walk(s.Elts, p) {
					return false
				}
			}
		}
		return true
	}
	for _, f := range files {
		if !walk(f.Decls, nil) {
			return nil, false
		}
	}
	var comps []any
	for _, name := range slices.Sorted(maps.Keys(namespaces)) {
		ns := namespaces[name]
		for _, n := range ns[min(1, len(ns)):] {
			if n != ns[0] {
				return nil, false // CUE reports the conflict
			}
		}
		if len(ns) == 0 || !dnsLabel.MatchString(name) || !dnsLabel.MatchString(ns[0]) {
			continue
		}
		comps = append(comps, hostField(name, model.ServiceDNSName(name, ns[0]), fillPos(at, written, name)))
	}
	var tmpls []any
	for _, t := range slices.Sorted(maps.Keys(templates)) {
		var th []any
		for _, c := range slices.Sorted(slices.Values(templates[t])) {
			if dnsLabel.MatchString(c) {
				th = append(th, hostField(c, c, fillPos(at, written, "\x00"+t+"\x00"+c)))
			}
		}
		if len(th) > 0 {
			tmpls = append(tmpls, &ast.Field{Label: ast.NewString(t), Value: ast.NewStruct(&ast.Field{Label: ast.NewIdent("components"), Value: ast.NewStruct(th...)})})
		}
	}
	if len(comps) == 0 && len(tmpls) == 0 {
		return nil, true
	}
	var sys []any
	if len(comps) > 0 {
		sys = append(sys, &ast.Field{Label: ast.NewIdent("components"), Value: ast.NewStruct(comps...)})
	}
	if len(tmpls) > 0 {
		sys = append(sys, &ast.Field{Label: ast.NewIdent("templates"), Value: ast.NewStruct(tmpls...)})
	}
	return &ast.File{Decls: []ast.Decl{
		&ast.Package{Name: ast.NewIdent(pkg)},
		&ast.Field{Label: ast.NewIdent(pathSystem), Value: ast.NewStruct(sys...)},
	}}, true
}

// onAddressPath reports whether path leads to where addressFile reads a
// namespace or a template's components.
func onAddressPath(p []string) bool {
	switch {
	case len(p) == 0 || p[0] != pathSystem:
		return false
	case len(p) == 1:
		return true
	case p[1] == "components":
		return len(p) <= 3
	case p[1] == "templates":
		return len(p) <= 4 && (len(p) < 4 || p[3] == "components")
	}
	return false
}

// fillPos is where the fill of the component at key goes (see at).
func fillPos(at map[string]token.Pos, written map[string]int, key string) token.Pos {
	if written[key] == 1 {
		return at[key]
	}
	return token.NoPos
}

// hostField is the field NAME: host: HOST, all of it at pos.
func hostField(name, host string, pos token.Pos) *ast.Field {
	label := ast.NewString(name)
	label.ValuePos = pos
	value := ast.NewString(host)
	value.ValuePos = pos
	hostLabel := ast.NewIdent("host")
	hostLabel.NamePos = pos
	s := ast.NewStruct(&ast.Field{Label: hostLabel, Value: value})
	s.Lbrace, s.Rbrace = pos, pos
	return &ast.Field{Label: label, Value: s}
}

// namesHost reports whether the input selects a field called host
// anywhere (x.host, x["host"]), the one way to read an address, or
// writes a component's host itself, which the fill then refuses.
func namesHost(files []*ast.File) bool {
	return writesAnyHost(files) || readsHost(files)
}

// writesAnyHost reports whether a file declares a component's host.
func writesAnyHost(files []*ast.File) bool {
	for _, f := range files {
		if writesHost(f.Decls, nil) {
			return true
		}
	}
	return false
}

// readsHost reports whether the input selects a field called host
// anywhere: x.host, x["host"].
func readsHost(files []*ast.File) bool {
	found := false
	for _, f := range files {
		ast.Walk(f, func(n ast.Node) bool {
			if found {
				return false
			}
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if name, _, err := ast.LabelName(n.Sel); err == nil && name == "host" {
					found = true
				}
			case *ast.IndexExpr:
				if l, ok := n.Index.(*ast.BasicLit); ok && l.Value == `"host"` {
					found = true
				}
			}
			return !found
		}, nil)
	}
	return found
}

// hostPrefix reports whether path may lead to a host writesHost looks
// for: the top, system, system.components and system.templates, and what
// is below them.
func hostPrefix(p []string) bool {
	return len(p) == 0 || p[0] == "system" && (len(p) == 1 || p[1] == "components" || p[1] == "templates")
}

// writesHost reports whether decls, at path, declare
// system.components.NAME.host.
func writesHost(decls []ast.Decl, path []string) bool {
	for _, d := range decls {
		var x ast.Expr
		p := path
		switch d := d.(type) {
		case *ast.Field:
			name, _, err := ast.LabelName(d.Label)
			if err != nil {
				name = "*"
			}
			p = append(append([]string(nil), path...), name)
			if len(p) == 4 && p[0] == "system" && p[1] == "components" && p[3] == "host" ||
				len(p) == 6 && p[0] == "system" && p[1] == "templates" && p[3] == "components" && p[5] == "host" {
				return true
			}
			x = d.Value
		case *ast.EmbedDecl:
			x = d.Expr
		}
		if s, ok := x.(*ast.StructLit); ok && len(p) < 6 && hostPrefix(p) && writesHost(s.Elts, p) {
			return true
		}
	}
	return false
}

// explainInterpolations adds to each "invalid interpolation" the reason,
// which CUE keeps only when the input is evaluated alone: unified with
// the schema, a reference to a component that does not exist says no
// more than the headline.
func explainInterpolations(v cue.Value, errs diag.List) {
	const headline = "invalid interpolation"
	var pending bool
	for _, d := range errs {
		pending = pending || strings.HasSuffix(d.Msg, ": "+headline)
	}
	if !pending {
		return
	}
	why := map[token.Pos]string{}
	for _, e := range cueerrors.Errors(v.Validate(cue.Concrete(true))) {
		if _, reason, ok := strings.Cut(e.Error(), headline+": "); ok {
			why[e.Position()] = reason
		}
	}
	for i, d := range errs {
		if r, ok := why[d.Pos]; ok && strings.HasSuffix(d.Msg, ": "+headline) {
			errs[i].Msg += ": " + r
		}
	}
}

// explainHost words a conflict with the host gitopsc fills in: the input
// wrote a component's host itself.
func explainHost(errs diag.List) {
	for i, d := range errs {
		if path, ok := hostConflict(d.Msg); ok {
			errs[i].Msg = fmt.Sprintf("%s.host: the component's host is its cluster DNS name, which gitopsc fills in for content to read; do not write it", path)
		}
	}
}

// hostConflict returns the component's path of a conflict at its host:
// system.components.NAME or system.templates.T.components.NAME.
func hostConflict(msg string) (string, bool) {
	if !strings.HasPrefix(msg, "system.components.") && !strings.HasPrefix(msg, "system.templates.") {
		return "", false
	}
	path, tail, ok := strings.Cut(msg, ".host: conflicting values ")
	return path, ok && tail != ""
}
