package load

import (
	"fmt"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// addAddresses adds to inst a file that gives each component the address
// CUE cannot compute: its cluster DNS name, as
// system.components.NAME.host, from the component's label and its own
// namespace (a template's component, reached inside its tenant, has its
// name). A file or a config value that interpolates it reads the name the
// compiler gives the component's Service, so no input hard-codes one; a
// reference to a component that does not exist stays an undefined field,
// which CUE reports where it is written.
//
// The addresses are pattern constraints evaluated with the input, not a
// value unified with it afterwards: that cost a second unification of the
// whole input, in time and in memory. The file's nodes have no position,
// so that no message points into a file the user cannot open: CUE gives
// the position of the user's conjunct instead.
func addAddresses(inst *build.Instance) error {
	var b strings.Builder
	if inst.PkgName != "" {
		b.WriteString("package " + inst.PkgName + "\n")
	}
	// A component gets an address once its namespace is a string: the
	// host of one whose namespace is missing or not concrete is an
	// undefined field, and the schema reports the namespace.
	fmt.Fprintf(&b, `system: components: [Name=string]: {
	namespace?: _
	if (namespace & string) != _|_ {
		host: "%s"
	}
}
system: templates: [string]: components: [Name=string]: host: Name
`, model.ServiceDNSName(`\(Name)`, `\(namespace)`))
	f, err := parser.ParseFile(addressesFile, b.String())
	if err != nil {
		return fmt.Errorf("addresses: %w", err)
	}
	ast.Walk(f, func(n ast.Node) bool {
		ast.SetPos(n, token.NoPos)
		return true
	}, nil)
	if err := inst.AddSyntax(f); err != nil {
		return fmt.Errorf("addresses: %w", err)
	}
	return nil
}

// addressesFile names the file of addresses; no position refers to it.
const addressesFile = "gitopsc-addresses.cue"

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
// It also says why reading the host of a component whose namespace is
// invalid fails: the address is made of the namespace.
func explainHost(errs diag.List) {
	for i, d := range errs {
		if path, ok := hostConflict(d.Msg); ok {
			errs[i].Msg = fmt.Sprintf("%s.host: the component's host is its cluster DNS name, which gitopsc fills in for content to read; do not write it", path)
		}
		if comp, ok := strings.CutSuffix(d.Msg, ".namespace: invalid interpolation"); ok && strings.HasPrefix(comp, "system.components.") {
			errs[i].Msg += ": " + comp + ".host is the component's name in its namespace, which is not valid"
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
