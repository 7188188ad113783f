// Package load reads a gitopsc input folder: it evaluates the CUE package
// there, unifies it with the embedded schema, and decodes it into the Go
// model with the position of every field. Every problem is returned as a
// diag.List with positions.
package load

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueload "cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/schema"
)

// Paths into the input, as CUE selectors.
const (
	pathSystem       = "system"
	pathEnvironments = "environments"
	rootDefinition   = "#Root"
)

// Dir loads the CUE package in dir.
func Dir(dir string) (_ *model.Input, err error) {
	st, err := os.Stat(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, diag.Usagef("input folder %s does not exist", dir)
		}
		return nil, diag.OutsideErr(err)
	}
	if !st.IsDir() {
		return nil, diag.Usagef("input %s is not a folder", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, diag.OutsideErr(err)
	}
	if _, err := readInput(dir, abs); err != nil {
		return nil, err
	}
	// Whatever went wrong, no message repeats a secret's value. What
	// looks like one is gathered only then: a valid input pays nothing.
	var syntax []*ast.File
	var value cue.Value
	defer func() {
		var l diag.List
		if errors.As(err, &l) {
			secrets := newRedactor()
			secrets.collectSyntax(syntax)
			if value.Exists() {
				secrets.collectValues(value)
			}
			secrets.apply(l)
		}
	}()
	insts := cueload.Instances([]string{"."}, &cueload.Config{Dir: abs, ParseFile: parseFile})
	if len(insts) == 0 {
		return nil, diag.Usagef("no CUE package in %s", dir)
	}
	inst := insts[0]
	syntax = inst.Files
	if inst.Err != nil {
		return nil, classed(diag.FromCUE(inst.Err), diag.ClassSyntax)
	}
	// Complete resolves the instance's identifiers; once done, building
	// only reads the instance.
	if err := inst.Complete(); err != nil {
		return nil, classed(diag.FromCUE(err), diag.ClassSyntax)
	}
	in, err := evaluateInput(abs, inst, plainData(inst.Files), &value)
	if err != nil {
		return nil, err
	}
	in.Arg = dir
	detach(inst, map[*build.Instance]bool{})
	return in, nil
}

// detach lets the input's files go of the file system cue/load read
// them through. Every position in the model holds its file, and each
// file held that file system, whose cache holds the syntax of every
// file: at 5,000 components 40 MB that each garbage collection of the
// later stages marked again. Only @embed reads a file's file system,
// while the input is evaluated; the name, lines and content that
// positions read stay.
func detach(inst *build.Instance, done map[*build.Instance]bool) {
	if done[inst] {
		return
	}
	done[inst] = true
	for _, f := range inst.Files {
		if tf := f.Pos().File(); tf != nil {
			loc := tf.FSLoc()
			tf.SetFSLoc(token.FSLoc{Path: loc.Path, FromFSPath: loc.FromFSPath})
		}
	}
	for _, imp := range inst.Imports {
		detach(imp, done)
	}
}

// evaluateInput evaluates, validates and decodes a loaded instance and
// loads the charts it names, leaving in *value what validation read. An
// input written as plain data (plainInput; see plainData) is evaluated
// once, checked by the fast check (shape.go) and decoded. Any other is
// evaluated twice, side by side, in two CUE contexts (a context is not
// safe for concurrent use): one unifies it with the schema, the other
// decodes it and loads its charts, which need not wait, since their
// result is used only once validation has passed.
func evaluateInput(abs string, inst *build.Instance, plainInput bool, value *cue.Value) (*model.Input, error) {
	if plainInput {
		// The fast check's shapes are compiled, in a context of their
		// own, while the input is evaluated.
		go schemaShape()
		files := inst.Files
		if hosts, ok := addressFile(files, inst.PkgName); ok && fillAtBuild {
			in, v, ok := loadFilled(abs, inst, hosts)
			inst.Files = files
			if ok {
				filledAtBuild()
				*value = v
				return in, loadCharts(in)
			}
		}
		plain := cuecontext.New().BuildInstance(inst)
		v := withAddresses(plain, files)
		*value = v
		if err := validate(v.Context(), v, plain, files, true); err != nil {
			return nil, err
		}
		in, errs := decode(abs, plain, v)
		if len(errs) > 0 {
			return nil, errs.Err()
		}
		return in, loadCharts(in)
	}
	type decoded struct {
		in       *model.Input
		errs     diag.List
		chartErr error
		panicky  any
	}
	dch := make(chan decoded, 1)
	go func() {
		var r decoded
		defer func() {
			r.panicky = recover()
			dch <- r
		}()
		raw := cuecontext.New().BuildInstance(inst)
		r.in, r.errs = decode(abs, raw, withAddresses(raw, inst.Files))
		if len(r.errs) == 0 {
			r.chartErr = loadCharts(r.in)
		}
	}()
	plain := cuecontext.New().BuildInstance(inst)
	v := withAddresses(plain, inst.Files)
	*value = v
	if err := validate(v.Context(), v, plain, inst.Files, false); err != nil {
		return nil, err
	}
	r := <-dch
	if r.panicky != nil {
		panic(r.panicky)
	}
	if len(r.errs) > 0 {
		return nil, r.errs.Err()
	}
	return r.in, r.chartErr
}

// fillAtBuild lets an input written as plain data get its addresses as
// a file of its own (addressFile); tests turn it off, to compare.
var fillAtBuild = true

// filledAtBuild is called when an input was loaded so: for tests.
var filledAtBuild = func() {}

