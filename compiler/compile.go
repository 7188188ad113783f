// Package compiler runs the pipeline of DESIGN.md: resolve each selected
// environment of a loaded input, render it and build its file tree.
package compiler

import (
	"path/filepath"
	"runtime"
	"sync"

	"github.com/gitopsc/gitopsc/compiler/composefile"
	"github.com/gitopsc/gitopsc/compiler/diag"
	"github.com/gitopsc/gitopsc/compiler/emit"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/compiler/resolve"
)

// Result is one environment compiled.
type Result struct {
	Resolved *model.Resolved
	Output   *render.Output
	Tree     *emit.Tree
}

// Options says what Run does beyond rendering.
type Options struct {
	// Trees builds each environment's file tree.
	Trees bool
	// Check, when set, is called once per environment after rendering,
	// side by side with building its tree; i is its index in selected.
	Check func(i int, r *Result)
	// Done, when set, is called once an environment's check and tree are
	// done, before the next environment takes its CPU. It may set
	// r.Output to nil: the rendered objects are the largest part of a
	// result, and a caller that needs only what it took from them then
	// does not hold every environment's at once.
	Done func(i int, r *Result)
}

// Compile resolves every environment (so that a problem in any of them is
// reported), then renders and builds the trees of the selected ones,
// several at a time. Results come in the order of selected.
func Compile(in *model.Input, selected []*model.Environment, facts images.Facts) ([]*Result, error) {
	return Run(in, selected, facts, Options{Trees: true})
}

// Render is Compile without building the file trees: for commands that
// check or compare objects and write nothing. Result.Tree is nil.
func Render(in *model.Input, selected []*model.Environment, facts images.Facts) ([]*Result, error) {
	return Run(in, selected, facts, Options{})
}

// Run resolves every environment, then renders the selected ones, at most
// one per CPU at a time, each followed by its check and its tree side by
// side. Results come in the order of selected.
func Run(in *model.Input, selected []*model.Environment, facts images.Facts, opts Options) ([]*Result, error) {
	all, err := resolve.All(in)
	if err != nil {
		return nil, err
	}
	byName := map[string]*model.Resolved{}
	for _, r := range all {
		byName[r.Env.Name] = r
	}
	source := filepath.Base(in.Dir)
	results := make([]*Result, len(selected))
	errs := make([]error, len(selected))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, env := range selected {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r := byName[env.Name]
			renderEnv, build := render.Render, emit.Build
			if env.IsCompose() {
				renderEnv, build = composefile.Render, emit.BuildCompose
			}
			out, err := renderEnv(r, facts)
			if err != nil {
				errs[i] = err
				return
			}
			res := &Result{Resolved: r, Output: out}
			// The check and the tree only read the rendered objects.
			// Running them side by side keeps every CPU busy when
			// fewer environments than CPUs are left.
			var checked sync.WaitGroup
			if opts.Check != nil {
				checked.Go(func() { opts.Check(i, res) })
			}
			if opts.Trees {
				res.Tree, errs[i] = build(out, source)
			}
			checked.Wait()
			if errs[i] == nil {
				if opts.Done != nil {
					opts.Done(i, res)
				}
				results[i] = res
			}
		}()
	}
	wg.Wait()
	var list diag.List
	for _, err := range errs {
		if err == nil {
			continue
		}
		l, ok := err.(diag.List)
		if !ok {
			return nil, err
		}
		list = append(list, l...)
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	return results, nil
}
