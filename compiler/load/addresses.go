package load

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
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

// namesHost reports whether the input selects a field called host
// anywhere (x.host, x["host"]), the one way to read an address, or
// writes a component's host itself, which the fill then refuses.
func namesHost(files []*ast.File) bool {
	found := false
	for _, f := range files {
		if writesHost(f.Decls, nil) {
			return true
		}
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
		if s, ok := x.(*ast.StructLit); ok && len(p) < 6 && writesHost(s.Elts, p) {
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
