package load

import (
	"sort"
	"sync"
	"sync/atomic"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"

	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/model"
)

// splitAtBuild lets an input written as plain data load in two CUE
// contexts (splitLoad); tests turn it off, to compare.
var splitAtBuild = true

// splitLoaded is called when an input was loaded so: for tests.
var splitLoaded = func() {}

// splitLoad checks and decodes an input written as plain data, its
// addresses filled in (addressFile), in two CUE contexts side by side (a
// context is not safe for concurrent use). CUE evaluates a field when it
// is first read, so the system's components, most of an input, are
// shared out: each context takes the next component not yet taken,
// checks it (the fast check, and literal secrets) and decodes it, and the
// first context checks and decodes all the rest besides. Each component is
// evaluated once, in one context. ok is false at the first doubt: a check
// that does not say yes, an error of any kind, a panic; the input is then
// loaded in one context, whose messages are what the user reads. tried
// is false when the schema's shape does not allow sharing components out
// (and then loading in one context may still accept the input).
func splitLoad(abs string, inst *build.Instance) (in *model.Input, v cue.Value, ok, tried bool) {
	root, _ := schemaShape()
	rest, comps, shared := root.splitAt(pathSystem, "components")
	if !shared || !comps.patternsOnly() {
		return nil, cue.Value{}, false, false
	}
	tried = true
	p := &componentPool{shape: comps.st, dir: abs}
	p.others.Add(1)
	go func() {
		defer p.others.Done()
		defer p.recover()
		ctx := cuecontext.New()
		defer indexing(ctx)()
		p.work(ctx.BuildInstance(inst).LookupPath(cuePath(pathSystem + ".components")))
	}()
	defer p.others.Wait()
	defer func() {
		if recover() != nil {
			p.failed.Store(true)
			in, v, ok = nil, cue.Value{}, false
		}
	}()
	ctx := cuecontext.New()
	defer indexing(ctx)()
	v = ctx.BuildInstance(inst)
	var errs diag.List
	if templateSecretLiterals(v, &errs); len(errs) > 0 || v.Err() != nil || !rest.accepts(v) {
		p.failed.Store(true)
		return nil, cue.Value{}, false, true
	}
	if c := v.LookupPath(cuePath(pathSystem + ".components")); c.Exists() && c.Kind() != cue.StructKind {
		p.failed.Store(true)
		return nil, cue.Value{}, false, true
	}
	d := &decoder{dir: abs, errs: &errs, components: func(c cue.Value) []*model.Component {
		p.work(c)
		p.others.Wait()
		if p.failed.Load() {
			return nil
		}
		return p.results
	}}
	in = d.input(v)
	if len(errs) == 0 {
		checkReferences(in, &errs)
	}
	p.others.Wait()
	if len(errs) > 0 || p.failed.Load() {
		return nil, cue.Value{}, false, true
	}
	splitLoaded()
	return in, v, true, true
}

// componentPool shares the system's components out between contexts.
type componentPool struct {
	shape *structShape // of system.components
	dir   string
	// others are the contexts other than the first.
	others sync.WaitGroup

	once    sync.Once
	labels  []string
	results []*model.Component
	next    atomic.Int64
	failed  atomic.Bool
}

// recover takes a panic for a doubt: the input is loaded again in one
// context, where the panic, if it is one of gitopsc's, happens again.
func (p *componentPool) recover() {
	if recover() != nil {
		p.failed.Store(true)
	}
}

// work checks and decodes components of comps (system.components, in
// one context) until none is left, each into its place in results.
func (p *componentPool) work(comps cue.Value) {
	fs, plain := componentFields(comps)
	p.once.Do(func() {
		for _, f := range fs {
			p.labels = append(p.labels, f.label)
		}
		p.results = make([]*model.Component, len(fs))
	})
	if !plain || len(fs) != len(p.labels) {
		p.failed.Store(true)
		return
	}
	var errs diag.List
	d := &decoder{dir: p.dir, errs: &errs}
	for i := int(p.next.Add(1)) - 1; i < len(fs) && !p.failed.Load(); i = int(p.next.Add(1)) - 1 {
		f := fs[i]
		path := "system.components." + f.label
		r, matched, undecided := p.shape.field(f.label, f.v)
		if f.label != p.labels[i] || r != yes || !matched || undecided {
			p.failed.Store(true)
			return
		}
		if componentSecretLiterals("system.components", f, &errs); len(errs) > 0 || !d.label(f, "component", path) {
			p.failed.Store(true)
			return
		}
		c := d.component(f, path)
		if len(errs) > 0 {
			p.failed.Store(true)
			return
		}
		p.results[i] = c
	}
}

// componentFields are the fields of comps in the order the decoder
// takes them (sortedFields); plain is false when one is not a regular
// field, which the fast check leaves to CUE.
func componentFields(comps cue.Value) (fs []field, plain bool) {
	if !comps.Exists() {
		return nil, true
	}
	it, err := comps.Fields(cue.Optional(true), cue.Definitions(true))
	if err != nil {
		return nil, false
	}
	for it.Next() {
		sel := it.Selector()
		if sel.LabelType() != cue.StringLabel || sel.ConstraintType() != 0 {
			return nil, false
		}
		fs = append(fs, field{label: sel.Unquoted(), v: it.Value()})
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].label < fs[j].label })
	return fs, true
}
