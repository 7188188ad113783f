package compiler_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitopsc/gitopsc/compiler"
	"github.com/gitopsc/gitopsc/compiler/composefile"
	"github.com/gitopsc/gitopsc/compiler/emit"
	"github.com/gitopsc/gitopsc/compiler/images"
	"github.com/gitopsc/gitopsc/compiler/load"
	"github.com/gitopsc/gitopsc/compiler/model"
	"github.com/gitopsc/gitopsc/compiler/render"
	"github.com/gitopsc/gitopsc/compiler/resolve"
	"github.com/gitopsc/gitopsc/internal/synth"
	"github.com/gitopsc/gitopsc/policies"
)

// benchInputs are the systems each stage is measured on: the shipped one
// and synthetic ones of 1,000 and 5,000 components in 3 environments.
func benchInputs(b *testing.B) []struct {
	name, dir string
} {
	b.Helper()
	out := []struct{ name, dir string }{{"shipped", "../environments"}}
	for _, n := range []int{1000, 5000} {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("gitopsc-bench-%d-3", n))
		if err := synth.Write(dir, n, 3, 1); err != nil {
			b.Fatal(err)
		}
		out = append(out, struct{ name, dir string }{fmt.Sprintf("N=%d,E=3", n), dir})
	}
	return out
}

// renderer renders r as compiler.Run does: a Compose environment into
// a compose file's services, any other into Kubernetes objects.
func renderer(r *model.Resolved) func(*model.Resolved, images.Facts) (*render.Output, error) {
	if r.Env.IsCompose() {
		return composefile.Render
	}
	return render.Render
}

func mustLoad(b *testing.B, dir string) (*model.Input, *images.Lock) {
	in, err := load.Dir(dir)
	if err != nil {
		b.Fatal(err)
	}
	lock, err := images.ReadLock(dir)
	if err != nil {
		b.Fatal(err)
	}
	return in, lock
}

func BenchmarkLoad(b *testing.B) {
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := load.Dir(in.dir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkResolve(b *testing.B) {
	for _, in := range benchInputs(b) {
		input, _ := mustLoad(b, in.dir)
		b.Run(in.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := resolve.All(input); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	for _, in := range benchInputs(b) {
		input, lock := mustLoad(b, in.dir)
		all, err := resolve.All(input)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(in.name, func(b *testing.B) {
			for b.Loop() {
				for _, r := range all {
					if _, err := renderer(r)(r, lock); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func BenchmarkPolicies(b *testing.B) {
	for _, in := range benchInputs(b) {
		input, lock := mustLoad(b, in.dir)
		results, err := compiler.Compile(input, input.Environments, lock)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(in.name, func(b *testing.B) {
			for b.Loop() {
				for _, r := range results {
					policies.Check(r.Resolved, r.Output, lock, policies.Options{})
				}
			}
		})
	}
}

func BenchmarkEmit(b *testing.B) {
	for _, in := range benchInputs(b) {
		input, lock := mustLoad(b, in.dir)
		all, err := resolve.All(input)
		if err != nil {
			b.Fatal(err)
		}
		var outs []*render.Output
		for _, r := range all {
			o, err := renderer(r)(r, lock)
			if err != nil {
				b.Fatal(err)
			}
			outs = append(outs, o)
		}
		b.Run(in.name, func(b *testing.B) {
			for b.Loop() {
				for _, o := range outs {
					build := emit.Build
					if o.Env.Env.IsCompose() {
						build = emit.BuildCompose
					}
					if _, err := build(o, "bench"); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