// loadFilled loads an input written as plain data with its addresses as
// the file hosts (nil when nothing reads one), in two CUE contexts
// (splitLoad) or else in one. ok is false when the fast check does not
// accept it or anything is wrong: it is then loaded with the addresses
// filled in after evaluation, so that each message and position is the
// input's alone.
func loadFilled(abs string, inst *build.Instance, hosts *ast.File) (*model.Input, cue.Value, bool) {
	if hosts != nil && inst.AddSyntax(hosts) != nil {
		return nil, cue.Value{}, false
	}
	if splitAtBuild {
		if in, v, ok, tried := splitLoad(abs, inst); ok || tried {
			return in, v, ok
		}
	}
	ctx := cuecontext.New()
	defer indexing(ctx)()
	v := ctx.BuildInstance(inst)
	var errs diag.List
	s, _ := schemaShape()
	if checkSecretLiterals(v, &errs); len(errs) > 0 || v.Err() != nil || !s.accepts(v) {
		return nil, cue.Value{}, false
	}
	in, errs := decode(abs, cue.Value{}, v)
	return in, v, len(errs) == 0
}

// Schema evaluates the embedded schema in ctx.
func Schema(ctx *cue.Context) (cue.Value, error) {
	bi := build.NewContext().NewInstance("schema", nil)
	for _, f := range schema.Files() {
		if err := bi.AddFile(f.Name, f.Source); err != nil {
			return cue.Value{}, fmt.Errorf("embedded schema: %w", err)
		}
	}
	v := ctx.BuildInstance(bi)
	return v, v.Err()
}

// validate checks an evaluated input against the schema.
//
// With fast, for an input written as plain data, one the fast check
// accepts (see shape.go) needs no unification with the schema; any
// other is unified, and CUE's errors are reported.
func validate(ctx *cue.Context, v, plain cue.Value, syntax []*ast.File, fast bool) error {
	var errs diag.List
	// Literal secret values get their own message rather than a type
	// conflict, and their CUE errors are not repeated.
	literal := checkSecretLiterals(v, &errs)
	if fast {
		if s, _ := schemaShape(); len(errs) == 0 && v.Err() == nil && s.accepts(v) {
			return nil
		}
	}
	sv, err := Schema(ctx)
	if err != nil {
		return err
	}
	u := sv.LookupPath(cuePath(rootDefinition)).Unify(v)
	if err := u.Validate(cue.Concrete(true), cue.Final()); err != nil {
		words := patternWords(ctx, sv)
		src := diag.Source{Locate: locator(plain, syntax), Suggest: suggester(sv.LookupPath(cuePath(rootDefinition))),
			Describe: func(bound string) string { return words[bound] }}
	next:
		for _, d := range explainPatterns(words, diag.FromCUEIn(err, src)) {
			for _, p := range literal {
				if strings.HasPrefix(d.Msg, p+":") || strings.HasPrefix(d.Msg, p+".") {
					continue next
				}
			}
			errs = append(errs, d)
		}
	}
	explainInterpolations(v, errs)
	explainHost(errs)
	if len(errs) == 0 && v.Err() != nil {
		errs = diag.FromCUEIn(v.Err(), diag.Source{Locate: locator(plain, syntax)})
	}
	return errs.Err()
}

// decode turns a validated input into the model and checks what the
// schema cannot express: names and references.
//
// Values are read from addressed, the input with the addresses gitopsc
// fills in (see withAddresses), where every one is concrete; a
// component's position from plain, the input as written, since filling
// moves it from the component's label to its brace.
func decode(dir string, plain, addressed cue.Value) (*model.Input, diag.List) {
	var errs diag.List
	d := &decoder{dir: dir, errs: &errs, plain: plain}
	in := d.input(addressed)
	if len(errs) > 0 {
		return nil, errs
	}
	checkReferences(in, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	return in, nil
}

// checkSecretLiterals reports secret entries written as plain values and
// returns their paths, so that CUE's own conflict, which would quote the
// value, is not printed.
func checkSecretLiterals(v cue.Value, errs *diag.List) []string {
	seen := secretLiterals("system.components", v.LookupPath(cuePath(pathSystem+".components")), errs)
	return append(seen, templateSecretLiterals(v, errs)...)
}

// templateSecretLiterals is checkSecretLiterals for the components of
// the system's templates.
func templateSecretLiterals(v cue.Value, errs *diag.List) []string {
	var seen []string
	for _, t := range fields(v.LookupPath(cuePath(pathSystem + ".templates"))) {
		seen = append(seen, secretLiterals("system.templates."+t.label+".components", t.v.LookupPath(cuePath("components")), errs)...)
	}
	return seen
}

// secretLiterals reports the secret entries written as plain values in
// the components of comps, at path.
func secretLiterals(path string, comps cue.Value, errs *diag.List) []string {
	var seen []string
	for _, c := range fields(comps) {
		seen = append(seen, componentSecretLiterals(path, c, errs)...)
	}
	return seen
}

// componentSecretLiterals is secretLiterals for the component c.
func componentSecretLiterals(path string, c field, errs *diag.List) []string {
	var seen []string
	for _, s := range fields(c.v.LookupPath(cuePath("secrets"))) {
		if k := s.v.IncompleteKind(); k&cue.StructKind == 0 {
			p := path + "." + c.label + ".secrets." + s.label
			*errs = append(*errs, diag.Diagnostic{Pos: s.v.Pos(), Class: diag.ClassSchema,
				Msg: p + ": a secret is a reference, not a value: write {secret: NAME, key: KEY} and keep the value in a SOPS file or an external store"})
			seen = append(seen, p)
		}
	}
	return seen
}
